"""The web UI against the hub's real identities: the link `tether up` prints, share links
opened in a browser, revocation from the CLI, session tokens expiring under a live page,
and the devices/pairing/audit pages. (Debian's Chromium via Playwright, one per module.)"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, Route, expect

from tests.support.procs import free_port, run_cli, spawn, stop, wait_until
from tests.support.timing import scaled
from tests.web.support import (
    chromium,
    new_page,
    say,
    send_message,
    signed_in_page,
    start_session_from_ui,
    web_hub,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

LINK = re.compile(r"(http://127\.0\.0\.1:\d+/signin#code=[A-Z0-9-]+)")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def api_from_page(page: Page, method: str, path: str, body: Any = None) -> int:
    """The status of a same-origin fetch made by the page (with its cookies and CSRF header)."""
    status: int = await page.evaluate(
        """async ([method, path, body]) => {
            const r = await fetch(path, {
              method,
              body: body === null ? undefined : JSON.stringify(body),
              headers: {"X-Tether-CSRF": "1", "Content-Type": "application/json"},
            });
            return r.status;
        }""",
        [method, path, body],
    )
    return status


async def socket_write_from_page(page: Page, session_id: str) -> dict[str, Any]:
    """Open the viewer socket from the page, try to send a message; the hub's answer."""
    answer: dict[str, Any] = await page.evaluate(
        """(id) => new Promise((resolve) => {
            const ws = new WebSocket(`ws://${location.host}/v1/sessions/${id}/stream`);
            ws.onmessage = (m) => {
              const env = JSON.parse(m.data);
              if (env.type === "role") ws.send(JSON.stringify({v: 1, type: "user_message", id: "x1",
                payload: {text: "sneaky"}}));
              if (env.type === "ack" || env.type === "error") { resolve(env); ws.close(); }
            };
            ws.onclose = (e) => resolve({type: "closed", code: e.code});
        })""",
        session_id,
    )
    return answer


async def test_the_link_tether_up_prints_signs_the_browser_in(
    tmp_path: Path, browser: Browser
) -> None:
    port = free_port()
    log = tmp_path / "up.log"
    up = spawn(tmp_path / "home", "up", "--port", str(port), log=log)
    try:
        text = await asyncio.to_thread(
            wait_until, lambda: "tether is up" in log.read_text() and log.read_text(), 60
        )
        link = LINK.search(text)
        assert link, text
        assert link.group(1).startswith(f"http://127.0.0.1:{port}/signin#code=")
        context, page = await new_page(browser)
        await page.goto(link.group(1))
        await page.wait_for_url("**/sessions")
        assert "code=" not in page.url
        await expect(page.locator("#whoami")).to_have_text("admin")
        await start_session_from_ui(page)
        await say(page, "hello from the link")
        # The link is single use.
        other_context, other = await new_page(browser)
        await other.goto(link.group(1))
        await expect(other.locator(".signin .error")).to_contain_text("already used")
        await other_context.close()
        await context.close()
    finally:
        stop(up)
    # A later start prints a fresh link (the first one is spent).
    log.write_text("")
    up = spawn(tmp_path / "home", "up", "--port", str(port), log=log)
    try:
        text = await asyncio.to_thread(
            wait_until, lambda: "tether is up" in log.read_text() and log.read_text(), 60
        )
        again = LINK.search(text)
        assert again and again.group(1) != link.group(1), text
        context, page = await new_page(browser)
        await page.goto(again.group(1))
        await page.wait_for_url("**/sessions")
        await expect(page.locator("#whoami")).to_have_text("admin")
        await context.close()
    finally:
        stop(up)


