"""Take the web UI screenshots in docs/screenshots/ (run from the repo root):

    PYTHONPATH=src python scripts/screenshots.py

It starts an in-process hub with the real auth (tests/web/support.py: tether.app.create_app,
users alice and bob), the demo agent and a scripted runner (tests/web/scripted_runner.py),
signs Debian's Chromium in with one-time links, drives it through the main pages, and
saves viewport-sized PNGs.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from playwright.async_api import Browser  # noqa: E402
from tests.web.scripted_runner import scripted_runner  # noqa: E402
from tests.web.support import (  # noqa: E402
    PHONE,
    WebHub,
    chromium,
    new_page,
    send_message,
    signed_in_page,
    start_session_from_ui,
    web_hub,
)

from tether.auth.codes import fingerprint_of, new_device_key  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1100, "height": 760}


async def sample_devices(hub: WebHub) -> None:
    """A few more of alice's devices, so the devices page looks lived in."""
    for name, kind in (("alice-laptop", "cli"), ("build-box", "runner")):
        await hub.auth.mint_device(
            hub.user, name=name, kind=kind, fingerprint=fingerprint_of(new_device_key())
        )


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            web_hub(Path(tmp)) as hub,
            chromium() as browser,
        ):
            token = await hub.device_token(await hub.runner_device("scripted"))()
            await sample_devices(hub)
            async with scripted_runner(hub.url, token):
                await shoot(hub, browser)
    for png in sorted(OUT.glob("*.png")):
        print(f"{png.relative_to(ROOT)}  {png.stat().st_size // 1024} KiB")


async def shoot(hub: WebHub, browser: Browser) -> None:
    """Drive the pages and save the pictures."""
    context, page = await new_page(browser, viewport=DESKTOP)
    await page.goto(hub.url + "/signin")
    await page.wait_for_selector("#code")
    await page.screenshot(path=OUT / "signin.png")
    await context.close()

    context, page = await signed_in_page(browser, hub, viewport=DESKTOP)
    await start_session_from_ui(page, "demo")
    await send_message(page, "long 3")
    await page.wait_for_selector("[data-kind=turn_finished]")
    await send_message(page, "run make deploy")
    await page.wait_for_selector("#pending .perm-card")
    await start_session_from_ui(page, "showcase")
    await page.locator("details.tool", has_text="Edit").locator("summary").click()
    await page.locator("details.tool", has_text="Bash").first.locator("summary").click()
    await page.locator("details.tool", has_text="Edit").scroll_into_view_if_needed()
    await page.screenshot(path=OUT / "session.png")
    await page.click("#share")
    await page.wait_for_selector("#share-area img.qr:not([hidden])")
    share_url = await page.locator("#share-area .link-url").inner_text()
    await page.evaluate("() => window.scrollTo(0, 0)")
    await page.screenshot(path=OUT / "share.png")
    await page.click("nav >> text=Sessions")
    await page.wait_for_selector(".session-card .badge")
    await page.screenshot(path=OUT / "sessions.png")
    await page.click("nav >> text=Teams")
    await page.wait_for_selector(".team-card")
    await page.screenshot(path=OUT / "teams.png")
    await page.click("nav >> text=Devices")
    await page.wait_for_selector(".device")
    await page.click("text=Pair a new device")
    await page.wait_for_selector("#pairing img.qr:not([hidden])")
    await page.screenshot(path=OUT / "devices.png", full_page=True)
    await page.click("nav >> text=Audit")
    await page.wait_for_selector("#audit table")
    await page.screenshot(path=OUT / "audit.png")
    await context.close()

    context, phone = await signed_in_page(browser, hub, viewport=PHONE)
    await start_session_from_ui(phone, "demo")
    await send_message(phone, "Check the **release** notes, then run the deploy")
    await phone.wait_for_selector("[data-kind=turn_finished]")
    await send_message(phone, "run ./deploy.sh --env staging")
    await phone.wait_for_selector("#pending .perm-card button.allow")
    await phone.screenshot(path=OUT / "session-phone.png")
    follower = await context.new_page()
    await follower.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await follower.goto(phone.url)
    await follower.wait_for_selector("#role:has-text('follower')")
    await follower.screenshot(path=OUT / "follower-phone.png")
    await context.close()

    # Someone without an account opens the share link on a phone.
    guest_context, guest = await new_page(browser, viewport=PHONE)
    await guest.goto(share_url)
    await guest.wait_for_selector("#role:has-text('read-only link')")
    await guest.wait_for_selector("#pending .perm-card")
    await guest.screenshot(path=OUT / "share-link-phone.png")
    await guest_context.close()


if __name__ == "__main__":
    asyncio.run(main())
