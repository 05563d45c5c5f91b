"""Ownership across one's own devices: a browser tab owns a session, and the same user's
CLI takes the slot over explicitly (`--take`), is never locked out of `interrupt`, and is
told how to take over when it does not ask. Real hub, real sockets, real `tether` CLI."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.hub import HubHandle, running_hub, wait_for_event
from tests.support.procs import run_cli
from tether.client.session import RemoteSession
from tether.errors import Forbidden


async def _browser_tab(
    hub: HubHandle, session_id: str
) -> tuple[RemoteSession, list[tuple[str, str]]]:
    """A websocket like the web UI's: the admin's browser device, joined as owner."""
    browser = await hub.device(kind="browser", name="firefox")
    roles: list[tuple[str, str]] = []
    tab = hub.session(
        session_id, browser.token, on_role=lambda role, why: roles.append((role, why or ""))
    )
    await tab.connect()
    assert tab.role == "owner"
    return tab, roles


async def _cli(hub: HubHandle, *args: str) -> tuple[int, str]:
    done = await asyncio.to_thread(run_cli, hub.data_dir, hub.url, *args, check=False)
    return done.returncode, done.stdout + done.stderr


async def test_the_same_users_cli_takes_the_slot_from_a_browser_tab(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session_id = (await client.start("demo"))["id"]
        tab, roles = await _browser_tab(hub, session_id)
        try:
            await wait_for_event(tab, "status", state="idle")
            # Without --take the CLI stays out, and is told how to get in.
            code, said = await _cli(hub, "send", session_id, "hello")
            assert code == 2
            assert "your other device admin (firefox) owns this session" in said
            assert "--take" in said and "ask them" not in said

            code, said = await _cli(hub, "send", "--take", session_id, "hello from the cli")
            assert code == 0, said
            finished = await wait_for_event(tab, "turn_finished")  # the tab still watches
            assert finished["result"] == "You said: hello from the cli"
            assert tab.role == "follower"
            assert roles and roles[-1][0] == "follower"
            assert "taken over by admin" in roles[-1][1]
            with pytest.raises(Forbidden, match="read-only follower"):
                await tab.send_message("the tab is a follower now")
            # The tab takes it back the way the web UI's button does: a new socket, ?take=1.
            back = hub.session(session_id, tab._token, take=True)
            await back.connect()
            assert back.role == "owner"
            await back.close()
        finally:
            await tab.close()
        entries = await client.request("GET", "/v1/audit", params={"limit": 1000})
    taken = [e for e in entries if e["action"] == "owner_taken" and e["details"].get("taken_from")]
    assert [e["details"]["via"] for e in taken[:1]] == ["http"]
    assert taken[0]["details"]["taken_from"] == "admin (firefox)"


async def test_interrupt_is_never_locked_out_by_ones_own_browser_tab(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session_id = (await client.start("demo"))["id"]
        tab, _roles = await _browser_tab(hub, session_id)
        try:
            await tab.send_message("long 2000")
            await wait_for_event(tab, "agent_message")
            code, said = await _cli(hub, "interrupt", session_id)
            assert code == 0, said
            finished = await wait_for_event(tab, "turn_finished")
            assert finished["status"] == "interrupted"
            assert tab.role == "owner"  # interrupting took nothing from the tab
            code, said = await _cli(hub, "stop", session_id)
            assert code == 2 and "stop --take" in said
            code, said = await _cli(hub, "stop", "--take", session_id)
            assert code == 0, said
            assert (await wait_for_event(tab, "exited"))["reason"] == "stopped"
            assert tab.role == "follower"
        finally:
            await tab.close()


async def test_attach_take_and_what_others_are_told(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session_id = (await client.start("demo"))["id"]
        tab, roles = await _browser_tab(hub, session_id)
        try:
            code, said = await _cli(hub, "attach", session_id, "--take", "--prompt", "mine now")
            assert code == 0, said
            assert f"attached to {session_id} as owner" in said
            assert "You said: mine now" in said
            assert roles[-1][0] == "follower"
            assert tab.role == "follower"
        finally:
            await tab.close()

        # Another user (an admin may watch any session) cannot take it from this user.
        root = await hub.auth.db.create_user("root", is_admin=True, now=hub.clock())
        root_device = await hub.device(root, name="root-laptop")
        tab, _roles = await _browser_tab(hub, session_id)
        try:
            theirs = hub.client(root_device.token)
            with pytest.raises(Forbidden, match="only from your own devices"):
                await theirs.send(session_id, "mine!", take=True)
            with pytest.raises(Forbidden, match=r"admin \(firefox\) owns this session"):
                await theirs.send(session_id, "please?")
            watcher = hub.session(session_id, root_device.token, take=True)
            await watcher.connect()
            assert watcher.role == "follower"
            assert "only from your own devices" in str(watcher.role_reason)
            await watcher.close()
            assert tab.role == "owner"

            # A share-link viewer is told it is read-only, not that someone owns the session.
            link = await client.request("POST", f"/v1/sessions/{session_id}/shares", json={})
            viewer = hub.session(session_id, link["token"], take=True)
            await viewer.connect()
            assert viewer.role == "follower"
            assert str(viewer.role_reason).startswith("read-only link")
            with pytest.raises(Forbidden, match="read-only link") as refused:
                await viewer.send_message("hi")
            assert "owns" not in str(refused.value)
            await viewer.close()
            with pytest.raises(Forbidden, match="read-only link"):
                await hub.client(link["token"]).send(session_id, "hi", take=True)
        finally:
            await tab.close()
