"""How notifications behave: reminders by the hub's clock, one notification per request
(replaced when answered elsewhere), expiry, retries, ntfy's format, and who may do what."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from tests.notify.receiver import receiver
from tests.notify.support import add_sink, notify_of, settle_and_tick, start
from tests.support.authhub import secure_hub
from tests.support.hub import wait_for_event
from tests.support.timing import scaled
from tether.errors import AuthError, Conflict, TetherError

SECRET = "another-webhook-secret-1234"


async def _when_the_runner_is_back(call: Callable[[], Awaitable[None]]) -> None:
    """`call()`, tried again while the hub says the session's runner is away ("wait for
    it to reconnect, then try again")."""
    deadline = time.monotonic() + scaled(30)
    while True:
        try:
            await call()
            return
        except Conflict:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def test_a_reminder_comes_after_five_minutes_but_not_for_a_request_answered_in_the_ui(
    tmp_path: Path,
) -> None:
    async with receiver() as rx, secure_hub(tmp_path) as hub:
        dev = await hub.device()
        await add_sink(hub, dev, kind="webhook", url=f"{rx.url}/hook", secret=SECRET)
        session_id = await start(hub, dev, "run touch x")
        first = (await rx.next_event("permission_request")).json()

        hub.clock.advance(4 * 60)
        await settle_and_tick(hub)
        assert rx.nothing_queued()  # not yet: five minutes by default
        hub.clock.advance(2 * 60)
        await settle_and_tick(hub)
        reminder = (await rx.next_event("permission_reminder")).json()
        assert reminder["request_id"] == first["request_id"]
        assert reminder["allow_url"] and reminder["allow_url"] != first["allow_url"]
        hub.clock.advance(10 * 60)
        await settle_and_tick(hub)
        assert rx.nothing_queued()  # one reminder per request

        # The owner answers in the UI (over its socket): the notification is replaced...
        async with hub.session(session_id, dev.token) as remote:
            # Sixteen minutes on the hub's clock outlived the runner's session token: its
            # socket was closed as expired and it is reconnecting (as the error says).
            await _when_the_runner_is_back(
                lambda: remote.decide_permission(first["request_id"], "deny")
            )
            await wait_for_event(remote, "turn_finished")
            answered = (await rx.next_event("permission_answered")).json()
            assert answered["request_id"] == first["request_id"]
            assert answered["behavior"] == "deny"
            assert answered["answered_by"] == "admin on t"
            assert answered["allow_url"] is None
            await rx.next_event("turn_finished")

            # ...and a second request answered in the UI gets no reminder later.
            # (The runner may still be settling after its expired socket: retried alike.)
            await _when_the_runner_is_back(lambda: remote.send_message("run touch y"))
            second = (await rx.next_event("permission_request")).json()
            # The hub's clock is now 16 minutes ahead of the runner's (as a runner's clock
            # may be behind): the reminder is counted on the hub's, so none is due yet.
            await settle_and_tick(hub)
            assert rx.nothing_queued()
            await _when_the_runner_is_back(
                lambda: remote.decide_permission(second["request_id"], "allow")
            )
            await wait_for_event(remote, "turn_finished")
        await rx.next_event("permission_answered")
        await rx.next_event("turn_finished")
        async with httpx.AsyncClient() as http:  # its links died with the answer
            late = await http.post(second["deny_url"])
        assert late.status_code == 409 and "answered by admin on t" in late.text
        hub.clock.advance(30 * 60)
        await settle_and_tick(hub)
        assert [r.json()["event"] for r in rx.all].count("permission_reminder") == 1


