#!/usr/bin/env bash
# The hub as a server of sweep.sh: sse-hub (anonymous subscribers, updates
# in memory) fed by post-updates, which POSTs RATE updates a second of SIZE
# bytes over one keep-alive connection; it takes the options `fanout` takes.
#
#   benches/load/hub.sh [--template] --port P --rate R [--size 256] [--max-secs 60]
#
# Prints `events: URL`, the URL that sse-load subscribes to (topic
# /load/1, or the URI template /load/{id} with --template), then becomes
# the hub's process (exec), so that the PID sweep.sh watches is the hub's.
# post-updates runs on $SWEEP_CLIENT_CPUS when set (sweep.sh sets it with
# PIN=1), beside the load client, so that the hub's core is its own.
# $SSE_HUB and $POST_UPDATES override the binaries, target/release's by
# default (cargo build --release -p sse-hub -p sse-load). Example:
#
#   PIN=1 RUNS=3 SSE_LOAD=target/release/sse-load \
#     SERVERS="sse=target/release/fanout hub=benches/load/hub.sh hub-template=benches/load/hub.sh,--template" \
#     benches/load/sweep.sh /tmp/hub 1500 2000 2500
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
hub=${SSE_HUB:-$root/target/release/sse-hub}
post=${POST_UPDATES:-$root/target/release/post-updates}
port= rate= size=256 secs=60 selector=%2Fload%2F1
while [ $# -gt 0 ]; do
  case $1 in
    --template) selector=%2Fload%2F%7Bid%7D; shift ;;
    --port) port=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --size) size=$2; shift 2 ;;
    --max-secs) secs=$2; shift 2 ;;
    *) echo "hub.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ -z "$port" ] || [ -z "$rate" ]; then
  sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
for binary in "$hub" "$post"; do
  [ -x "$binary" ] || { echo "hub.sh: $binary is missing: cargo build --release -p sse-hub -p sse-load" >&2; exit 1; }
done
# The load runs' key, and a token granting every topic signed with it.
secret=$(python3 "$root/benches/load/token.py" --secret)
token=$(python3 "$root/benches/load/token.py")
pin=()
[ -z "${SWEEP_CLIENT_CPUS:-}" ] || pin=(taskset -c "$SWEEP_CLIENT_CPUS")
url=http://127.0.0.1:$port/.well-known/mercure
echo "events: $url?topic=$selector"
# The publisher starts once the hub listens, and ends with it (its
# connection refused or cut), or after SECS.
(
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  exec ${pin[@]+"${pin[@]}"} "$post" --url "$url" --token "$token" --topic /load/1 --rate "$rate" \
    --size "$size" --duration "$secs"
) &
MERCURE_PUBLISHER_JWT_KEY=$secret exec "$hub" --anonymous --addr "127.0.0.1:$port"
