# Sourced by the scripts: their messages, prefixed with the script's name.

# A message: its first argument after the script's name, each further one
# on a line of its own.
say() {
    printf '%s: %s\n' "${0##*/}" "$1"
    shift
    [ $# -eq 0 ] || printf '  %s\n' "$@"
}
# The message on stderr, and exit 1.
fail() {
    say "$@" >&2
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
