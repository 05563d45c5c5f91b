"""The audit log says what was decided, and "last seen" is when a device or runner was
actually last seen — through a real hub, its sockets and its store."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.support.hub import connected_runner, demo_team, running_hub, wait_for_event
from tests.support.timing import scaled
from tether.client.api import HubApi
from tether.config import TetherConfig


async def _entries(client: HubApi, action: str) -> list[dict[str, Any]]:
    entries = await client.request("GET", "/v1/audit", params={"limit": 1000})
    return [e for e in entries if e["action"] == action]


async def test_a_decision_on_the_socket_is_audited_with_behavior_request_and_tool(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session_id = (await client.start("demo"))["id"]
        browser = await hub.device(kind="browser", name="firefox")
        async with hub.session(session_id, browser.token) as tab:
            await tab.send_message("run touch x")
            request = await wait_for_event(tab, "permission_request")
            await tab.decide_permission(str(request["request_id"]), "deny", "not now")
            await wait_for_event(tab, "turn_finished")
        decisions = await _entries(client, "permission_decision")
    assert len(decisions) == 1
    entry = decisions[0]
    assert entry["details"] == {
        "session": session_id,
        "via": "socket",
        "request_id": request["request_id"],
        "behavior": "deny",
        "tool": "Bash",
    }
    assert entry["actor"] == "admin" and entry["device_id"] == browser.id


async def test_a_device_is_seen_when_it_uses_a_token_and_when_its_socket_closes(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as admin:
        phone = await hub.device(name="phone")

        async def last_seen() -> float:
            devices = await admin.request("GET", "/v1/devices")
            return float(next(d for d in devices if d["id"] == phone.id)["last_seen"])

        token = await phone.token()  # minted now: seen now
        minted = await last_seen()
        hub.clock.advance(scaled(120))
        async with hub.client(token) as client:
            await client.sessions()  # the same token, two minutes later
        used = await last_seen()
        assert used >= minted + scaled(120)

        session_id = (await admin.start("demo"))["id"]
        async with hub.session(session_id, token):
            hub.clock.advance(5)  # less than the write interval: written when it closes
        async with asyncio.timeout(scaled(10)):  # the hub notices the close a moment later
            while await last_seen() < used + 5:
                await asyncio.sleep(0.05)


async def test_a_runner_is_last_seen_when_it_disconnected_not_when_it_connected(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path) as hub:
        token = await hub.runner_token("laptop")
        config = TetherConfig(teams={"lap": demo_team(tmp_path, name="lap")})

        async def row() -> float:
            runners = await hub.broker.store.list_runners()
            return float(next(r for r in runners if r["id"] == "laptop")["last_seen"])

        async with connected_runner(hub.url, token, config, tmp_path / "r", runner_id="laptop"):
            connected = await row()
            await asyncio.sleep(0.05)
        async with asyncio.timeout(scaled(10)):  # the row is written as the socket ends
            while await row() <= connected:
                await asyncio.sleep(0.05)
        # What a hub started later would show: the disconnect, from the store.
        assert hub.broker.directory.last_seen("laptop") == await row()
