"""Throughput and latency of the hub: one runner → hub (uvicorn + SQLite) → one viewer.

Starts `tether hub` as a subprocess on a free loopback port with a temporary data dir,
plays a runner over the real runner socket (hello, events with seqs, acks), and
watches the session through the real viewer socket. Two phases:

1. paced: events at --rate per second for --seconds; prints the rate the viewer
   actually received and p50/p99/max latency (runner send → viewer receive);
2. flood: --flood events as fast as the socket takes them; prints events/s end to end.

    PYTHONPATH=src python bench/throughput.py [--rate 5000] [--seconds 10] [--flood 50000]

Target on a 2-core machine: ≥ 5,000 events/s sustained with p99 < 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from tether.client.access import hub_access
from tether.client.credentials import CredentialStore, pair_device

TEXT = "lorem ipsum dolor sit amet " * 4  # ~100 bytes of agent text per event


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Bench:
    def __init__(self, url: str, token: str, runner_token: str) -> None:
        self.url = url
        self.ws_url = url.replace("http://", "ws://")
        self.headers = {"Authorization": f"Bearer {token}"}
        self.runner_headers = {"Authorization": f"Bearer {runner_token}"}
        self.session_id = ""
        self.acked = 0
        self.sent_at: dict[int, float] = {}
        self.latencies: list[float] = []
        self.timeline: list[tuple[float, float]] = []  # (received at, latency)
        self.received = 0
        self.last_received_seq = 0
        self.all_received = asyncio.Event()
        self.expect_up_to = 0

    async def runner_loop(self, ws: ClientConnection) -> None:
        async for frame in ws:
            env = json.loads(frame)
            if env["type"] == "ack":
                self.acked = max(self.acked, env["seq"])
            elif env["type"] == "ping":
                await ws.send(
                    json.dumps({"v": 1, "type": "pong", "ts": time.time(), "payload": {}})
                )

    async def viewer_loop(self, ws: ClientConnection) -> None:
        async for frame in ws:
            now = time.perf_counter()
            env = json.loads(frame)
            if env["type"] == "event":
                seq = env["seq"]
                if seq != self.last_received_seq + 1:
                    raise SystemExit(f"viewer saw seq {seq} after {self.last_received_seq}")
                self.last_received_seq = seq
                self.received += 1
                sent = self.sent_at.pop(seq, None)
                if sent is not None:
                    self.latencies.append(now - sent)
                    self.timeline.append((now, now - sent))
                if seq >= self.expect_up_to:
                    self.all_received.set()
            elif env["type"] == "ping":
                await ws.send(
                    json.dumps({"v": 1, "type": "pong", "ts": time.time(), "payload": {}})
                )

    def frame(self, seq: int) -> str:
        return json.dumps(
            {
                "v": 1,
                "type": "event",
                "session": self.session_id,
                "seq": seq,
                "ts": time.time(),
                "payload": {"kind": "agent_message", "text": TEXT},
            },
            separators=(",", ":"),
        )


async def run(args: argparse.Namespace, url: str, token: str, runner_token: str) -> dict[str, Any]:
    bench = Bench(url, token, runner_token)
    results: dict[str, Any] = {}
    async with connect(
        f"{bench.ws_url}/v1/runner", additional_headers=bench.runner_headers, max_size=None
    ) as runner:
        hello = {
            "runner_id": "bench",
            "version": "bench",
            "teams": [{"name": "bench", "agent": "command"}],
        }
        await runner.send(
            json.dumps({"v": 1, "type": "hello", "ts": time.time(), "payload": hello})
        )
        welcome = json.loads(await runner.recv())
        assert welcome["type"] == "welcome", welcome
        runner_task = asyncio.create_task(bench.runner_loop(runner))
        async with httpx.AsyncClient(base_url=url, headers=bench.headers) as http:
            response = await http.post("/v1/sessions", json={"team": "bench"})
            response.raise_for_status()
            bench.session_id = response.json()["id"]
        async with connect(
            f"{bench.ws_url}/v1/sessions/{bench.session_id}/stream",
            additional_headers=bench.headers,
            max_size=None,
        ) as viewer:
            for _ in range(2):  # ready, role
                json.loads(await viewer.recv())
            await viewer.send(
                json.dumps({"v": 1, "type": "resume", "ts": time.time(), "payload": {"after": 0}})
            )
            viewer_task = asyncio.create_task(bench.viewer_loop(viewer))
            seq = 0

            # -- phase 1: paced -------------------------------------------------------------
            total = int(args.rate * args.seconds)
            bench.expect_up_to = total
            tick = 0.005  # send in small bursts every 5 ms
            per_tick = max(1, round(args.rate * tick))
            start = time.perf_counter()
            while seq < total:
                due = start + (seq / args.rate)
                delay = due - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                for _ in range(min(per_tick, total - seq)):
                    seq += 1
                    bench.sent_at[seq] = time.perf_counter()
                    await runner.send(bench.frame(seq))
            await asyncio.wait_for(bench.all_received.wait(), 120)
            elapsed = time.perf_counter() - start
            lat = sorted(bench.latencies)
            results["per_second_p99_ms"] = per_second_p99(bench.timeline, start)
            results["paced"] = {
                "target_rate": args.rate,
                "events": total,
                "seconds": round(elapsed, 2),
                "received_per_s": round(total / elapsed),
                "p50_ms": round(lat[len(lat) // 2] * 1000, 2),
                "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 2),
                "max_ms": round(lat[-1] * 1000, 2),
                "mean_ms": round(statistics.fmean(lat) * 1000, 2),
            }

            # -- phase 2: flood -------------------------------------------------------------
            if args.flood:
                bench.latencies.clear()
                bench.all_received.clear()
                first = seq + 1
                bench.expect_up_to = seq + args.flood
                start = time.perf_counter()
                for _ in range(args.flood):
                    seq += 1
                    bench.sent_at[seq] = time.perf_counter()
                    await runner.send(bench.frame(seq))
                sent_done = time.perf_counter()
                await asyncio.wait_for(bench.all_received.wait(), 300)
                elapsed = time.perf_counter() - start
                lat = sorted(bench.latencies)
                results["flood"] = {
                    "events": seq - first + 1,
                    "send_s": round(sent_done - start, 2),
                    "seconds": round(elapsed, 2),
                    "events_per_s": round(args.flood / elapsed),
                    "p50_ms": round(lat[len(lat) // 2] * 1000, 2),
                    "p99_ms": round(lat[int(len(lat) * 0.99)] * 1000, 2),
                }
            # every event must be durable: the acks reach the last seq
            deadline = time.monotonic() + 30
            while bench.acked < seq and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            results["acked"] = bench.acked
            results["sent"] = seq
            viewer_task.cancel()
        runner_task.cancel()
    return results


def per_second_p99(timeline: list[tuple[float, float]], start: float) -> list[float]:
    buckets: dict[int, list[float]] = {}
    for at, latency in timeline:
        buckets.setdefault(int(at - start), []).append(latency)
    return [round(sorted(v)[int(len(v) * 0.99)] * 1000, 1) for _k, v in sorted(buckets.items())]


async def credentials(url: str, home: Path) -> tuple[str, str]:
    """Tokens as a user would get them: the hub machine's signed-in CLI, and a runner
    device paired with a code that CLI minted."""
    user = hub_access(url, home)
    async with user.client() as hub:
        code = (await hub.request("POST", "/v1/pairing-codes"))["code"]
    runner_home = home / "runner"
    await pair_device(CredentialStore(runner_home), url, code, kind="runner", name="bench")
    runner = hub_access(url, runner_home, kind="runner")
    return await user.token(), await runner.token()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=5000, help="paced events per second")
    parser.add_argument("--seconds", type=float, default=10, help="length of the paced phase")
    parser.add_argument("--flood", type=int, default=50_000, help="events in the flood phase")
    parser.add_argument("-v", "--verbose", action="store_true", help="p99 of every second")
    parser.add_argument(
        "--hub",
        help="use a running hub at this URL (TETHER_TOKEN: a user's token,"
        " TETHER_RUNNER_TOKEN: a runner device's token)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tether-bench-") as tmp:
        proc = None
        if args.hub:
            url, token = args.hub.rstrip("/"), os.environ["TETHER_TOKEN"]
            runner_token = os.environ["TETHER_RUNNER_TOKEN"]
        else:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            env = {**os.environ, "TETHER_HOME": tmp}
            proc = subprocess.Popen(
                [sys.executable, "-m", "tether", "hub", "--port", str(port), "--data-dir", tmp],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + 30
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise SystemExit("the hub did not start")
                time.sleep(0.1)
            token, runner_token = asyncio.run(credentials(url, Path(tmp)))
        try:
            results = asyncio.run(run(args, url, token, runner_token))
        finally:
            if proc is not None:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(10)
    paced = results["paced"]
    print(
        f"paced  {paced['target_rate']:.0f}/s for {paced['events']} events: received "
        f"{paced['received_per_s']} events/s, latency p50 {paced['p50_ms']} ms, "
        f"p99 {paced['p99_ms']} ms, max {paced['max_ms']} ms"
    )
    if args.verbose:
        print("p99 per second (ms):", results["per_second_p99_ms"])
    if "flood" in results:
        flood = results["flood"]
        print(
            f"flood  {flood['events']} events: {flood['events_per_s']} events/s end to end "
            f"(latency p50 {flood['p50_ms']} ms, p99 {flood['p99_ms']} ms while queued)"
        )
    print(f"acked  {results['acked']} of {results['sent']} events (durable)")
    ok = paced["received_per_s"] >= 0.97 * paced["target_rate"] and paced["p99_ms"] < 50
    print("target (≥ 5000 events/s sustained, p99 < 50 ms):", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
