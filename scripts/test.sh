#!/usr/bin/env bash
# Runs the whole test suite, and then the client's tests in the browser,
# compiled to WebAssembly (scripts/wasm-test.sh, which installs the Rust
# target and the test runner it needs). The browser tests need Chromium and a
# chromedriver of the same version; the Redis provider's tests need
# redis-server (they start their own, on a free port); the hub's tests run
# the curl commands it prints. The ones on PATH are used: set CHROMIUM if
# the browser is not `chromium`, REDIS_SERVER if redis-server is not on
# PATH.
#
# What is missing is installed from Debian's packages with apt-get, as
# root or through sudo: chromium, chromium-driver, redis-server, curl. The script
# says what it installs and why before it does, shows apt's output, and
# changes nothing already installed: a missing chromium-driver is
# installed at the version of the installed chromium (and a missing
# chromium at the version of the installed chromium-driver), and where
# that version is no longer available, or apt would upgrade, downgrade or
# remove an installed package, it stops and says so. On a terminal, apt
# asks before installing. On other systems, install them yourself first.
#
# Without a browser: `./scripts/test.sh --no-browser` installs no Chromium
# and skips the browser tests (every test named browser_..., and the
# WebAssembly ones); everything else runs. CI always runs them all.
#
# Other arguments go to `cargo test`; they pick native tests, so with them
# the WebAssembly tests are left out (the script says so).
set -euo pipefail
cd "$(dirname "$0")/.."

browser=yes
if [ "${1:-}" = "--no-browser" ]; then
    browser=no
    shift
fi

. scripts/say.sh
# The version of Debian package $1 if it is installed, else nothing
# (dpkg-query fails on a package it has never seen).
installed() {
    have dpkg-query || return 0
    dpkg-query -W -f='${db:Status-Status} ${Version}' "$1" 2>/dev/null | sed -n 's/^installed //p' || true
}

# What to install: apt-get arguments (`name` or `name=version`), and why.
packages=()
reasons=()
want() {
    packages+=("$1")
    reasons+=("$2")
}

if [ $browser = yes ]; then
    chromium=${CHROMIUM:-chromium}
    if ! have "$chromium" && [ -n "${CHROMIUM:-}" ]; then
        fail "CHROMIUM=$CHROMIUM is not a program on PATH" \
            "install that browser, unset CHROMIUM to use Debian's chromium, or run with --no-browser"
    fi
    browser_version=$(installed chromium)
    driver_version=$(installed chromium-driver)
    if have "$chromium" && have chromedriver; then
        :
    elif have "$chromium"; then
        if [ -n "${CHROMIUM:-}" ] || [ -z "$browser_version" ]; then
            fail "chromedriver is missing, and $chromium is not Debian's chromium package," \
                "so there is no chromium-driver of the same version to install:" \
                "put the chromedriver of $("$chromium" --version 2>/dev/null || echo "$chromium") on PATH," \
                "or run with --no-browser"
        fi
        [ -z "$driver_version" ] ||
            fail "chromium-driver $driver_version is installed but chromedriver is not on PATH ($PATH)"
        want "chromium-driver=$browser_version" \
            "chromium-driver $browser_version: the browser test drives Chromium through chromedriver, which must have the version of the installed chromium (left as it is)"
    elif have chromedriver; then
        if [ -z "$driver_version" ]; then
            fail "chromium is missing, and this chromedriver is not Debian's chromium-driver package," \
                "so there is no chromium of the same version to install:" \
                "install the Chromium of $(chromedriver --version 2>/dev/null || echo chromedriver)" \
                "(and set CHROMIUM if it is not \`chromium\`), or run with --no-browser"
        fi
        [ -z "$browser_version" ] ||
            fail "chromium $browser_version is installed but chromium is not on PATH ($PATH)"
        want "chromium=$driver_version" \
            "chromium $driver_version: the browser test drives a headless Chromium, which must have the version of the installed chromium-driver (left as it is)"
    else
        [ -z "$browser_version$driver_version" ] ||
            fail "chromium or chromium-driver is installed but chromium or chromedriver is not on PATH ($PATH)"
        want chromium "chromium: the browser test drives a headless Chromium"
        want chromium-driver "chromium-driver: chromedriver, through which the browser test drives it"
    fi
