"""A hub stops within its grace whatever one request is waiting for: a handler that never
ends is cancelled (the route below stands in for one; no real route is known to hang,
which is why the bound exists)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import httpx
import pytest

from tests.support.timing import scaled
from tether import serve
from tether.app import create_app
from tether.hub.settings import HubSettings
from tether.serve import uvicorn_server, wait_started


async def test_a_request_that_never_ends_does_not_hold_the_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(serve, "SHUTDOWN_GRACE_S", 1)
    app = create_app(HubSettings(data_dir=tmp_path))
    entered = asyncio.Event()

    @app.get("/test/forever")
    async def forever() -> None:
        entered.set()
        await asyncio.Event().wait()

    server = uvicorn_server(app, "127.0.0.1", 0)
    serving = asyncio.create_task(server.serve())
    await wait_started(server, timeout=scaled(30))
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        stuck = asyncio.create_task(http.get("/test/forever", timeout=60))
        await asyncio.wait_for(entered.wait(), scaled(10))
        started = time.monotonic()
        server.should_exit = True
        await asyncio.wait_for(serving, scaled(20))
        assert time.monotonic() - started < scaled(10)
        stuck.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await stuck
