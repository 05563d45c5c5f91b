"""The web UI as an app on the phone, in Chromium: installable (manifest and service
worker), a push shown as a notification with Allow / Deny, Allow answering the request,
the pending count in every title, an offline page, and a sessions list the hub keeps
up to date (no polling)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from tests.notify.push_service import Browser
from tests.notify.receiver import Received, receiver
from tests.support.timing import scaled
from tests.web.support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    PHONE,
    WebHub,
    csp_violations,
    send_message,
    start_session_from_ui,
    web_hub,
)
from tether.client import HubClient, static_token
from tether.notify.routes import notify_of

pytestmark = pytest.mark.browser


@contextlib.asynccontextmanager
async def installable_browser(profile: Path, hub: WebHub) -> AsyncIterator[BrowserContext]:
    """Chromium with a real profile (an incognito context is never installable), allowed
    to show notifications for the hub."""
    async with async_playwright() as pw:
        context = await pw.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, viewport=PHONE
        )
        context.set_default_timeout(scaled(15) * 1000)
        try:
            await context.grant_permissions(["notifications"], origin=hub.url)
            yield context
        finally:
            await context.close()


async def signed_in(context: BrowserContext, hub: WebHub) -> Page:
    page = context.pages[0] if context.pages else await context.new_page()
    await page.goto(await hub.signin_link())
    await page.wait_for_url("**/sessions")
    await page.evaluate("navigator.serviceWorker.ready")
    return page


@contextlib.asynccontextmanager
async def installed_app(tmp_path: Path) -> AsyncIterator[tuple[WebHub, BrowserContext, Page]]:
    """A web hub, an installable Chromium allowed to notify, and a page signed in to it."""
    async with web_hub(tmp_path / "hub") as hub, installable_browser(tmp_path / "p", hub) as ctx:
        yield hub, ctx, await signed_in(ctx, hub)


async def push_registration(context: BrowserContext, page: Page) -> tuple[Any, str]:
    """A DevTools session with ServiceWorker enabled, and the app's registration id."""
    cdp = await context.new_cdp_session(page)
    found: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda e: found.extend(e["registrations"]))
    await cdp.send("ServiceWorker.enable")
    for _ in range(int(scaled(100))):
        live = [r for r in found if not r["isDeleted"]]
        if live:
            return cdp, live[-1]["registrationId"]
        await asyncio.sleep(0.1)
    raise AssertionError("no service worker registration showed up")


async def notifications(page: Page) -> list[dict[str, Any]]:
    return await page.evaluate(  # type: ignore[no-any-return]
        """navigator.serviceWorker.ready
            .then((r) => r.getNotifications())
            .then((ns) => ns.map((n) => ({title: n.title, body: n.body, tag: n.tag,
                                          actions: n.actions.map((a) => a.action)})))"""
    )


async def test_installable_with_a_service_worker(tmp_path: Path) -> None:
    async with installed_app(tmp_path) as (hub, ctx, page):
        cdp = await ctx.new_cdp_session(page)
        assert (await cdp.send("Page.getInstallabilityErrors"))["installabilityErrors"] == []
        manifest = await cdp.send("Page.getAppManifest")
        assert manifest["errors"] == []
        fields = json.loads(manifest["data"])
        assert fields["display"] == "standalone" and fields["start_url"] == "/sessions"
        sizes = {i["sizes"] for i in fields["icons"] if i["type"] == "image/png"}
        assert {"192x192", "512x512"} <= sizes
        scope = await page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
        assert scope == f"{hub.url}/"

        await ctx.set_offline(True)
        await page.goto(f"{hub.url}/teams")
        await expect(page.locator("h1")).to_have_text("You are offline")
        await ctx.set_offline(False)
        assert csp_violations() == []


async def _hub_push_for(hub: WebHub, push: Any, browser: Browser) -> Received:
    """Subscribe a stand-in browser for alice, and wait for the hub's next push to it."""
    async with HubClient(hub.url, static_token(await hub.bearer("push-stand-in"))) as c:
        await c.request(
            "POST", "/v1/push/subscriptions", json=browser.subscription(f"{push.url}/push/a")
        )
    return await push.next()


