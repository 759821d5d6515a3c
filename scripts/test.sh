#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs first, with apt-get
# (as root or through sudo): Debian's Chromium and ChromeDriver for the
# browser test, and Debian's redis-server for the Redis provider's tests,
# which start their own server on a free port. On other systems install a
# Chromium and its matching chromedriver on PATH first (set CHROMIUM if the
# browser is not `chromium`), and redis-server (or set REDIS_SERVER to its
# path).
#
# Without a browser: `./scripts/test.sh --no-browser` installs no Chromium
# and skips the browser tests (every test named browser_...); everything
# else runs. CI always runs them all.
#
# Other arguments go to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=yes
if [ "${1:-}" = "--no-browser" ]; then
    browser=no
    shift
fi

missing=()
if [ $browser = yes ] && { ! command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; }; then
    missing+=(chromium chromium-driver)
fi
if ! command -v "${REDIS_SERVER:-redis-server}" >/dev/null 2>&1; then
    missing+=(redis-server)
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing ${missing[*]} (Debian packages) for the browser and Redis tests"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "the tests need ${missing[*]}: run this as root," >&2
            echo "install sudo, or install them yourself (see the comment above)" >&2
            exit 1
        fi
        sudo="sudo"
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

if [ $browser = yes ]; then
    cargo test --workspace --all-features "$@"
else
    # The skip goes to the test binaries, before any of their arguments
    # given here (`-- --nocapture`), not after them as a second `--`.
    cargo_args=() test_args=()
    for arg in "$@"; do
        if [ ${#test_args[@]} -gt 0 ] || [ "$arg" = "--" ]; then
            test_args+=("$arg")
        else
            cargo_args+=("$arg")
        fi
    done
    [ ${#test_args[@]} -gt 0 ] || test_args=(--)
    cargo test --workspace --all-features "${cargo_args[@]}" "${test_args[@]}" --skip browser_
fi
