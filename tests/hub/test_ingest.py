"""The hub's ingest over a real runner socket, for the branches a well-behaved runner
never takes: a seq gap, another runner's session, an unknown session, a store that
fails a write, and a runner connecting twice. Nothing is lost and nothing doubles."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.hub import HubHandle, running_hub
from tether.protocol.messages import CloseCode


def frame(type_: str, payload: dict[str, Any] | None = None, **fields: Any) -> str:
    return json.dumps(
        {"v": 1, "type": type_, "ts": time.time(), "payload": payload or {}, **fields}
    )


def event(session: str, seq: int, text: str = "") -> str:
    payload = {"kind": "agent_message", "text": text or f"event {seq}"}
    return frame("event", payload, session=session, seq=seq)


async def next_of(ws: ClientConnection, *types: str) -> dict[str, Any]:
    while True:
        got: dict[str, Any] = json.loads(await ws.recv(decode=True))
        if got["type"] in types:
            return got


async def raw_runner(
    hub: HubHandle, runner_id: str, team: str
) -> tuple[ClientConnection, dict[str, int]]:
    """A runner socket of the admin's runner device `runner_id`, past hello; and what the
    `welcome` said the hub holds of each session."""
    token = await (await hub.runner_token(runner_id))()
    ws = await connect(
        hub.url.replace("http://", "ws://") + "/v1/runner",
        additional_headers={"Authorization": f"Bearer {token}"},
    )
    hello = {"runner_id": runner_id, "version": "x", "teams": [{"name": team, "agent": "command"}]}
    await ws.send(frame("hello", hello))
    welcome = (await next_of(ws, "welcome"))["payload"]
    return ws, welcome["sessions"]


async def start(hub: HubHandle, runner: ClientConnection, team: str) -> str:
    async with hub.client() as client:
        session = str((await client.start(team))["id"])
    control = await next_of(runner, "control")
    assert control["session"] == session
    return session


async def texts(hub: HubHandle, session: str) -> list[tuple[int, str]]:
    async with hub.client() as client:
        events = (await client.events(session))["events"]
    return [(e["seq"], e["payload"]["text"]) for e in events]


async def closed_with(ws: ClientConnection) -> tuple[int, str, list[dict[str, Any]]]:
    """The close code and reason, and every frame that came before the close."""
    frames = []
    with pytest.raises(ConnectionClosed) as info:
        while True:
            frames.append(json.loads(await ws.recv(decode=True)))
    assert info.value.rcvd is not None
    return info.value.rcvd.code, info.value.rcvd.reason, frames


async def test_a_seq_gap_keeps_what_came_before_and_closes_for_a_resend(tmp_path: Path) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub:
        runner, _ = await raw_runner(hub, "raw", "raw")
        session = await start(hub, runner, "raw")
        await runner.send(event(session, 1))
        await runner.send(event(session, 3))  # 2 went missing
        ack = await next_of(runner, "ack")
        assert (ack["session"], ack["seq"]) == (session, 1)
        code, reason, _ = await closed_with(runner)
        assert code == CloseCode.PROTOCOL_ERROR and "seq gap" in reason and "expected 2" in reason
        # The runner comes back, learns what the hub holds, and resends from there.
        again, held = await raw_runner(hub, "raw", "raw")
        assert held == {session: 1}
        for seq in (2, 3):
            await again.send(event(session, seq))
        while (ack := await next_of(again, "ack"))["seq"] < 3:
            pass
        assert await texts(hub, session) == [(1, "event 1"), (2, "event 2"), (3, "event 3")]
        await again.close()


async def test_another_runners_session_and_an_unknown_one_are_refused(tmp_path: Path) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub:
        owner, _ = await raw_runner(hub, "raw", "raw")
        session = await start(hub, owner, "raw")
        intruder, _ = await raw_runner(hub, "other", "other")
        await intruder.send(event(session, 1, "not yours"))
        theirs = (await next_of(intruder, "error"))["payload"]
        await intruder.send(event("s_nobody", 1))
        error = (await next_of(intruder, "error"))["payload"]
        assert error["code"] == "not_found" and "s_nobody" in error["message"]
        # Another runner's session is refused exactly as an unknown one (issue #11): the
        # intruder cannot tell that it exists.
        assert theirs["code"] == "not_found"
        assert theirs["message"].replace(session, "ID") == error["message"].replace(
            "s_nobody", "ID"
        )
        # The intruder is still connected, and the owner's events still go in.
        await intruder.send(frame("ping"))
        await next_of(intruder, "pong")
        await owner.send(event(session, 1, "mine"))
        assert (await next_of(owner, "ack"))["seq"] == 1
        assert await texts(hub, session) == [(1, "mine")]
        await intruder.close()
        await owner.close()


async def with_one_event(hub: HubHandle) -> tuple[ClientConnection, str]:
    """A raw runner `raw` and a session of its team, seq 1 stored and acked."""
    runner, _ = await raw_runner(hub, "raw", "raw")
    session = await start(hub, runner, "raw")
    await runner.send(event(session, 1))
    assert (await next_of(runner, "ack"))["seq"] == 1
    return runner, session


async def test_a_failed_write_is_not_acked_and_is_taken_again_later(tmp_path: Path) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub:
        runner, session = await with_one_event(hub)
        db = sqlite3.connect(tmp_path / "tether.db")
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.seq = 2"
            " BEGIN SELECT RAISE(ABORT, 'the disk says no'); END"
        )
        db.commit()
        await runner.send(event(session, 2))
        code, reason, before = await closed_with(runner)
        assert code == CloseCode.INTERNAL_ERROR and "resend later" in reason
        assert [f for f in before if f["type"] == "ack"] == []  # seq 2 was never acked
        db.execute("DROP TRIGGER refuse")
        db.commit()
        db.close()
        again, held = await raw_runner(hub, "raw", "raw")
        assert held == {session: 1}
        await again.send(event(session, 2))
        assert (await next_of(again, "ack"))["seq"] == 2
        assert await texts(hub, session) == [(1, "event 1"), (2, "event 2")]
        await again.close()


async def test_a_runner_connecting_again_replaces_its_older_connection(tmp_path: Path) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub:
        first, session = await with_one_event(hub)
        second, held = await raw_runner(hub, "raw", "raw")
        code, reason, _ = await closed_with(first)
        assert code == CloseCode.REPLACED and "newer connection" in reason
        assert held == {session: 1}
        await second.send(event(session, 1, "a resend"))  # a duplicate: acked, not stored
        await second.send(event(session, 2))
        while (await next_of(second, "ack"))["seq"] < 2:
            pass
        assert await texts(hub, session) == [(1, "event 1"), (2, "event 2")]
        await second.close()


async def test_a_seq_past_any_integer_the_store_holds_is_a_gap_not_a_crash(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub:
        runner, _ = await raw_runner(hub, "raw", "raw")
        session = await start(hub, runner, "raw")
        await runner.send(event(session, 2**64))
        code, reason, _ = await closed_with(runner)
        assert code == CloseCode.PROTOCOL_ERROR and "expected 1" in reason
        again, held = await raw_runner(hub, "raw", "raw")
        assert held == {session: 0}
        await again.send(event(session, 1))
        assert (await next_of(again, "ack"))["seq"] == 1
        assert await texts(hub, session) == [(1, "event 1")]
        await again.close()