async def test_a_push_shows_allow_and_deny_and_allow_answers(tmp_path: Path) -> None:
    async with receiver() as push, installed_app(tmp_path) as (hub, ctx, page):
        cdp, registration = await push_registration(ctx, page)
        await start_session_from_ui(page)
        await expect(page).to_have_title("demo · tether")
        stand_in = Browser.new()
        waiting = asyncio.ensure_future(_hub_push_for(hub, push, stand_in))
        await asyncio.sleep(0.2)
        await send_message(page, "run touch x")
        await expect(page).to_have_title(re.compile(r"^\(1\) demo · tether$"))
        icon = await page.get_attribute("#favicon", "href")
        assert icon is not None and icon.startswith("data:image/svg+xml")

        # The hub's real Web Push payload (decrypted as the browser would), delivered to
        # the service worker through DevTools.
        payload = stand_in.decrypt((await waiting).body).decode()
        note = json.loads(payload)
        assert note["event"] == "permission_request"
        await cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": hub.url, "registrationId": registration, "data": payload},
        )
        tag = f"tether:{note['session']}:{note['request_id']}"
        for _ in range(int(scaled(100))):
            shown = await notifications(page)
            if shown:
                break
            await asyncio.sleep(0.1)
        assert [(n["tag"], n["actions"]) for n in shown] == [(tag, ["allow", "deny"])]
        assert shown[0]["title"] == "demo needs you" and "touch x" in shown[0]["body"]

        # A tap on Allow (Playwright cannot tap an OS notification: dispatch the event the
        # browser would, inside the service worker).
        worker = ctx.service_workers[0]
        await worker.evaluate(
            """async () => {
                const [n] = await self.registration.getNotifications();
                self.dispatchEvent(new NotificationEvent("notificationclick",
                                                         {notification: n, action: "allow"}));
            }"""
        )
        await expect(page.locator("#pending .perm-card")).to_have_count(0)
        await expect(page.locator(".ev.perm .perm-state")).to_contain_text("allowed by alice on")
        await expect(page.locator("[data-kind=turn_finished]")).to_have_count(1)
        await expect(page).to_have_title("demo · tether")
        for _ in range(int(scaled(100))):
            shown = await notifications(page)
            if shown and "Allowed" in shown[0]["body"]:
                break
            await asyncio.sleep(0.1)
        assert [(n["tag"], n["actions"]) for n in shown] == [(tag, [])]  # replaced, not stacked
        assert csp_violations() == []


async def test_the_sessions_list_is_pushed_with_who_needs_you_first(tmp_path: Path) -> None:
    async with installed_app(tmp_path) as (hub, _ctx, page):
        polled: list[str] = []
        page.on(
            "request", lambda r: polled.append(r.url) if r.url.endswith("/v1/sessions") else None
        )
        await expect(page.locator("#sessions")).to_contain_text("No sessions yet")
        async with HubClient(hub.url, static_token(await hub.bearer())) as c:
            quiet = await c.start("demo", prompt="hello")
            await expect(page.locator(f"[data-session='{quiet['id']}']")).to_be_visible()
            asking = await c.start("demo", prompt="run touch x")
            first = page.locator(".session-card").first
            await expect(first).to_have_attribute("data-session", asking["id"])
            await expect(first).to_contain_text("1 to approve")
            await expect(page).to_have_title("(1) Sessions · tether")
            await expect(page.locator(f"[data-session='{quiet['id']}'] .activity")).to_contain_text(
                "s ago"
            )
        assert polled == []  # the hub pushed every change


async def test_the_settings_page_adds_tests_and_removes_a_webhook(tmp_path: Path) -> None:
    async with receiver() as rx, installed_app(tmp_path) as (hub, _ctx, page):
        await page.click("nav >> text=Settings")
        await expect(page.locator("#push-state")).to_contain_text("Notifications are off")
        await expect(page.locator("#push-toggle")).to_have_text("Turn on notifications")
        await page.fill("#sink-url", f"{rx.url}/hook")
        await page.click("#sink-add")
        await expect(page.locator("#sink-secret-shown code")).to_be_visible()
        row = page.locator(".sink").first
        await expect(row).to_contain_text(f"{rx.url}/hook")
        await row.locator("button.test").click()
        await expect(page.locator("#sinks-note")).to_contain_text("Test sent")
        assert (await rx.next()).json()["event"] == "test"

        await page.uncheck("input[value=turn_finished]")
        await page.fill("#pref-reminder", "10")
        await page.click("#prefs-save")
        await expect(page.locator("#prefs-note")).to_have_text("Saved.")
        prefs = await notify_of(hub.app).prefs(hub.user.id)  # type: ignore[union-attr]
        assert "turn_finished" not in prefs.events and prefs.reminder_minutes == 10

        # A bad URL (the browser's own check is bypassed): the hub says what is wrong.
        await page.evaluate("document.getElementById('sink-url').type = 'text'")
        await page.fill("#sink-url", "ftp://nowhere/x")
        await page.click("#sink-add")
        await expect(page.locator("#sinks-note")).to_contain_text("https://")
        page.once("dialog", lambda d: asyncio.ensure_future(d.accept()))
        await row.locator("button.remove").click()
        await expect(page.locator("#sinks")).to_contain_text("No sinks yet")
        assert csp_violations() == []
