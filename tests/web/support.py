"""An in-process hub with the test browser sign-in, a runner, and Chromium (Playwright)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from tests.support.hub import demo_team
from tests.support.timing import scaled
from tests.web.auth import BrowserLogins, TestAuthenticator, browser_auth_router
from tether.client import static_token
from tether.config import TetherConfig
from tether.hub.app import create_app
from tether.hub.settings import HubSettings
from tether.runner.daemon import Runner
from tether.serve import uvicorn_server, wait_started

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}


@dataclass
class WebHub:
    """A hub serving the web UI on a fixed loopback port, which can be restarted."""

    data_dir: Path
    token: str
    logins: BrowserLogins
    port: int = 0
    server: Any = None
    serve_task: asyncio.Task[None] | None = None
    runner: Runner | None = None
    runner_task: asyncio.Task[None] | None = None
    settings: HubSettings = field(init=False)
    extra_routers: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.settings = HubSettings(data_dir=self.data_dir)

    @property
    def url(self) -> str:
        """The hub's base URL."""
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        """Serve (on the port used before, if any)."""
        app = create_app(self.settings, TestAuthenticator(self.token, self.logins))
        app.include_router(browser_auth_router(self.logins))
        for router in self.extra_routers:
            app.include_router(router)
        self.server = uvicorn_server(app, "127.0.0.1", self.port)
        self.serve_task = asyncio.create_task(self.server.serve())
        await wait_started(self.server, timeout=scaled(30))
        self.port = self.server.servers[0].sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop serving (the runner stays and keeps retrying)."""
        if self.server is not None and self.serve_task is not None:
            self.server.should_exit = True
            await self.serve_task
            self.server = self.serve_task = None

    async def restart(self) -> None:
        """Stop the hub and start a new one on the same data dir and port."""
        await self.stop()
        await self.start()

    def signin_link(self, **kwargs: Any) -> str:
        """A one-time sign-in link, the code in the fragment as `tether up` prints it."""
        return f"{self.url}/signin#code={self.logins.new_code(**kwargs)}"


@contextlib.asynccontextmanager
async def web_hub(
    data_dir: Path, config: TetherConfig | None = None, extra_routers: list[Any] | None = None
) -> AsyncIterator[WebHub]:
    """A hub + runner for `config` (default: one demo team), stopped on exit."""
    hub = WebHub(data_dir, secrets.token_urlsafe(24), BrowserLogins())
    hub.extra_routers = extra_routers or []
    await hub.start()
    try:
        cfg = config or TetherConfig(teams={"demo": demo_team(data_dir)})
        hub.runner = Runner(hub.url, static_token(hub.token), cfg, data_dir, runner_id="web-test")
        hub.runner_task = asyncio.create_task(hub.runner.run())
        await asyncio.wait_for(hub.runner.connected.wait(), scaled(30))
        yield hub
    finally:
        if hub.runner_task is not None:
            hub.runner_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hub.runner_task
        await hub.stop()


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    """Debian's Chromium under Playwright."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


async def signed_in_page(
    browser: Browser, hub: WebHub, *, viewport: dict[str, int] | None = None, **user: Any
) -> tuple[BrowserContext, Page]:
    """A new browser context signed in through the one-time link; the page is on /sessions."""
    context = await browser.new_context(viewport=viewport or {"width": 1100, "height": 800})  # type: ignore[arg-type]
    context.set_default_timeout(scaled(15) * 1000)
    page = await context.new_page()
    page.on("console", lambda msg: _console.append(msg.text))
    await page.goto(hub.signin_link(**user))
    await page.wait_for_url("**/sessions")
    return context, page


_console: list[str] = []


def csp_violations() -> list[str]:
    """Console lines of Content-Security-Policy violations seen so far (should be none)."""
    return [line for line in _console if "Content Security Policy" in line]


async def start_session_from_ui(page: Page, team: str = "demo") -> str:
    """Start a session from the Teams page; returns its id (the page is on it)."""
    await page.click("nav >> text=Teams")
    await page.click(f"[data-team='{team}'] button:has-text('Start')")
    await page.wait_for_url("**/sessions/s_*")
    await page.wait_for_selector("#role:has-text('owner')")
    return page.url.rsplit("/", 1)[-1]


async def send_message(page: Page, text: str) -> None:
    """Type a message in the session's message box and send it."""
    await page.fill("#message", text)
    await page.click("#send")
