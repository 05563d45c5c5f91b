"""Forwarded headers and Host, attacked against the real hub: a rotated X-Forwarded-For
buys no extra pairing guesses and forges no audit address, a global ceiling holds even
where forwarded addresses are believed, and a foreign Host (DNS rebinding) is refused on
HTTP and on every socket, while localhost and 127.0.0.1 keep working."""

from __future__ import annotations

import asyncio
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.authhub import secure_hub
from tests.support.procs import cli_env, tether_argv
from tests.support.timing import scaled
from tether.auth.codes import fingerprint_of, new_device_key
from tether.auth.service import PAIR_ATTEMPTS_ALL_ADDRESSES, PAIR_ATTEMPTS_PER_ADDRESS
from tether.hub.guard import HostCheck, ProxyHeaders, parse_networks
from tether.hub.settings import HubSettings


async def pair(http: httpx.AsyncClient, code: str, forwarded: str | None = None) -> int:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    response = await http.post(
        "/v1/auth/pair",
        json={
            "code": code,
            "name": "x",
            "kind": "cli",
            "fingerprint": fingerprint_of(new_device_key()),
        },
        headers=headers,
    )
    return response.status_code


async def guess_wrong(
    http: httpx.AsyncClient, attempts: int, forwarded: Callable[[int], str]
) -> None:
    """`attempts` wrong pairing codes, guess i claiming to come from `forwarded(i)`: every
    one is refused as not valid (401), none yet as too many."""
    tries = [await pair(http, f"AAAA-{i:04d}", forwarded=forwarded(i)) for i in range(attempts)]
    assert tries == [401] * attempts


async def test_rotating_x_forwarded_for_still_hits_the_429(tmp_path: Path) -> None:
    async with secure_hub(tmp_path, with_runner=False) as hub:
        code = await hub.auth.new_pairing_code(hub.admin)
        async with httpx.AsyncClient(base_url=hub.url) as http:
            await guess_wrong(http, PAIR_ATTEMPTS_PER_ADDRESS, lambda i: f"203.0.113.{i}")
            assert await pair(http, code, forwarded="198.51.100.77") == 429
        addresses = {
            e.address
            for e in await hub.auth.audit_entries()
            if e.action in ("pairing_failed", "pairing_rate_limited")
        }
        assert addresses == {"127.0.0.1"}  # what the socket said, not what the header claimed


async def test_a_global_ceiling_holds_even_where_forwarded_addresses_are_believed(
    tmp_path: Path,
) -> None:
    settings = HubSettings(data_dir=tmp_path, trusted_proxies=("127.0.0.1/32",))
    async with secure_hub(tmp_path, with_runner=False, settings=settings) as hub:
        code = await hub.auth.new_pairing_code(hub.admin)
        async with httpx.AsyncClient(base_url=hub.url) as http:
            # Behind a trusted proxy every guess from a new address passes the per-address
            # limit; the ceiling for all addresses together stops them.
            await guess_wrong(
                http, PAIR_ATTEMPTS_ALL_ADDRESSES, lambda i: f"10.0.{i // 200}.{i % 200}"
            )
            assert await pair(http, code, forwarded="10.9.9.9") == 429
            hub.clock.advance(301)  # the window passes (and with it that code's life)
            code = await hub.auth.new_pairing_code(hub.admin)
            assert await pair(http, code, forwarded="10.9.9.9") == 200
        addresses = {
            e.address for e in await hub.auth.audit_entries() if e.action == "pairing_failed"
        }
        assert "10.0.0.0" in addresses and "127.0.0.1" not in addresses  # believed: trusted


