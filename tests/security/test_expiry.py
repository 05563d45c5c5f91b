"""Credentials that expire stop working on sockets that are already open (issue #11,
finding 4): a share link and a session token each close their socket (4001, "expired")
once they run out, on the hub's clock; a client that renews in-band before expiry —
`RemoteSession` (`tether attach`), the runner — stays connected across it; a renewal
with someone else's token or a browser's renew-only `socket_token` over HTTP is refused."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.hub import HubHandle, connected_runner, demo_team, running_hub, wait_for_event
from tests.support.timing import scaled
from tether.auth.principal import Principal
from tether.config import TetherConfig


def ws_url(hub: HubHandle, path: str) -> str:
    return hub.url.replace("http://", "ws://") + path


async def session_of(hub: HubHandle) -> str:
    async with hub.client() as client:
        return str((await client.start("demo"))["id"])


async def frames_until_closed(ws: ClientConnection, within: float) -> tuple[int, str, list[Any]]:
    """Read frames until the hub closes the socket; (code, reason, frames)."""
    got: list[Any] = []

    async def read() -> tuple[int, str]:
        try:
            while True:
                got.append(json.loads(await ws.recv()))
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, "closed without a close frame"
            return exc.rcvd.code, exc.rcvd.reason

    code, reason = await asyncio.wait_for(read(), scaled(within))
    return code, reason, got


async def open_viewer(hub: HubHandle, session_id: str, token: str) -> ClientConnection:
    ws = await connect(
        ws_url(hub, f"/v1/sessions/{session_id}/stream"),
        additional_headers={"Authorization": f"Bearer {token}"},
        open_timeout=scaled(10),
    )
    kinds = [json.loads(await ws.recv())["type"] for _ in range(2)]
    assert kinds == ["ready", "role"]
    return ws


async def test_a_share_link_closes_its_open_socket_when_it_expires(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub:
        session_id = await session_of(hub)
        admin = Principal(id=hub.cli_device.id, user_id=hub.admin.id, device_id=hub.cli_device.id)
        _link, share = await hub.auth.create_share(admin, session_id, ttl=3)
        ws = await open_viewer(hub, session_id, share)
        hub.clock.advance(2)  # still valid: the socket stays
        await ws.send(json.dumps({"v": 1, "type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), scaled(5)))["type"] in ("pong", "ping")
        hub.clock.advance(2)
        code, reason, _ = await frames_until_closed(ws, within=5)
        assert code == 4001 and reason.startswith("expired") and "share link" in reason


async def test_a_session_token_closes_its_open_sockets_when_it_expires(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub:
        session_id = await session_of(hub)
        token = hub.token
        viewer = await open_viewer(hub, session_id, token)
        live = await connect(
            ws_url(hub, "/v1/live"), additional_headers={"Authorization": f"Bearer {token}"}
        )
        assert json.loads(await live.recv())["type"] == "authenticated"
        assert json.loads(await live.recv())["type"] == "sessions"
        hub.clock.advance(601)  # session tokens live ten minutes
        for ws in (viewer, live):
            code, reason, _ = await frames_until_closed(ws, within=5)
            assert code == 4001 and reason.startswith("expired") and "session token" in reason


async def test_renewing_with_another_devices_token_is_refused(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub:
        session_id = await session_of(hub)
        other = await hub.device(await hub.user("mallory"))
        ws = await open_viewer(hub, session_id, hub.token)
        await ws.send(
            json.dumps({"v": 1, "type": "auth", "payload": {"token": await other.token()}})
        )
        reply = json.loads(await asyncio.wait_for(ws.recv(), scaled(5)))
        assert reply["type"] == "error" and reply["payload"]["code"] == "auth_refused"
        hub.clock.advance(601)
        code, reason, _ = await frames_until_closed(ws, within=5)
        assert code == 4001 and reason.startswith("expired")


async def test_an_in_band_renewal_carries_a_socket_past_its_first_token(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub:
        session_id = await session_of(hub)
        ws = await open_viewer(hub, session_id, hub.token)
        hub.clock.advance(500)
        await ws.send(json.dumps({"v": 1, "type": "auth", "payload": {"token": hub.token}}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), scaled(5)))
        assert reply["type"] == "authenticated" and reply["payload"]["expires_in"] > 500
        hub.clock.advance(200)  # past the first token's expiry, not the second's
        await ws.send(json.dumps({"v": 1, "type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), scaled(5)))["type"] in ("pong", "ping")
        await ws.close()


async def test_a_browsers_socket_token_renews_a_socket_and_nothing_else(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub:
        session_id = await session_of(hub)
        socket_token = hub.auth.access_token(hub.cli_device, scope="renew")
        async with httpx.AsyncClient(base_url=hub.url) as http:
            response = await http.get(
                "/v1/sessions", headers={"Authorization": f"Bearer {socket_token}"}
            )
            assert response.status_code == 401
        ws = await open_viewer(hub, session_id, hub.token)
        await ws.send(json.dumps({"v": 1, "type": "auth", "payload": {"token": socket_token}}))
        reply = json.loads(await asyncio.wait_for(ws.recv(), scaled(5)))
        assert reply["type"] == "authenticated"
        await ws.close()


async def test_clients_that_renew_in_band_stay_connected_across_expiry(tmp_path: Path) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub:
        # Session tokens of two seconds (scaled on a slow machine), so expiry comes quickly.
        hub.auth.access_ttl = scaled(2.0)
        config = TetherConfig(teams={"demo": demo_team(tmp_path)})
        token = await hub.runner_token("short-lived")
        async with connected_runner(
            hub.url, token, config, tmp_path / "runner", runner_id="short-lived"
        ):
            link = hub.broker.runners["short-lived"]
            session_id = await session_of(hub)
            drops: list[str] = []

            async def dropped(reason: str) -> None:
                drops.append(reason)

            remote = hub.session(session_id, on_disconnected=dropped)
            async with remote:
                await wait_for_event(remote, "status", state="idle")
                await asyncio.sleep(2.5 * hub.auth.access_ttl)  # in real time
                await remote.send_message("still here")
                finished = await wait_for_event(remote, "turn_finished")
            assert finished["status"] == "success"
            assert drops == [], "the viewer was disconnected across expiry"
            assert hub.broker.runners["short-lived"] is link, "the runner had to reconnect"


async def test_remote_session_reconnects_with_a_fresh_token_after_expiry(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub:
        session_id = await session_of(hub)
        drops: list[str] = []

        async def dropped(reason: str) -> None:
            drops.append(reason)

        async with hub.session(session_id, on_disconnected=dropped) as remote:
            await wait_for_event(remote, "status", state="idle")
            hub.clock.advance(601)  # the token `tether attach` connected with is dead now
            for _ in range(int(scaled(100))):
                # (The runner's token ran out too: it reconnects as well.)
                if drops and remote.connected.is_set() and hub.broker.runners:
                    break
                await asyncio.sleep(0.05)
            assert drops and drops[0].startswith("expired"), drops
            await remote.send_message("after expiry")  # not fatal: it came back by itself
            assert (await wait_for_event(remote, "turn_finished"))["status"] == "success"


async def test_the_mcp_socket_expires_too_unless_renewed(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub:
        headers = {"Authorization": f"Bearer {hub.token}"}
        renewed = await connect(ws_url(hub, "/mcp/ws"), additional_headers=headers)
        lapsed = await connect(ws_url(hub, "/mcp/ws"), additional_headers=headers)
        hub.clock.advance(500)
        await renewed.send(json.dumps({"v": 1, "type": "auth", "payload": {"token": hub.token}}))
        reply = json.loads(await asyncio.wait_for(renewed.recv(), scaled(5)))
        assert reply["type"] == "authenticated" and reply["payload"]["expires_in"] > 500
        hub.clock.advance(200)
        code, reason, _ = await frames_until_closed(lapsed, within=5)
        assert code == 4001 and reason.startswith("expired")
        ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        await renewed.send(json.dumps(ping))
        assert json.loads(await asyncio.wait_for(renewed.recv(), scaled(5)))["id"] == 1
        await renewed.close()
