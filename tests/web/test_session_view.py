"""The web UI in Chromium: sign in, start a session, talk to the agent, answer permissions,
followers, a hub restart mid-session. (Browser tests: Debian's Chromium via Playwright.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect

from tests.support.hub import demo_team
from tests.web.scripted_runner import scripted_runner
from tests.web.support import (
    WebHub,
    chromium,
    csp_violations,
    say,
    send_message,
    signed_in_page,
    start_session_from_ui,
    web_hub,
)
from tether.config import TetherConfig

pytestmark = pytest.mark.browser


async def chunk_counts(page, total: int) -> list[int]:  # type: ignore[no-untyped-def]
    """How many transcript blocks show each `chunk i/total` of the demo's long answer."""
    texts = await page.locator("[data-kind=agent_message]").all_inner_texts()
    return [
        sum(1 for t in texts if t.startswith(f"chunk {i}/{total}:")) for i in range(1, total + 1)
    ]


async def test_sign_in_start_talk_and_approve(tmp_path: Path) -> None:
    async with web_hub(tmp_path) as hub, chromium() as browser:
        context, page = await signed_in_page(browser, hub)
        # The one-time code was in the fragment and is gone from the address bar.
        assert "code=" not in page.url
        await start_session_from_ui(page)
        await expect(page.locator("#connection")).to_have_text("live")

        await send_message(page, "long 8")
        await expect(page.locator("[data-kind=agent_message]").last).to_contain_text("chunk 8/8")
        await expect(page.locator("[data-kind=turn_finished]")).to_have_count(1)
        assert await chunk_counts(page, 8) == [1] * 8
        await expect(page.locator("#message")).to_have_value("")
        # What the turn used, and the session so far (counted on from the hub's totals).
        turn = page.locator("[data-kind=turn_finished]")
        await expect(turn).to_contain_text(re.compile(r"[\d,]+ in / [\d,]+ out tokens · \$\d"))
        await expect(page.locator(".session-meta")).to_contain_text(
            re.compile(r"session: [\d,]+ in / [\d,]+ out tokens · \$\d")
        )

        await send_message(page, "run touch x")
        card = page.locator("#pending .perm-card")
        await expect(card).to_contain_text("Bash")
        await expect(card.locator(".term")).to_have_text("$ touch x")
        await card.locator("button.allow").click()
        await expect(page.locator("#pending .perm-card")).to_have_count(0)
        await expect(page.locator(".ev.perm .perm-state")).to_have_text("allowed by alice")
        await expect(page.locator("[data-kind=agent_message]").last).to_contain_text(
            "Done: ran touch x"
        )
        # The tool call is collapsible and carries its result.
        tool = page.locator("details.tool").last
        await tool.locator("summary").click()
        await expect(tool.locator(".tool-result")).to_contain_text("pretended to run: touch x")

        # The sessions list shows it, with owner and state.
        await page.click("nav >> text=Sessions")
        await expect(page.locator(".session-card")).to_contain_text("owner")
        assert csp_violations() == []
        await context.close()


async def test_pending_request_shown_to_a_late_viewer_and_denied(tmp_path: Path) -> None:
    async with web_hub(tmp_path) as hub, chromium() as browser:
        context, page = await signed_in_page(browser, hub)
        session_id = await start_session_from_ui(page)
        await send_message(page, "run rm -rf build")
        await expect(page.locator("#pending .perm-card")).to_have_count(1)
        # The sessions list badges the pending request.
        await page.click("nav >> text=Sessions")
        badge = page.locator(f"[data-session='{session_id}'] .badge")
        await expect(badge).to_have_text("1 to approve")
        # A fresh load (the owner slot is free again) gets it from `ready`.
        await badge.click()
        await expect(page.locator("#role")).to_have_text("owner")
        await page.locator("#pending .perm-card button.deny").click()
        await expect(page.locator("#pending .perm-card")).to_have_count(0)
        await expect(page.locator(".ev.perm .perm-state")).to_have_text("denied by alice")
        await expect(page.locator("[data-kind=agent_message]").last).to_contain_text("did not run")
        await context.close()


