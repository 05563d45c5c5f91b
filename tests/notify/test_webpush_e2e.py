"""Web Push end to end without the internet: the hub's request reaches a push-service
stand-in with a valid VAPID JWT, and the payload decrypts (RFC 8291) with the
subscription's keys into the contract's JSON."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.notify.push_service import Browser, check_vapid
from tests.notify.receiver import receiver
from tests.notify.support import notify_of, settle_and_tick, start
from tests.support.authhub import secure_hub
from tests.support.hub import wait_for_event
from tether.errors import TetherError


async def subscribe(hub, device, endpoint: str, browser: Browser) -> dict:  # type: ignore[no-untyped-def]
    async with hub.client(device.token) as c:
        result: dict = await c.request(
            "POST", "/v1/push/subscriptions", json=browser.subscription(endpoint)
        )
        return result


async def test_a_push_is_signed_encrypted_and_names_the_session_and_request(
    tmp_path: Path,
) -> None:
    async with receiver() as push, secure_hub(tmp_path) as hub:
        dev = await hub.device(name="Chrome on Android")
        browser = Browser.new()
        async with httpx.AsyncClient() as http:
            key = (await http.get(f"{hub.url}/v1/push/vapid-public-key")).json()["key"]
        sink = await subscribe(hub, dev, f"{push.url}/push/sub-1", browser)
        assert (
            sink["kind"] == "webpush" and "sub-1" not in sink["url"]
        )  # the endpoint stays private

        session_id = await start(hub, dev, "run touch x")
        got = await push.next()
        assert got.path == "/push/sub-1"
        claims = check_vapid(got, key, push.url)
        assert claims["aud"] == push.url
        assert got.headers["content-encoding"] == "aes128gcm"
        assert got.headers["urgency"] == "high" and int(got.headers["ttl"]) > 0
        assert b"touch x" not in got.body  # encrypted on the wire
        note = json.loads(browser.decrypt(got.body))
        assert note["event"] == "permission_request"
        assert note["session"] == session_id
        assert note["request_id"] in hub.broker.sessions[session_id].tracker.pending
        assert note["input"]["command"] == "touch x"
        async with httpx.AsyncClient() as http:
            assert (await http.post(note["allow_url"])).status_code == 200
        answered_push = await push.next()
        answered = json.loads(browser.decrypt(answered_push.body))
        assert answered["event"] == "permission_answered"
        assert answered["answered_by"] == "admin on Chrome on Android"
        # The same RFC 8030 topic: the answer replaces the request still waiting to be shown.
        assert answered_push.headers["topic"] == got.headers["topic"]
        assert answered_push.headers["urgency"] == "normal"


async def test_a_gone_subscription_is_removed(tmp_path: Path) -> None:
    async with receiver() as push, secure_hub(tmp_path) as hub:
        push.statuses = [410]
        dev = await hub.device()
        await subscribe(hub, dev, f"{push.url}/push/old", Browser.new())
        await start(hub, dev, "run touch x")
        await push.next()
        await notify_of(hub).settled()
        async with hub.client(dev.token) as c:
            assert await c.request("GET", "/v1/notify/sinks") == []


async def test_a_revoked_browser_gets_no_more_pushes(tmp_path: Path) -> None:
    async with receiver() as push, secure_hub(tmp_path) as hub:
        phone = await hub.device(name="phone")
        laptop = await hub.device(name="laptop")
        await subscribe(hub, phone, f"{push.url}/push/phone", Browser.new())
        await hub.auth.revoke_device(None, phone.id)
        session_id = await start(hub, laptop, "run touch x")
        async with hub.session(session_id, laptop.token) as remote:
            await wait_for_event(remote, "permission_request")
            await settle_and_tick(hub)
        assert push.all == []
        async with hub.client(laptop.token) as c:
            assert await c.request("GET", "/v1/notify/sinks") == []


async def test_no_push_to_the_device_whose_visible_tab_owns_the_session(tmp_path: Path) -> None:
    async with receiver() as push, secure_hub(tmp_path) as hub:
        laptop, phone = await hub.device(name="laptop"), await hub.device(name="phone")
        await subscribe(hub, laptop, f"{push.url}/push/laptop", Browser.new())
        await subscribe(hub, phone, f"{push.url}/push/phone", Browser.new())
        session_id = await start(hub, laptop, "hello")
        async with hub.session(session_id, laptop.token) as remote:  # the laptop's tab owns it
            await wait_for_event(remote, "turn_finished")
            await settle_and_tick(hub)
            push.all.clear()
            async with hub.client(laptop.token) as c:
                await c.request(
                    "POST", "/v1/push/visibility", json={"session": session_id, "visible": True}
                )
                await remote.send_message("run touch x")
                await wait_for_event(remote, "permission_request")
                await settle_and_tick(hub)
                assert {r.path for r in push.all} == {"/push/phone"}
                await c.request(
                    "POST", "/v1/push/visibility", json={"session": session_id, "visible": False}
                )
                await remote.interrupt()
                await wait_for_event(remote, "turn_finished")
                await settle_and_tick(hub)
        assert "/push/laptop" in {r.path for r in push.all}


async def test_another_users_browser_hears_nothing_of_your_sessions(tmp_path: Path) -> None:
    async with receiver() as push, secure_hub(tmp_path) as hub:
        bob = await hub.auth.db.create_user("bob", is_admin=True, now=hub.clock())
        bob_dev = await hub.device(bob, name="bob-phone")
        await subscribe(hub, bob_dev, f"{push.url}/push/bob", Browser.new())
        dev = await hub.device()
        session_id = await start(hub, dev, "run touch x")
        async with hub.session(session_id, dev.token) as remote:
            await wait_for_event(remote, "permission_request")
            await settle_and_tick(hub)
        assert push.all == []
        carol = await hub.user("carol")  # not an admin: no loopback push endpoint
        carol_dev = await hub.device(carol, name="carol-phone")
        with pytest.raises(TetherError, match="only an admin"):
            await subscribe(hub, carol_dev, f"{push.url}/push/carol", Browser.new())
        with pytest.raises(TetherError, match="https"):
            await subscribe(hub, carol_dev, "http://push.example/x", Browser.new())
