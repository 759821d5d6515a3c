#!/usr/bin/env bash
# Builds the demo's feed in WebAssembly (examples/wasm: sse-client
# compiled to wasm32) into target/wasm-example, which the demo serves at
# /wasm/:
#
#   ./scripts/wasm-example.sh
#   cargo run -p sse-examples --bin demo    # then open http://127.0.0.1:8080/wasm/
#
# The build is the `wasm` profile (release, opt-level "z", LTO), then
# wasm-bindgen for `<script type="module">`. Installs the wasm32 target and
# wasm-bindgen-cli when they are missing (scripts/wasm-tools.sh).
#
#   --sizes  also prints the module's size, raw and gzipped, and the shares
#            of what is in it (by building the page without the feed, and
#            with reqwest alone)
#   --test   then runs the page's browser test (examples/tests/wasm_page.rs)
#            in headless Chromium
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/say.sh
. scripts/wasm-tools.sh

sizes=no
test=no
for arg in "$@"; do
    case $arg in
    --sizes) sizes=yes ;;
    --test) test=yes ;;
    *)
        say "unknown argument $arg (--sizes, --test)" >&2
        exit 2
        ;;
    esac
done

wasm_tools
out=$PWD/target/wasm-example

# Builds the page with cargo's extra arguments "$@" and runs wasm-bindgen
# on it into directory $1; prints the module's path.
build() {
    local dir=$1
    shift
    local module
    module=$(cargo build --profile wasm --target wasm32-unknown-unknown -p sse-wasm-example \
        --message-format=json-render-diagnostics "$@" |
        sed -n 's/.*"filenames":\["\([^"]*sse_wasm_example\.wasm\)".*/\1/p' | tail -n 1)
    [ -f "$module" ] || fail "cargo built sse-wasm-example but did not say where"
    wasm-bindgen --target web --no-typescript --remove-name-section --remove-producers-section \
        --out-dir "$dir" "$module"
}

build "$out"
say "built into $out; run the demo and open http://127.0.0.1:8080/wasm/"

if [ $sizes = yes ]; then
    gz() { gzip -9 -c "$1" | wc -c; }
    row() {
        local dir=$1 what=$2
        printf '| %s | %s | %s | %s | %s |\n' "$what" \
            "$(wc -c <"$dir/sse_wasm_example_bg.wasm")" "$(gz "$dir/sse_wasm_example_bg.wasm")" \
            "$(wc -c <"$dir/sse_wasm_example.js")" "$(gz "$dir/sse_wasm_example.js")"
    }
    variants=$(mktemp -d)
    trap 'rm -rf "$variants"' EXIT
    build "$variants/bare" --features bare
    build "$variants/reqwest" --features reqwest-only
    echo "| page | .wasm bytes | gzipped | .js bytes | gzipped |"
    echo "|---|---|---|---|---|"
    row "$out" "the example (sse-client)"
    row "$variants/reqwest" "the same page, reqwest alone (no parsing, no reconnection)"
    row "$variants/bare" "the same page without the feed"
fi

if [ $test = yes ]; then
    SSE_WASM_EXAMPLE_DIR=$out cargo test -p sse-examples --test wasm_page -- --ignored
fi
