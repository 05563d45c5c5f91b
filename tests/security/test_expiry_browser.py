"""The web UI keeps its sockets across session-token expiry without a gap (issue #11,
finding 4): with four-second session tokens, the session page's viewer socket and the
sessions list socket renew themselves in-band (an `auth` frame with the `socket_token`
a refresh returns) — the page opens no new socket, stays live and owner, and a message
sent after several expiries is answered. (Debian's Chromium via Playwright.)"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, expect

from tests.web.support import (
    chromium,
    send_message,
    signed_in_page,
    start_session_from_ui,
    web_hub,
)

pytestmark = [pytest.mark.browser, pytest.mark.asyncio(loop_scope="module")]

COUNT_SOCKETS = """() => {
  window.__sockets = 0;
  const Original = window.WebSocket;
  window.WebSocket = class extends Original {
    constructor(...args) { super(...args); window.__sockets += 1; }
  };
}"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def test_the_page_renews_its_sockets_before_the_token_expires(
    tmp_path: Path, browser: Browser
) -> None:
    async with web_hub(tmp_path) as hub:
        hub.auth.access_ttl = 4.0  # session tokens (and cookies) of four seconds
        context, page = await signed_in_page(browser, hub)
        await context.add_init_script(f"({COUNT_SOCKETS})()")
        await page.reload()
        await page.wait_for_url("**/sessions")
        await start_session_from_ui(page)
        await expect(page.locator("#connection")).to_have_text("live")
        await expect(page.locator("#role")).to_have_text("owner")
        opened = await page.evaluate("() => window.__sockets")
        await asyncio.sleep(14)  # three and a half token lifetimes, in real time
        assert await page.evaluate("() => window.__sockets") == opened, "a socket reconnected"
        await expect(page.locator("#connection")).to_have_text("live")
        await expect(page.locator("#role")).to_have_text("owner")
        await send_message(page, "across expiry")
        await expect(page.locator("[data-kind=agent_message]").last).to_contain_text(
            "You said: across expiry"
        )
        actions = [e.action for e in await hub.auth.audit_entries()]
        assert actions.count("token_refresh") >= 3
        assert "token_reuse" not in actions
        await context.close()
