"""How fast a permission request reaches a webhook: agent asks → hub stores the event →
notifier → signed POST → receiver, end to end with a real `tether up` (subprocess, demo
agent, SQLite) and a local HTTP receiver.

For each sample the demo agent is told `run touch x`; the delay is from the event's
timestamp (taken by the runner when the agent asked) to the receiver getting the POST.
The request is then allowed through its `allow_url`, as a phone would. Beside it, in the
same run, two baselines:

* direct: the same receiver hit with a signed JSON POST of the same size from this
  process over a pooled client (what any sender pays for HTTP on this machine);
* viewer: the same request seen by a viewer socket (the hub's own live fan-out).

    PYTHONPATH=src python bench/notify_latency.py [--samples 40]

Target: p99 ≤ 1 s from request to webhook receipt.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from websockets.asyncio.client import connect

from tether.client.access import hub_access
from tether.serve import uvicorn_server, wait_started

SECRET = "bench-secret-0123456789abcdef"
TARGET_P99_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Receiver:
    """Records when each POST arrived (and checks its signature)."""

    def __init__(self) -> None:
        self.arrivals: asyncio.Queue[tuple[float, dict[str, Any]]] = asyncio.Queue()

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        at = time.time()
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers.get("x-tether-signature", "")):
            print("bad signature!", file=sys.stderr)
        await self.arrivals.put((at, json.loads(body)))
        return Response(status_code=204)

    async def next(self, event: str, timeout: float = 30.0) -> tuple[float, dict[str, Any]]:
        while True:
            at, note = await asyncio.wait_for(self.arrivals.get(), timeout)
            if note.get("event") == event:
                return at, note


@contextlib.asynccontextmanager
async def receiving() -> AsyncIterator[tuple[Receiver, str]]:
    rx = Receiver()
    app = Starlette(routes=[Route("/{path:path}", rx.handle, methods=["POST"])])
    server = uvicorn_server(app, "127.0.0.1", 0)
    task = asyncio.create_task(server.serve())
    await wait_started(server)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield rx, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def tether_up(home: Path) -> AsyncIterator[str]:
    port = free_port()
    env = {**os.environ, "TETHER_HOME": str(home), "TETHER_DEMO_DELAY": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tether", "up", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            for _ in range(300):
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(f"{url}/healthz")).json().get("runners"):
                        break
                await asyncio.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


async def direct_baseline(url: str, body: bytes, samples: int, rx: Receiver) -> list[float]:
    """The receiver hit straight from here, signed, over one pooled client (as the hub's)."""
    out = []
    async with httpx.AsyncClient() as http:
        for _ in range(samples):
            signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            started = time.time()
            await http.post(
                f"{url}/direct",
                content=body,
                headers={"Content-Type": "application/json", "X-Tether-Signature": signature},
            )
            at, _note = await rx.arrivals.get()
            out.append(at - started)
    return out


async def measure(
    url: str, home: Path, rx: Receiver, rx_url: str, samples: int
) -> dict[str, list[float]]:
    """Delays (s) of `samples` permission requests to the webhook and to a viewer, and of
    direct POSTs of the same body."""
    access = hub_access(url, home)
    webhook: list[float] = []
    viewer: list[float] = []
    async with access.client() as hub, httpx.AsyncClient() as phone:
        sink = {"kind": "webhook", "url": f"{rx_url}/hook", "secret": SECRET}
        await hub.request("POST", "/v1/notify/sinks", json=sink)
        session = await hub.start("demo")
        ws_url = url.replace("http://", "ws://") + f"/v1/sessions/{session['id']}/stream?follow=1"
        headers = {"Authorization": f"Bearer {await access.token()}"}
        async with connect(ws_url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"v": 1, "type": "resume", "payload": {"after": 0}}))
            for _ in range(samples):
                await hub.send(session["id"], "run touch x")
                while True:
                    frame = json.loads(await ws.recv())
                    if frame.get("payload", {}).get("kind") == "permission_request":
                        viewer.append(time.time() - frame["ts"])
                        break
                at, note = await rx.next("permission_request")
                webhook.append(at - note["ts"])
                answered = await phone.post(note["allow_url"])  # as an ntfy action would
                assert answered.status_code == 200, answered.text
                await rx.next("turn_finished")
    direct = await direct_baseline(rx_url, json.dumps(note).encode(), samples, rx)
    return {
        "webhook (request → receipt)": webhook,
        "viewer socket": viewer,
        "direct POST (baseline)": direct,
    }


def report(rows: dict[str, list[float]]) -> bool:
    """Print the figures; True when the target is met."""
    print(f"{'path':30} {'p50 ms':>9} {'p99 ms':>9}")
    figures = {name: percentiles(values) for name, values in rows.items()}
    for name, (p50, p99) in figures.items():
        print(f"{name:30} {p50 * 1000:9.1f} {p99 * 1000:9.1f}")
    (w50, w99), (v50, _v99), (d50, d99) = figures.values()
    print(
        f"webhook / direct: p50 ×{w50 / d50:.1f}, p99 ×{w99 / d99:.1f};"
        f" webhook / viewer: p50 ×{w50 / v50:.1f}"
    )
    met = w99 <= TARGET_P99_S
    print(f"target p99 ≤ {TARGET_P99_S:.0f} s: {'met' if met else 'NOT met'}")
    return met


async def run(samples: int) -> int:
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as tmp:
        async with receiving() as (rx, rx_url), tether_up(Path(tmp)) as url:
            rows = await measure(url, Path(tmp), rx, rx_url, samples)
    print(f"{samples} permission requests, demo agent, tether up (SQLite), loopback receiver")
    return 0 if report(rows) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=40)
    return asyncio.run(run(parser.parse_args().samples))


if __name__ == "__main__":
    sys.exit(main())
