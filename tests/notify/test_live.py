"""The live sessions socket (`/v1/live`): a snapshot now and on every change, only of the
sessions the caller may see; refused without sign-in, to share links, across origins; and
closed at once when the device is revoked."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.notify.support import start
from tests.support.authhub import secure_hub
from tests.support.timing import scaled


def live_url(hub: Any) -> str:
    return hub.url.replace("http://", "ws://") + "/v1/live"


async def next_sessions(ws: ClientConnection) -> dict[str, Any]:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), scaled(15)))
        if frame["type"] == "sessions":
            payload: dict[str, Any] = frame["payload"]
            return payload


async def close_code(url: str, headers: dict[str, str]) -> int | None:
    async with connect(url, additional_headers=headers) as ws:
        try:
            await asyncio.wait_for(ws.recv(), scaled(10))
        except ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None
    return None


async def test_the_list_follows_changes_and_shows_only_your_sessions(tmp_path: Path) -> None:
    async with secure_hub(tmp_path) as hub:
        admin = await hub.device()
        bob = await hub.device(await hub.user("bob"), name="bob")
        auth = {"Authorization": f"Bearer {await admin.token()}"}
        async with (
            connect(live_url(hub), additional_headers=auth) as mine,
            connect(
                live_url(hub), additional_headers={"Authorization": f"Bearer {await bob.token()}"}
            ) as his,
        ):
            assert (await next_sessions(mine))["sessions"] == []
            session_id = await start(hub, admin, "run touch x")
            while True:
                snapshot = await next_sessions(mine)
                if snapshot["pending"] == 1:
                    break
            first = snapshot["sessions"][0]
            assert first["id"] == session_id and first["pending_permissions"] == 1
            assert first["last_activity"] > first["created_at"]
            assert (await next_sessions(his)) == {"sessions": [], "pending": 0}

            await hub.auth.revoke_device(None, admin.id)
            try:
                while True:
                    await asyncio.wait_for(mine.recv(), scaled(10))
            except ConnectionClosed as exc:
                assert exc.rcvd is not None and exc.rcvd.code == 4001


async def test_the_socket_refuses_strangers_share_links_and_other_origins(tmp_path: Path) -> None:
    async with secure_hub(tmp_path) as hub:
        dev = await hub.device()
        session_id = await start(hub, dev, "hello")
        async with hub.client(dev.token) as c:
            share = await c.request("POST", f"/v1/sessions/{session_id}/shares", json={"ttl_s": 60})
        url = live_url(hub)
        assert await close_code(url, {}) == 4001
        assert await close_code(url, {"Authorization": "Bearer nonsense"}) == 4001
        assert await close_code(url, {"Authorization": f"Bearer {share['token']}"}) == 4003
        # A cookie sent by a page of another site (cross-site WebSocket hijacking).
        cookie = {"Cookie": f"tether_session={await dev.token()}", "Origin": "https://evil.example"}
        assert await close_code(url, cookie) == 4001
