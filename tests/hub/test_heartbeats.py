"""Heartbeats on all three sockets: the hub pings its viewers and runners and closes one
that stays silent (4009); the runner does the same to a hub that stops answering, and
connects again. A peer that answers stays connected."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from tests.support.hub import HubHandle, running_hub
from tests.support.procs import free_port
from tests.support.timing import scaled
from tether.client import static_token
from tether.config import TetherConfig
from tether.hub.settings import HubSettings
from tether.protocol.messages import CloseCode
from tether.runner.daemon import Runner


def quick(data_dir: Path) -> HubSettings:
    return HubSettings(data_dir=data_dir, heartbeat_s=scaled(0.2), dead_after_s=scaled(0.6))


async def frames_until_closed(ws: ClientConnection | ServerConnection) -> tuple[list[str], int]:
    """The types of the frames that came, and the close code, once the peer closed."""
    types = []
    with pytest.raises(ConnectionClosed) as info:
        while True:
            types.append(json.loads(await asyncio.wait_for(ws.recv(), scaled(30)))["type"])
    closing = info.value.rcvd or info.value.sent
    assert closing is not None
    return types, closing.code


async def silent_socket(hub: HubHandle, path: str, token: str) -> ClientConnection:
    url = hub.url.replace("http://", "ws://") + path
    return await connect(url, additional_headers={"Authorization": f"Bearer {token}"})


async def test_a_silent_viewer_is_pinged_then_closed(tmp_path: Path) -> None:
    async with running_hub(tmp_path, settings=quick(tmp_path)) as hub, hub.client() as client:
        session = (await client.start("demo"))["id"]
        ws = await silent_socket(hub, f"/v1/sessions/{session}/stream", hub.token)
        types, code = await frames_until_closed(ws)
    assert "ping" in types
    assert code == CloseCode.HEARTBEAT_TIMEOUT


async def test_a_silent_runner_is_pinged_then_closed(tmp_path: Path) -> None:
    async with running_hub(tmp_path, settings=quick(tmp_path), with_runner=False) as hub:
        ws = await silent_socket(hub, "/v1/runner", await (await hub.runner_token("quiet"))())
        hello = {"runner_id": "quiet", "version": "x", "teams": []}
        await ws.send(json.dumps({"v": 1, "type": "hello", "ts": time.time(), "payload": hello}))
        types, code = await frames_until_closed(ws)
    assert types[0] == "welcome" and "ping" in types
    assert code == CloseCode.HEARTBEAT_TIMEOUT


async def test_a_viewer_that_answers_stays_connected(tmp_path: Path) -> None:
    async with running_hub(tmp_path, settings=quick(tmp_path)) as hub, hub.client() as client:
        session = (await client.start("demo"))["id"]
        connected: list[Any] = []

        async def on_connected(role: str, info: Any) -> None:
            connected.append(role)

        async with hub.session(session, on_connected=on_connected) as remote:
            await asyncio.sleep(scaled(0.6) * 4)  # several dead-after periods
            await remote.send_message("still here?")
        assert connected == ["owner"]  # never dropped, so never connected again


@contextlib.asynccontextmanager
async def hub_that_goes_quiet() -> AsyncIterator[tuple[str, list[int]]]:
    """A stand-in hub that welcomes the runner with quick heartbeats, then never answers;
    yields its URL and the close codes of the connections it saw end."""
    closes: list[int] = []

    async def handler(ws: ServerConnection) -> None:
        await ws.recv()  # hello
        welcome = {"sessions": {}, "heartbeat_s": scaled(0.2), "dead_after_s": scaled(0.6)}
        await ws.send(
            json.dumps({"v": 1, "type": "welcome", "ts": time.time(), "payload": welcome})
        )
        _types, code = await frames_until_closed(ws)
        closes.append(code)

    port = free_port()
    async with serve(handler, "127.0.0.1", port):
        yield f"http://127.0.0.1:{port}", closes


async def test_the_runner_leaves_a_hub_that_stops_answering_and_connects_again(
    tmp_path: Path,
) -> None:
    async with hub_that_goes_quiet() as (url, closes):
        runner = Runner(url, static_token("t" * 20), TetherConfig(), tmp_path, runner_id="r")
        task = asyncio.create_task(runner.run())
        try:
            for _ in range(int(scaled(300))):
                if len(closes) >= 2:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert closes[:2] == [CloseCode.HEARTBEAT_TIMEOUT] * 2
