#!/usr/bin/env bash
# Faults of a Redis under load: a flush, a deleted key and a restart without
# persistence while `fanout --redis` publishes 4,000 events/s to readers.
# Each reader must either get every event (no gap in its sequence numbers)
# or have its stream ended, so that it resumes and is told what it lost.
#
#   SSE_LOAD=/path/to/sse-load benches/load/redis_faults.sh [FANOUT]
#
# FANOUT defaults to target/release/fanout (cargo build --release -p
# sse-examples --bin fanout); sse-load is the load client of the perf kit.
# Needs redis-server and redis-cli on PATH. Prints, per fault, how many
# connections ended and how many gaps they saw.
set -eu
fanout=${1:-target/release/fanout}
port=${REDIS_PORT:-6391}
rate=${RATE:-4000}
out=$(mktemp -d)
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$out"' EXIT

start_redis() {
  redis-server --port "$port" --save '' --appendonly no --daemonize yes >/dev/null
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
}

run() {
  local name=$1; shift
  start_redis
  "$fanout" --port 8096 --rate "$rate" --size 256 --max-secs 60 \
    --redis "redis://127.0.0.1:$port" >/dev/null 2>"$out/$name.err" &
  local server=$!
  sleep 1.5
  "$SSE_LOAD" --url http://127.0.0.1:8096/events --conns 100 --ramp 1000 \
    --warmup 2 --duration 10 --json >"$out/$name.json" &
  local load=$!
  sleep 6
  "$@" >/dev/null
  wait "$load" || true
  kill "$server"; wait "$server" 2>/dev/null || true
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
path, name = sys.argv[1:]
r = json.load(open(path))
print(f"{name:>8}: {r['closed_early']} of {r['established']} streams ended, "
      f"{r['gaps']} gaps ({r['missing']} missing, {r['reordered']} reordered), "
      f"{r['events_total']} events read")
PY
}

restart() {
  redis-cli -p "$port" shutdown nosave >/dev/null
  start_redis
}

run flushall redis-cli -p "$port" flushall
run del redis-cli -p "$port" del fanout:events
run restart restart
