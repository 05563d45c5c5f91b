"""Untrusted agent output stays text; the UI's headers; a phone-sized screen works;
sign-in edge cases."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.support.hub import demo_team
from tests.web.support import (
    PHONE,
    chromium,
    csp_violations,
    say,
    send_message,
    signed_in_page,
    start_session_from_ui,
    web_hub,
)
from tether.config import TeamConfig, TetherConfig

pytestmark = pytest.mark.browser

HOSTILE = (
    "<script>window.__pwned = 1</script> "
    '<img src=x onerror="window.__pwned = 2"> '
    "[click me](javascript:window.__pwned=3) "
    "[data](data:text/html,<script>window.__pwned=4</script>)"
)


async def no_horizontal_scroll(page: Page) -> bool:
    """The page is no wider than the screen."""
    return bool(
        await page.evaluate(
            "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
        )
    )


async def assert_nothing_ran(page: Page) -> None:
    assert await page.evaluate("() => window.__pwned") is None
    transcript = page.locator("#transcript")
    assert await transcript.locator("script").count() == 0
    assert await transcript.locator("img").count() == 0
    assert await page.locator("a[href^='javascript'], a[href^='data']").count() == 0
    assert csp_violations() == []


async def test_agent_output_with_html_renders_as_text(tmp_path: Path) -> None:
    echo = TeamConfig(name="echo", path=str(tmp_path), agent="command", command=["cat"])
    config = TetherConfig(teams={"demo": demo_team(tmp_path), "echo": echo})
    async with web_hub(tmp_path, config) as hub, chromium() as browser:
        context, page = await signed_in_page(browser, hub)
        # Markdown path: the demo agent echoes the text back as agent_message.
        await start_session_from_ui(page, "demo")
        await send_message(page, HOSTILE)
        agent = page.locator("[data-kind=agent_message]").last
        await expect(agent).to_contain_text("<script>window.__pwned = 1</script>")
        await expect(agent).to_contain_text('<img src=x onerror="window.__pwned = 2">')
        await expect(agent).to_contain_text("[click me](javascript:window.__pwned=3)")
        await assert_nothing_ran(page)

        # Terminal path: a raw command prints it as `output`.
        await start_session_from_ui(page, "echo")
        await send_message(page, HOSTILE)
        output = page.locator("[data-kind=output] pre.term")
        await expect(output).to_contain_text("<script>window.__pwned = 1</script>")
        await expect(output).to_contain_text("javascript:window.__pwned=3")
        await assert_nothing_ran(page)
        await context.close()


async def test_markdown_renderer_builds_safe_dom(tmp_path: Path) -> None:
    async with web_hub(tmp_path) as hub, chromium() as browser:
        context, page = await signed_in_page(browser, hub)
        html = await page.evaluate(
            """async (src) => {
                const { renderMarkdown } = await import('/static/js/markdown.js');
                const div = document.createElement('div');
                div.appendChild(renderMarkdown(src));
                return div.innerHTML;
            }""",
            "# Title\n\nSome **bold**, *it*, `x<y`, snake_case_name and "
            "[docs](https://example.com/a?b=1) or [bad](javascript:alert(1)).\n\n"
            "- one\n- two\n  - nested\n\n1. first\n2. second\n\n"
            "```py\nprint('<b>hi</b>')\n```\n\n> quoted\n\n| a | b |\n|---|--:|\n| 1 | 2 |",
        )
        assert "<h1 " in html and ">Title</h1>" in html
        assert "<strong>bold</strong>" in html and "<em>it</em>" in html
        assert "<code>x&lt;y</code>" in html and "snake_case_name" in html
        assert '<a href="https://example.com/a?b=1" target="_blank" rel="noopener' in html
        assert "[bad](javascript:alert(1))" in html and 'javascript:alert(1)"' not in html
        assert "<ul><li>one</li><li>two<ul><li>nested</li></ul></li></ul>" in html
        assert "<ol><li>first</li><li>second</li></ol>" in html
        assert "print('&lt;b&gt;hi&lt;/b&gt;')" in html and 'class="lang-py"' in html
        assert "<blockquote><p>quoted</p></blockquote>" in html
        assert '<td class="al-right">2</td>' in html
        await context.close()


async def test_phone_viewport_is_usable(tmp_path: Path) -> None:
    async with web_hub(tmp_path) as hub, chromium() as browser:
        context, page = await signed_in_page(browser, hub, viewport=PHONE)
        assert await no_horizontal_scroll(page)
        await start_session_from_ui(page)
        # Long unbroken output and a wide diff must not widen the page.
        await send_message(page, "x" * 300 + " " + "https://example.com/" + "y" * 200)
        await expect(page.locator("[data-kind=turn_finished]")).to_have_count(1)
        await send_message(page, "run " + "make " * 60)
        allow = page.locator("#pending .perm-card button.allow")
        await expect(allow).to_be_in_viewport()
        await expect(page.locator("#pending .perm-card button.deny")).to_be_in_viewport()
        assert await no_horizontal_scroll(page)
        await allow.click()
        await expect(page.locator(".ev.perm .perm-state")).to_have_text("allowed by alice")
        box = page.locator("#message")
        await expect(box).to_be_in_viewport()
        await expect(page.locator("#send")).to_be_in_viewport()
        await say(page, "from the phone")
        assert await no_horizontal_scroll(page)
        for path in ("/sessions", "/teams", "/devices", "/audit"):
            await page.goto(hub.url + path)
            await expect(page.locator("h1")).to_be_visible()
            assert await no_horizontal_scroll(page), path
        await context.close()


async def test_sign_in_redirects_and_rejects_used_codes(tmp_path: Path) -> None:
    async with web_hub(tmp_path) as hub, chromium() as browser:
        context = await browser.new_context()
        page = await context.new_page()
        await page.goto(hub.url + "/teams")
        await page.wait_for_url("**/signin")
        await page.fill("#code", "NOPE1234")
        await page.click("button:has-text('Sign in')")
        await expect(page.locator(".signin .error")).to_contain_text("not valid")
        code = await hub.new_code()
        await page.fill("#code", code.lower())
        await page.click("button:has-text('Sign in')")
        await page.wait_for_url("**/teams")  # back where the user wanted to go
        await expect(page.locator("#whoami")).to_have_text("alice")
        # The code was single use.
        other = await (await browser.new_context()).new_page()
        await other.goto(f"{hub.url}/signin#code={code}")
        await expect(other.locator(".signin .error")).to_contain_text("already used")
        assert "code=" not in other.url
        # Sign out clears the cookie.
        await page.click("#signout")
        await page.wait_for_url("**/signin")
        await page.goto(hub.url + "/sessions")
        await page.wait_for_url("**/signin")
        await context.close()


async def test_ui_responses_carry_security_headers_and_qr_needs_auth(tmp_path: Path) -> None:
    async with (
        web_hub(tmp_path, TetherConfig(teams={})) as hub,
        httpx.AsyncClient() as http,
    ):
        for path in ("/", "/signin", "/sessions/s_x", "/static/js/app.js", "/static/app.css"):
            r = await http.get(hub.url + path)
            assert r.status_code == 200, path
            csp = r.headers["content-security-policy"]
            assert "default-src 'self'" in csp and "script-src 'self'" in csp
            assert "frame-ancestors 'none'" in csp and "'unsafe-inline'" not in csp
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["referrer-policy"] == "no-referrer"
        assert (
            (await http.get(hub.url + "/static/js/app.js"))
            .headers["content-type"]
            .startswith("text/javascript")
        )
        assert (await http.post(hub.url + "/v1/qr", json={"text": "x"})).status_code == 401
        bearer = {"Authorization": f"Bearer {await hub.bearer()}"}
        r = await http.post(
            hub.url + "/v1/qr",
            json={"text": "https://hub.example/signin#code=AB12"},
            headers=bearer,
        )
        assert r.status_code == 200 and r.headers["content-type"] == "image/svg+xml"
        assert r.text.startswith("<svg") and "<script" not in r.text
        too_long = await http.post(
            hub.url + "/v1/qr",
            json={"text": "x" * 5000},
            headers=bearer,
        )
        assert too_long.status_code == 422
