"""An in-process hub (+ runner) on a free loopback port, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from tests.support.timing import scaled
from tether.auth.principal import StaticTokenAuthenticator
from tether.client import HubClient, RemoteSession, static_token
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


def demo_team(path: Path, name: str = "demo", **kwargs: object) -> TeamConfig:
    """A demo-agent team in `path`."""
    return TeamConfig(name=name, path=str(path), agent="demo", **kwargs)  # type: ignore[arg-type]


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
    server = uvicorn_server(app, "127.0.0.1", 0)
    serve_task = asyncio.create_task(server.serve())
    runner_task: asyncio.Task[None] | None = None
    try:
        await wait_started(server, timeout=scaled(30))
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        runner = None
        if with_runner:
            cfg = config or TetherConfig(teams={"demo": demo_team(data_dir)})
            runner = Runner(
                url,
                static_token(token),
                cfg,
                data_dir,
                runner_id=runner_id,
                heartbeat_s=hub_settings.heartbeat_s,
                dead_after_s=hub_settings.dead_after_s,
            )
            runner_task = asyncio.create_task(runner.run())
            await asyncio.wait_for(runner.connected.wait(), scaled(30))
        yield HubHandle(url, token, data_dir, app.state.broker, runner)
    finally:
        if runner_task is not None:
            runner_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner_task
        server.should_exit = True
        await serve_task


async def wait_for_event(
    remote: RemoteSession, kind: str, timeout: float = 30.0, **fields: object
) -> dict[str, object]:
    """Consume `remote`'s events until one of `kind` (with `fields`) arrives; return its payload."""

    async def scan() -> dict[str, object]:
        async for event in remote:
            if event.kind == kind and all(event.payload.get(k) == v for k, v in fields.items()):
                return event.payload
        raise AssertionError(f"stream ended before a {kind} event")

    return await asyncio.wait_for(scan(), scaled(timeout))
