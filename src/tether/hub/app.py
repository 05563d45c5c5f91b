"""Assemble the hub's ASGI app: store, broker, auth, routes, error translation."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

import tether
from tether.auth.policy import Policy, SingleUserPolicy
from tether.auth.principal import Authenticator, Principal
from tether.errors import AuthError, Conflict, Forbidden, NotFound, TetherError
from tether.hub.broker import Broker
from tether.hub.metrics import mount_metrics
from tether.hub.routes import router
from tether.hub.settings import HubSettings
from tether.hub.terminal_routes import terminal_router
from tether.mcp.hub import mount_mcp
from tether.store.base import Store
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


async def _log_audit(action: str, principal: Principal, **details: Any) -> None:
    log.info("audit %s by %s %s", action, principal.label, details)


def create_app(
    settings: HubSettings,
    authenticator: Authenticator,
    *,
    store: Store | None = None,
    policy: Policy | None = None,
) -> FastAPI:
    """The hub app. The store is opened and closed with the app's lifespan."""
    the_store: Store = store or SqliteStore(settings.data_dir / "tether.db")
    broker = Broker(the_store, settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await the_store.open()
        await broker.load()
        log.info("hub ready (data dir %s)", settings.data_dir)
        try:
            async with app.state.mcp.running():
                yield
        finally:
            await the_store.close()

    app = FastAPI(title="tether hub", version=tether.__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.broker = broker
    app.state.store = the_store
    app.state.authenticator = authenticator
    app.state.policy = policy or SingleUserPolicy()
    app.state.audit = _log_audit
    app.include_router(router)
    app.include_router(terminal_router)  # tether run: terminals published by a PTY host
    mount_mcp(app)  # /mcp (streamable HTTP) and /mcp/ws (WebSocket), see docs/mcp.md
    mount_web(app)
    mount_metrics(app, broker)

    @app.exception_handler(TetherError)
    async def tether_error(request: Request, exc: TetherError) -> JSONResponse:
        status = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        body = {"error": {"code": exc.code, "message": exc.message, "hint": exc.hint}}
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        err = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in err.get("loc", ()))
        return JSONResponse(
            {"error": {"code": "bad_request", "message": f"{where}: {err.get('msg', 'invalid')}"}},
            status_code=422,
        )

    return app
