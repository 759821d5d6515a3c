#!/usr/bin/env python3
"""Draws the fan-out chart of the README from sse-load's JSON output.

    plot.py OUT.svg DIR

DIR holds one file per run, named SERVER-RATE.json (as sweep.sh writes
them): the JSON that `sse-load --json` printed for SERVER publishing RATE
events per second. The chart has two panels against the offered rate: p99
latency (log scale, with the 100 ms line) and the events delivered per
second against those offered. Only the standard library is used.
"""

import json
import math
import os
import re
import sys

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
W, H = 440, 300  # one panel
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 36, 48


def load(directory):
    runs = {}
    for name in sorted(os.listdir(directory)):
        found = re.fullmatch(r"(.+)-(\d+)\.json", name)
        if not found:
            continue
        with open(os.path.join(directory, name)) as file:
            run = json.load(file)
        server, rate = found.group(1), int(found.group(2))
        runs.setdefault(server, []).append((rate, run))
    for points in runs.values():
        points.sort(key=lambda point: point[0])
    return runs


def ticks(low, high, log):
    if log:
        return [10.0**e for e in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)]
    step = 10 ** math.floor(math.log10(max(high - low, 1)))
    for factor in (0.1, 0.2, 0.25, 0.5, 1):
        if (high - low) / (step * factor) <= 8:
            step *= factor
            break
    first = math.floor(low / step) * step
    return [first + i * step for i in range(int((high - first) / step) + 2) if first + i * step <= high * 1.0001]


def label(value):
    if value >= 1000 and value % 1000 == 0:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def panel(x0, title, xs, ys_by_server, y_label, log, guide=None):
    """One panel at horizontal offset x0; ys_by_server: name -> [(x, y)]."""
    out = []
    xmax = max(xs) * 1.05
    values = [y for points in ys_by_server.values() for _, y in points if y > 0]
    if guide is not None:
        values += [guide(xmax)]
    if log:
        ylow, yhigh = min(values + [1.0]) / 1.5, max(values + [100.0]) * 1.5
    else:
        ylow, yhigh = 0.0, max(values) * 1.05

    def sx(x):
        return x0 + LEFT + (W - LEFT - RIGHT) * x / xmax

    def sy(y):
        if log:
            y = max(y, ylow)
            frac = (math.log10(y) - math.log10(ylow)) / (math.log10(yhigh) - math.log10(ylow))
        else:
            frac = (y - ylow) / (yhigh - ylow)
        return TOP + (H - TOP - BOTTOM) * (1 - frac)

    out.append(f'<text x="{x0 + W / 2}" y="20" text-anchor="middle" font-weight="bold">{title}</text>')
    for y in ticks(ylow, yhigh, log):
        if ylow <= y <= yhigh:
            out.append(f'<line x1="{sx(0)}" x2="{sx(xmax)}" y1="{sy(y):.1f}" y2="{sy(y):.1f}" stroke="#ddd"/>')
            out.append(f'<text x="{sx(0) - 4}" y="{sy(y) + 4:.1f}" text-anchor="end">{label(y)}</text>')
    for x in ticks(0, xmax, False):
        out.append(f'<text x="{sx(x):.1f}" y="{H - BOTTOM + 16}" text-anchor="middle">{label(x)}</text>')
    out.append(f'<rect x="{sx(0)}" y="{TOP}" width="{sx(xmax) - sx(0):.1f}" height="{H - TOP - BOTTOM}" fill="none" stroke="#888"/>')
    out.append(f'<text x="{x0 + W / 2}" y="{H - 10}" text-anchor="middle">events published per second</text>')
    out.append(f'<text transform="translate({x0 + 14},{H / 2}) rotate(-90)" text-anchor="middle">{y_label}</text>')
    if log:
        out.append(f'<line x1="{sx(0)}" x2="{sx(xmax)}" y1="{sy(100):.1f}" y2="{sy(100):.1f}" stroke="#888" stroke-dasharray="4 3"/>')
    if guide is not None:
        out.append(f'<line x1="{sx(0)}" x2="{sx(xmax):.1f}" y1="{sy(guide(0)):.1f}" y2="{sy(guide(xmax)):.1f}" stroke="#888" stroke-dasharray="4 3"/>')
    for colour, (server, points) in zip(COLOURS, ys_by_server.items()):
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in points)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in points:
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{colour}"/>')
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    target, directory = sys.argv[1:]
    runs = load(directory)
    if not runs:
        sys.exit(f"no SERVER-RATE.json files in {directory}")
    xs = [rate for points in runs.values() for rate, _ in points]
    conns = max(run["conns"] for points in runs.values() for _, run in points)
    p99 = {s: [(r, run["latency_ms"]["p99"]) for r, run in pts] for s, pts in runs.items()}
    delivered = {s: [(r, run["events_per_s"] / max(run["conns"], 1)) for r, run in pts] for s, pts in runs.items()}
    svg = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{H + 28}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{2 * W}" height="{H + 28}" fill="white"/>',
    ]
    svg += panel(0, f"p99 latency, {conns} connections", xs, p99, "p99 latency (ms)", True)
    svg += panel(W, "events delivered per connection", xs, delivered, "events per second", False, guide=lambda x: x)
    x = LEFT
    for colour, server in zip(COLOURS, runs):
        svg.append(f'<rect x="{x}" y="{H + 10}" width="12" height="12" fill="{colour}"/>')
        svg.append(f'<text x="{x + 16}" y="{H + 20}">{server}</text>')
        x += 24 + 8 * len(server)
    svg.append("</svg>")
    with open(target, "w") as file:
        file.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