async def test_a_share_link_opened_in_a_browser_is_read_only(
    tmp_path: Path, browser: Browser
) -> None:
    async with web_hub(tmp_path) as hub:
        context, owner = await signed_in_page(browser, hub)
        session_id = await start_session_from_ui(owner)
        await send_message(owner, "run make test")
        await expect(owner.locator("#pending .perm-card")).to_have_count(1)
        await owner.click("#share")
        url = await owner.locator("#share-area .link-url").inner_text()
        assert url.startswith(f"{hub.url}/share#token=tsh_"), url
        await expect(owner.locator("#share-area img.qr")).to_be_visible()

        # Someone without an account opens it.
        guest_context, guest = await new_page(browser)
        requests: list[str] = []
        guest.on("request", lambda r: requests.append(r.url))
        await guest.goto(url)
        await guest.wait_for_url(f"**/sessions/{session_id}")
        token = url.split("#token=", 1)[1]
        assert token not in guest.url
        assert not [r for r in requests if token in r], "the token went into a URL"
        await expect(guest.locator("#role")).to_have_text("read-only link")
        await expect(guest.locator("#connection")).to_have_text("live")
        await expect(guest.locator("[data-kind=user_message]")).to_contain_text("run make test")
        await expect(guest.locator("#message")).to_be_hidden()
        await expect(guest.locator("#pending .perm-card")).to_contain_text("make test")
        await expect(guest.locator("#pending .perm-card button.allow")).to_be_hidden()
        await expect(guest.locator("#pending .perm-card button.deny")).to_be_hidden()
        for button in ("#take-ownership", "#share", "#stop", "#interrupt"):
            await expect(guest.locator(button)).to_be_hidden()
        await expect(guest.locator("#readonly-note")).to_contain_text("Read-only link")
        # The hub refuses writes whatever the page shows.
        messages = f"/v1/sessions/{session_id}/messages"
        assert await api_from_page(guest, "POST", messages, {"text": "sneaky"}) == 403
        assert await api_from_page(guest, "POST", f"/v1/sessions/{session_id}/stop") == 403
        refused = await socket_write_from_page(guest, session_id)
        assert refused["type"] == "error" and refused["payload"]["code"] == "read_only"
        # The cookie reaches only that session's API: the guest is not signed in otherwise.
        assert await api_from_page(guest, "GET", "/v1/sessions") == 401
        assert await api_from_page(guest, "GET", "/v1/auth/me") == 401

        # Still live: the owner answers and the guest sees it.
        await owner.locator("#pending .perm-card button.allow").click()
        await expect(guest.locator(".ev.perm .perm-state")).to_have_text("allowed by alice")

        # Another user of the hub opens it: read-only there, still themselves elsewhere.
        bob = await hub.auth.db.create_user("bob", is_admin=False, now=hub.clock())
        bob_context, bob_page = await signed_in_page(browser, hub, user=bob)
        await bob_page.goto(url)
        await bob_page.wait_for_url(f"**/sessions/{session_id}")
        await expect(bob_page.locator("#role")).to_have_text("read-only link")
        await expect(bob_page.locator("#message")).to_be_hidden()
        await bob_page.click("text=← Sessions")
        await expect(bob_page.locator("#whoami")).to_have_text("bob")
        await expect(bob_page.locator("#sessions")).to_contain_text("No sessions yet")

        # Revoking the link closes the guest's socket at once.
        async with httpx.AsyncClient(base_url=hub.url) as http:
            auth = {"Authorization": f"Bearer {await hub.bearer()}"}
            (link,) = (await http.get("/v1/shares", headers=auth)).json()
            r = await http.post(f"/v1/shares/{link['id']}/revoke", headers=auth)
            assert r.status_code == 200
        await expect(guest.locator("#flash")).to_contain_text("not valid any more")
        await expect(guest.locator("#connection")).not_to_have_text("live")
        for c in (guest_context, bob_context, context):
            await c.close()


async def test_revoking_the_browser_from_the_cli_signs_it_out(
    tmp_path: Path, browser: Browser
) -> None:
    async with web_hub(tmp_path) as hub:
        context, page = await signed_in_page(browser, hub)
        await start_session_from_ui(page)
        await expect(page.locator("#connection")).to_have_text("live")
        me = await page.evaluate("() => fetch('/v1/auth/me').then((r) => r.json())")
        assert me["name"] == "alice" and me["device_id"]
        done = await asyncio.to_thread(
            run_cli, hub.data_dir, hub.url, "revoke", me["device_id"], timeout=60
        )
        assert me["device_id"] in done.stderr + done.stdout
        # The socket is closed with 4001, the refresh is refused: back to the sign-in form.
        await page.wait_for_url("**/signin", timeout=scaled(10) * 1000)
        await expect(page.locator("#code")).to_be_visible()
        assert await api_from_page(page, "GET", "/v1/sessions") == 401
        assert await api_from_page(page, "POST", "/v1/auth/refresh") == 401
        await context.close()


async def test_the_page_outlives_the_session_token(tmp_path: Path, browser: Browser) -> None:
    async with web_hub(tmp_path) as hub:
        context, page = await signed_in_page(browser, hub)
        session_id = await start_session_from_ui(page)
        await send_message(page, "before")
        await expect(page.locator("[data-kind=agent_message]").last).to_contain_text("before")

        # The sessions list (pushed over its socket) still shows after the cookie expired.
        hub.clock.advance(11 * 60)
        await page.click("nav >> text=Sessions")
        # (A refresh round trip first: allow for a busy machine.)
        listed = page.locator(f"[data-session='{session_id}']")
        await expect(listed).to_be_visible(timeout=scaled(5) * 1000)
        # A reload (the app asks who it is first) works too.
        hub.clock.advance(11 * 60)
        await page.reload()
        await expect(listed).to_be_visible(timeout=scaled(5) * 1000)

        # Socket: the token expires while the page is open; the hub restarts; the
        # reconnect is refused (4001), the page refreshes and reconnects by itself.
        await page.click(f"[data-session='{session_id}']")
        await expect(page.locator("#connection")).to_have_text("live")
        hub.clock.advance(11 * 60)
        await hub.restart()
        await expect(page.locator("#connection")).to_have_text("live", timeout=30_000)
        await expect(page.locator("#role")).to_have_text("owner")
        await say(page, "after")
        # The browser itself drops the session cookie after its 10 minutes: a reconnect
        # refreshes over HTTP first (a socket without any cookie would wait for an
        # `auth` frame).
        hub.clock.advance(11 * 60)
        await context.clear_cookies(name="tether_session")
        await hub.restart()
        await expect(page.locator("#connection")).to_have_text("live", timeout=30_000)
        await say(page, "cookie gone")
        assert "/signin" not in page.url
        seqs = await page.locator("[data-seq]").evaluate_all("els => els.map(e => e.dataset.seq)")
        assert len(seqs) == len(set(seqs))
        # Every refresh rotated the token once: no reuse, the device is fine.
        actions = [e.action for e in await hub.auth.audit_entries()]
        # sign-in, reload, socket, cookie (the sessions list comes over the live socket)
        assert actions.count("token_refresh") >= 4
        assert "token_reuse" not in actions and "device_revoked" not in actions
        await context.close()


