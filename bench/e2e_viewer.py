"""The viewers of the end-to-end benchmark, in a process of their own.

    python bench/e2e_viewer.py run  --backend tether --url URL --data-dir DIR --team bench \
        --viewers 1 --phase flood:w0:2000 --phase flood:m1:20000 --phase pace:p1:10000:1000
    python bench/e2e_viewer.py run  --backend relay --url ws://127.0.0.1:PORT --channel c …
    python bench/e2e_viewer.py idle --backend tether … --team idle --sessions 1000 --per-session 2

`run` starts a session of the team (tether: through the public client API, with this
machine's device credentials in DIR) or joins a relay channel, connects the viewers
(tether: `RemoteSession`; the first is the owner unless --follow), then for each phase
hands the producer its command (tether: `HubClient.send`, i.e. `tether send`) and waits
until every viewer has every line. `idle` connects viewers that only sit there, until
stdin closes. Both report on stdout, one JSON object a line (`ready`, `phase`,
`result`, `done`); problems go to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from e2e_lines import LINE_BYTES, Command, Tally, summarize
from websockets.asyncio.client import ClientConnection, connect

Send = Callable[[str], Awaitable[None]]


def report(event: str, **fields: Any) -> None:
    """One JSON line for the orchestrator (bench/e2e.py)."""
    print(json.dumps({"event": event, **fields}), flush=True)


class Receivers:
    """The current phase's tallies, one per viewer, and a flag set once all are complete."""

    def __init__(self, viewers: int) -> None:
        self.tallies: list[Tally | None] = [None] * viewers
        self.pending = 0
        self.all_done = asyncio.Event()

    def begin(self, tag: str, count: int) -> None:
        """A new phase: every viewer expects `count` lines tagged `tag`."""
        self.tallies = [Tally(tag, count) for _ in self.tallies]
        self.pending = len(self.tallies)
        self.all_done.clear()

    def note(self, viewer: int, text: str, received_ns: int) -> None:
        """A frame's text (one line, or several joined by newlines) reached `viewer`."""
        tally = self.tallies[viewer]
        if tally is None or tally.complete:
            return
        for line in text.split("\n"):
            tally.note(line, received_ns)
        if tally.complete:
            self.pending -= 1
            if self.pending == 0:
                self.all_done.set()


async def tether_viewers(args: argparse.Namespace, receivers: Receivers) -> tuple[Send, Any]:
    """Start a session, connect the viewers; return how to send a command, and a closer."""
    from tether.client import HubClient, RemoteSession
    from tether.client.access import hub_access

    access = hub_access(args.url, Path(args.data_dir))
    hub = HubClient(args.url, access.token)
    await hub.__aenter__()
    session_id = str((await hub.start(args.team))["id"])
    remotes = [
        RemoteSession(args.url, session_id, access.token, follow=args.follow or i > 0)
        for i in range(args.viewers)
    ]
    await gather_limited([r.connect() for r in remotes], 32)

    async def watch(index: int, remote: RemoteSession) -> None:
        async for event in remote:
            now = time.time_ns()
            if event.kind == "output":
                receivers.note(index, str(event.payload.get("text", "")), now)

    tasks = [asyncio.create_task(watch(i, r)) for i, r in enumerate(remotes)]

    async def send(text: str) -> None:
        await hub.send(session_id, text)

    async def close() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(r.close() for r in remotes), return_exceptions=True)
        with contextlib.suppress(Exception):
            await hub.stop(session_id)
        await hub.aclose()

    return send, close


async def relay_viewers(args: argparse.Namespace, receivers: Receivers) -> tuple[Send, Any]:
    """Connect the consumers to the channel; the first one carries commands upstream."""
    url = f"{args.url}/sub/{args.channel}"
    sockets: list[ClientConnection] = await gather_limited(
        [connect(url, compression=None, max_size=None) for _ in range(args.viewers)], 32
    )

    async def watch(index: int, ws: ClientConnection) -> None:
        async for frame in ws:
            now = time.time_ns()
            receivers.note(index, frame if isinstance(frame, str) else frame.decode(), now)

    tasks = [asyncio.create_task(watch(i, ws)) for i, ws in enumerate(sockets)]

    async def close() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)

    return sockets[0].send, close


async def gather_limited(aws: list[Awaitable[Any]], limit: int) -> list[Any]:
    """Await all, at most `limit` at a time (thousands of handshakes at once time out)."""
    gate = asyncio.Semaphore(limit)

    async def one(aw: Awaitable[Any]) -> Any:
        async with gate:
            return await aw

    return list(await asyncio.gather(*(one(aw) for aw in aws)))