async def test_links_expire_and_a_get_never_decides(tmp_path: Path) -> None:
    async with receiver() as rx, secure_hub(tmp_path) as hub:
        dev = await hub.device()
        await add_sink(hub, dev, kind="webhook", url=f"{rx.url}/hook", secret=SECRET)
        session_id = await start(hub, dev, "run touch x")
        note = (await rx.next_event("permission_request")).json()
        async with httpx.AsyncClient() as http:
            for _ in range(3):  # a link preview, a prefetch, a curious human
                page = await http.get(note["allow_url"])
                assert page.status_code == 200
                assert "<form" in page.text and "touch x" in page.text
                assert "script-src" not in page.headers["content-security-policy"]
            head = await http.head(note["allow_url"])
            assert head.status_code in (200, 405)
            live = hub.broker.sessions[session_id]
            assert note["request_id"] in live.tracker.pending  # still waiting

            hub.clock.advance(16 * 60)
            expired = await http.post(note["allow_url"])
            assert expired.status_code == 403 and "expired" in expired.text
            page = await http.get(note["deny_url"])
            assert page.status_code == 403 and "<form" not in page.text
            tampered = note["allow_url"][:-4] + "AAAA"
            assert (await http.post(tampered)).status_code == 403
            assert (await http.post(f"{hub.url}/answer/nonsense")).status_code == 403
        assert note["request_id"] in live.tracker.pending
        entries = await hub.auth.audit_entries()
        assert any(e.action == "capability_refused" for e in entries)


async def test_the_decision_through_a_link_is_audited_with_its_sink(tmp_path: Path) -> None:
    async with receiver() as rx, secure_hub(tmp_path) as hub:
        dev = await hub.device()
        sink = await add_sink(hub, dev, kind="webhook", url=f"{rx.url}/hook", secret=SECRET)
        session_id = await start(hub, dev, "run touch x")
        note = (await rx.next_event("permission_request")).json()
        async with httpx.AsyncClient() as http:
            done = await http.post(note["deny_url"], headers={"Accept": "text/html"})
        assert done.status_code == 200 and "Denied" in done.text
        entry = next(e for e in await hub.auth.audit_entries() if e.action == "permission_decision")
        assert entry.details["via"] == "capability" and entry.details["sink"] == sink["id"]
        assert entry.details["session"] == session_id and entry.details["behavior"] == "deny"
        assert entry.user_id == hub.admin.id


async def test_a_failing_webhook_is_retried_with_backoff_and_never_blocks_the_hub(
    tmp_path: Path,
) -> None:
    async with receiver() as rx, secure_hub(tmp_path) as hub:
        rx.statuses = [500, 503]
        dev = await hub.device()
        await add_sink(hub, dev, kind="webhook", url=f"{rx.url}/hook", secret=SECRET)
        session_id = await start(hub, dev, "hello")
        async with hub.session(session_id, dev.token) as remote:
            await wait_for_event(remote, "turn_finished")  # the hub carried on meanwhile
        await rx.next()  # 500
        await settle_and_tick(hub)
        assert len(rx.all) == 1  # the retry waits its backoff
        for _ in range(2):
            hub.clock.advance(600)
            await settle_and_tick(hub)
        delivered = [r.json()["id"] for r in rx.all]
        assert len(delivered) == 3 and len(set(delivered)) == 1  # the same notification
        async with hub.client(dev.token) as c:
            sinks = await c.request("GET", "/v1/notify/sinks")
        assert sinks[0]["failures"] == 0  # a success clears the count


async def test_ntfy_gets_title_tags_click_and_http_actions(tmp_path: Path) -> None:
    async with receiver() as ntfy_server, secure_hub(tmp_path) as hub:
        dev = await hub.device()
        await add_sink(hub, dev, kind="ntfy", url=f"{ntfy_server.url}/my-topic", token="tk_abc")
        session_id = await start(hub, dev, "run touch x")
        got = await ntfy_server.next()
        assert got.path == "/" and got.headers["authorization"] == "Bearer tk_abc"
        message = got.json()
        assert message["topic"] == "my-topic"
        assert message["title"] == "demo needs you"
        assert message["message"] == "Bash: touch x"
        assert message["click"] == f"{hub.url}/sessions/{session_id}"
        assert "key" in message["tags"]
        allow = next(a for a in message["actions"] if a["label"] == "Allow")
        assert allow["action"] == "http" and allow["method"] == "POST"
        async with httpx.AsyncClient() as http:  # what the ntfy app does on a tap
            assert (await http.post(allow["url"])).status_code == 200
        finished = (await ntfy_server.next()).json()
        while "finished" not in finished["title"]:
            finished = (await ntfy_server.next()).json()
        assert "white_check_mark" in finished["tags"]


