"""Malformed, oversized and unknown frames on both sockets: a clear `error`, and life goes on.

Frames over `HubSettings.max_frame_bytes` (default 1 MiB) get a `frame_too_large` error
and the connection stays open; frames over the transport's limit (uvicorn's
`ws_max_size`, 16 MiB) never reach tether: the server closes the socket with 1009.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.hub import HubHandle, running_hub
from tests.support.timing import scaled
from tether.hub.settings import HubSettings

LIMIT = 4096


def ws_url(hub: HubHandle, path: str) -> str:
    return hub.url.replace("http://", "ws://") + path


def env(type_: str, payload: dict[str, Any] | None = None, **fields: Any) -> str:
    return json.dumps(
        {"v": 1, "type": type_, "ts": time.time(), "payload": payload or {}, **fields}
    )


async def next_of(ws: ClientConnection, *types: str) -> dict[str, Any]:
    """The next frame of one of `types` (pings, session updates and the like skipped)."""
    while True:
        frame: dict[str, Any] = json.loads(await ws.recv(decode=True))
        if frame["type"] in types:
            return frame


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[HubHandle]:
    settings = HubSettings(data_dir=tmp_path, max_frame_bytes=LIMIT)
    async with running_hub(tmp_path, settings=settings) as handle:
        yield handle


async def test_viewer_socket_reports_bad_frames_and_carries_on(hub: HubHandle) -> None:
    async with hub.client() as client:
        session = (await client.start("demo"))["id"]
    headers = {"Authorization": f"Bearer {hub.token}"}
    async with connect(
        ws_url(hub, f"/v1/sessions/{session}/stream"), additional_headers=headers
    ) as ws:
        assert (await next_of(ws, "role"))["payload"]["role"] == "owner"
        await ws.send("{this is not json")
        error = (await next_of(ws, "error"))["payload"]
        assert error["code"] == "bad_frame" and "not valid JSON" in error["message"]

        await ws.send(env("user_message", {"text": "x" * (LIMIT + 10)}))
        error = (await next_of(ws, "error"))["payload"]
        assert error["code"] == "frame_too_large"
        assert f"over the {LIMIT}-byte limit" in error["message"]

        await ws.send(env("teleport", id="q1"))
        error = (await next_of(ws, "error"))["payload"]
        assert "unknown message type 'teleport'" in error["message"]
        assert error["code"] == "unknown_type" and error["ref"] == "q1"

        await ws.send(json.dumps({"v": 9, "type": "resume", "payload": {}}))
        error = (await next_of(ws, "error"))["payload"]
        assert error["code"] == "unsupported_version"

        await ws.send(env("user_message", {"text": ""}, id="q2"))
        error = (await next_of(ws, "error"))["payload"]
        assert error["ref"] == "q2" and "text" in error["message"]

        # The connection and the session carry on: a valid turn still works.
        await ws.send(env("resume", {"after": 0}))
        await ws.send(env("user_message", {"text": "still there?"}, id="q3"))
        assert (await next_of(ws, "ack"))["payload"]["ref"] == "q3"
        while True:
            frame = await next_of(ws, "event")
            if frame["payload"]["kind"] == "turn_finished":
                assert frame["payload"]["status"] == "success"
                break


async def runner_headers(hub: HubHandle, runner_id: str) -> dict[str, str]:
    """Credentials of the admin's runner device named `runner_id`."""
    return {"Authorization": f"Bearer {await (await hub.runner_token(runner_id))()}"}