def parse_phase(text: str, size: int) -> Command:
    """`flood:TAG:COUNT` or `pace:TAG:COUNT:RATE`."""
    parts = text.split(":")
    if parts[0] == "flood" and len(parts) == 3:
        return Command("flood", parts[1], int(parts[2]), 0.0, size)
    if parts[0] == "pace" and len(parts) == 4:
        return Command("pace", parts[1], int(parts[2]), float(parts[3]), size)
    raise SystemExit(f"bad --phase {text!r}: write flood:TAG:COUNT or pace:TAG:COUNT:RATE")


async def run(args: argparse.Namespace) -> int:
    """Connect, run every phase, report each."""
    receivers = Receivers(args.viewers)
    connect_viewers = tether_viewers if args.backend == "tether" else relay_viewers
    started = time.perf_counter()
    send, close = await connect_viewers(args, receivers)
    report("ready", viewers=args.viewers, seconds=round(time.perf_counter() - started, 2))
    failed = False
    try:
        for text in args.phase:
            command = parse_phase(text, args.size)
            deliveries = command.count * args.viewers
            timeout = 60 + deliveries / 2000 + (command.count / command.rate if command.rate else 0)
            if args.pause:
                await asyncio.sleep(args.pause)
            receivers.begin(command.tag, command.count)
            report("phase", tag=command.tag, state="start")
            await send(command.text())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(receivers.all_done.wait(), timeout)
            tallies = [t for t in receivers.tallies if t is not None]
            result = summarize(tallies, command.action)
            report("result", tag=command.tag, timeout_s=round(timeout), **result)
            if not result["exactly_once"]:
                failed = True
                break
    finally:
        await close()
    report("done")
    return 1 if failed else 0


async def idle(args: argparse.Namespace) -> int:
    """Connect `sessions × per_session` viewers that only sit there, until stdin closes."""
    started = time.perf_counter()
    dropped = [0]
    closers: list[Callable[[], Awaitable[Any]]] = []
    if args.backend == "tether":
        from tether.client import HubClient, RemoteSession
        from tether.client.access import hub_access

        access = hub_access(args.url, Path(args.data_dir))
        async with HubClient(args.url, access.token) as hub:
            starts = [hub.start(args.team) for _ in range(args.sessions)]
            ids = [str(s["id"]) for s in await gather_limited(starts, 8)]
        remotes = [
            RemoteSession(
                args.url,
                sid,
                access.token,
                on_disconnected=lambda *_a: dropped.__setitem__(0, dropped[0] + 1),
            )
            for sid in ids
            for _ in range(args.per_session)
        ]
        await gather_limited([r.connect() for r in remotes], 32)
        closers = [r.close for r in remotes]
    else:
        urls = [
            f"{args.url}/sub/idle-{i}"
            for i in range(args.sessions)
            for _ in range(args.per_session)
        ]
        sockets = await gather_limited([connect(u, compression=None) for u in urls], 32)
        closers = [ws.close for ws in sockets]
    report("ready", viewers=len(closers), seconds=round(time.perf_counter() - started, 2))
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await gather_limited([c() for c in closers], 256)
    report("done", disconnects=dropped[0])
    return 0


def main() -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["run", "idle"])
    parser.add_argument("--backend", choices=["tether", "relay"], required=True)
    parser.add_argument("--url", required=True, help="hub URL, or the relay's ws:// URL")
    parser.add_argument("--data-dir", help="tether: the data dir holding this CLI's device")
    parser.add_argument("--team", default="bench", help="tether: the team to start")
    parser.add_argument("--channel", default="live", help="relay: the channel to join")
    parser.add_argument("--viewers", type=int, default=1)
    parser.add_argument("--follow", action="store_true", help="every viewer a follower")
    parser.add_argument("--phase", action="append", default=[], help="flood:TAG:N | pace:TAG:N:R")
    parser.add_argument("--size", type=int, default=LINE_BYTES, help="bytes per line")
    parser.add_argument("--pause", type=float, default=0.0, help="seconds before each phase")
    parser.add_argument("--sessions", type=int, default=1000, help="idle: sessions")
    parser.add_argument("--per-session", type=int, default=2, help="idle: viewers per session")
    args = parser.parse_args()
    if args.backend == "tether" and not args.data_dir:
        parser.error("--backend tether needs --data-dir")
    return asyncio.run(run(args) if args.mode == "run" else idle(args))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
