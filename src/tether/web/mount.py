"""Serve the web UI from the hub: the app shell on the UI's paths, `/static/…`, the service
worker at `/sw.js` (docs/notifications.md), `/v1/qr`, and `/v1/live` (the sessions
list, pushed).

Every response of the UI carries a strict Content-Security-Policy: scripts and styles
only from this origin (no inline code, no eval), no framing, no plugins. The API's
JSON routes are left alone (FastAPI's `/docs` page needs a CDN), but they never
serve HTML.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from tether.web.headers import SECURITY_HEADERS
from tether.web.live import live_router
from tether.web.qr import qr_router
from tether.web.vendor import vendor_router

# The client-side router's pages; each one is the same shell, the script picks the page.
SHELL_PATHS = (
    "/",
    "/signin",
    "/share",
    "/sessions",
    "/sessions/{session_id}",
    "/teams",
    "/devices",
    "/audit",
    "/settings",
)


def static_dir() -> Path:
    """Where the UI's files live inside the installed package."""
    return Path(str(resources.files("tether.web") / "static"))


class UIStaticFiles(StaticFiles):
    """StaticFiles with the UI's security headers, revalidated on every load (no build step
    means no hashed file names, so browsers must not keep a stale module)."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        """The file, with security and cache headers."""
        response = await super().get_response(path, scope)
        response.headers.update(SECURITY_HEADERS)
        response.headers["Cache-Control"] = "no-cache"
        return response


def mount_web(app: FastAPI) -> None:
    """Add the UI's routes to the hub app."""
    root = static_dir()
    shell = root / "index.html"

    async def app_shell(request: Request) -> Response:
        return FileResponse(
            shell,
            media_type="text/html; charset=utf-8",
            headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
        )

    async def service_worker(request: Request) -> Response:
        # Served from the root so its scope is the whole app; never cached by the HTTP
        # cache, so a new version is picked up on the next load.
        return FileResponse(
            root / "sw.js",
            media_type="text/javascript; charset=utf-8",
            headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"},
        )

    for path in SHELL_PATHS:
        app.add_api_route(path, app_shell, methods=["GET"], include_in_schema=False)
    app.add_api_route("/sw.js", service_worker, methods=["GET"], include_in_schema=False)
    app.include_router(vendor_router)  # before the /static mount, which would shadow it
    app.mount("/static", UIStaticFiles(directory=root), name="static")
    app.include_router(qr_router)
    app.include_router(live_router)  # /v1/live: the sessions list, pushed