async def test_a_foreign_host_is_refused_on_http_with_the_setting_to_change(
    tmp_path: Path,
) -> None:
    async with secure_hub(tmp_path) as hub:
        me = await hub.device()
        token = await me.token()
        async with httpx.AsyncClient(base_url=hub.url) as http:
            for path in ("/healthz", "/", "/v1/sessions", "/mcp"):
                response = await http.get(
                    path, headers={"Host": "evil.example", "Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 421, path
                error = response.json()["error"]
                assert error["code"] == "host_not_allowed" and "evil.example" in error["message"]
                assert "--allowed-host evil.example" in error["hint"]
            for host in ("localhost", "localhost:1234", "127.0.0.1", "127.8.9.10:80", "[::1]:1"):
                response = await http.get(
                    "/v1/sessions", headers={"Host": host, "Authorization": f"Bearer {token}"}
                )
                assert response.status_code == 200, host


async def rebound(
    url: str, path: str, host: str, headers: dict[str, str] | None = None
) -> tuple[int, str]:
    """Open `path` as a page whose name `host` resolves to the hub would: connect to the
    hub's address, say Host: host. Returns the close code and reason."""
    port = int(url.rsplit(":", 1)[1])
    sock = socket.create_connection(("127.0.0.1", port))
    try:
        async with connect(
            f"ws://{host}:{port}{path}", sock=sock, additional_headers=headers or {}
        ) as ws:
            await asyncio.wait_for(ws.recv(), scaled(10))
    except ConnectionClosed as closed:
        assert closed.rcvd is not None
        return closed.rcvd.code, closed.rcvd.reason
    raise AssertionError("the socket was not closed")


async def test_a_foreign_host_is_refused_on_every_socket(tmp_path: Path) -> None:
    async with secure_hub(tmp_path) as hub:
        me = await hub.device()
        token = await me.token()
        async with hub.client(token) as client:
            session = await client.start("demo")
        auth = {"Authorization": f"Bearer {token}"}
        for path in (f"/v1/sessions/{session['id']}/stream", "/v1/runner", "/mcp/ws"):
            code, reason = await rebound(hub.url, path, "evil.example", auth)
            assert code == 4003, path
            assert "host not allowed" in reason and "--allowed-host evil.example" in reason
        # The same socket by a loopback name is served.
        async with hub.session(session["id"], token) as remote:
            assert remote.role == "owner"


async def test_allowed_host_and_public_url_let_their_names_in(tmp_path: Path) -> None:
    settings = HubSettings(
        data_dir=tmp_path,
        public_url="https://tether.example.com",
        allowed_hosts=("box.lan", "*.dev.example"),
    )
    cases = {
        "tether.example.com": 200,
        "TETHER.example.com.:443": 200,
        "box.lan:8765": 200,
        "a.dev.example": 200,
        "dev.example": 421,
        "evil.example": 421,
        "tether.example.com.evil.example": 421,
    }
    async with (
        secure_hub(tmp_path, with_runner=False, settings=settings) as hub,
        httpx.AsyncClient(base_url=hub.url) as http,
    ):
        seen = {h: (await http.get("/healthz", headers={"Host": h})).status_code for h in cases}
    assert seen == cases


async def test_the_cli_works_through_localhost(tmp_path: Path) -> None:
    async with secure_hub(tmp_path / "hub") as hub:
        url = hub.url.replace("127.0.0.1", "localhost")
        code = await hub.auth.new_pairing_code(hub.admin)
        laptop = tmp_path / "laptop"

        async def cli(*args: str) -> str:
            done = await asyncio.to_thread(
                subprocess.run,
                tether_argv(*args),
                env=cli_env(laptop, url),
                capture_output=True,
                text=True,
                timeout=scaled(60),
            )
            assert done.returncode == 0, f"tether {args}: {done.stdout}{done.stderr}"
            return done.stdout

        await cli("login", "--hub", url, "--code", code)
        session = (await cli("start", "demo")).strip().splitlines()[-1]
        await cli("attach", session, "--prompt", "through localhost")  # HTTP and the socket
        assert session in await cli("sessions", "--json")


def test_host_rule_for_a_loopback_and_an_exposed_hub() -> None:
    check = HostCheck(None, (), hostname="buildbox")
    loopback, lan = "127.0.0.1", "192.168.1.5"
    for host in ("localhost", "LOCALHOST:8765", "localhost.", "127.0.0.1:9", "[::1]:8765"):
        assert check.allows(host, loopback) and check.allows(host, lan), host
    for host in ("evil.example", "192.168.1.5:8765", "buildbox", "", "a b", "x/y", "[::1", "u@h"):
        assert not check.allows(host, loopback), host
    # Exposed: addresses cannot be rebound, so any literal passes; names must be known.
    for host in ("192.168.1.5:8765", "10.1.1.1", "[2001:db8::1]:443", "buildbox", "BUILDBOX:80"):
        assert check.allows(host, lan), host
    for host in ("evil.example", "buildbox.evil.example", "localhost.evil.example"):
        assert not check.allows(host, lan), host
    assert check.allows(None, loopback)  # HTTP/1.0 without Host: not a browser
    assert HostCheck(None, ("*",)).allows("anything.example", loopback)


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    proxies = ProxyHeaders(parse_networks(["10.0.0.0/8", "127.0.0.1"]))

    def client(peer: str, forwarded: str, proto: str = "") -> tuple[str, str]:
        headers = [(b"x-forwarded-for", forwarded.encode())]
        if proto:
            headers.append((b"x-forwarded-proto", proto.encode()))
        scope = {"type": "http", "scheme": "http", "client": (peer, 5), "headers": headers}
        seen = proxies.apply(scope)
        return seen["client"][0], seen["scheme"]

    assert client("203.0.113.9", "1.2.3.4", "https") == ("203.0.113.9", "http")  # not a proxy
    assert client("127.0.0.1", "1.2.3.4", "https") == ("1.2.3.4", "https")
    # The attacker's own header comes first; trusted hops are skipped from the right.
    assert client("10.0.0.2", "6.6.6.6, 1.2.3.4, 10.0.0.7") == ("1.2.3.4", "http")
    assert client("10.0.0.2", "garbage, 10.0.0.7") == ("10.0.0.7", "http")
    assert client("10.0.0.2", "") == ("10.0.0.2", "http")
    with pytest.raises(Exception, match="not an IP address or CIDR"):
        parse_networks(["10.0.0/8x"])
