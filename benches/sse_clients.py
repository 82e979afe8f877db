#!/usr/bin/env python3
"""Opens N idle SSE streams on `desk serve`, reports the server's memory with them open, then
measures how long one event takes to reach every stream.

Usage: sse_clients.py BASE_URL TOKEN SERVER_PID N TICKET_ID [ROUNDS]
Stdlib only (asyncio raw sockets), so it runs anywhere Python 3.8+ does.
"""
import asyncio
import json
import sys
import time
import urllib.request
from urllib.parse import urlparse


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


async def open_stream(host, port, token):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        (
            f"GET /api/v1/events HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    if b" 200 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(head.decode(errors="replace"))
    return reader, writer


async def wait_event(reader, kind):
    """Returns the monotonic time at which an SSE frame of `kind` arrived."""
    buf = b""
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            raise RuntimeError("stream closed")
        buf += chunk
        if f"event: {kind}".encode() in buf:
            return time.monotonic()


def patch(base, token, ticket, body):
    req = urllib.request.Request(
        f"{base}/api/v1/tickets/{ticket}",
        data=json.dumps(body).encode(),
        method="PATCH",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    urllib.request.urlopen(req).read()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def main():
    base, token, pid, n, ticket = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
    rounds = int(sys.argv[6]) if len(sys.argv) > 6 else 5
    u = urlparse(base)
    before = rss_kib(pid)
    streams = []
    for i in range(0, n, 100):
        streams += await asyncio.gather(*[open_stream(u.hostname, u.port, token) for _ in range(min(100, n - i))])
    await asyncio.sleep(2)  # let allocations settle
    with_streams = rss_kib(pid)
    print(f"sse_streams={n} rss_before_kib={before} rss_with_streams_kib={with_streams} "
          f"delta_mib={(with_streams - before) / 1024:.1f} total_mib={with_streams / 1024:.1f}")
    delays = []
    loop = asyncio.get_running_loop()
    for r in range(rounds):
        waits = [asyncio.ensure_future(wait_event(rd, "ticket.updated")) for rd, _ in streams]
        await asyncio.sleep(0.2)
        t0 = time.monotonic()
        await loop.run_in_executor(None, patch, base, token, ticket, {"add_tags": [f"bench-{r}-{int(t0)}"]})
        arrived = await asyncio.gather(*waits)
        delays += [(a - t0) * 1000 for a in arrived]
    print(f"delivery_ms rounds={rounds} clients={n} p50={pct(delays, 50):.1f} p99={pct(delays, 99):.1f} max={max(delays):.1f}")
    for _, w in streams:
        w.close()


asyncio.run(main())
