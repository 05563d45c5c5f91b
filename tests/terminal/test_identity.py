"""Who may be a PTY host and see its terminals, attacked on a hub with real identities:
a CLI device serves only as its own derived runner id with no teams; no other device can
take that id; another user can neither see, attach to, nor type into a terminal session."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.support.authhub import SecureHub, secure_hub
from tether.errors import Forbidden
from tether.terminal.identity import terminal_runner_id


def ws_url(hub: SecureHub, path: str) -> str:
    return hub.url.replace("http://", "ws://") + path


async def hello(
    hub: SecureHub, token: str, runner_id: str, teams: list[str] | None = None
) -> tuple[ClientConnection, str]:
    """Connect to the runner socket; return the socket and the first answer's type."""
    ws = await connect(
        ws_url(hub, "/v1/runner"), additional_headers={"Authorization": f"Bearer {token}"}
    )
    body = {
        "runner_id": runner_id,
        "version": "test",
        "teams": [{"name": t, "agent": "terminal"} for t in teams or []],
    }
    await ws.send(json.dumps({"v": 1, "type": "hello", "ts": 0, "payload": body}))
    try:
        first = json.loads(await ws.recv())
        return ws, str(first["type"])
    except ConnectionClosed as closed:
        return ws, f"closed {closed.rcvd.code if closed.rcvd else '?'}"


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[SecureHub]:
    async with secure_hub(tmp_path, with_runner=False) as running:
        yield running


async def test_a_cli_device_serves_only_as_its_own_terminal_host(hub: SecureHub) -> None:
    alice = await hub.user("alice")
    laptop = await hub.device(alice, name="laptop")
    token = await laptop.token()
    for runner_id, teams in [
        ("alice-runner", None),
        (terminal_runner_id("d_someone_else"), None),
        (terminal_runner_id(laptop.id), ["sneaky-team"]),
    ]:
        ws, answer = await hello(hub, token, runner_id, teams)
        assert answer == "closed 4003", (runner_id, teams)
        await ws.close()
    ws, answer = await hello(hub, token, terminal_runner_id(laptop.id))
    assert answer == "welcome"
    await ws.close()


async def test_no_other_device_can_take_a_terminal_hosts_id(hub: SecureHub) -> None:
    alice, bob = await hub.user("alice"), await hub.user("bob")
    laptop = await hub.device(alice, name="laptop")
    victim_id = terminal_runner_id(laptop.id)
    runner = await hub.device(bob, kind="runner", name=victim_id)  # a runner named like it
    browser = await hub.device(alice, kind="browser", name=victim_id)
    for device in (runner, browser):
        ws, answer = await hello(hub, await device.token(), victim_id)
        assert answer == "closed 4003"
        await ws.close()


async def test_another_user_cannot_see_attach_or_type(hub: SecureHub) -> None:
    alice, bob = await hub.user("alice"), await hub.user("bob")
    laptop = await hub.device(alice, name="laptop")
    phone = await hub.device(alice, name="phone")
    mallory = await hub.device(bob, name="bob-laptop")
    host, answer = await hello(hub, await laptop.token(), terminal_runner_id(laptop.id))
    assert answer == "welcome"
    try:
        async with hub.client(laptop.token) as client:
            session = await client.request(
                "POST", "/v1/terminal-sessions", json={"name": "alice shell", "host": "laptop"}
            )
        sid = session["id"]
        assert session["agent"] == "terminal" and session["runner_id"] == host_id(laptop.id)
        headers = {"Authorization": f"Bearer {await mallory.token()}"}
        async with httpx.AsyncClient(base_url=hub.url, headers=headers) as bob_http:
            assert (await bob_http.get(f"/v1/sessions/{sid}")).status_code == 403
            sent = await bob_http.post(f"/v1/sessions/{sid}/messages", json={"text": "rm -rf ~"})
            assert sent.status_code == 403
            listed = (await bob_http.get("/v1/sessions")).json()
            assert sid not in [s["id"] for s in listed]
            # Bob cannot publish a terminal either: his own host is not connected.
            assert (
                await bob_http.post("/v1/terminal-sessions", json={"name": "x"})
            ).status_code == 409
        with pytest.raises(Forbidden):
            await hub.session(sid, mallory.token).connect()
        # Alice's phone may watch, but not publish on her laptop's host.
        async with hub.client(phone.token) as phone_http:
            assert (await phone_http.session(sid))["id"] == sid
            with pytest.raises(Exception, match="terminal host is not connected"):
                await phone_http.request("POST", "/v1/terminal-sessions", json={"name": "y"})
        for name in ["\x1b]52;c;eA==\x07", "", "x" * 81]:
            async with hub.client(laptop.token) as client:
                with pytest.raises(Exception, match="name"):
                    await client.request("POST", "/v1/terminal-sessions", json={"name": name})
    finally:
        await host.close()


def host_id(device_id: str) -> str:
    return terminal_runner_id(device_id)
