"""An in-process hub with real identities (pairing, session tokens, policy, audit), for tests."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from tests.support.hub import connected_runner, demo_team, serving
from tether.auth.codes import fingerprint_of, new_device_key
from tether.auth.records import User
from tether.auth.service import AuthService
from tether.client import HubClient, RemoteSession, static_token
from tether.client.http import TokenProvider
from tether.config import TetherConfig
from tether.hub.bootstrap import bootstrap_hub, embedded_runner_token
from tether.hub.broker import Broker
from tether.hub.secure import create_secure_app
from tether.hub.settings import HubSettings
from tether.runner.daemon import Runner


class MovableClock:
    """Wall-clock time plus an offset the test can move forward."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Jump ahead."""
        self.offset += seconds


@dataclass
class Device:
    """A device minted for a test: its id and a token provider."""

    id: str
    user: User
    refresh_token: str
    device_key: str
    token: TokenProvider


@dataclass
class SecureHub:
    """A running hub with auth, its admin, and helpers to make users and devices."""

    url: str
    app: FastAPI
    data_dir: Path
    clock: MovableClock
    admin: User
    signin_code: str | None
    runner: Runner | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def auth(self) -> AuthService:
        """The hub's auth service."""
        service: AuthService = self.app.state.auth
        return service

    @property
    def broker(self) -> Broker:
        """The hub's broker."""
        broker: Broker = self.app.state.broker
        return broker

    async def device(
        self, user: User | None = None, *, kind: str = "cli", name: str = "t"
    ) -> Device:
        """Mint a device (as `tether up` does for the local CLI) and a refreshing token provider."""
        user = user or self.admin
        key = new_device_key()
        pairing = await self.auth.mint_device(
            user, name=name, kind=kind, fingerprint=fingerprint_of(key)
        )
        state = {"refresh": pairing.refresh_token}

        async def provide() -> str:
            done = await self.auth.refresh(state["refresh"], key, address="127.0.0.1")
            state["refresh"] = done.refresh_token
            return done.access_token

        return Device(pairing.device.id, user, pairing.refresh_token, key, provide)

    async def user(self, name: str) -> User:
        """A new non-admin user."""
        return await self.auth.db.create_user(name, is_admin=False, now=self.clock())

    def client(self, token: TokenProvider | str) -> HubClient:
        """An HTTP client with a token (provider)."""
        return HubClient(self.url, static_token(token) if isinstance(token, str) else token)

    def session(self, session_id: str, token: TokenProvider | str, **kwargs: Any) -> RemoteSession:
        """A RemoteSession with a token (provider)."""
        provider = static_token(token) if isinstance(token, str) else token
        return RemoteSession(self.url, session_id, provider, **kwargs)

    def snapshot(self, *, skip: tuple[str, ...] = ("audit_log",)) -> dict[str, list[Any]]:
        """Every row of every table (but the audit log), to prove nothing changed."""
        conn = sqlite3.connect(self.data_dir / "tether.db")
        try:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            return {
                t: sorted(map(repr, conn.execute(f"SELECT * FROM {t}")))
                for t in tables
                if t not in skip
            }
        finally:
            conn.close()


@contextlib.asynccontextmanager
async def secure_hub(
    data_dir: Path,
    config: TetherConfig | None = None,
    *,
    with_runner: bool = True,
    runner_id: str = "test-runner",
    settings: HubSettings | None = None,
) -> AsyncIterator[SecureHub]:
    """Start a hub with real auth on 127.0.0.1:<free port> (and the admin's runner)."""
    clock = MovableClock()
    hub_settings = settings or HubSettings(data_dir=data_dir)
    app = create_secure_app(hub_settings, clock=clock)
    async with serving(app) as url, contextlib.AsyncExitStack() as stack:
        boot = await bootstrap_hub(app.state.auth, data_dir, url)
        runner = None
        if with_runner:
            cfg = config or TetherConfig(teams={"demo": demo_team(data_dir)})
            token = await embedded_runner_token(app.state.auth, boot.admin, runner_id)
            runner = await stack.enter_async_context(
                connected_runner(
                    url, token, cfg, data_dir, runner_id=runner_id, settings=hub_settings
                )
            )
        yield SecureHub(url, app, data_dir, clock, boot.admin, boot.signin_code, runner)
