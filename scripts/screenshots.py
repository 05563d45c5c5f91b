"""Take the web UI screenshots in docs/screenshots/ (run from the repo root):

    PYTHONPATH=src python scripts/screenshots.py

It starts an in-process hub with the tests' browser sign-in (tests/web/auth.py), the
demo agent and a scripted runner (tests/web/scripted_runner.py), drives Debian's
Chromium through the main pages, and saves viewport-sized PNGs. The devices page uses
SAMPLE data from a stub route below, because device pairing belongs to the auth module.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from fastapi import APIRouter

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from tests.web.scripted_runner import scripted_runner  # noqa: E402
from tests.web.support import (  # noqa: E402
    PHONE,
    chromium,
    send_message,
    signed_in_page,
    start_session_from_ui,
    web_hub,
)

OUT = ROOT / "docs" / "screenshots"
DESKTOP = {"width": 1100, "height": 760}


def sample_devices_router() -> APIRouter:
    """SAMPLE devices/pairing answers, shaped like the auth module's API, for the pictures."""
    router = APIRouter()
    now = time.time()

    @router.get("/v1/devices")
    async def devices() -> list[dict[str, Any]]:
        return [
            {
                "id": "d1",
                "name": "alice's laptop (CLI)",
                "kind": "cli",
                "created_at": now - 86400 * 9,
                "last_seen": now - 40,
            },
            {
                "id": "d2",
                "name": "Pixel 8 (browser)",
                "kind": "browser",
                "created_at": now - 86400 * 2,
                "last_seen": now - 3600,
                "current": True,
            },
            {
                "id": "d3",
                "name": "build-box runner",
                "kind": "runner",
                "created_at": now - 86400 * 30,
                "last_seen": now - 5,
            },
        ]

    @router.post("/v1/pairing")
    async def pairing() -> dict[str, Any]:
        return {
            "code": "K7QF-2M9D",
            "expires_at": now + 300,
            "url": "https://hub.example/signin#code=K7QF-2M9D",
        }

    return router


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        async with (
            web_hub(Path(tmp), extra_routers=[sample_devices_router()]) as hub,
            scripted_runner(hub.url, hub.token),
            chromium() as browser,
        ):
            context = await browser.new_context(viewport=DESKTOP)  # type: ignore[arg-type]
            page = await context.new_page()
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
            await page.click("nav >> text=Sessions")
            await page.wait_for_selector(".session-card .badge")
            await page.screenshot(path=OUT / "sessions.png")
            await page.click("nav >> text=Teams")
            await page.wait_for_selector(".team-card")
            await page.screenshot(path=OUT / "teams.png")
            await page.click("nav >> text=Devices")
            await page.click("text=Pair a new device")
            await page.wait_for_selector("#pairing img.qr:not([hidden])")
            await page.screenshot(path=OUT / "devices.png")
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
    for png in sorted(OUT.glob("*.png")):
        print(f"{png.relative_to(ROOT)}  {png.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    asyncio.run(main())
