#!/usr/bin/env bash
# Runs the fan-out load sweep whose figures the README charts: each server in
# turn publishes 256-byte events at each rate to CONNS connections of
# sse-load, for a 10 s window; each run's JSON goes to OUT/SERVER-RATE.json.
#
#   benches/load/sweep.sh OUT RATE... 
#
# Servers are given as NAME=COMMAND in $SERVERS (space separated, the command
# takes --port, --rate, --size and --max-secs, as `fanout` and the perf kit's
# peer-axum do); sse-load is $SSE_LOAD. Example:
#
#   SSE_LOAD=/tmp/perf/release/sse-load \
#   SERVERS="sse=target/release/fanout peer-axum=/tmp/perf/release/peer-axum" \
#   benches/load/sweep.sh /tmp/sweep 250 500 1000
#   benches/load/plot.py fan-out.svg /tmp/sweep
set -eu
out=$1; shift
conns=${CONNS:-1000}
port=${PORT:-8090}
mkdir -p "$out"
ulimit -n 65536 2>/dev/null || true
for rate in "$@"; do
  for server in $SERVERS; do
    name=${server%%=*}; cmd=${server#*=}
    $cmd --port "$port" --rate "$rate" --size 256 --max-secs 60 >/dev/null 2>&1 &
    pid=$!
    sleep 1
    "$SSE_LOAD" --url "http://127.0.0.1:$port/events" --conns "$conns" --ramp 1000 \
      --warmup 3 --duration 10 --server-pid "$pid" --json >"$out/$name-$rate.json" || true
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
    python3 - "$out/$name-$rate.json" "$name" "$rate" <<'PY'
import json, sys
path, name, rate = sys.argv[1:]
run = json.load(open(path))
lat = run["latency_ms"]
print(f"{name:>10} {rate:>6}/s  p50 {lat['p50']:8.2f} ms  p99 {lat['p99']:8.2f} ms  "
      f"{run['events_per_s']:10.0f} ev/s  gaps {run['gaps']}  server cpu {run['server_cpu_pct']:.0f} %")
PY
  done
done
