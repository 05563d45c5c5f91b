"""What the store-failure tests share: a `command` agent that prints numbered lines and
waits at a gate (so the test can break the store mid-stream), and a look at what the
hub stored and says on /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.hub import HubHandle
from tests.support.timing import scaled
from tether.config import TeamConfig, TetherConfig
from tether.errors import StoreError
from tether.runner.daemon import Runner
from tether.store.base import StoredEvent

LINES_SCRIPT = """\
import pathlib, sys, time
total, gate_at, gate = int(sys.argv[1]), int(sys.argv[2]), pathlib.Path(sys.argv[3])
for n in range(1, total + 1):
    print(f"line {n}", flush=True)
    if n == gate_at:
        while not gate.exists():
            time.sleep(0.02)
    elif n % 100 == 0:
        time.sleep(0.01)
"""


@dataclass
class LineStream:
    """A session of the `lines` team: `total` lines, pausing after `gate_at` until the
    gate file exists."""

    hub: HubHandle
    runner: Runner
    session: str
    gate: Path
    total: int

    async def stored(self) -> list[StoredEvent]:
        """Every event of the session in the hub's store, in seq order (a read that
        meets a connection the test just terminated is tried again)."""
        for _ in range(50):
            with contextlib.suppress(StoreError):
                return await self._read_all()
            await asyncio.sleep(0.1)
        return await self._read_all()

    async def _read_all(self) -> list[StoredEvent]:
        events: list[StoredEvent] = []
        while page := await self.hub.hub.store.read_events(
            self.session, events[-1].seq if events else 0, 5000
        ):
            events.extend(page)
        return events

    async def lines(self) -> list[str]:
        """The `output` texts stored so far."""
        return [json.loads(e.payload)["text"] for e in await self.stored() if e.kind == "output"]

    async def ready(self) -> tuple[int, str | None]:
        """/readyz: its status and reason."""
        async with httpx.AsyncClient(timeout=10) as http:
            answer = await http.get(f"{self.hub.url}/readyz")
        return answer.status_code, answer.json().get("reason")


def lines_config(root: Path, total: int, gate_at: int) -> tuple[TetherConfig, Path]:
    """A runner config with the `lines` team, and the gate file that lets it go on."""
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    script = root / "lines.py"
    script.write_text(LINES_SCRIPT)
    gate = root / "gate"
    argv = [sys.executable, str(script), str(total), str(gate_at), str(gate)]
    team = TeamConfig(name="lines", path=str(work), agent="command", command=argv, mode="stdin")  # type: ignore[arg-type]
    return TetherConfig(teams={"lines": team}), gate


@contextlib.asynccontextmanager
async def line_stream(
    hub: HubHandle,
    root: Path,
    *,
    total: int,
    gate_at: int,
    runner_dir: Path | None = None,
    memory_limit: int = 10_000,
) -> AsyncIterator[LineStream]:
    """A runner (its data dir `runner_dir`, by default under `root`, away from the hub's)
    and a started session of the `lines` team that has printed up to the gate."""
    config, gate = lines_config(root, total, gate_at)
    token = await hub.runner_token("lines-runner")
    runner = Runner(
        hub.url,
        token,
        config,
        runner_dir or root / "runner",
        runner_id="lines-runner",
        memory_limit=memory_limit,
    )
    task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(runner.connected.wait(), scaled(30))
        async with hub.client() as client:
            session = str((await client.start("lines"))["id"])
        stream = LineStream(hub, runner, session, gate, total)
        await until(lambda: _has(stream, f"line {gate_at}"), what=f"line {gate_at} stored")
        yield stream
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _has(stream: LineStream, line: str) -> bool:
    return line in await stream.lines()


async def until(
    check: Callable[[], Awaitable[object]], *, what: str, timeout: float = 60
) -> object:
    """Poll an async check until it is truthy; its value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + scaled(timeout)
    while True:
        value = await check()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def all_lines_once(stream: LineStream) -> None:
    """Wait for the session to exit, then: every line exactly once, in order, and the log's
    seqs contiguous from 1."""

    async def exited() -> bool:
        return any(e.kind == "exited" for e in await stream.stored())

    await until(exited, what="the command to exit and its log to be stored", timeout=120)
    events = await stream.stored()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert await stream.lines() == [f"line {n}" for n in range(1, stream.total + 1)]
