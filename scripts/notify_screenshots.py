"""Take the phone screenshots of docs/notifications.md (run from the repo root):

    PYTHONPATH=src python scripts/notify_screenshots.py

An in-process hub with the real auth and the demo agent (tests/web/support.py), a local
webhook receiver (tests/notify/receiver.py) for a real answer link, and Debian's Chromium
at 390×844: the sessions list with a session that needs you, Settings, the page an answer
link opens, and the offline page. Saved under docs/screenshots/notify-*.png.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "src")]

from playwright.async_api import async_playwright  # noqa: E402
from tests.notify.receiver import receiver  # noqa: E402
from tests.web.support import CHROMIUM, CHROMIUM_ARGS, PHONE, web_hub  # noqa: E402

from tether.client import HubClient, static_token  # noqa: E402

OUT = ROOT / "docs" / "screenshots"


async def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        async with receiver() as rx, web_hub(Path(tmp) / "hub") as hub, async_playwright() as pw:
            context = await pw.chromium.launch_persistent_context(
                str(Path(tmp) / "profile"),
                executable_path=CHROMIUM,
                args=CHROMIUM_ARGS,
                viewport=PHONE,
                device_scale_factor=2,
            )
            await context.grant_permissions(["notifications"], origin=hub.url)
            page = context.pages[0] if context.pages else await context.new_page()
            await page.goto(await hub.signin_link())
            await page.wait_for_url("**/sessions")
            async with HubClient(hub.url, static_token(await hub.bearer())) as c:
                await c.request(
                    "POST",
                    "/v1/notify/sinks",
                    json={"kind": "webhook", "url": f"{rx.url}/hooks/tether", "secret": "s" * 24},
                )
                await c.request(
                    "POST", "/v1/notify/sinks", json={"kind": "ntfy", "url": f"{rx.url}/my-topic"}
                )
                await c.start("demo", prompt="hello")
                await c.start("demo", prompt="run touch x")
            note = (await rx.next_event("permission_request")).json()
            await page.locator(".session-card.needs-you").wait_for()
            await page.wait_for_timeout(500)
            await page.screenshot(path=OUT / "notify-sessions-phone.png")
            await page.click("nav >> text=Settings")
            await page.locator(".sink").nth(1).wait_for()
            await page.screenshot(path=OUT / "notify-settings-phone.png", full_page=True)
            await page.goto(note["allow_url"])
            await page.screenshot(path=OUT / "notify-answer-phone.png")
            await page.locator("button").click()
            await page.wait_for_load_state()
            await page.screenshot(path=OUT / "notify-answered-phone.png")
            await context.set_offline(True)
            await page.goto(f"{hub.url}/teams")
            await page.screenshot(path=OUT / "notify-offline-phone.png")
            await context.close()
    for png in sorted(OUT.glob("notify-*.png")):
        print(f"{png.relative_to(ROOT)}  {png.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    asyncio.run(main())