async def test_a_refresh_the_hub_cannot_answer_signs_nobody_out(
    tmp_path: Path, browser: Browser
) -> None:
    # The session token expires and the hub restarts; the first refreshes the page tries
    # find nobody there (as on a phone whose network blinks). That is no refusal: the page
    # keeps trying and comes back live, still signed in, with its device intact.
    async with web_hub(tmp_path) as hub:
        context, page = await signed_in_page(browser, hub)
        session_id = await start_session_from_ui(page)
        await say(page, "before")
        unanswered: list[str] = []

        async def drop_the_first_three(route: Route) -> None:
            if len(unanswered) < 3:
                unanswered.append(route.request.url)
                await route.abort("connectionrefused")
            else:
                await route.continue_()

        await page.route("**/v1/auth/refresh", drop_the_first_three)
        hub.clock.advance(11 * 60)
        await hub.restart()
        await expect(page.locator("#connection")).to_have_text("live", timeout=30_000)
        assert len(unanswered) == 3  # the page did meet the unreachable hub
        assert page.url.endswith(f"/sessions/{session_id}")
        await expect(page.locator("#role")).to_have_text("owner")
        await say(page, "after")
        actions = [e.action for e in await hub.auth.audit_entries()]
        assert "token_refresh_failed" not in actions and "device_revoked" not in actions
        await context.close()


async def test_devices_pairing_and_audit_pages(tmp_path: Path, browser: Browser) -> None:
    async with web_hub(tmp_path) as hub:
        context, page = await signed_in_page(browser, hub)
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await page.click("nav >> text=Devices")
        mine = page.locator(".device", has_text="this browser")
        await expect(mine).to_have_count(1)
        await expect(mine).to_contain_text("browser")
        await expect(mine).to_contain_text("on Linux")  # named after its User-Agent

        await page.click("text=Pair a new device")
        code = await page.locator("#pairing .pair-code").inner_text()
        assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
        await expect(page.locator("#pairing img.qr")).to_be_visible()
        link = await page.locator("#pairing .link-url").inner_text()
        assert link == f"{hub.url}/signin#code={code}"
        # The phone scans it.
        phone_context, phone = await new_page(browser)
        await phone.goto(link)
        await phone.wait_for_url("**/sessions")
        await expect(phone.locator("#whoami")).to_have_text("alice")

        # The new browser shows up; revoke it from here and it is signed out.
        await page.reload()
        others = page.locator(".device:not(.revoked)", has_text="browser").filter(
            has_not_text="this browser"
        )
        await expect(others).to_have_count(1)
        await others.locator("button:has-text('Revoke')").click()
        await expect(page.locator(".device.revoked")).to_have_count(1)
        await phone.click("nav >> text=Teams")
        await phone.wait_for_url("**/signin")

        # The pairing QR of `tether pair new` (`URL/#pair=CODE`) signs a browser in too.
        cli_code = await hub.new_code()
        await phone.goto(f"{hub.url}/#pair={cli_code}")
        await phone.wait_for_url("**/teams")  # where it was going when it was signed out
        await expect(phone.locator("#whoami")).to_have_text("alice")
        assert cli_code not in phone.url

        await page.click("nav >> text=Audit")
        audit = page.locator("#audit table")
        await expect(audit).to_contain_text("browser_signin")
        await expect(audit).to_contain_text("device_revoked")
        # Newest first: the phone's second sign-in stands above the revocation (a failed
        # refresh of the revoked phone's old token may land above both, in its own row).
        rows = await audit.locator("tbody tr").all_inner_texts()
        of_interest = [a for r in rows for a in ("browser_signin", "device_revoked") if a in r]
        assert of_interest[:2] == ["browser_signin", "device_revoked"], rows
        # Who, by name: the user and the device (named after its User-Agent), not an id.
        revoked = audit.locator("tbody tr", has_text="device_revoked")
        who = revoked.locator("td").nth(1)
        await expect(who).to_have_text(re.compile(r"^alice \(.*Linux.*\)$"))
        await phone_context.close()
        await context.close()
