"""A hub restart neither sends old notifications again nor loses a due reminder."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.notify.receiver import receiver
from tests.notify.support import notify_of, settle_and_tick
from tests.web.support import WebHub, web_hub
from tether.client import HubClient, static_token
from tether.hub.hub import hub_of
from tether.notify.contract import Notification
from tether.notify.outbox import insert_deliveries


async def client(hub: WebHub) -> HubClient:
    return HubClient(hub.url, static_token(await hub.bearer()))


@pytest.mark.filterwarnings("ignore::ResourceWarning")
async def test_a_restart_sends_nothing_twice_and_keeps_the_reminder(tmp_path: Path) -> None:
    async with receiver() as rx, web_hub(tmp_path) as hub:
        async with await client(hub) as c:
            await c.request(
                "POST",
                "/v1/notify/sinks",
                json={"kind": "webhook", "url": f"{rx.url}/hook", "secret": "x" * 20},
            )
            session = await c.start("demo", prompt="run touch x")
        request = (await rx.next_event("permission_request")).json()
        await settle_and_tick(hub)

        await hub.restart()
        await settle_and_tick(hub)
        assert [r.json()["event"] for r in rx.all] == ["permission_request"]

        hub.clock.advance(6 * 60)
        await settle_and_tick(hub)
        reminder = (await rx.next_event("permission_reminder")).json()
        assert reminder["request_id"] == request["request_id"]
        assert reminder["session"] == session["id"]
        await hub.restart()
        hub.clock.advance(6 * 60)
        await settle_and_tick(hub)
        assert [r.json()["event"] for r in rx.all] == ["permission_request", "permission_reminder"]
        assert notify_of(hub).deliverer.sent == 0  # this hub instance sent nothing
        async with httpx.AsyncClient() as http:  # links outlive a restart (keys are on disk)
            assert (await http.post(reminder["allow_url"])).status_code == 200


async def test_a_delivery_queued_before_a_crash_goes_out_after_the_restart(tmp_path: Path) -> None:
    # The notifier queues a delivery (held for it while it sends) and the hub dies before
    # the send: with no other replica to take it over, the restarted hub sends it at once,
    # not when the hold runs out.
    async with receiver() as rx, web_hub(tmp_path) as hub:
        async with await client(hub) as c:
            sink = await c.request(
                "POST",
                "/v1/notify/sinks",
                json={"kind": "webhook", "url": f"{rx.url}/hook", "secret": "x" * 20},
            )
            session = await c.start("demo")
        note = Notification(
            event="turn_finished",
            id=f"{session['id']}:turn:99",
            session=session["id"],
            team="demo",
            url=f"{hub.url}/sessions/{session['id']}",
            title="demo: turn finished",
            summary="queued before the crash",
            ts=hub.clock(),
            status="success",
        )
        assert hub.app is not None
        store = hub_of(hub.app).store
        held = await store.run_write(insert_deliveries([(sink["id"], note)], hub.clock()))
        assert held and rx.nothing_queued()  # queued, never handed to a sender: the crash
        await hub.restart()
        await settle_and_tick(hub)
        sent = (await rx.next_event("turn_finished")).json()
        assert sent["summary"] == "queued before the crash"