async def test_runner_socket_reports_bad_frames_and_carries_on(hub: HubHandle) -> None:
    headers = await runner_headers(hub, "raw")
    async with connect(ws_url(hub, "/v1/runner"), additional_headers=headers) as runner:
        hello = {"runner_id": "raw", "version": "x", "teams": [{"name": "raw", "agent": "command"}]}
        await runner.send(env("hello", hello))
        assert (await next_of(runner, "welcome"))["payload"]["sessions"] == {}
        async with hub.client() as client:
            session = (await client.start("raw"))["id"]
        control = await next_of(runner, "control")
        assert control["session"] == session and control["payload"]["action"] == "start"

        await runner.send("[1, 2, 3]")
        error = (await next_of(runner, "error"))["payload"]
        assert error["code"] == "bad_frame" and "JSON object" in error["message"]

        big = {"kind": "agent_message", "text": "y" * (LIMIT + 1)}
        await runner.send(env("event", big, session=session, seq=1))
        error = (await next_of(runner, "error"))["payload"]
        assert error["code"] == "frame_too_large"

        await runner.send(env("gossip"))
        error = (await next_of(runner, "error"))["payload"]
        assert error["code"] == "unknown_type" and "'gossip'" in error["message"]

        await runner.send(
            env("event", {"kind": "agent_message", "text": "no seq"}, session=session)
        )
        error = (await next_of(runner, "error"))["payload"]
        assert "needs 'session' and 'seq'" in error["message"]

        # Still connected; the session takes the next valid event, and it is acked durable.
        await runner.send(
            env("event", {"kind": "agent_message", "text": "ok"}, session=session, seq=1)
        )
        ack = await next_of(runner, "ack")
        assert (ack["session"], ack["seq"]) == (session, 1)
        async with hub.client() as client:
            events = (await client.events(session))["events"]
        assert [e["payload"]["text"] for e in events] == ["ok"]


async def test_runner_first_frame_must_be_hello(hub: HubHandle) -> None:
    headers = await runner_headers(hub, "raw")
    async with connect(ws_url(hub, "/v1/runner"), additional_headers=headers) as runner:
        await runner.send(env("event", {"kind": "agent_message", "text": "x"}, session="s", seq=1))
        error = (await next_of(runner, "error"))["payload"]
        assert "first frame must be 'hello'" in error["message"]
        with pytest.raises(ConnectionClosed) as info:
            await runner.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1002


async def test_frames_over_the_transport_limit_close_the_socket_with_1009(
    hub: HubHandle,
) -> None:
    async with hub.client() as client:
        session = (await client.start("demo"))["id"]
    headers = {"Authorization": f"Bearer {hub.token}"}
    url = ws_url(hub, f"/v1/sessions/{session}/stream")
    async with connect(url, additional_headers=headers, max_size=None) as ws:
        await next_of(ws, "role")
        with pytest.raises(ConnectionClosed) as info:
            await ws.send(env("user_message", {"text": "z" * (17 * 1024 * 1024)}))
            while True:
                await ws.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1009
    # The session is unharmed: a new connection takes the (freed) owner slot and works.
    remote = hub.session(session)
    async with remote:
        assert remote.role == "owner"
        await remote.send_message("after the big one", timeout=scaled(30))


async def test_a_runner_that_never_says_hello_is_closed_cleanly(tmp_path: Path) -> None:
    settings = HubSettings(data_dir=tmp_path, dead_after_s=0.5)
    async with running_hub(tmp_path, settings=settings, with_runner=False) as hub:
        headers = await runner_headers(hub, "raw")
        async with connect(ws_url(hub, "/v1/runner"), additional_headers=headers) as runner:
            with pytest.raises(ConnectionClosed) as info:
                await runner.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1002
        assert "no 'hello' within 0.5 s" in info.value.rcvd.reason


async def test_a_teams_update_changes_availability_but_never_adds_a_team(hub: HubHandle) -> None:
    headers = await runner_headers(hub, "raw")
    async with connect(ws_url(hub, "/v1/runner"), additional_headers=headers) as runner:
        down = {"name": "raw", "agent": "command", "available": False, "unavailable_reason": "x"}
        await runner.send(env("hello", {"runner_id": "raw", "version": "x", "teams": [down]}))
        await next_of(runner, "welcome")
        fixed = {**down, "available": True, "unavailable_reason": None}
        sneaky = {"name": "someone-elses-team", "agent": "command"}
        await runner.send(env("teams", {"teams": [fixed, sneaky]}))
        await runner.send(env("teams", {"teams": "not a list"}))
        error = (await next_of(runner, "error"))["payload"]
        assert error["code"] == "bad_frame"
        async with hub.client() as client:
            teams = {t["name"]: t for t in await client.teams()}
    assert teams["raw"]["available"] is True
    assert "someone-elses-team" not in teams
