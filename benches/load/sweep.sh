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
# Overrides: $SERVERS, as NAME=COMMAND pairs (space separated; commas in a
# command stand for spaces, as in sse-delay=target/release/fanout,--write-delay,5;
# a command takes --port, --rate, --size and --max-secs, as `fanout` and
# `peer-axum` do, and is subscribed to at /events unless it prints
# `events: URL`, as benches/load/hub.sh, the Mercure hub, does), $SSE_LOAD (the load client), $CONNS (1000), $PORT (8090),
# $CARGO (the cargo command, e.g. "flock /tmp/cargo.lock cargo"); with both
# $SERVERS and $SSE_LOAD given nothing is built. $PIN=1 runs the server on
# CPU 0 and sse-load on CPU 1 (taskset; $SERVER_CPUS and $CLIENT_CPUS change
# them), so that the server's core is the limit measured. $RUNS=N repeats
# the sweep N times, alternating, into OUT/SERVER-RATE.rK.json, and ends
# with each cell's p99s and whether their median is under 100 ms with no
# gap and nothing missing. Examples:
#
#   benches/load/sweep.sh /tmp/sweep 250 500 1000
#   python3 benches/load/plot.py fan-out.svg /tmp/sweep
#   PIN=1 RUNS=3 SERVERS="sse=target/release/fanout sse-delay=target/release/fanout,--write-delay,5" \
#     SSE_LOAD=target/release/sse-load benches/load/sweep.sh /tmp/pinned 1500 2000 4000
set -eu
if [ $# -lt 2 ]; then
  sed -n '2,34p' "$0" | sed 's/^# \{0,1\}//' >&2
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
runs=${RUNS:-1}
server_pin=(); client_pin=()
if [ "${PIN:-0}" = 1 ]; then
  server_pin=(taskset -c "${SERVER_CPUS:-0}"); client_pin=(taskset -c "${CLIENT_CPUS:-1}")
  # For a server whose publisher is a process of its own (hub.sh).
  export SWEEP_CLIENT_CPUS=${CLIENT_CPUS:-1}
fi
for run in $(seq "$runs"); do
  suffix=; [ "$runs" = 1 ] || suffix=.r$run
  for rate in "$@"; do
    for server in $SERVERS; do
      name=${server%%=*}; cmd=${server#*=}; cmd=${cmd//,/ }
      json=$out/$name-$rate$suffix.json
      log=$out/$name-$rate$suffix.log
      # shellcheck disable=SC2086 # the command's words
      ${server_pin[@]+"${server_pin[@]}"} $cmd --port "$port" --rate "$rate" --size 256 --max-secs 60 >"$log" 2>&1 &
      pid=$!
      sleep 1
      # A server that prints `events: URL` is subscribed to there.
      url=$(sed -n 's/^events: //p' "$log" | head -n 1)
      ${client_pin[@]+"${client_pin[@]}"} "$SSE_LOAD" --url "${url:-http://127.0.0.1:$port/events}" --conns "$conns" --ramp 1000 \
        --warmup 3 --duration 10 --server-pid "$pid" --json >"$json" || true
      kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
      python3 - "$json" "$name" "$rate" <<'PY'
import json, sys
path, name, rate = sys.argv[1:]
run = json.load(open(path))
lat = run["latency_ms"]
print(f"{name:>10} {rate:>6}/s  p50 {lat['p50']:8.2f} ms  p99 {lat['p99']:8.2f} ms  "
      f"{run['events_per_s']:10.0f} ev/s  gaps {run['gaps']}  missing {run['missing']}  "
      f"server cpu {run['server_cpu_pct']:.0f} %")
PY
    done
  done
done
if [ "$runs" != 1 ]; then
  python3 - "$out" "$runs" $SERVERS -- "$@" <<'PY'
import json, statistics, sys
out, runs = sys.argv[1], int(sys.argv[2])
rest = sys.argv[3:]
split = rest.index("--")
servers = [s.split("=", 1)[0] for s in rest[:split]]
rates = rest[split + 1:]
print(f"\np99 ms per run; ok: median under 100 ms, no gap, nothing missing")
for name in servers:
    for rate in rates:
        p99s, clean = [], True
        for k in range(1, runs + 1):
            try:
                run = json.load(open(f"{out}/{name}-{rate}.r{k}.json"))
            except (OSError, ValueError):
                clean = False
                continue
            p99s.append(run["latency_ms"]["p99"])
            clean = clean and run["gaps"] == 0 and run["missing"] == 0
        ok = clean and p99s and statistics.median(p99s) < 100
        cells = ", ".join(f"{p:.0f}" for p in p99s)
        print(f"{name:>10} {rate:>6}/s  {cells:<20} {'ok' if ok else 'over'}")
PY
fi
