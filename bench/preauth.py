"""`/healthz` latency while unauthenticated sockets send huge first frames (issue #11,
finding 6), beside an unloaded baseline from the same run.

Run: PYTHONPATH=src python bench/preauth.py [ROUNDS]
Starts a real `tether up` (a subprocess, as users run it) and times sequential
`GET /healthz` with nothing else going on; then ROUNDS (default 20) times, eight
unauthenticated sockets at once each send a 14 MiB first frame and wait to be refused,
while the same probe runs. Prints median, p95 and worst probe (ms) for both, and how
long the hub took to refuse each round of eight (the hub still has to read each frame
off the socket: 14 MiB is under the transport's 16 MiB limit, so that authenticated
peers get a `frame_too_large` error they can act on instead of a dropped connection).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import sys
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.security.attacker import tether_up, traversable_home

# 14 MiB of JSON that is costly to parse (seven million tiny list items), as an attacker
# would choose it; a long string would be parsed quickly.
HUGE_FRAME = (
    '{"v": 1, "type": "auth", "payload": {"token": "x", "pad": [' + "0," * (7 << 20) + "0]}}"
)


async def probe(url: str, stop: asyncio.Event, figures: list[float]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        while not stop.is_set():
            started = time.perf_counter()
            (await http.get("/healthz")).raise_for_status()
            figures.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0.01)


async def probing(url: str, seconds: float) -> list[float]:
    stop, figures = asyncio.Event(), []
    task = asyncio.create_task(probe(url, stop, figures))
    await asyncio.sleep(seconds)
    stop.set()
    await task
    return figures


async def huge_frame(url: str) -> int | None:
    stream = url.replace("http://", "ws://") + "/v1/sessions/s_x/stream"
    async with connect(stream, max_size=None) as ws:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(HUGE_FRAME)
            await ws.recv()
        return ws.close_code


async def attacked(url: str, rounds: int) -> tuple[list[float], list[float], list[int | None]]:
    stop, figures = asyncio.Event(), []
    task = asyncio.create_task(probe(url, stop, figures))
    round_ms, codes = [], []
    for _ in range(rounds):
        started = time.perf_counter()
        codes += await asyncio.gather(*(huge_frame(url) for _ in range(8)))
        round_ms.append((time.perf_counter() - started) * 1000)
    stop.set()
    await task
    return figures, round_ms, codes


def line(name: str, figures: list[float]) -> str:
    ordered = sorted(figures)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{name:<28} median {statistics.median(ordered):7.2f} ms   p95 {p95:7.2f} ms"
        f"   worst {ordered[-1]:7.2f} ms   ({len(ordered)} probes)"
    )


async def main(rounds: int) -> None:
    with tether_up(traversable_home()) as up:
        await probing(up.url, 0.5)  # warm up
        baseline = await probing(up.url, 3.0)
        loaded, round_ms, codes = await attacked(up.url, rounds)
    print(line("/healthz, unloaded", baseline))
    print(line("/healthz, 8 x 14 MiB at once", loaded))
    print(
        f"a round of eight refused in: median {statistics.median(round_ms):.0f} ms,"
        f" worst {max(round_ms):.0f} ms ({rounds} rounds; close codes {sorted(set(codes))})"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