async def test_follower_has_no_message_box_and_can_take_the_free_slot(tmp_path: Path) -> None:
    async with web_hub(tmp_path) as hub, chromium() as browser:
        context, owner = await signed_in_page(browser, hub)
        await start_session_from_ui(owner)
        follower = await context.new_page()
        await follower.goto(owner.url)
        await expect(follower.locator("#role")).to_have_text("follower")
        await expect(follower.locator("#message")).to_be_hidden()
        await expect(follower.locator("#message")).to_be_disabled()
        await expect(follower.locator("#readonly-note")).to_contain_text("alice owns this session")

        # The follower still sees everything live, including permission requests —
        # but cannot answer them.
        await send_message(owner, "run make test")
        await expect(follower.locator("#pending .perm-card")).to_contain_text("make test")
        await expect(follower.locator("#pending .perm-card button.allow")).to_be_hidden()
        await owner.locator("#pending .perm-card button.allow").click()
        await expect(follower.locator("#pending .perm-card")).to_have_count(0)

        # The owner leaves: the follower is not promoted, but may take the slot.
        await owner.close()
        take = follower.locator("#take-ownership")
        await expect(take).to_be_visible()
        await expect(follower.locator("#role")).to_have_text("follower")
        await take.click()
        await expect(follower.locator("#role")).to_have_text("owner")
        await expect(follower.locator("#message")).to_be_enabled()
        await send_message(follower, "now mine")
        await expect(follower.locator("[data-kind=user_message]").last).to_contain_text("now mine")
        # No line was rendered twice across the reconnect.
        seqs = await follower.locator("[data-seq]").evaluate_all(
            "els => els.map(e => e.dataset.seq)"
        )
        assert len(seqs) == len(set(seqs))
        await context.close()


async def test_hub_restart_mid_session_carries_on_without_duplicates(tmp_path: Path) -> None:
    slow = demo_team(tmp_path, env={"TETHER_DEMO_DELAY": "0.1"})
    async with web_hub(tmp_path, TetherConfig(teams={"demo": slow})) as hub, chromium() as browser:
        context, page = await signed_in_page(browser, hub)
        await start_session_from_ui(page)
        await send_message(page, "long 40")
        await expect(page.locator("[data-kind=agent_message]").last).to_contain_text(
            re.compile(r"chunk ([5-9]|\d\d)/40")
        )
        await hub.restart()
        await expect(page.locator("[data-kind=turn_finished]")).to_have_count(1, timeout=30_000)
        await expect(page.locator("#connection")).to_have_text("live")
        assert await chunk_counts(page, 40) == [1] * 40
        seqs = await page.locator("[data-seq]").evaluate_all("els => els.map(e => e.dataset.seq)")
        assert len(seqs) == len(set(seqs))
        # And it is still steerable after the restart.
        await expect(page.locator("#role")).to_have_text("owner")
        await say(page, "after the restart")
        await context.close()


async def test_file_edits_show_as_diffs_and_tools_collapse(tmp_path: Path) -> None:
    async with web_hub(tmp_path) as hub, chromium() as browser:
        token = await hub.device_token(await hub.runner_device("scripted"))()
        async with scripted_runner(hub.url, token):
            await check_showcase(browser, hub)


async def check_showcase(browser: Browser, hub: WebHub) -> None:
    """The scripted session: an Edit as a diff, collapsed tools, a safe link."""
    context, page = await signed_in_page(browser, hub)
    await start_session_from_ui(page, "showcase")
    edit = page.locator("details.tool", has_text="Edit")
    await expect(edit).not_to_have_attribute("open", "")
    await edit.locator("summary").click()
    await expect(edit.locator(".edit-path")).to_have_text("src/app/retry.py")
    await expect(edit.locator(".diff-del")).to_have_text(
        ["-     delay = self.base * 2 ** self.attempt"]
    )
    await expect(edit.locator(".diff-add").first).to_contain_text("min(self.max_delay")
    await expect(edit.locator(".tool-result")).to_contain_text("has been updated")
    link = page.locator("[data-kind=agent_message] a")
    await expect(link).to_have_attribute("href", "https://docs.python.org/3/library/asyncio.html")
    await expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")
    await page.locator("#pending .perm-card button.allow").click()
    await expect(page.locator("[data-kind=agent_message]").last).to_have_text("Done.")
    await context.close()
