"""Pairing codes, refresh-token rotation and reuse, session-token expiry, rate limits."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.authhub import secure_hub
from tether.auth.codes import fingerprint_of, new_device_key
from tether.client.credentials import CredentialStore, DeviceTokenProvider, pair_device
from tether.errors import AuthError


async def _pair(url: str, code: str, key: str, kind: str = "cli") -> httpx.Response:
    async with httpx.AsyncClient(base_url=url) as http:
        return await http.post(
            "/v1/auth/pair",
            json={"code": code, "name": "t", "kind": kind, "fingerprint": fingerprint_of(key)},
        )


async def test_first_start_prints_a_signin_code_that_pairs_once(tmp_path: Path) -> None:
    async with secure_hub(tmp_path, with_runner=False) as hub:
        assert hub.signin_code is not None
        first = await _pair(hub.url, hub.signin_code, new_device_key())
        assert first.status_code == 200, first.text
        assert first.json()["user"]["is_admin"] is True
        again = await _pair(hub.url, hub.signin_code, new_device_key())
        assert again.status_code == 401
        assert "already used" in again.json()["error"]["message"]


async def test_expired_code_fails(tmp_path: Path) -> None:
    async with secure_hub(tmp_path, with_runner=False) as hub:
        code = await hub.auth.new_pairing_code(hub.admin)
        hub.clock.advance(301)
        response = await _pair(hub.url, code, new_device_key())
        assert response.status_code == 401
        assert "expired" in response.json()["error"]["message"]


async def test_brute_force_is_rate_limited_per_address(tmp_path: Path) -> None:
    async with secure_hub(tmp_path, with_runner=False) as hub:
        code = await hub.auth.new_pairing_code(hub.admin)
        statuses = [
            (await _pair(hub.url, f"AAAA-AA{i:02d}", new_device_key())).status_code
            for i in range(10)
        ]
        assert statuses == [401] * 10
        # Even the right code is refused now, until the window passes.
        blocked = await _pair(hub.url, code, new_device_key())
        assert blocked.status_code == 429
        hub.clock.advance(301)
        code = await hub.auth.new_pairing_code(hub.admin)
        assert (await _pair(hub.url, code, new_device_key())).status_code == 200
        # Failures are aggregated per address and minute; that minute has closed.
        await hub.auth.audit.failures.flush_closed()
        entries = await hub.auth.audit_entries()
        failed = [e for e in entries if e.action == "pairing_failed"]
        assert sum(e.details["count"] for e in failed) == 10 and len(failed) == 2
        assert "pairing_rate_limited" in [e.action for e in entries]


async def test_refresh_rotates_and_reuse_revokes_the_device(tmp_path: Path) -> None:
    async with secure_hub(tmp_path, with_runner=False) as hub:
        code = await hub.auth.new_pairing_code(hub.admin)
        store = CredentialStore(tmp_path / "client")
        creds = await pair_device(store, hub.url, code, kind="cli", name="laptop")
        first_refresh = creds.refresh_token
        provider = DeviceTokenProvider(store, "cli", hub.url)
        access = await provider()
        async with hub.client(access) as client:
            assert (await client.request("GET", "/v1/auth/me"))["device_id"] == creds.device_id
        rotated = store.load("cli", hub.url)
        assert rotated is not None and rotated.refresh_token != first_refresh
        # A thief replays the old refresh token: the device is revoked at once.
        async with httpx.AsyncClient(base_url=hub.url) as http:
            replay = await http.post(
                "/v1/auth/token",
                json={"refresh_token": first_refresh, "device_key": creds.device_key},
            )
        assert replay.status_code == 401
        device = await hub.auth.db.device(creds.device_id)
        assert device is not None and device.revoked
        assert device.revoked_reason == "refresh token reused"
        # ... and the legitimate holder's current token and session token stop working too.
        async with hub.client(access) as client:
            with pytest.raises(AuthError):
                await client.request("GET", "/v1/auth/me")
        async with httpx.AsyncClient(base_url=hub.url) as http:
            current = await http.post(
                "/v1/auth/token",
                json={"refresh_token": rotated.refresh_token, "device_key": creds.device_key},
            )
        assert current.status_code == 401
        actions = [e.action for e in await hub.auth.audit_entries()]
        assert "token_reuse" in actions


async def test_session_token_expires_and_wrong_device_key_is_refused(tmp_path: Path) -> None:
    async with secure_hub(tmp_path, with_runner=False) as hub:
        device = await hub.device()
        access = await device.token()
        async with hub.client(access) as client:
            await client.request("GET", "/v1/auth/me")
            hub.clock.advance(601)
            with pytest.raises(AuthError):
                await client.request("GET", "/v1/auth/me")
        async with httpx.AsyncClient(base_url=hub.url) as http:
            stolen = await http.post(
                "/v1/auth/token",
                json={"refresh_token": device.refresh_token, "device_key": new_device_key()},
            )
        # The first refresh token was already rotated by device.token(): reuse → revoked.
        assert stolen.status_code == 401
