# Sourced by the scripts that build for the browser (wasm-example.sh,
# wasm-test.sh), after say.sh: `wasm_tools` makes sure of what the wasm32
# build needs.
#
# - the wasm32-unknown-unknown target, with rustup when there is one;
# - wasm-bindgen-cli (`wasm-bindgen` and `wasm-bindgen-test-runner`), with
#   `cargo install`, at the version of the wasm-bindgen crate in
#   Cargo.lock unless the one on the PATH is that version: the two must
#   match. (`--locked` would pin a dependency the registry no longer
#   serves.)

wasm_tools() {
    if command -v rustup >/dev/null 2>&1; then
        rustup target add wasm32-unknown-unknown
    fi
    local bindgen
    bindgen=$(cargo pkgid wasm-bindgen | sed 's/.*@//')
    if ! wasm-bindgen --version 2>/dev/null | grep -qx "wasm-bindgen $bindgen" ||
        ! wasm-bindgen-test-runner --version 2>/dev/null | grep -qx "wasm-bindgen-test-runner $bindgen"; then
        say "installing wasm-bindgen-cli $bindgen, at the version of the wasm-bindgen crate"
        cargo install wasm-bindgen-cli --version "=$bindgen"
    fi
}
