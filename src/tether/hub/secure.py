"""The hub with real identities: `create_app` plus the auth service, its routes, the
multi-user policy, the audit log and the live-connection registry (docs/security.md)."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from tether.auth.device_auth import DeviceAuthenticator, UserPolicy
from tether.auth.ratelimit import RateLimited
from tether.auth.redact import install_redaction
from tether.auth.service import AuthService, Clock
from tether.hub.app import create_app
from tether.hub.auth_routes import auth_router
from tether.hub.notify_install import install_notifications
from tether.hub.settings import HubSettings
from tether.store.sqlite import SqliteStore


def create_secure_app(
    settings: HubSettings, *, store_path: Path | None = None, clock: Clock = time.time
) -> FastAPI:
    """The hub app with pairing, session tokens, authorization and the audit log.

    `app.state.auth` is the AuthService (tests and `tether up` bootstrap through it)."""
    install_redaction()
    store = SqliteStore(store_path or settings.data_dir / "tether.db")
    service = AuthService(store, clock=clock)
    policy = UserPolicy(service)
    app = create_app(settings, DeviceAuthenticator(service), store=store, policy=policy)
    policy.broker = app.state.broker
    app.state.auth = service
    app.state.audit = service.audit_hook
    app.state.live_connections = service.live
    app.include_router(auth_router)
    install_notifications(app, service, clock=clock)  # docs/notifications.md

    @app.exception_handler(RateLimited)
    async def rate_limited(request: Request, exc: RateLimited) -> JSONResponse:
        body = {"error": {"code": exc.code, "message": exc.message, "hint": exc.hint}}
        return JSONResponse(body, status_code=429, headers={"Retry-After": "60"})

    return app
