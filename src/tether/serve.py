"""Running the hub, a runner, or both in one process (`tether up`)."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from tether.config import TetherConfig
from tether.errors import ConfigError
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


SHUTDOWN_GRACE_S = 10
"""How long in-flight requests and socket handlers may take to end once the hub stops."""


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
        # X-Forwarded-* is believed only from the operator's --trusted-proxy list, which
        # the app itself checks (tether.hub.guard); uvicorn would trust 127.0.0.1.
        proxy_headers=False,
        # After the drain, what is still running gets this long, then is cancelled: a
        # hub stops on SIGTERM whatever one connection's handler is waiting for.
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
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
    on_first_start: Callable[[str, str], None] | None = None,
    on_signin_link: Callable[[str, str], None] | None = None,
) -> None:
    """`tether up`: the hub and one runner in this process, on loopback.

    First start creates the admin (`on_first_start(url, code)` shows the one-time
    sign-in code); this machine's CLI and the embedded runner are paired automatically.
    Later starts mint a fresh one-time code for the admin's browser
    (`on_signin_link(url, code)`): the hub is on loopback and this terminal already
    holds the admin's CLI credentials, so the link grants nothing new."""
    from tether.app import create_app
    from tether.hub.bootstrap import bootstrap_hub, embedded_runner_token, signin_code
    from tether.hub.hub import hub_of

    hub_settings = settings or HubSettings(data_dir=data_dir)
    app = create_app(hub_settings)
    auth = hub_of(app).auth
    await open_store(app)
    server = uvicorn_server(app, host, port)
    url = f"http://{host}:{port}"
    hub_task = asyncio.create_task(serve_hub(server))
    runner_task: asyncio.Task[None] | None = None
    try:
        await wait_started(server)
        boot = await bootstrap_hub(auth, data_dir, url, hub_id=hub_of(app).identity)
        runner_id = config.runner_id or "local"
        runner = Runner(
            url,
            await embedded_runner_token(auth, boot.admin, runner_id),
            config,
            data_dir,
            runner_id=runner_id,
            heartbeat_s=hub_settings.heartbeat_s,
            dead_after_s=hub_settings.dead_after_s,
        )
        write_hub_file(data_dir, url)
        runner_task = asyncio.create_task(runner.run())
        await asyncio.wait_for(runner.connected.wait(), 30)
        if boot.signin_code and on_first_start is not None:
            on_first_start(url, boot.signin_code)
        elif not boot.signin_code and on_signin_link is not None:
            on_signin_link(url, await signin_code(auth, boot.admin))
        if callable(on_ready):
            on_ready(url)
        await asyncio.wait({hub_task, runner_task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if runner_task is not None:
            runner_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner_task
        await stop_serving(app, server, hub_task)


async def run_hub(
    data_dir: Path,
    host: str,
    port: int,
    *,
    tls_cert: str | None = None,
    tls_key: str | None = None,
    settings: HubSettings | None = None,
    on_ready: Callable[[str], None] | None = None,
    on_first_start: Callable[[str, str], None] | None = None,
) -> None:
    """`tether hub`: a hub with real identities (TLS when given a certificate and key)."""
    from tether.app import create_app
    from tether.hub.bootstrap import bootstrap_hub
    from tether.hub.hub import hub_of

    hub_settings = settings or HubSettings(data_dir=data_dir)
    app = create_app(hub_settings)
    auth = hub_of(app).auth
    await open_store(app)
    server = uvicorn_server(app, host, port, tls_cert=tls_cert, tls_key=tls_key)
    scheme = "https" if tls_cert else "http"
    hub_task = asyncio.create_task(serve_hub(server))
    try:
        await wait_started(server)
        bound = server.servers[0].sockets[0].getsockname()[1] if port == 0 else port
        url = f"{scheme}://{host}:{bound}"
        boot = await bootstrap_hub(auth, data_dir, url, hub_id=hub_of(app).identity)
        write_hub_file(data_dir, url)
        if boot.signin_code and on_first_start is not None:
            on_first_start(url, boot.signin_code)
        if on_ready is not None:
            on_ready(url)
        # Not `await hub_task`: cancelling us (SIGTERM) must not cancel uvicorn mid-serve,
        # whose lifespan would log the CancelledError as a traceback; it stops below.
        await asyncio.wait({hub_task})
    finally:
        await stop_serving(app, server, hub_task)


async def open_store(app: Any) -> None:
    """Open (and migrate) the hub's store before serving, so a store that cannot be opened
    (a database that is not there, a data dir that cannot be written, a replica whose
    secrets file differs from the others') is one clear error
    from the command, not a traceback from the server's start-up; the app's lifespan then
    finds it open (docs/operations.md, "Start-up and shutdown")."""
    from tether.hub.hub import hub_of
    from tether.private import narrow_data_dir

    hub = hub_of(app)
    # As the lifespan does: narrow what an older tether left readable before opening.
    await asyncio.to_thread(narrow_data_dir, hub.settings.data_dir)
    await hub.store.open()
    if hub.replication is not None:
        await hub.replication.check_keys()


async def stop_serving(app: Any, server: uvicorn.Server, hub_task: asyncio.Task[None]) -> None:
    """Drain the hub (not ready; every socket closed with "reconnect", hub/health.py),
    then stop uvicorn, which stops listening and waits for what is left."""
    from tether.hub.health import drain
    from tether.hub.hub import hub_of

    await drain(hub_of(app))
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await hub_task
