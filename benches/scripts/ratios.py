#!/usr/bin/env python3
"""Table of medians (MiB/s) and the target ratios, from the last
`cargo bench -p sse-benches --bench parse` run (criterion's estimates.json).

Usage: python3 benches/scripts/ratios.py [target/criterion]
"""
import json
import os
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(__file__), "..", "..", "target", "criterion")
SUBJECTS = ["sse-codec", "eventsource-stream", "sse-parse", "memchr2", "from_utf8"]
CASES = ["llm/4K", "llm/64K", "short/4K", "short/64K", "crlf/4K", "crlf/64K", "big/4K", "big/64K",
         "multiline/4K", "multiline/64K", "llm1M/1B", "line8m/1K", "line8m/whole"]


def mibs(case, subject):
    d = os.path.join(root, "parse_" + case.replace("/", "_"), subject, "new")
    try:
        est = json.load(open(os.path.join(d, "estimates.json")))
        bench = json.load(open(os.path.join(d, "benchmark.json")))
    except FileNotFoundError:
        return None
    nanos = est["median"]["point_estimate"]
    return bench["throughput"]["Bytes"] / (nanos / 1e9) / (1 << 20)


t = {(c, s): mibs(c, s) for c in CASES for s in SUBJECTS}
print("| case | " + " | ".join(SUBJECTS) + " |")
print("|---" * (len(SUBJECTS) + 1) + "|")
for c in CASES:
    cells = ["—" if t[c, s] is None else f"{t[c, s]:,.0f}" for s in SUBJECTS]
    print(f"| {c} | " + " | ".join(cells) + " |")
print()

ours = lambda c: t[c, "sse-codec"]
targets = [
    ("llm@4K ≥ 8× eventsource-stream", ours("llm/4K") / t["llm/4K", "eventsource-stream"], 8.0, "×"),
    ("llm@4K ≥ 33% of memchr2", ours("llm/4K") / t["llm/4K", "memchr2"], 0.33, "%"),
    ("big@64K ≥ 35% of memchr2", ours("big/64K") / t["big/64K", "memchr2"], 0.35, "%"),
    ("short@4K ≥ 33% of memchr2", ours("short/4K") / t["short/4K", "memchr2"], 0.33, "%"),
]
for corpus in ["llm", "crlf", "big", "multiline"]:
    targets.append((f"{corpus}@64K ≥ 90% of {corpus}@4K",
                    ours(f"{corpus}/64K") / ours(f"{corpus}/4K"), 0.90, "%"))
targets += [
    ("crlf@4K ≥ 90% of llm@4K", ours("crlf/4K") / ours("llm/4K"), 0.90, "%"),
    ("big@4K ≥ sse-parse", ours("big/4K") / t["big/4K", "sse-parse"], 1.0, "×"),
    ("big@64K ≥ sse-parse", ours("big/64K") / t["big/64K", "sse-parse"], 1.0, "×"),
    ("multiline@4K ≥ 35% of memchr2", ours("multiline/4K") / t["multiline/4K", "memchr2"], 0.35, "%"),
    ("1-byte ≥ 25% of memchr2", ours("llm1M/1B") / t["llm1M/1B", "memchr2"], 0.25, "%"),
    ("8 MiB line: 1K chunks within 2× of whole (time ratio ≤ 2)",
     ours("line8m/whole") / ours("line8m/1K"), 2.0, "≤"),
]
print("| target | ratio | met |")
print("|---|---|---|")
for name, ratio, bound, kind in targets:
    if kind == "%":
        shown, met = f"{ratio:.0%}", ratio >= bound
    elif kind == "×":
        shown, met = f"{ratio:.2f}×", ratio >= bound
    else:
        shown, met = f"{ratio:.2f}×", ratio <= bound
    print(f"| {name} | {shown} | {'met' if met else 'NOT met'} |")
