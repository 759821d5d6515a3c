#!/usr/bin/env bash
# Runs sse-client's tests in headless Chromium, compiled to WebAssembly:
# tests/browser.rs (no server needed) and tests/browser_server.rs, which
# talk to the browser_peer example. This script builds the peer, starts it
# on a free port, hands its address to the tests at build time
# (SSE_BROWSER_PEER), and stops it when they are done. Then it builds the
# demo's WebAssembly page and runs its browser test
# (scripts/wasm-example.sh --test). It fails if any test fails.
#
# Needs Chromium and its chromedriver, of the same version, on the PATH
# (CHROMEDRIVER may name the driver): scripts/test.sh installs Debian's.
# Installs what Rust needs for the wasm32 build when it is missing: the
# target and wasm-bindgen-cli (scripts/wasm-tools.sh).
#
# Arguments go to `cargo test` (a test name, `-- --nocapture`).
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/say.sh

chromedriver=${CHROMEDRIVER:-$(command -v chromedriver || true)}
[ -n "$chromedriver" ] && [ -x "$chromedriver" ] ||
    fail "no chromedriver: the tests drive a headless Chromium through it" \
        "./scripts/test.sh installs Debian's chromium and chromium-driver (then runs these tests too)," \
        "or put a chromedriver of your Chromium's version on the PATH, or name it in CHROMEDRIVER"

. scripts/wasm-tools.sh
wasm_tools

# The peer's path, from cargo's report of what it built (the target
# directory may be anywhere: CARGO_TARGET_DIR, a config file).
peer_exe=$(cargo build -p sse-examples --bin browser_peer --message-format=json-render-diagnostics |
    sed -n 's/.*"executable":"\([^"]*browser_peer\)".*/\1/p' | tail -n 1)
[ -x "$peer_exe" ] || fail "cargo built browser_peer but did not say where"

out=$(mktemp -d)
"$peer_exe" --port 0 >"$out/address" &
peer=$!
stop_peer() {
    kill "$peer" 2>/dev/null || true
    wait "$peer" 2>/dev/null || true
    rm -rf "$out"
}
# The EXIT trap also runs on Ctrl-C and on `kill`, through these exits.
trap stop_peer EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# It prints its address on one line once it listens.
address=
for _ in $(seq 100); do
    address=$(head -n 1 "$out/address")
    [ -z "$address" ] || break
    kill -0 "$peer" 2>/dev/null || fail "browser_peer exited before it listened (its error is above)"
    sleep 0.1
done
[ -n "$address" ] || fail "browser_peer printed no address within 10 s"
say "browser_peer listens at $address"

SSE_BROWSER_PEER=$address \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
    WASM_BINDGEN_USE_BROWSER=1 CHROMEDRIVER="$chromedriver" \
    cargo test -p sse-client --target wasm32-unknown-unknown --test browser --test browser_server "$@"

# The demo's page in WebAssembly, built and followed in Chromium.
./scripts/wasm-example.sh --test
