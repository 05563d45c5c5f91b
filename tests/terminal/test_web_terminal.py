"""A full-screen program (vim) in a terminal team, mirrored into Chromium: the page's
terminal (xterm.js, DOM renderer) shows the program's screen, keys typed in the page reach
it, and at 390×844 the terminal fits and the row of extra keys works."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.support.timing import scaled
from tests.web.support import PHONE, WebHub, chromium, csp_violations, signed_in_page, web_hub
from tether.config import TeamConfig, TetherConfig
from tether.web.vendor import vendor_file

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(vendor_file("xterm/xterm.mjs") is None, reason="xterm.js not installed"),
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "terminal-phone.png"
VIM = ["vim", "-u", "NONE", "-N", "-n", "-i", "NONE", "--noplugin"]


def vim_team(path: Path, name: str, file: str) -> TeamConfig:
    return TeamConfig(name=name, path=str(path), agent="terminal", command=[*VIM, file])


async def start_terminal(page: Page, team: str) -> str:
    await page.click("nav >> text=Teams")
    await page.click(f"[data-team='{team}'] button:has-text('Start')")
    await page.wait_for_url("**/sessions/s_*")
    await expect(page.locator("#terminal .xterm-rows")).to_be_visible()
    await expect(page.locator("#role")).to_have_text("owner")
    return page.url.rsplit("/", 1)[-1]


async def page_rows(page: Page) -> list[str]:
    rows = await page.locator("#terminal .xterm-rows > div").all_inner_texts()
    return [row.replace("\xa0", " ").rstrip() for row in rows]


def model_rows(hub: WebHub, session: str) -> list[str]:
    assert hub.runner is not None
    adapter = hub.runner.supervisor.sessions[session].adapter
    return list(adapter.mirror.model.lines())  # type: ignore[union-attr]


async def same_screen(page: Page, hub: WebHub, session: str) -> list[str]:
    """Until the page's rows equal the runner's screen model (the program's real screen)."""
    deadline = asyncio.get_running_loop().time() + scaled(20)
    while True:
        shown, model = await page_rows(page), model_rows(hub, session)
        if shown == model:
            return shown
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"page:\n{chr(10).join(shown)}\nmodel:\n{chr(10).join(model)}")
        await asyncio.sleep(0.1)


async def test_vim_in_the_page_and_on_a_phone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("".join(f"line {i} of the notes\n" for i in range(1, 8)))
    (tmp_path / "phone.txt").write_text("alpha\nbravo\ncharlie\n")
    config = TetherConfig(
        teams={
            "vim": vim_team(tmp_path, "vim", "notes.txt"),
            "phonevim": vim_team(tmp_path, "phonevim", "phone.txt"),
        }
    )
    async with web_hub(tmp_path, config) as hub, chromium() as browser:
        context, page = await signed_in_page(browser, hub)
        session = await start_terminal(page, "vim")
        await expect(page.locator("#terminal .xterm-rows")).to_contain_text("line 7 of the notes")
        screen = await same_screen(page, hub, session)
        assert screen[0] == "line 1 of the notes"

        await page.locator("#terminal").click()
        await page.keyboard.type("Ohello from the page")
        await page.click("#term-keys [data-key='Esc']")
        await expect(page.locator("#terminal .xterm-rows")).to_contain_text("hello from the page")
        await same_screen(page, hub, session)
        await page.keyboard.type(":wq\n")
        await expect(page.locator("#terminal .xterm-rows")).to_contain_text("the program exited")
        assert (tmp_path / "notes.txt").read_text().startswith("hello from the page\nline 1")
        await context.close()

        phone, ppage = await signed_in_page(browser, hub, viewport=PHONE)
        session = await start_terminal(ppage, "phonevim")
        await expect(ppage.locator("#terminal .xterm-rows")).to_contain_text("charlie")
        await expect(ppage.locator("#term-keys")).to_be_visible()
        # The owner's page gives the session the size that fits it (a round trip away).
        deadline = asyncio.get_running_loop().time() + scaled(20)
        while True:
            box = await ppage.locator("#terminal .xterm-screen").bounding_box()
            assert box is not None
            if box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]:
                break
            assert asyncio.get_running_loop().time() < deadline, f"never fitted: {box}"
            await asyncio.sleep(0.1)
        overflow = await ppage.evaluate("document.scrollingElement.scrollWidth")
        assert overflow <= PHONE["width"]
        await same_screen(ppage, hub, session)
        # The extra keys: Ctrl (sticky) + g shows the file's status; ↓ then x edits line 2.
        await ppage.locator("#terminal").click()
        await ppage.click("#term-keys [data-key='Ctrl']")
        await ppage.keyboard.type("g")
        await expect(ppage.locator("#terminal .xterm-rows")).to_contain_text('"phone.txt"')
        await ppage.click("#term-keys [data-key='↓']")
        await ppage.keyboard.type("x")
        await expect(ppage.locator("#terminal .xterm-rows")).to_contain_text("ravo")
        await same_screen(ppage, hub, session)
        # docs/screenshots/terminal-phone.png is refreshed with TETHER_SCREENSHOTS=1.
        shot = SCREENSHOT if os.environ.get("TETHER_SCREENSHOTS") else tmp_path / "phone.png"
        await ppage.screenshot(path=str(shot))
        assert shot.stat().st_size > 0
        await ppage.click("#term-keys [data-key='Esc']")
        await ppage.keyboard.type(":q!\n")
        await expect(ppage.locator("#terminal .xterm-rows")).to_contain_text("the program exited")
        assert csp_violations() == []
        await phone.close()


async def test_a_tether_run_console_keeps_its_size_and_the_phone_fits_the_font(
    tmp_path: Path,
) -> None:
    from tests.support.procs import cli_env, tether_argv
    from tests.terminal.ptydrive import PtyUser, stop_terminal_hosts

    async with web_hub(tmp_path, TetherConfig()) as hub, chromium() as browser:
        env = cli_env(hub.data_dir, hub.url, PS1="$ ", TERM="xterm-256color")
        user = PtyUser(tether_argv("run", "--", "bash", "--norc", "-i"), env=env, cols=100, rows=24)
        try:
            await asyncio.to_thread(user.wait_for, lambda t: t.rstrip().endswith("$"))
            user.type("echo from-the-desk-$((40+2))\r")
            await asyncio.to_thread(user.wait_for, "from-the-desk-42")
            context, page = await signed_in_page(browser, hub, viewport=PHONE)
            await page.click(".session-card")
            await expect(page.locator("#terminal .xterm-rows")).to_contain_text("from-the-desk-42")
            await expect(page.locator(".session-meta")).to_contain_text("terminal 100×24")
            await expect(page.locator(".session-meta")).to_contain_text("console attached")
            # The console's size stays; the font shrinks so (nearly) all columns fit.
            font = await page.evaluate(
                "parseFloat(getComputedStyle(document.querySelector('.xterm-rows')).fontSize)"
            )
            assert 7 <= font < 13
            assert await page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
            await page.locator("#terminal").click()
            await page.keyboard.type("echo from-the-phone\r")
            await asyncio.to_thread(user.wait_for, "from-the-phone")  # the console sees it
            assert csp_violations() == []
            await context.close()
        finally:
            user.type("exit\r")
            await asyncio.to_thread(user.wait_exit)
            user.kill()
            stop_terminal_hosts(hub.data_dir)
