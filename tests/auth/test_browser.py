"""The browser contract (docs/security.md): code → HttpOnly SameSite=Strict cookies, CSRF
header on cookie writes, Origin check and first-frame `auth` on sockets, refresh, logout."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.authhub import secure_hub, shared_session


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


async def test_a_share_link_opened_by_a_browser(tmp_path: Path) -> None:
    async with secure_hub(tmp_path) as hub:
        shared = await shared_session(hub, ttl_s=600)
        share, sid = shared.link, shared.id
        async with httpx.AsyncClient(base_url=hub.url) as browser:
            assert (
                await browser.post("/v1/auth/browser", json={"share": "tsh_nope"})
            ).status_code == 401
            opened = await browser.post("/v1/auth/browser", json={"share": share["token"]})
            assert opened.status_code == 200, opened.text
            assert opened.json()["share"]["session"] == sid
            (cookie,) = opened.headers.get_list("set-cookie")
            assert cookie.startswith("tether_share=tsh_")
            assert f"Path=/v1/sessions/{sid}" in cookie
            assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Max-Age=" in cookie
            # Watch: yes. Write: no (and cookie writes still need the CSRF header).
            assert (await browser.get(f"/v1/sessions/{sid}")).status_code == 200
            csrf = {"X-Tether-CSRF": "1"}
            msg = {"text": "sneaky"}
            assert (await browser.post(f"/v1/sessions/{sid}/messages", json=msg)).status_code == 403
            written = await browser.post(f"/v1/sessions/{sid}/messages", json=msg, headers=csrf)
            assert written.status_code == 403 and "read-only" in written.text
            # The cookie is scoped to that session's paths: nothing else is reachable.
            assert (await browser.get("/v1/sessions")).status_code == 401
            assert (await browser.get("/v1/auth/me")).status_code == 401
            # A signed-in browser that opens a link stays itself elsewhere.
            code = await hub.auth.new_pairing_code(hub.admin)
            assert (await browser.post("/v1/auth/browser", json={"code": code})).status_code == 200
            me = (await browser.get("/v1/auth/me")).json()
            assert me["kind"] == "user" and me["name"] == "admin"
            # … and once the link is revoked, the session cookie takes over on its paths.
            async with hub.client(shared.owner.token) as client:
                await client.request("POST", f"/v1/shares/{share['id']}/revoke")
            ws_url = hub.url.replace("http://", "ws://") + f"/v1/sessions/{sid}/stream"
            jar = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
            async with connect(ws_url, additional_headers={"Cookie": jar, "Origin": hub.url}) as ws:
                assert json.loads(await ws.recv())["type"] == "ready"
                role = json.loads(await ws.recv())
                assert role["type"] == "role" and role["payload"]["role"] == "owner"
