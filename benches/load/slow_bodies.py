#!/usr/bin/env python3
"""Slow request bodies against a server: how long until each is cut.

Opens CONNS connections (ramped), each sending a POST whose head announces
a body of LENGTH bytes and then dribbling that body one byte every
INTERVAL seconds, reading whatever the server answers. Reports, per
connection, how long after its head the server ended the connection (end
of stream or reset) and what it answered, then the spread.

    python3 benches/load/slow_bodies.py --url http://127.0.0.1:8080/events \\
        --conns 1000 --seconds 60

Against the demo, `/events` does not read a POST's body, so only the
connection limits' body timeout (30 s) cuts it; `/chat` reads it with a
deadline of its own (10 s) and answers 408.
"""

import argparse
import asyncio
import collections
import time
import urllib.parse


async def one(host, port, path, length, interval, seconds, results, start_gate):
    await start_gate
    try:
        reader, writer = await asyncio.open_connection(host, port)
    except OSError as error:
        results.append(("connect failed: " + error.strerror, None))
        return
    head = (
        f"POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n"
        f"content-length: {length}\r\n\r\n"
    ).encode()
    writer.write(head)
    sent_head = time.monotonic()
    answer = b""

    async def dribble():
        for _ in range(length):
            await asyncio.sleep(interval)
            writer.write(b"x")
            await writer.drain()

    dribbling = asyncio.ensure_future(dribble())
    outcome = "still open"
    try:
        deadline = sent_head + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            chunk = await asyncio.wait_for(reader.read(4096), timeout=left)
            if not chunk:
                outcome = "closed"
                break
            answer += chunk[: 200 - len(answer)] if len(answer) < 200 else b""
    except asyncio.TimeoutError:
        pass
    except (ConnectionResetError, BrokenPipeError):
        outcome = "reset"
    elapsed = time.monotonic() - sent_head
    dribbling.cancel()
    writer.close()
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "no answer"
    results.append((f"{outcome}, {status}", elapsed if outcome != "still open" else None))


async def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--conns", type=int, default=1000)
    parser.add_argument("--ramp", type=int, default=500, help="connections per second")
    parser.add_argument("--length", type=int, default=1000, help="announced body bytes")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between bytes")
    parser.add_argument("--seconds", type=float, default=60, help="how long to wait for each")
    args = parser.parse_args()
    url = urllib.parse.urlsplit(args.url)
    host, port = url.hostname, url.port or 80
    path = url.path + (f"?{url.query}" if url.query else "")
    results = []
    loop = asyncio.get_running_loop()
    tasks = []
    for i in range(args.conns):
        gate = loop.create_future()
        loop.call_later(i / args.ramp, gate.set_result, None)
        tasks.append(
            one(host, port, path, args.length, args.interval, args.seconds, results, gate)
        )
    await asyncio.gather(*tasks)
    outcomes = collections.Counter(outcome for outcome, _ in results)
    times = sorted(t for _, t in results if t is not None)
    print(f"{len(results)} slow POSTs to {args.url}: {dict(outcomes)}")
    if times:
        pick = lambda q: times[min(len(times) - 1, int(q * (len(times) - 1)))]
        print(
            f"ended after their head: min {times[0]:.2f} s, p50 {pick(0.5):.2f} s, "
            f"p99 {pick(0.99):.2f} s, max {times[-1]:.2f} s"
        )


if __name__ == "__main__":
    asyncio.run(main())
