#!/usr/bin/env bash
# Runs the whole test suite, installing what it needs first: Debian's
# Chromium and ChromeDriver for the browser test (with apt-get, as root or
# through sudo; on other systems install a Chromium and its matching
# chromedriver on PATH first, and set CHROMIUM if the browser is not
# `chromium`).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v "${CHROMIUM:-chromium}" >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    echo "installing chromium and chromium-driver (Debian packages) for the browser test"
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "the browser test needs chromium and chromedriver: run this as root," >&2
            echo "install sudo, or install them yourself (see the comment above)" >&2
            exit 1
        fi
        sudo="sudo"
    fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        chromium chromium-driver >/dev/null
fi

cargo test --workspace --all-features "$@"
