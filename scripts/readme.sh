#!/usr/bin/env bash
# Builds every Rust snippet of README.md as its own program, in a scratch
# project whose [dependencies] are exactly the README's Install section
# (with this checkout as a path instead of git), so that what a user
# pastes compiles as it is shown.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scratch=target/readme-snippets
rm -rf "$scratch"
mkdir -p "$scratch/src/bin"

python3 - "$root" "$scratch" <<'PY'
import re, sys
root, scratch = sys.argv[1], sys.argv[2]
text = open(f"{root}/README.md").read()
blocks = re.findall(r"^```(\S*)\n(.*?)^```$", text, re.S | re.M)
deps = [body for lang, body in blocks if lang == "toml" and body.startswith("[dependencies]")]
if len(deps) != 1:
    sys.exit("README.md: expected one [dependencies] block in the Install section")
deps = re.sub(r'git = "[^"]*"', f'path = "{root}/crates/sse"', deps[0])
open(f"{scratch}/Cargo.toml", "w").write(
    '[package]\nname = "readme-snippets"\nversion = "0.0.0"\nedition = "2024"\npublish = false\n\n'
    + deps + "\n[workspace]\n")
snippets = [body for lang, body in blocks if lang.split(",")[0] == "rust"]
for i, body in enumerate(snippets):
    if any(line.startswith("# ") or line == "#" for line in body.splitlines()):
        sys.exit(f"README.md: Rust snippet {i + 1} hides lines from the reader")
    if "fn main" not in body:
        sys.exit(f"README.md: Rust snippet {i + 1} is not a whole program")
    open(f"{scratch}/src/bin/snippet{i + 1}.rs", "w").write(body)
print(f"{len(snippets)} snippets")
PY
# The workspace's lock keeps the versions (and so the build) shared.
cp Cargo.lock "$scratch/" 2>/dev/null || true
CARGO_TARGET_DIR="$root/target" cargo build --quiet --manifest-path "$scratch/Cargo.toml" --bins
echo "every README snippet builds"
