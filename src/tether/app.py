"""Assemble the hub's ASGI app: the one factory that production and every test use.

`create_app` builds the store, the identity service (pairing, tokens, audit), the
authenticator and policy over it, the session broker, and mounts the HTTP API, the
auth routes, the runner and viewer sockets, `/mcp`, the web UI and `/metrics`.

It sits above `tether.hub` (the core every feature builds on) and the features
mounted on it (`tether.mcp`, `tether.web`), so none of them imports another's
assembly (docs/architecture.md).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

import tether
from tether.auth.device_auth import DeviceAuthenticator, UserPolicy
from tether.auth.ratelimit import RateLimited
from tether.auth.redact import install_redaction
from tether.auth.service import (
    PAIR_ATTEMPTS_ALL_ADDRESSES,
    PAIR_ATTEMPTS_PER_ADDRESS,
    PAIR_CEILING_MESSAGE,
    PAIR_WINDOW_S,
    AuthService,
    Clock,
)
from tether.cluster.ratelimit import SharedRateLimiter
from tether.errors import AuthError, ConfigError, Conflict, Forbidden, NotFound, TetherError
from tether.hub.auth_routes import auth_router
from tether.hub.broker import Broker
from tether.hub.guard import HubGuard
from tether.hub.hub import Hub
from tether.hub.identity import identity_router, load_identity
from tether.hub.metrics import mount_metrics
from tether.hub.replicated import Replication
from tether.hub.routes import router
from tether.hub.settings import HubSettings
from tether.hub.terminal_routes import terminal_router
from tether.hub_secrets import HubSecrets
from tether.mcp.hub import mount_mcp
from tether.notify.install import install_notifications
from tether.private import narrow_data_dir
from tether.store.postgres import PostgresStore, redacted
from tether.store.sqlite import SqliteStore
from tether.web import mount_web

log = logging.getLogger("tether.hub")

_STATUS = {NotFound: 404, Forbidden: 403, AuthError: 401, Conflict: 409}


def status_for(exc: TetherError) -> int:
    """HTTP status of a tether error."""
    for cls, status in _STATUS.items():
        if isinstance(exc, cls):
            return status
    return 400 if exc.code in ("bad_frame", "config") else 500


def store_of(settings: HubSettings) -> SqliteStore | PostgresStore:
    """The store `settings.store` names: SQLite in the data dir by default."""
    url = settings.store
    if not url:
        return SqliteStore(settings.data_dir / "tether.db")
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    raise ConfigError(
        f"unknown store {redacted(url)!r}",
        hint="use postgresql://USER@HOST:PORT/DB, or leave --store out for SQLite in the data dir",
    )


def build_hub(settings: HubSettings, *, clock: Clock = time.time) -> Hub:
    """The hub's parts, wired (not yet open: the app's lifespan opens the store).

    On PostgreSQL this process is one replica: the broker, the live sockets and the
    pairing rate limits are the shared ones (tether.hub.replicated)."""
    store = store_of(settings)
    auth = AuthService(store, secrets=HubSecrets.for_data_dir(settings.data_dir), clock=clock)
    replication = None
    broker: Broker
    if isinstance(store, PostgresStore):
        replication = Replication(store, settings, auth)
        broker = replication.broker
        auth.live = replication.live_sockets(auth)
        auth.pair_limiter = SharedRateLimiter(
            store, PAIR_ATTEMPTS_PER_ADDRESS, PAIR_WINDOW_S, clock, prefix="pair"
        )
        auth.pair_ceiling = SharedRateLimiter(
            store,
            PAIR_ATTEMPTS_ALL_ADDRESSES,
            PAIR_WINDOW_S,
            clock,
            prefix="pair-all",
            message=PAIR_CEILING_MESSAGE,
        )
    else:
        broker = Broker(store, settings)
    policy = UserPolicy(auth)
    policy.broker = broker
    return Hub(
        settings=settings,
        store=store,
        auth=auth,
        authenticator=DeviceAuthenticator(auth),
        policy=policy,
        broker=broker,
        live=auth.live,
        audit=auth.audit_hook,
        replication=replication,
    )


def create_app(settings: HubSettings, *, clock: Clock = time.time) -> FastAPI:
    """The hub app. The store is opened and closed with the app's lifespan.

    `clock` is the identity service's time (tests move it forward to expire tokens)."""
    install_redaction()
    hub = build_hub(settings, clock=clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Narrow what an older tether left readable before anything is opened.
        await asyncio.to_thread(narrow_data_dir, settings.data_dir)
        await hub.store.open()
        hub.identity = await load_identity(hub.store)
        if hub.replication is not None:
            await hub.replication.start()
        try:
            await hub.broker.load()
            log.info("hub ready (data dir %s, store %s)", settings.data_dir, _where(hub))
            async with mcp.running():
                yield
        finally:
            if hub.replication is not None:
                await hub.replication.stop()
            # The pending failed-auth summaries are written before the store closes.
            await hub.auth.close()
            await hub.store.close()

    app = FastAPI(title="tether hub", version=tether.__version__, lifespan=lifespan)
    app.state.hub = hub
    app.include_router(router)
    app.include_router(auth_router)
    app.include_router(identity_router)  # GET /v1/hub/identity
    app.include_router(terminal_router)  # tether run: terminals published by a PTY host
    mcp = mount_mcp(app)  # /mcp (streamable HTTP) and /mcp/ws (WebSocket), see docs/mcp.md
    mount_web(app)
    install_notifications(app, hub, clock=clock)  # docs/notifications.md
    mount_metrics(app, hub.broker)
    app.add_middleware(HubGuard, settings=settings)  # Host and proxy headers: hub/guard.py
    _translate_errors(app)
    return app


def _where(hub: Hub) -> str:
    store = hub.store
    return store.where if isinstance(store, PostgresStore) else "SQLite"


def _translate_errors(app: FastAPI) -> None:
    """tether errors become JSON bodies with the right status; so do bad requests."""

    @app.exception_handler(TetherError)
    async def tether_error(request: Request, exc: TetherError) -> JSONResponse:
        status = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(_body(exc), status_code=status, headers=headers)

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        return JSONResponse(_body(exc), status_code=429, headers={"Retry-After": "60"})

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in err.get("loc", ()))
        return JSONResponse(
            {"error": {"code": "bad_request", "message": f"{where}: {err.get('msg', 'invalid')}"}},
            status_code=422,
        )


def _body(exc: TetherError) -> dict[str, dict[str, str | None]]:
    return {"error": {"code": exc.code, "message": exc.message, "hint": exc.hint}}
