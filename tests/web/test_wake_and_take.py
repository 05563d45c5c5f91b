"""The web UI with sessions that sleep and devices that take over: a sleeping session's
message box wakes it; the user's CLI taking the owner slot demotes the tab, which says
so and can take it back. (Browser tests: Debian's Chromium via Playwright.)"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.support.hub import demo_team
from tests.web.support import (
    chromium,
    say,
    send_message,
    signed_in_page,
    start_session_from_ui,
    web_hub,
)
from tether.config import TetherConfig

pytestmark = pytest.mark.browser


async def test_a_sleeping_session_is_woken_from_the_message_box(tmp_path: Path) -> None:
    sleepy = demo_team(tmp_path, idle_timeout=0.5)
    async with web_hub(tmp_path, TetherConfig(teams={"demo": sleepy})) as hub, chromium() as b:
        context, page = await signed_in_page(b, hub)
        await start_session_from_ui(page)
        await send_message(page, "hello")
        await expect(page.locator("[data-kind=exited]")).to_have_count(1, timeout=30_000)
        box = page.locator("#message")
        await expect(box).to_be_visible()
        asleep = "Asleep: a message wakes it with its context…"
        await expect(box).to_have_attribute("placeholder", asleep)
        await say(page, "still there?")
        await context.close()


async def test_the_users_cli_takes_the_slot_and_the_tab_takes_it_back(tmp_path: Path) -> None:
    async with web_hub(tmp_path) as hub, chromium() as browser:
        context, page = await signed_in_page(browser, hub)
        session_id = await start_session_from_ui(page)
        token = await hub.bearer("laptop")
        async with httpx.AsyncClient(base_url=hub.url) as http:
            refused = await http.post(
                f"/v1/sessions/{session_id}/messages",
                json={"text": "from the cli"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert refused.status_code == 403 and "--take" in refused.text
            taken = await http.post(
                f"/v1/sessions/{session_id}/messages",
                params={"take": "true"},
                json={"text": "from the cli"},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert taken.status_code == 202, taken.text
        await expect(page.locator("#role")).to_have_text("follower")
        await expect(page.locator("#flash")).to_contain_text("taken over by alice (laptop)")
        await expect(page.locator("[data-kind=agent_message]").last).to_contain_text(
            "You said: from the cli"
        )
        take = page.locator("#take-ownership")
        await expect(take).to_be_visible()
        await take.click()
        await expect(page.locator("#role")).to_have_text("owner")
        await say(page, "mine again")
        await context.close()
