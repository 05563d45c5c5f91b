"""Share links (watch, never write; revocable; expiring), plain-text URLs refused, and no
secret in any log line of a whole pairing + session flow."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.authhub import secure_hub, shared_session
from tests.support.hub import wait_for_event
from tests.support.procs import cli_env, tether_argv
from tests.support.timing import scaled
from tether.client import HubClient, RemoteSession, static_token
from tether.client.credentials import CredentialStore, DeviceTokenProvider, pair_device
from tether.config import TetherConfig
from tether.errors import AuthError, ConfigError, Forbidden
from tether.runner.daemon import Runner


async def test_share_link_watches_never_writes_and_revocation_closes_it(tmp_path: Path) -> None:
    async with secure_hub(tmp_path) as hub:
        shared = await shared_session(hub, ttl_s=600)
        link = shared.link
        watcher = await hub.session(shared.id, link["token"]).connect()
        try:
            assert watcher.role == "follower"
            with pytest.raises(Forbidden, match="read-only link"):
                await watcher.send_message("let me in")
            async with hub.client(shared.owner.token) as client:
                await client.send(shared.id, "hello")
            await wait_for_event(watcher, "turn_finished")
            assert hub.auth.live.count(f"principal:share:{link['id']}") == 1
            async with hub.client(shared.owner.token) as client:
                await client.request("POST", f"/v1/shares/{link['id']}/revoke")
            with pytest.raises(AuthError):
                await asyncio.wait_for(wait_for_event(watcher, "never"), scaled(10))
        finally:
            await watcher.close()
        async with hub.client(link["token"]) as client:
            with pytest.raises(AuthError):
                await client.session(shared.id)
        actions = [e.action for e in await hub.auth.audit_entries()]
        assert {"share_created", "share_revoked", "user_message"} <= set(actions)


async def test_share_link_expires(tmp_path: Path) -> None:
    async with secure_hub(tmp_path) as hub:
        shared = await shared_session(hub, ttl_s=60)
        async with hub.client(shared.link["token"]) as client:
            assert (await client.session(shared.id))["id"] == shared.id
            hub.clock.advance(61)
            with pytest.raises(AuthError):
                await client.session(shared.id)


def test_plain_text_to_a_non_loopback_host_is_refused_before_connecting(tmp_path: Path) -> None:
    token = static_token("x" * 20)
    for url in ("http://10.1.2.3:8765", "ws://192.0.2.7", "http://hub.example.com"):
        with pytest.raises(ConfigError, match="refusing"):
            HubClient(url, token)
        with pytest.raises(ConfigError, match="refusing"):
            RemoteSession(url, "s_x", token)
        with pytest.raises(ConfigError, match="refusing"):
            Runner(url, token, TetherConfig(), tmp_path, runner_id="r")
    HubClient("http://10.1.2.3:8765", token, insecure=True)  # explicit opt-in
    HubClient("http://127.0.0.1:8765", token)
    HubClient("https://hub.example.com", token)
    # The CLI says so and exits without touching the network (10.255.255.1 is unroutable).
    proc = subprocess.run(
        tether_argv("attach", "s_x", "--hub", "http://10.255.255.1:9"),
        env=cli_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=scaled(30),
    )
    assert proc.returncode == 2 and "refusing" in proc.stderr and "--insecure" in proc.stderr


async def test_no_secret_in_any_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in (
        "websockets",
        "websockets.client",
        "websockets.server",
        "httpx",
        "httpcore",
        "uvicorn",
        "uvicorn.error",
    ):
        logging.getLogger(name).setLevel(logging.DEBUG)
    secrets: list[str] = []
    async with secure_hub(tmp_path / "hub") as hub:
        code = await hub.auth.new_pairing_code(hub.admin)
        secrets.append(code)
        store = CredentialStore(tmp_path / "client")
        creds = await pair_device(store, hub.url, code, kind="cli", name="laptop")
        secrets += [creds.refresh_token, creds.device_key]
        provider = DeviceTokenProvider(store, "cli", hub.url)
        async with HubClient(hub.url, provider) as client:
            session = await client.start("demo")
            link = await client.request("POST", f"/v1/sessions/{session['id']}/shares", json={})
            secrets.append(link["token"])
        async with RemoteSession(hub.url, session["id"], provider) as remote:
            await remote.send_message("hello")
            await wait_for_event(remote, "turn_finished")
        # A bad login attempt and a bad token are logged too (as failures, without the value).
        async with HubClient(hub.url, static_token("eyJhbGciOi.garbage.value")) as bad:
            with pytest.raises(AuthError):
                await bad.sessions()
        current = store.load("cli", hub.url)
        assert current is not None
        secrets += [current.refresh_token, current.access_token]
        logging.getLogger("tether.test").debug("Authorization: Bearer %s", current.access_token)
    lines = [record.getMessage() for record in caplog.records]
    assert any("websockets" in r.name for r in caplog.records), "expected websockets DEBUG lines"
    assert any("[redacted" in line for line in lines)
    for line in lines:
        for secret in secrets:
            assert secret not in line, f"secret in a log line: {line}"
        assert not re.search(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", line), line
