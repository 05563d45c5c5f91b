"""Running the hub, a runner, or both in one process (`tether up`)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from pathlib import Path
from typing import Any

import uvicorn

from tether.auth.principal import Authenticator, StaticTokenAuthenticator
from tether.auth.tokenfile import ensure_token
from tether.client.http import TokenProvider, static_token
from tether.config import TetherConfig
from tether.errors import ConfigError
from tether.hub.app import create_app
from tether.hub.settings import HubSettings
from tether.hubfile import HUB_FILE as HUB_FILE  # re-exported: older imports
from tether.hubfile import read_hub_url as read_hub_url
from tether.hubfile import write_hub_file as write_hub_file
from tether.runner.daemon import Runner

log = logging.getLogger("tether")


def is_loopback(host: str) -> bool:
    """Is this host name/address on this machine only?"""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, port: int, *, insecure: bool, tls: bool) -> None:
    """Refuse an exposed plain-text hub, and a port already taken, with a clear message."""
    if not is_loopback(host) and not tls and not insecure:
        raise ConfigError(
            f"refusing to serve plain HTTP on {host}, which is reachable from other machines",
            hint="pass --tls-cert/--tls-key, or --insecure if you really mean it",
        )
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port}: {exc.strerror}",
                hint="another tether (or program) uses it; pass --port",
            ) from None


def uvicorn_server(
    app: Any,
    host: str,
    port: int,
    *,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    log_level: str = "warning",
) -> uvicorn.Server:
    """A uvicorn server for the hub app (no signal handlers: the caller owns shutdown)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        ws_max_size=16 * 1024 * 1024,
        # Frames are small JSON; compressing each costs more CPU than it saves on the wire.
        ws_per_message_deflate=False,
        ws_ping_interval=None,
        ssl_certfile=tls_cert,
        ssl_keyfile=tls_key,
        lifespan="on",
        access_log=False,
    )
    return uvicorn.Server(config)


async def serve_hub(server: uvicorn.Server) -> None:
    """Run uvicorn inside our event loop."""
    await server.serve()


async def wait_started(server: uvicorn.Server, timeout: float = 30.0) -> None:
    """Until the server accepts connections (or raise if it stopped first)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not server.started:
        if server.should_exit or loop.time() > deadline:
            raise ConfigError("the hub did not start; see the log above")
        await asyncio.sleep(0.02)


async def run_embedded(
    config: TetherConfig,
    data_dir: Path,
    host: str,
    port: int,
    *,
    settings: HubSettings | None = None,
    on_ready: object = None,
) -> None:
    """`tether up`: the hub and one runner in this process, on loopback."""
    token = ensure_token(data_dir)
    authenticator: Authenticator = StaticTokenAuthenticator(token)
    hub_settings = settings or HubSettings(data_dir=data_dir)
    app = create_app(hub_settings, authenticator)
    server = uvicorn_server(app, host, port)
    url = f"http://{host}:{port}"
    runner = Runner(
        url,
        static_token(token),
        config,
        data_dir,
        runner_id=config.runner_id or "local",
        heartbeat_s=hub_settings.heartbeat_s,
        dead_after_s=hub_settings.dead_after_s,
    )
    hub_task = asyncio.create_task(serve_hub(server))
    runner_task: asyncio.Task[None] | None = None
    try:
        await wait_started(server)
        write_hub_file(data_dir, url)
        runner_task = asyncio.create_task(runner.run())
        await asyncio.wait_for(runner.connected.wait(), 30)
        if callable(on_ready):
            on_ready(url)
        await asyncio.wait({hub_task, runner_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if runner_task is not None:
            runner_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner_task
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await hub_task


def runner_token_provider(token: str) -> TokenProvider:
    """A token provider for a runner's static token."""
    return static_token(token)
