"""The browser contract (docs/security.md): code → HttpOnly SameSite=Strict cookies, CSRF
header on cookie writes, Origin check and first-frame `auth` on sockets, refresh, logout."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.authhub import secure_hub


async def test_browser_sign_in_csrf_refresh_and_logout(tmp_path: Path) -> None:
    async with secure_hub(tmp_path) as hub:
        code = await hub.auth.new_pairing_code(hub.admin)
        async with httpx.AsyncClient(base_url=hub.url) as browser:
            signed = await browser.post("/v1/auth/browser", json={"code": code})
            assert signed.status_code == 200, signed.text
            assert signed.json()["user"]["name"] == "admin"
            cookies = signed.headers.get_list("set-cookie")
            session_cookie = next(c for c in cookies if c.startswith("tether_session="))
            assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
            assert all("HttpOnly" in c and "SameSite=strict" in c for c in cookies)
            assert (await browser.get("/v1/sessions")).status_code == 200
            # A cookie write without the CSRF header (what a cross-site form sends) is refused.
            forged = await browser.post("/v1/sessions", json={"team": "demo"})
            assert forged.status_code == 403 and "X-Tether-CSRF" in forged.text
            ok = await browser.post(
                "/v1/sessions", json={"team": "demo"}, headers={"X-Tether-CSRF": "1"}
            )
            assert ok.status_code == 201, ok.text
            session_id = ok.json()["id"]
            # Refresh: new cookies, old session token still fine until it expires.
            assert (await browser.post("/v1/auth/refresh")).status_code == 403
            refreshed = await browser.post("/v1/auth/refresh", headers={"X-Tether-CSRF": "1"})
            assert refreshed.status_code == 200, refreshed.text
            jar = "; ".join(f"{k}={v}" for k, v in browser.cookies.items() if k == "tether_session")
            ws_url = hub.url.replace("http://", "ws://") + f"/v1/sessions/{session_id}/stream"
            # Same-origin socket with the cookie: accepted.
            async with connect(ws_url, additional_headers={"Cookie": jar, "Origin": hub.url}) as ws:
                assert json.loads(await ws.recv())["type"] == "ready"
            # Another site's page cannot use the cookie on a socket.
            async with connect(
                ws_url, additional_headers={"Cookie": jar, "Origin": "https://evil.example"}
            ) as ws:
                try:
                    await ws.recv()
                    raise AssertionError("cross-origin socket was accepted")
                except ConnectionClosed as exc:
                    assert exc.rcvd is not None and exc.rcvd.code == 4001
            # No header, no cookie: the first frame carries the token.
            token = browser.cookies.get("tether_session")
            async with connect(ws_url) as ws:
                await ws.send(json.dumps({"v": 1, "type": "auth", "payload": {"token": token}}))
                assert json.loads(await ws.recv())["type"] == "ready"
            out = await browser.post("/v1/auth/logout", headers={"X-Tether-CSRF": "1"})
            assert out.status_code == 200
            device_id = signed.json()["device_id"]
            device = await hub.auth.db.device(device_id)
            assert device is not None and device.revoked
        async with httpx.AsyncClient(base_url=hub.url, cookies={"tether_session": token}) as b:
            assert (await b.get("/v1/sessions")).status_code == 401
