"""A permission request disguised with bidi and zero-width characters shows them on the
Allow/Deny card as `<U+XXXX>`, so the command reads as what it does. (Chromium.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.web.support import chromium, send_message, signed_in_page, start_session_from_ui, web_hub

pytestmark = pytest.mark.browser

# Displayed raw, U+202E reverses what follows: the card would seem to say "rm -rf ~".
DISGUISED = "echo safe \u202e~ fr- mr\u202c\u200b"
SHOWN = "$ echo safe <U+202E>~ fr- mr<U+202C><U+200B>"


async def test_the_allow_card_shows_invisible_characters(tmp_path: Path) -> None:
    async with web_hub(tmp_path) as hub, chromium() as browser:
        context, page = await signed_in_page(browser, hub)
        await start_session_from_ui(page)
        await send_message(page, f"run {DISGUISED}")
        card = page.locator("#pending .perm-card")
        await expect(card.locator(".term")).to_have_text(SHOWN)
        assert "\u202e" not in await card.inner_text()
        await expect(page.locator(".ev.perm .term")).to_have_text(SHOWN)  # in the transcript too
        await card.locator("button.deny").click()
        await expect(page.locator("#pending .perm-card")).to_have_count(0)
        await context.close()
