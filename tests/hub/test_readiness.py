"""`/healthz` and `/readyz` as a load balancer reads them, and a store that is not there
when the hub starts: the hub refuses to start, saying what to check (no traceback)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.hub import running_hub
from tests.support.procs import cli_env, free_port, tether_argv
from tests.support.timing import scaled
from tether.app import create_app
from tether.errors import StoreError
from tether.hub.health import drain
from tether.hub.settings import HubSettings
from tether.store.postgres import PostgresStore


async def test_a_healthy_hub_is_alive_and_ready_without_credentials(tmp_path: Path) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub, httpx.AsyncClient() as http:
        health = await http.get(f"{hub.url}/healthz")
        ready = await http.get(f"{hub.url}/readyz")
    assert health.status_code == 200 and health.json()["ok"] is True
    assert health.json()["version"]
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "reason": None}


async def test_readyz_is_503_with_the_reason_while_the_store_refuses_writes(
    tmp_path: Path,
) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub, httpx.AsyncClient() as http:
        # What a full disk leaves behind (the real thing: test_readiness_disk.py).
        hub.hub.store.health.refused(StoreError("database or disk is full", refused=True))
        refused = await http.get(f"{hub.url}/readyz")
        alive = await http.get(f"{hub.url}/healthz")
        hub.hub.store.health.took()
        back = await http.get(f"{hub.url}/readyz")
    assert refused.status_code == 503
    assert refused.json() == {"ready": False, "reason": "the store's disk is full"}
    assert alive.status_code == 200  # alive all the same: restarting would not help
    assert back.status_code == 200


async def test_a_draining_hub_is_not_ready_and_turns_new_sockets_away(tmp_path: Path) -> None:
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    async with running_hub(tmp_path, with_runner=False) as hub, httpx.AsyncClient() as http:
        await drain(hub.hub)
        ready = await http.get(f"{hub.url}/readyz")
        ws_url = hub.url.replace("http://", "ws://") + "/v1/runner"
        async with connect(ws_url) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
    assert ready.status_code == 503 and "shutting down" in ready.json()["reason"]
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4011


async def test_a_postgresql_store_that_is_not_there_stops_the_hub_from_starting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Nothing listens on port 1; the hub is built with a PostgresStore the way `--store`
    # builds it (the factory is replaced, since this branch predates the flag).
    dsn = "postgresql://tether@127.0.0.1:1/nowhere"
    monkeypatch.setattr("tether.app.SqliteStore", lambda _path: PostgresStore(dsn))
    app = create_app(HubSettings(data_dir=tmp_path))
    with pytest.raises(StoreError) as refused:
        async with app.router.lifespan_context(app):
            pass
    assert "cannot connect to the PostgreSQL store at" in refused.value.message
    assert "127.0.0.1:1/nowhere" in refused.value.message
    assert refused.value.hint and "server runs" in refused.value.hint


def test_tether_hub_on_a_store_it_cannot_open_says_why_and_exits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    (home / "tether.db").mkdir()  # not a file SQLite can open
    done = subprocess.run(
        tether_argv("hub", "--port", str(free_port()), "--data-dir", str(home)),
        env=cli_env(home),
        capture_output=True,
        text=True,
        timeout=scaled(60),
    )
    assert done.returncode != 0
    assert "cannot create the store at" in done.stderr and "tether.db" in done.stderr
    assert "hint:" in done.stderr
    assert "Traceback" not in done.stderr, done.stderr
