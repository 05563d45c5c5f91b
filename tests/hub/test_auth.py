"""Every /v1 route and both sockets need a valid session token; /healthz is open."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from fastapi.routing import APIRoute, APIWebSocketRoute
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.hub import HubHandle, running_hub
from tether.hub.routes import router

BAD_HEADERS = [
    pytest.param({}, id="no-token"),
    pytest.param({"Authorization": "Bearer not-the-token-at-all-000"}, id="wrong-token"),
    pytest.param({"Authorization": "Basic bG9jYWw6eA=="}, id="wrong-scheme"),
]


def concrete(path: str, session: str) -> str:
    return re.sub(r"\{[^}]+\}", lambda m: session if "session" in m.group(0) else "x", path)


def http_routes() -> list[tuple[str, str]]:
    routes = []
    for route in router.routes:
        if isinstance(route, APIRoute) and route.path.startswith("/v1"):
            routes.extend((method, route.path) for method in sorted(route.methods))
    return routes


def test_the_route_list_is_not_empty() -> None:
    # Guards the loops below: every /v1 route the hub has is in them.
    paths = {path for _m, path in http_routes()}
    assert {"/v1/sessions", "/v1/teams", "/v1/sessions/{session_id}/messages"} <= paths
    sockets = {r.path for r in router.routes if isinstance(r, APIWebSocketRoute)}
    assert sockets == {"/v1/runner", "/v1/sessions/{session_id}/stream"}


@pytest.mark.parametrize("headers", BAD_HEADERS)
async def test_every_route_and_socket_refuses_a_missing_or_wrong_token(
    tmp_path: Path, headers: dict[str, str]
) -> None:
    async with running_hub(tmp_path) as hub:
        async with hub.client() as client:
            session = (await client.start("demo"))["id"]
        async with httpx.AsyncClient(base_url=hub.url) as http:
            for method, path in http_routes():
                response = await http.request(
                    method, concrete(path, session), headers=headers, json={"text": "x"}
                )
                assert response.status_code == 401, (method, path, response.text)
                assert response.headers["www-authenticate"] == "Bearer"
                assert response.json()["error"]["code"] == "unauthorized"
            health = await http.get("/healthz", headers=headers)
            assert health.status_code == 200 and health.json()["ok"] is True
        for path in ("/v1/runner", f"/v1/sessions/{session}/stream"):
            await assert_socket_refused(hub, path, headers)
        # Nothing got through: the session saw no message.
        async with hub.client() as client:
            kinds = [e["payload"]["kind"] for e in (await client.events(session))["events"]]
        assert "user_message" not in kinds


async def assert_socket_refused(hub: HubHandle, path: str, headers: dict[str, str]) -> None:
    url = hub.url.replace("http://", "ws://") + path
    async with connect(url, additional_headers=headers) as ws:
        with pytest.raises(ConnectionClosed) as info:
            await ws.recv()
    assert info.value.rcvd is not None
    assert info.value.rcvd.code == 4001
    assert "unauthorized" in info.value.rcvd.reason


async def test_the_right_token_works(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, httpx.AsyncClient(base_url=hub.url) as http:
        response = await http.get("/v1/teams", headers={"Authorization": f"Bearer {hub.token}"})
        assert response.status_code == 200
        assert [t["name"] for t in response.json()] == ["demo"]


async def test_an_expired_token_is_refused_and_the_fixture_mints_fresh_ones(tmp_path: Path) -> None:
    # Session tokens live ten minutes: what holds a socket must take a provider.
    async with running_hub(tmp_path) as hub, httpx.AsyncClient(base_url=hub.url) as http:
        old = hub.token
        hub.clock.advance(11 * 60)
        refused = await http.get("/v1/teams", headers={"Authorization": f"Bearer {old}"})
        assert refused.status_code == 401
        fresh = await http.get("/v1/teams", headers={"Authorization": f"Bearer {hub.token}"})
        assert fresh.status_code == 200
        async with hub.client() as client:
            assert [t["name"] for t in await client.teams()] == ["demo"]
