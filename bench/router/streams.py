#!/usr/bin/env python3
"""Hold N streaming chat requests open at once through the router; report how many ended
whole (200, every event, [DONE]) and the longest and shortest. Usage: streams.py PORT N"""
import asyncio
import json
import sys
import time

PORT, N = int(sys.argv[1]), int(sys.argv[2])
BODY = json.dumps({"model": "bench", "stream": True,
                   "messages": [{"role": "user", "content": "stream"}]}).encode()


async def one(i):
    t0 = time.monotonic()
    try:
        r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", PORT), 30)
        w.write(b"POST /v1/chat/completions HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n"
                b"Content-Type: application/json\r\nx-slipway-session: st%d\r\n"
                b"Content-Length: %d\r\n\r\n" % (i, len(BODY)) + BODY)
        await w.drain()
        data = await asyncio.wait_for(r.read(), 60)
        w.close()
        ok = data.startswith(b"HTTP/1.1 200") and b"data: [DONE]" in data and b'"error"' not in data
        return ok, time.monotonic() - t0
    except Exception as e:  # counted as a failure
        return False, time.monotonic() - t0


async def main():
    res = await asyncio.gather(*(one(i) for i in range(N)))
    good = sum(1 for ok, _ in res if ok)
    times = sorted(t for _, t in res)
    print(json.dumps({"requests": N, "whole": good, "min_s": round(times[0], 2),
                      "max_s": round(times[-1], 2)}))

asyncio.run(main())
