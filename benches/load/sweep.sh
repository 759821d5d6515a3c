#!/usr/bin/env bash
# Runs the fan-out load sweep whose figures the README charts: each server in
# turn publishes 256-byte events at each rate to CONNS connections of
# sse-load, for a 10 s window; each run's JSON goes to OUT/SERVER-RATE.json.
#
#   benches/load/sweep.sh OUT RATE...
#
# By default everything comes from this repository: the script builds
#
#   cargo build --release -p sse-load -p peer-axum -p sse-examples --bin fanout
#
# and measures target/release/fanout ("sse") and target/release/peer-axum
# (axum's Sse over tokio::sync::broadcast) with target/release/sse-load.
# Overrides: $SERVERS, as NAME=COMMAND pairs (space separated; a command
# takes --port, --rate, --size and --max-secs, as `fanout` and `peer-axum`
# do), $SSE_LOAD (the load client), $CONNS (1000), $PORT (8090), $CARGO
# (the cargo command, e.g. "flock /tmp/cargo.lock cargo"); with both
# $SERVERS and $SSE_LOAD given nothing is built. Example:
#
#   benches/load/sweep.sh /tmp/sweep 250 500 1000
#   python3 benches/load/plot.py fan-out.svg /tmp/sweep
set -eu
if [ $# -lt 2 ]; then
  sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
out=$1; shift
root=$(cd "$(dirname "$0")/../.." && pwd)
release=$root/target/release
if [ -z "${SERVERS:-}" ] || [ -z "${SSE_LOAD:-}" ]; then
  (cd "$root" && ${CARGO:-cargo} build --release -p sse-load -p peer-axum -p sse-examples --bin fanout)
fi
SSE_LOAD=${SSE_LOAD:-$release/sse-load}
SERVERS=${SERVERS:-"sse=$release/fanout peer-axum=$release/peer-axum"}
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
