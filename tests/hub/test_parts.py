"""The broker's parts on their own: the owner slot, the runner directory, the observers —
and the observer API over a real hub (what the notifier will build on)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub import running_hub, wait_for_event
from tests.support.stores import opened
from tests.support.timing import scaled
from tether.errors import Conflict
from tether.hub import runners
from tether.hub.observers import Observers, SessionChange
from tether.hub.presence import LocalOwnerSlots
from tether.hub.runners import RunnerDirectory, RunnerLink
from tether.hub.seams import OwnerClaim
from tether.protocol.messages import ControlStop, Hello
from tether.store import SessionRecord, SqliteStore, StoredEvent


async def test_the_owner_slot_goes_to_the_first_and_only_its_holder_frees_it(
    tmp_path: Path,
) -> None:
    async with opened(SqliteStore(tmp_path / "tether.db")) as store:
        await store.create_session(SessionRecord(id="s_1", team="demo"))
        slots = LocalOwnerSlots(store)
        alice, bob = OwnerClaim("c_1", "d_alice", "alice"), OwnerClaim("c_2", "d_bob", "bob")
        assert await slots.acquire("s_1", alice) is True
        assert await slots.acquire("s_1", bob) is False
        assert await slots.release("s_1", "c_2") is False  # bob never held it
        assert slots.holder("s_1") == alice
        assert await slots.release("s_1", "c_1") is True
        assert await slots.acquire("s_1", bob) is True
        for _ in range(int(scaled(100))):  # the row follows the slot in the background
            record = await store.get_session("s_1")
            if record is not None and record.owner == "bob":
                break
            await asyncio.sleep(0.02)
        assert record is not None and record.owner == "bob"


async def test_a_control_for_an_offline_runner_says_so(tmp_path: Path) -> None:
    directory = RunnerDirectory(SqliteStore(tmp_path / "unused.db"))
    with pytest.raises(Conflict, match="not connected"):
        await directory.send_control("r_gone", "s_1", ControlStop())
    assert directory.is_connected("r_gone") is False
    assert directory.last_seen("r_gone") is None


async def test_no_control_overtakes_the_welcome_of_a_runner_still_connecting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner's link is known from its hello, but the hub answers `welcome` only after
    reading what it holds for the runner's sessions; a viewer's control in that window
    waits for the welcome (a runner drops a connection whose first frame is not one)."""
    async with opened(SqliteStore(tmp_path / "tether.db")) as store:
        directory = RunnerDirectory(store)
        sent: list[str] = []

        async def send_text(frame: str) -> None:
            sent.append(json.loads(frame)["type"])

        async def close(code: int, reason: str) -> None: ...

        link = RunnerLink(id="r_1", send_text=send_text, close=close)
        await directory.connect(link, Hello(runner_id="r_1", version="1", teams=[]))
        control = asyncio.create_task(directory.send_control("r_1", "s_1", ControlStop()))
        await asyncio.sleep(0.05)
        assert sent == [] and not control.done()
        await link.send_frame(json.dumps({"type": "welcome"}))
        link.welcomed.set()
        await control
        assert sent == ["welcome", "control"]

        monkeypatch.setattr(runners, "WELCOME_WAIT_S", 0.05)
        late = RunnerLink(id="r_2", send_text=send_text, close=close)
        await directory.connect(late, Hello(runner_id="r_2", version="1", teams=[]))
        with pytest.raises(Conflict, match="still connecting"):
            await directory.send_control("r_2", "s_2", ControlStop())
        assert sent == ["welcome", "control"]


def test_a_failing_observer_does_not_stop_the_others() -> None:
    observers = Observers()
    heard: list[str] = []

    def broken(change: SessionChange) -> None:
        raise RuntimeError("observer bug")

    observers.subscribe(broken)
    stop = observers.subscribe(lambda change: heard.append(change.session_id))
    observers.publish(SessionChange("s_1"))
    stop()
    observers.publish(SessionChange("s_2"))
    assert heard == ["s_1"]


async def test_observers_hear_every_durable_event_once_in_seq_order(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        changes: list[SessionChange] = []
        hub.broker.observers.subscribe(changes.append)
        session = (await client.start("demo"))["id"]
        async with hub.session(session) as remote:
            await remote.send_message("hello")
            await wait_for_event(remote, "turn_finished")
        stored = (await client.events(session))["events"]
    heard: list[StoredEvent] = [
        event for change in changes if change.session_id == session for event in change.durable
    ]
    assert [e.seq for e in heard] == [e["seq"] for e in stored] == list(range(1, len(stored) + 1))
    assert [e.kind for e in heard] == [e["payload"]["kind"] for e in stored]
    # Presence changes (the viewer joining and leaving) come without events.
    assert any(c.session_id == session and not c.durable for c in changes)


async def test_a_runner_gone_before_its_welcome_leaves_no_link_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A runner that hangs up while the hub prepares its welcome is not left registered
    (a stale link would take its controls and show it connected)."""
    from websockets.asyncio.client import connect

    async with running_hub(tmp_path, with_runner=False) as hub:
        token = await (await hub.runner_token("r_gone"))()
        hung_up = asyncio.Event()
        prepare = hub.broker.runner_connected

        async def slow_to_welcome(link: RunnerLink, hello: Hello) -> Any:
            welcome = await prepare(link, hello)
            await asyncio.wait_for(hung_up.wait(), scaled(10))
            return welcome

        monkeypatch.setattr(hub.broker, "runner_connected", slow_to_welcome)
        url = hub.url.replace("http://", "ws://") + "/v1/runner"
        hello = {"runner_id": "r_gone", "version": "1", "teams": [], "sessions": {}}
        headers = {"Authorization": f"Bearer {token}"}
        async with connect(url, additional_headers=headers) as ws:
            await ws.send(json.dumps({"v": 1, "type": "hello", "payload": hello}))
            for _ in range(int(scaled(200))):
                if hub.broker.directory.is_connected("r_gone"):
                    break
                await asyncio.sleep(0.02)
            assert hub.broker.directory.is_connected("r_gone")
        hung_up.set()
        for _ in range(int(scaled(200))):
            if not hub.broker.directory.is_connected("r_gone"):
                break
            await asyncio.sleep(0.02)
        assert not hub.broker.directory.is_connected("r_gone")
