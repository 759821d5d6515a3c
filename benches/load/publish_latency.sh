#!/usr/bin/env bash
# A publish's latency (POST to answer) at the hub with N subscribers: for
# each N given, an sse-hub (anonymous subscribers, updates in memory) with N
# streams of sse-load open on one topic, and post-updates POSTing 5 updates
# a second for 32 s to that topic at real-time priority (chrt -f 50, which
# needs root), so that the publisher's own waits for a core are not counted.
# Prints the open streams the hub counted and post-updates' figures.
#
#   benches/load/publish_latency.sh 10000 10 10000 10
#
# Needs cargo build --release -p sse-hub -p sse-load; $PORT (8093).
set -eu
if [ $# -lt 1 ]; then
  sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
release=$root/target/release
port=${PORT:-8093}
secret=$(python3 "$root/benches/load/token.py" --secret)
token=$(python3 "$root/benches/load/token.py")
ulimit -n 65536 2>/dev/null || true
priority=(chrt -f 50)
[ "$(id -u)" = 0 ] || priority=()
for n in "$@"; do
  MERCURE_PUBLISHER_JWT_KEY=$secret "$release/sse-hub" --anonymous --addr "127.0.0.1:$port" >/dev/null 2>&1 &
  hub=$!
  sleep 1
  "$release/sse-load" --url "http://127.0.0.1:$port/.well-known/mercure?topic=%2Fload%2F1" \
    --conns "$n" --ramp 1000 --warmup 1 --duration 60 --json >/dev/null 2>&1 &
  load=$!
  # Neither is left behind on the port when a run fails.
  trap 'kill "$load" "$hub" 2>/dev/null || true' EXIT
  sleep $((n / 1000 + 4))
  open=$(curl -s "http://127.0.0.1:$port/metrics" | sed -n 's/^sse_hub_open_streams //p')
  report=$(${priority[@]+"${priority[@]}"} "$release/post-updates" --url "http://127.0.0.1:$port/.well-known/mercure" \
    --token "$token" --topic /load/1 --rate 5 --duration 32 --json)
  kill "$load" "$hub" 2>/dev/null || true
  wait "$load" "$hub" 2>/dev/null || true
  python3 - "$n" "$open" "$report" <<'PY'
import json, sys
n, open_streams, report = sys.argv[1:]
r = json.loads(report)
print(f"{n:>6} subscribers ({open_streams} open)  p50 {r['p50_ms']:.3f} ms  p99 {r['p99_ms']:.3f} ms  "
      f"max {r['max_ms']:.3f} ms  posted {r['posted']}  failed {r['failed']}")
PY
done
