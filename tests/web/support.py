"""An in-process hub (tether.app.create_app), a runner, and Chromium
(Playwright). The hub can be restarted on the same port and data dir, and its clock
moved forward to expire session tokens."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect

from tests.support.authhub import MovableClock
from tests.support.hub import connected_runner, demo_team
from tests.support.timing import scaled
from tether.app import create_app
from tether.auth.codes import fingerprint_of, new_device_key
from tether.auth.records import User
from tether.auth.service import AuthService
from tether.client.http import TokenProvider
from tether.config import TetherConfig
from tether.errors import AuthError
from tether.hub.bootstrap import bootstrap_hub
from tether.hub.hub import hub_of
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
USER = "alice"
"""The admin the browser tests sign in as (the hub's own `admin` owns nothing here)."""


@dataclass
class WebHub:
    """A hub with real identities serving the web UI on a fixed loopback port; restartable."""

    data_dir: Path
    port: int = 0
    clock: MovableClock = field(default_factory=MovableClock)
    app: FastAPI | None = None
    server: Any = None
    serve_task: asyncio.Task[None] | None = None
    runner: Runner | None = None
    alice: User | None = None
    signin_code: str | None = None
    """The first start's one-time code (for the hub's `admin`)."""

    @property
    def url(self) -> str:
        """The hub's base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> AuthService:
        """The running app's auth service (a new one after a restart)."""
        assert self.app is not None, "the hub is not running"
        return hub_of(self.app).auth

    @property
    def user(self) -> User:
        """The test user (an admin named alice)."""
        assert self.alice is not None
        return self.alice

    async def start(self) -> None:
        """Serve (on the port used before, if any)."""
        settings = HubSettings(data_dir=self.data_dir)
        self.app = create_app(settings, clock=self.clock)
        self.server = uvicorn_server(self.app, "127.0.0.1", self.port)
        self.serve_task = asyncio.create_task(self.server.serve())
        await wait_started(self.server, timeout=scaled(30))
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        boot = await bootstrap_hub(self.auth, self.data_dir, self.url)
        if self.alice is None:
            self.signin_code = boot.signin_code
            self.alice = await self.auth.db.create_user(USER, is_admin=True, now=self.clock())

    async def stop(self) -> None:
        """Stop serving (the runner stays and keeps retrying)."""
        if self.server is not None and self.serve_task is not None:
            self.server.should_exit = True
            await self.serve_task
            self.server = self.serve_task = None

    async def restart(self) -> None:
        """Stop the hub and start a new one on the same data dir and port; return once its
        runner (if any) is back, so a message sent next has somewhere to go."""
        await self.stop()
        await self.start()
        if self.runner is not None:
            assert self.app is not None
            broker = hub_of(self.app).broker
            deadline = asyncio.get_running_loop().time() + scaled(30)
            while not broker.runners:
                assert asyncio.get_running_loop().time() < deadline, "the runner did not return"
                await asyncio.sleep(0.05)

    async def new_code(self, user: User | None = None) -> str:
        """A fresh single-use sign-in (pairing) code for a user (default alice)."""
        return await self.auth.new_pairing_code(user or self.user, reason="test")

    async def signin_link(self, user: User | None = None) -> str:
        """A one-time sign-in link, the code in the fragment as `tether up` prints it."""
        return f"{self.url}/signin#code={await self.new_code(user)}"

    async def runner_device(self, name: str) -> str:
        """A runner device of alice named `name`; returns its id."""
        pairing = await self.auth.mint_device(
            self.user,
            name=name,
            kind="runner",
            fingerprint=fingerprint_of(new_device_key()),
            with_refresh=False,
        )
        return pairing.device.id

    def device_token(self, device_id: str) -> TokenProvider:
        """Session tokens for a device, from whichever app is running (survives restarts)."""

        async def provide() -> str:
            device = await self.auth.device(device_id)
            if device is None or device.revoked:
                raise AuthError(f"device {device_id} was revoked")
            await self.auth.ready()  # a restarted hub may not have loaded its keys yet
            return self.auth.access_token(device)

        return provide

    async def bearer(self, name: str = "test-cli") -> str:
        """A session token of a fresh CLI device of alice (for HTTP calls from the test)."""
        pairing = await self.auth.mint_device(
            self.user, name=name, kind="cli", fingerprint=fingerprint_of(new_device_key())
        )
        return await self.device_token(pairing.device.id)()


@contextlib.asynccontextmanager
async def web_hub(data_dir: Path, config: TetherConfig | None = None) -> AsyncIterator[WebHub]:
    """A hub + runner for `config` (default: one demo team), stopped on exit."""
    hub = WebHub(data_dir)
    await hub.start()
    try:
        cfg = config or TetherConfig(teams={"demo": demo_team(data_dir)})
        token = hub.device_token(await hub.runner_device("web-test"))
        async with connected_runner(hub.url, token, cfg, data_dir, runner_id="web-test") as runner:
            hub.runner = runner
            yield hub
    finally:
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


async def new_page(
    browser: Browser, *, viewport: dict[str, int] | None = None
) -> tuple[BrowserContext, Page]:
    """A fresh browser context (no cookies) and a page in it."""
    context = await browser.new_context(viewport=viewport or {"width": 1100, "height": 800})  # type: ignore[arg-type]
    context.set_default_timeout(scaled(15) * 1000)
    page = await context.new_page()
    page.on("console", lambda msg: _console.append(msg.text))
    return context, page


async def signed_in_page(
    browser: Browser,
    hub: WebHub,
    *,
    viewport: dict[str, int] | None = None,
    user: User | None = None,
) -> tuple[BrowserContext, Page]:
    """A new browser context signed in through a one-time link; the page is on /sessions."""
    context, page = await new_page(browser, viewport=viewport)
    await page.goto(await hub.signin_link(user))
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


async def say(page: Page, text: str) -> None:
    """Send `text`; the demo agent's answer to it ("You said: …") is the last message."""
    await send_message(page, text)
    last = page.locator("[data-kind=agent_message]").last
    await expect(last).to_contain_text(f"You said: {text}")
