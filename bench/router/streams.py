#!/usr/bin/env python3
"""Send N streaming chat requests, at most C at once (default: all N at once), and report how
many ended whole (200, every event, [DONE]), the shortest and longest, and the time to first
token (request written to the first `data:` event) at p50 and p99.
Usage: streams.py PORT N [-c C] [-H 'Name: value']..."""
import argparse
import asyncio
import json
import time

ap = argparse.ArgumentParser()
ap.add_argument("port", type=int)
ap.add_argument("n", type=int)
ap.add_argument("-c", type=int, default=0, help="most requests at once (0: all)")
ap.add_argument("-H", action="append", default=[], help="an extra header")
args = ap.parse_args()
BODY = json.dumps({"model": "bench", "stream": True,
                   "messages": [{"role": "user", "content": "stream"}]}).encode()
EXTRA = b"".join(h.encode() + b"\r\n" for h in args.H)


async def one(i, gate):
    async with gate:
        t0 = time.monotonic()
        ttft = None
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", args.port), 60)
            w.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n"
                    b"Content-Type: application/json\r\nx-slipway-session: st%d\r\n%s"
                    b"Content-Length: %d\r\n\r\n" % (i, EXTRA, len(BODY)) + BODY)
            await w.drain()
            data = b""
            while True:
                chunk = await asyncio.wait_for(r.read(65536), 120)
                if not chunk:
                    break
                data += chunk
                if ttft is None and b"\ndata: {" in data:
                    ttft = time.monotonic() - t0
            w.close()
            ok = data.startswith(b"HTTP/1.1 200") and b"data: [DONE]" in data and b'"error"' not in data
            return ok, time.monotonic() - t0, ttft
        except Exception:  # counted as a failure
            return False, time.monotonic() - t0, ttft


def pct(xs, p):
    return round(xs[min(len(xs) - 1, int(p * len(xs)))] * 1000, 1) if xs else None


async def main():
    gate = asyncio.Semaphore(args.c or args.n)
    res = await asyncio.gather(*(one(i, gate) for i in range(args.n)))
    good = sum(1 for ok, _, _ in res if ok)
    times = sorted(t for _, t, _ in res)
    ttfts = sorted(f for ok, _, f in res if ok and f is not None)
    print(json.dumps({"requests": args.n, "whole": good, "min_s": round(times[0], 2),
                      "max_s": round(times[-1], 2), "ttft_p50_ms": pct(ttfts, 0.5),
                      "ttft_p99_ms": pct(ttfts, 0.99)}))

asyncio.run(main())
