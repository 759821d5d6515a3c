#!/usr/bin/env bash
# Runs every fuzz target for ${FUZZ_SECONDS:-60} seconds on nightly, from the
# committed seeds in corpus/<target>/; any crash, panic, leak or timeout
# fails the script (the input is left in fuzz/artifacts/<target>/).
#
# The seeds are read, never written: new inputs go to a scratch directory.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-60}"

if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

cargo +nightly fuzz build

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for target in $(cargo +nightly fuzz list); do
    echo "fuzz: $target for ${seconds}s"
    mkdir -p "$scratch/$target"
    cargo +nightly fuzz run "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1
done