async def test_another_user_cannot_see_remove_test_or_hear_your_sinks(tmp_path: Path) -> None:
    async with receiver() as rx, secure_hub(tmp_path) as hub:
        admin_dev = await hub.device()
        sink = await add_sink(hub, admin_dev, kind="webhook", url=f"{rx.url}/a", secret=SECRET)
        bob = await hub.user("bob")
        bob_dev = await hub.device(bob, name="bob-laptop")
        async with hub.client(bob_dev.token) as c:
            assert await c.request("GET", "/v1/notify/sinks") == []
            for method, path in (
                ("DELETE", f"/v1/notify/sinks/{sink['id']}"),
                ("POST", f"/v1/notify/sinks/{sink['id']}/test"),
            ):
                with pytest.raises(TetherError, match="no notification sink"):
                    await c.request(method, path)
            # Bob's own sink on this machine is refused: he is not an admin.
            with pytest.raises(AuthError, match="only an admin"):
                await c.request(
                    "POST",
                    "/v1/notify/sinks",
                    json={"kind": "webhook", "url": f"{rx.url}/bob", "secret": SECRET},
                )
        assert rx.all == []
        await start(hub, admin_dev, "run touch x")
        await rx.next_event("permission_request")
        assert {r.path for r in rx.all} == {"/a"}
        async with hub.client(admin_dev.token) as c:
            assert (await c.request("POST", f"/v1/notify/sinks/{sink['id']}/test"))[
                "outcome"
            ] == "sent"
            await c.request("DELETE", f"/v1/notify/sinks/{sink['id']}")
            assert await c.request("GET", "/v1/notify/sinks") == []


async def test_quiet_hours_and_event_filters_hold_notifications_back(tmp_path: Path) -> None:
    async with receiver() as rx, secure_hub(tmp_path) as hub:
        dev = await hub.device()
        await add_sink(
            hub, dev, kind="webhook", url=f"{rx.url}/hook", secret=SECRET, events="turn_finished"
        )
        async with hub.client(dev.token) as c:
            await c.request(
                "PUT",
                "/v1/notify/preferences",
                json={"quiet_hours": {"start": "00:00", "end": "23:59", "tz": "UTC"}},
            )
            session_id = await start(hub, dev, "hello")
            async with hub.session(session_id, dev.token) as remote:
                await wait_for_event(remote, "turn_finished")
                await settle_and_tick(hub)
                assert rx.all == []  # quiet
                await c.request("PUT", "/v1/notify/preferences", json={})
                await remote.send_message("run touch x")
                await wait_for_event(remote, "permission_request")
                await settle_and_tick(hub)
                assert rx.all == []  # this sink takes turn_finished only
                prefs = await c.request("GET", "/v1/notify/preferences")
                assert prefs["reminder_minutes"] == 5
        assert notify_of(hub).deliverer.sent == 0


async def test_markup_and_bidi_in_a_tool_input_cannot_disguise_the_answer_page(
    tmp_path: Path,
) -> None:
    hostile = "</pre><script>alert(1)</script><img src=x onerror=alert(2)> \u202eexe.txt"
    async with receiver() as rx, secure_hub(tmp_path) as hub:
        dev = await hub.device()
        await add_sink(hub, dev, kind="webhook", url=f"{rx.url}/hook", secret=SECRET)
        await start(hub, dev, f"run {hostile}")
        note = (await rx.next_event("permission_request")).json()
        assert note["input"]["command"] == hostile  # the contract carries it as data
        async with httpx.AsyncClient() as http:
            page = (await http.get(note["allow_url"])).text
        assert "<script>" not in page and "<img" not in page and "\u202e" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "&lt;U+202E&gt;" in page