fi

if ! have "${REDIS_SERVER:-redis-server}"; then
    if [ -n "${REDIS_SERVER:-}" ]; then
        fail "REDIS_SERVER=$REDIS_SERVER is not a program" \
            "point it at a redis-server, or unset it to use Debian's redis-server"
    fi
    redis_version=$(installed redis-server)
    [ -z "$redis_version" ] ||
        fail "redis-server $redis_version is installed but redis-server is not on PATH ($PATH)"
    want redis-server \
        "redis-server: the Redis provider's tests start their own on a free port (the package also sets up a redis-server system service on port 6379, which the tests do not use)"
fi

if ! have curl; then
    want curl "curl: the hub's tests run the curl commands it prints and its README shows"
fi

if [ ${#packages[@]} -gt 0 ]; then
    if ! have apt-get || ! have dpkg-query; then
        hint=()
        [ $browser = no ] || hint=("or, to go without the browser, run with --no-browser")
        fail "the tests need these, and this script installs them only with apt-get:" \
            "${reasons[@]}" "install them yourself (see the top of scripts/test.sh)" "${hint[@]}"
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        have sudo || fail "the tests need these, and installing them needs root or sudo:" \
            "${reasons[@]}" "run this as root, install sudo, or install them yourself"
        sudo="sudo"
    fi
    say "the tests need Debian packages that are not installed; installing, with apt-get:" \
        "${reasons[@]}"
    say "first, apt-get update, which refreshes the package lists only"
    $sudo apt-get update

    for package in "${packages[@]}"; do
        case $package in
        *=*)
            name=${package%%=*} version=${package#*=}
            other=chromium
            [ "$name" != chromium ] || other=chromium-driver
            if ! apt-cache madison "$name" | awk -F ' [|] ' -v v="$version" '$2 == v { found = 1 } END { exit !found }'; then
                fail "$name $version, the version of the installed $other, is no longer in the package lists," \
                    "and any other version would upgrade or downgrade $other; nothing was installed." \
                    "To move both to the current version: ${sudo:+$sudo }apt-get install chromium chromium-driver," \
                    "or run with --no-browser"
            fi
            ;;
        esac
    done

    # apt-get's --no-upgrade does not do this: it spares the packages named
    # on the command line, yet still upgrades installed packages they depend
    # on. A simulation shows every change: `Inst name [installed] (new)` is
    # an upgrade or a downgrade, `Remv` a removal.
    if ! plan=$(apt-get install -s --no-install-recommends "${packages[@]}" 2>&1); then
        printf '%s\n' "$plan" >&2
        fail "apt-get cannot install ${packages[*]} (above); nothing was installed"
    fi
    mapfile -t changes < <(printf '%s\n' "$plan" | sed -n \
        -e 's/^Inst \([^ ]*\) \[\([^]]*\)\] (\([^ ]*\).*/\1 \2 -> \3/p' \
        -e 's/^Remv \([^ ]*\).*/\1 removed/p')
    if [ ${#changes[@]} -gt 0 ]; then
        fail "installing ${packages[*]} would change installed packages, so nothing was installed:" \
            "${changes[@]}" \
            "if these changes are fine: ${sudo:+$sudo }apt-get install --no-install-recommends ${packages[*]}"
    fi

    # On a terminal apt shows what it will do and asks; elsewhere (CI) it
    # goes ahead.
    yes=(-y)
    [ ! -t 0 ] || yes=()
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install "${yes[@]}" --no-install-recommends "${packages[@]}"
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

# The client in the browser, against a server of the project's own; it
# builds for another target with a runner of its own, so it is a script of
# its own too.
if [ $browser = yes ]; then
    if [ $# -eq 0 ]; then
        ./scripts/wasm-test.sh
    else
        say "arguments given: the client's tests in the browser (WebAssembly) are left out" \
            "run ./scripts/wasm-test.sh for them"
    fi
fi
