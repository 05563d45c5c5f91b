"""An in-process hub (+ runner) on a free loopback port, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from tests.support.timing import scaled
from tether.auth.principal import StaticTokenAuthenticator
from tether.client import HubClient, RemoteSession, static_token
from tether.client.http import TokenProvider
from tether.config import TeamConfig, TetherConfig
from tether.hub.app import create_app
from tether.hub.broker import Broker
from tether.hub.settings import HubSettings
from tether.runner.daemon import Runner
from tether.serve import uvicorn_server, wait_started


@dataclass
class HubHandle:
    """A running hub (and maybe a runner) and how to talk to it."""

    url: str
    token: str
    data_dir: Path
    broker: Broker
    runner: Runner | None

    def client(self) -> HubClient:
        """An HTTP client with the hub's token."""
        return HubClient(self.url, static_token(self.token))

    def session(self, session_id: str, **kwargs: object) -> RemoteSession:
        """A RemoteSession on this hub."""
        return RemoteSession(self.url, session_id, static_token(self.token), **kwargs)  # type: ignore[arg-type]

    def allowing_session(self, session_id: str, decided: list[str] | None = None) -> RemoteSession:
        """A RemoteSession that allows every permission request (noting its id in `decided`)."""

        async def allow(request: dict[str, object]) -> None:
            if decided is not None:
                decided.append(str(request["request_id"]))
            await remote.decide_permission(str(request["request_id"]), "allow")

        remote = self.session(session_id, on_permission_request=allow)
        return remote


def demo_team(path: Path, name: str = "demo", **kwargs: object) -> TeamConfig:
    """A demo-agent team in `path`."""
    return TeamConfig(name=name, path=str(path), agent="demo", **kwargs)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """Serve `app` on 127.0.0.1:<free port>; yield its base URL; stop serving on exit."""
    server = uvicorn_server(app, "127.0.0.1", 0)
    serve_task = asyncio.create_task(server.serve())
    try:
        await wait_started(server, timeout=scaled(30))
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serve_task


@contextlib.asynccontextmanager
async def connected_runner(
    url: str,
    token: TokenProvider,
    config: TetherConfig,
    data_dir: Path,
    *,
    runner_id: str,
    settings: HubSettings | None = None,
) -> AsyncIterator[Runner]:
    """Run a runner against the hub at `url` until it is connected; yield it; stop it on exit.

    With `settings`, it uses the hub's heartbeat and dead-after times.
    """
    timing = (
        {}
        if settings is None
        else {"heartbeat_s": settings.heartbeat_s, "dead_after_s": settings.dead_after_s}
    )
    runner = Runner(url, token, config, data_dir, runner_id=runner_id, **timing)
    runner_task = asyncio.create_task(runner.run())
    try:
        await asyncio.wait_for(runner.connected.wait(), scaled(30))
        yield runner
    finally:
        runner_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner_task


@contextlib.asynccontextmanager
async def running_hub(
    data_dir: Path,
    config: TetherConfig | None = None,
    *,
    settings: HubSettings | None = None,
    with_runner: bool = True,
    runner_id: str = "test-runner",
) -> AsyncIterator[HubHandle]:
    """Start a hub on 127.0.0.1:<free port> (and a runner for `config`), yield, stop both."""
    token = secrets.token_urlsafe(24)
    hub_settings = settings or HubSettings(data_dir=data_dir)
    app = create_app(hub_settings, StaticTokenAuthenticator(token))
    async with serving(app) as url, contextlib.AsyncExitStack() as stack:
        runner = None
        if with_runner:
            cfg = config or TetherConfig(teams={"demo": demo_team(data_dir)})
            runner = await stack.enter_async_context(
                connected_runner(
                    url,
                    static_token(token),
                    cfg,
                    data_dir,
                    runner_id=runner_id,
                    settings=hub_settings,
                )
            )
        yield HubHandle(url, token, data_dir, app.state.broker, runner)


async def wait_for_event(
    remote: RemoteSession, kind: str, timeout: float = 30.0, **fields: object
) -> dict[str, Any]:
    """Consume `remote`'s events until one of `kind` (with `fields`) arrives; return its payload."""

    async def scan() -> dict[str, object]:
        async for event in remote:
            if event.kind == kind and all(event.payload.get(k) == v for k, v in fields.items()):
                return event.payload
        raise AssertionError(f"stream ended before a {kind} event")

    return await asyncio.wait_for(scan(), scaled(timeout))
