"""Every HTTP route and socket × every kind of unwelcome caller: the right refusal, and the
store unchanged.

Callers: no token, garbage, an expired session token, a revoked device, a follower (the
session owner's other device while the owner is connected), a share-link holder, and
another user. The session belongs to Alice and runs on Alice's runner.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi.routing import APIRoute, APIWebSocketRoute

from tests.support.authhub import SecureHub, secure_hub
from tests.support.hub import demo_team
from tests.support.raw_socket import exchange
from tests.support.timing import scaled
from tether.config import TetherConfig
from tether.runner.daemon import Runner

CASES = ("none", "garbage", "expired", "revoked", "follower", "share", "other_user")
UNAUTHENTICATED = ("none", "garbage", "expired", "revoked")
SKIP = "allowed"  # a legitimate action for this caller (it may change the store): not a refusal


@dataclass(frozen=True)
class Route:
    """One HTTP route, and what each authenticated case must get."""

    method: str
    path: str
    body: dict[str, Any] | None
    follower: int | str
    share: int | str
    other_user: int | str


PUSH_SUBSCRIPTION = {
    "endpoint": "http://127.0.0.1:9/push/x",
    "keys": {
        "p256dh": "BBGI707LoxRDAKKucHRFJDn8jy_gremkoMWygpS-tOuHPr47cqSp-BJv4lpB"
        "vAMy_K081S_FZagVUFlgGvIGC-Q",
        "auth": "AAAAAAAAAAAAAAAAAAAAAA",
    },
}
# {S}: Alice's session, {D}: Alice's owner device, {L}: a share link of S, {R}: a request id.
ROUTES = [
    Route("GET", "/v1/teams", None, 200, 200, 200),
    Route("GET", "/v1/sessions", None, 200, 200, 200),
    Route("POST", "/v1/sessions", {"team": "alice-demo"}, SKIP, 403, 403),
    Route("GET", "/v1/sessions/{S}", None, 200, 200, 403),
    Route("GET", "/v1/sessions/{S}/events", None, 200, 200, 403),
    Route("POST", "/v1/sessions/{S}/messages", {"text": "sneaky"}, 403, 403, 403),
    Route("POST", "/v1/sessions/{S}/permissions/{R}", {"behavior": "allow"}, 403, 403, 403),
    # The owner's other device may interrupt (nobody is locked out of stopping a turn by
    # their own browser tab, docs/protocol.md); with no turn running, nothing changes.
    Route("POST", "/v1/sessions/{S}/interrupt", None, 202, 403, 403),
    Route("POST", "/v1/sessions/{S}/stop", None, 403, 403, 403),
    Route("POST", "/v1/sessions/{S}/shares", {"ttl_s": 60}, SKIP, 403, 403),
    Route("POST", "/v1/sessions/{S}/permission-mode", {"mode": "plan"}, 403, 403, 403),
    Route("POST", "/v1/sessions/{S}/resume", {}, 403, 403, 403),
    Route("GET", "/v1/auth/me", None, 200, 200, 200),
    Route("POST", "/v1/auth/logout", None, SKIP, SKIP, SKIP),
    Route("POST", "/v1/pairing-codes", None, SKIP, 403, SKIP),
    Route("GET", "/v1/devices", None, 200, 403, 200),
    Route("POST", "/v1/devices/{D}/revoke", None, SKIP, 403, 403),
    Route("POST", "/v1/users", {"name": "mallory"}, 403, 403, 403),
    Route("GET", "/v1/shares", None, 200, 403, 200),
    Route("POST", "/v1/shares/{L}/revoke", None, SKIP, 403, 404),
    Route("GET", "/v1/audit", None, 403, 403, 403),
    # Pruning with a cutoff far in the future would remove every exited session.
    Route("POST", "/v1/admin/prune", {"before": 1e18}, 403, 403, 403),
    Route("GET", "/metrics", None, 403, 403, 403),
    Route("POST", "/v1/qr", {"text": "https://hub.example/signin#code=X"}, 200, 403, 200),
    # Notifications (tests/notify has the rest): a non-admin's sink or push endpoint on a
    # loopback address is refused; another user's sink is not found.
    Route("GET", "/v1/notify/sinks", None, 200, 403, 200),
    Route(
        "POST",
        "/v1/notify/sinks",
        {"kind": "webhook", "url": "http://127.0.0.1:9/x"},
        403,
        403,
        403,
    ),
    Route("DELETE", "/v1/notify/sinks/nk_missing", None, 404, 403, 404),
    Route("POST", "/v1/notify/sinks/nk_missing/test", None, 404, 403, 404),
    Route("GET", "/v1/notify/preferences", None, 200, 403, 200),
    Route("PUT", "/v1/notify/preferences", {}, SKIP, 403, SKIP),
    Route("POST", "/v1/push/subscriptions", PUSH_SUBSCRIPTION, 403, 403, 403),
    Route("DELETE", "/v1/push/subscriptions", None, 200, 403, 200),
    Route("POST", "/v1/push/visibility", {"session": "{S}", "visible": True}, SKIP, 403, 403),
    # Only a device whose own terminal host is connected may publish a terminal.
    Route("POST", "/v1/terminal-sessions", {"name": "sneaky"}, 409, 403, 409),
]
# Routes whose credential is in the body (or none at all), tested in test_pairing.py.
PUBLIC = {
    "/healthz",
    "/v1/auth/pair",
    "/v1/auth/token",
    "/v1/auth/browser",
    "/v1/auth/refresh",
    "/v1/push/vapid-public-key",
    "/v1/hub/identity",  # names the hub, grants nothing: tests/cluster/test_replicas.py
}
SOCKETS = {
    "/v1/runner",
    "/v1/sessions/{session_id}/stream",
    "/v1/live",
}  # /v1/live: tests/notify/test_live.py


@dataclass
class World:
    """The hub and a token for every case."""

    hub: SecureHub
    session_id: str
    owner_device: str
    share_id: str
    tokens: dict[str, str | None]
    bob_runner_token: str


pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def world(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[World]:
    tmp_path = tmp_path_factory.mktemp("matrix")
    async with secure_hub(tmp_path / "hub") as hub:
        alice = await hub.user("alice")
        bob = await hub.user("bob")
        runner_dev = await hub.device(alice, kind="runner", name="alice-runner")
        cfg = TetherConfig(teams={"alice-demo": demo_team(tmp_path, "alice-demo")})
        runner = Runner(
            hub.url, runner_dev.token, cfg, tmp_path / "alice-runner", runner_id="alice-runner"
        )
        runner_task = asyncio.create_task(runner.run())
        try:
            await asyncio.wait_for(runner.connected.wait(), scaled(30))
            owner = await hub.device(alice, name="alice-laptop")
            follower = await hub.device(alice, name="alice-phone")
            async with hub.client(owner.token) as client:
                session = await client.start("alice-demo")
                share = await client.request(
                    "POST", f"/v1/sessions/{session['id']}/shares", json={"ttl_s": 3600}
                )
            revoked = await hub.device(alice, name="lost-tablet")
            revoked_token = await revoked.token()
            await hub.auth.revoke_device(None, revoked.id)
            expired_dev = await hub.device(alice, name="old")
            hub.clock.advance(-3600)
            expired_token = await expired_dev.token()
            hub.clock.advance(3600)
            bob_dev = await hub.device(bob, name="bob-laptop")
            bob_runner = await hub.device(bob, kind="runner", name="bob-runner")
            tokens: dict[str, str | None] = {
                "none": None,
                "garbage": "not-a-token",
                "expired": expired_token,
                "revoked": revoked_token,
                "follower": await follower.token(),
                "share": share["token"],
                "other_user": await bob_dev.token(),
            }
            owner_remote = await hub.session(session["id"], await owner.token()).connect()
            try:
                assert owner_remote.role == "owner"
                live = hub.broker.sessions[session["id"]]
                for _ in range(int(scaled(300))):  # let the agent settle: no writes underway
                    if live.tracker.state.value == "idle" and hub.broker.info(live).followers == 0:
                        break
                    await asyncio.sleep(0.1)
                assert live.tracker.state.value == "idle"
                await asyncio.sleep(0.3)
                yield World(
                    hub, session["id"], owner.id, share["id"], tokens, await bob_runner.token()
                )
            finally:
                await owner_remote.close()
        finally:
            runner_task.cancel()
            await asyncio.gather(runner_task, return_exceptions=True)


def _walk(routes: list[Any]) -> Iterator[Any]:
    """Every route, also inside included routers (newer FastAPI keeps them nested)."""
    for route in routes:
        if hasattr(route, "path"):
            yield route
        elif hasattr(route, "original_router"):
            yield from _walk(route.original_router.routes)
        elif hasattr(route, "routes"):
            yield from _walk(route.routes)


@pytest.mark.filterwarnings("ignore")
def test_the_table_covers_every_route() -> None:
    from tether.app import create_app
    from tether.hub.settings import HubSettings

    app = create_app(HubSettings(data_dir=Path("/nonexistent")))
    routes = list(_walk(app.routes))
    http = {(m, r.path) for r in routes if isinstance(r, APIRoute) for m in r.methods}
    sockets = {r.path for r in routes if isinstance(r, APIWebSocketRoute)}
    covered = {
        (
            r.method,
            r.path.replace("{S}", "{session_id}")
            .replace("{R}", "{request_id}")
            .replace("{D}", "{device_id}")
            .replace("{L}", "{share_id}")
            .replace("nk_missing", "{sink_id}"),
        )
        for r in ROUTES
    }
    ours = {(m, p) for m, p in http if p.startswith("/v1/") or p == "/healthz"}
    assert ours - covered - {(m, p) for m, p in ours if p in PUBLIC} == set()
    assert sockets == SOCKETS


def _path(world: World, route: Route) -> str:
    return (
        route.path.replace("{S}", world.session_id)
        .replace("{D}", world.owner_device)
        .replace("{L}", world.share_id)
        .replace("{R}", "req-1")
    )


def _body(world: World, route: Route) -> dict[str, Any] | None:
    if route.body is None:
        return None
    return {k: world.session_id if v == "{S}" else v for k, v in route.body.items()}


def _headers(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.mark.parametrize("case", CASES)
async def test_every_http_route_refuses(world: World, case: str) -> None:
    hub = world.hub
    async with httpx.AsyncClient(base_url=hub.url) as http:
        for route in ROUTES:
            expected = 401 if case in UNAUTHENTICATED else getattr(route, case)
            if expected == SKIP:
                continue
            before = hub.snapshot()
            response = await http.request(
                route.method,
                _path(world, route),
                headers=_headers(world.tokens[case]),
                json=_body(world, route),
            )
            where = f"{case}: {route.method} {route.path}"
            assert response.status_code == expected, f"{where}: {response.text}"
            assert hub.snapshot() == before, f"{where} changed the store"
            if expected == 200 and route.path == "/v1/sessions":
                ids = {s["id"] for s in response.json()}
                assert ids == ({world.session_id} if case in ("share", "follower") else set()), (
                    where
                )
            if expected == 200 and route.path == "/v1/teams":
                names = {t["name"] for t in response.json()}
                assert names == ({"alice-demo"} if case == "follower" else set()), where
            if expected == 200 and route.path == "/v1/devices" and case == "other_user":
                assert all(d["user_id"] != hub.admin.id for d in response.json())
                assert world.owner_device not in {d["id"] for d in response.json()}


async def _socket_outcome(
    url: str, token: str | None, frames: list[dict[str, Any]]
) -> tuple[int | None, list[dict[str, Any]]]:
    """Connect, send frames, collect frames until the hub closes (or a short quiet spell)."""
    seen = await exchange(url, _headers(token), frames, quiet=scaled(3), open_timeout=10)
    return seen.code, seen.frames


@pytest.mark.parametrize("case", CASES)
async def test_the_viewer_socket_refuses(world: World, case: str) -> None:
    hub = world.hub
    url = hub.url.replace("http://", "ws://") + f"/v1/sessions/{world.session_id}/stream"
    before = hub.snapshot()
    write = {"type": "user_message", "id": "w1", "payload": {"text": "sneaky"}}
    code, frames = await _socket_outcome(
        url, world.tokens[case], [{"type": "resume", "payload": {"after": 0}}, write]
    )
    if case in UNAUTHENTICATED:
        assert code == 4001, case
    elif case == "other_user":
        assert code == 4003, case
    else:  # may watch, may not write
        roles = [f["payload"]["role"] for f in frames if f["type"] == "role"]
        assert roles == ["follower"], frames
        errors = [f["payload"] for f in frames if f["type"] == "error"]
        assert errors and errors[0]["code"] == "read_only", frames
    assert hub.snapshot() == before, f"{case} changed the store"


@pytest.mark.parametrize("case", [*CASES, "other_users_runner_hijack"])
async def test_the_runner_socket_refuses(world: World, case: str) -> None:
    hub = world.hub
    url = hub.url.replace("http://", "ws://") + "/v1/runner"
    token = world.bob_runner_token if case == "other_users_runner_hijack" else world.tokens[case]
    hello = {
        "type": "hello",
        "payload": {"runner_id": "alice-runner", "version": "x", "teams": [], "sessions": {}},
    }
    before = hub.snapshot()
    code, _ = await _socket_outcome(url, token, [hello])
    assert code == (4001 if case in UNAUTHENTICATED else 4003), case
    assert hub.snapshot() == before, f"{case} changed the store"
    assert "alice-runner" in hub.broker.runners  # the real runner is still the one connected
