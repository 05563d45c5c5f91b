"""The hub's front door, as pure ASGI middleware (HTTP and WebSocket alike): which Host
names it answers to, and whose forwarded headers it believes.

* **Host.** A web page on another site can make a browser talk to a hub on this machine
  by pointing its own name at 127.0.0.1 (DNS rebinding); the browser then sends that
  name as Host. So a connection that arrived on a loopback address is answered only for
  loopback names and addresses (`localhost`, `127.0.0.0/8`, `[::1]`, any port), plus the
  host of `public_url` and each of `allowed_hosts`. A connection that arrived on another
  address (a hub bound to 0.0.0.0 or a LAN address) is answered for those, for this
  machine's host name, and for any IP address literal (an address cannot be rebound;
  only a name can). Anything else gets HTTP 421, or a WebSocket closed with 4003 and a
  reason naming the setting to change. A request without Host (HTTP/1.0, not a browser)
  passes.
* **Proxies.** `X-Forwarded-For` and `X-Forwarded-Proto` are believed only from a peer
  in `trusted_proxies`; then the client is the right-most forwarded address that is not
  itself a trusted proxy. From anyone else the headers are ignored (uvicorn's own proxy
  handling is off, see `tether.serve`), so nobody can forge their address in the audit
  log or dodge the per-address pairing limit by rotating the header.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from tether.errors import ConfigError
from tether.hub.settings import HubSettings

log = logging.getLogger("tether.hub")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

REFUSED_HOST_CLOSE_CODE = 4003
_LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})
_WARNED_LIMIT = 100


def parse_address(text: str) -> Address | None:
    """An IP address from `1.2.3.4`, `::1`, `[::1]` (ports are not part of it), else None."""
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """`--trusted-proxy` values as networks (a bare address is a /32 or /128)."""
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise ConfigError(
                f"--trusted-proxy {value!r} is not an IP address or CIDR",
                hint="name your reverse proxies' addresses, e.g. --trusted-proxy 10.0.0.0/8",
            ) from None
    return tuple(networks)


def host_of(header: str) -> str | None:
    """The host part of a Host header value, lower-cased, without port or trailing dot;
    None if it is not a well-formed host."""
    value = header.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0 or (value[end + 1 :] and not value[end + 1 :].startswith(":")):
            return None
        host = value[: end + 1]
    else:
        host, _, _port = value.partition(":")
    host = host.rstrip(".")
    if not host or any(ch.isspace() or ch in "/@\\?#" for ch in host):
        return None
    return host


def _header(scope: Scope, name: bytes) -> list[str]:
    return [v.decode("latin-1") for k, v in scope.get("headers", ()) if k.lower() == name]


class HostCheck:
    """Which Host values this hub answers to (the rule is in the module docstring)."""

    def __init__(
        self, public_url: str | None, allowed_hosts: Iterable[str], *, hostname: str | None = None
    ) -> None:
        names = [name.strip().lower().rstrip(".") for name in allowed_hosts if name.strip()]
        if public_url:
            parts = urlsplit(public_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigError(
                    f"--public-url {public_url!r} is not an http(s) URL with a host",
                    hint="e.g. --public-url https://tether.example.com",
                )
            names.append(parts.hostname.lower().rstrip("."))
        self.any_host = "*" in names
        self.exact = frozenset(host_of(n) or n for n in names if not n.startswith("*"))
        self.suffixes = tuple(n[1:] for n in names if n.startswith("*.") and len(n) > 2)
        self.hostname = (hostname if hostname is not None else socket.gethostname()).lower()

    def allows(self, header: str | None, local_address: str | None) -> bool:
        """May a request with this Host, arriving on this local address, be answered?"""
        if header is None or self.any_host:
            return True
        host = host_of(header)
        if host is None:
            return False
        if host in self.exact or any(host.endswith(s) for s in self.suffixes):
            return True
        address = parse_address(host)
        if host in _LOOPBACK_NAMES or (address is not None and address.is_loopback):
            return True
        local = parse_address(local_address or "")
        if local is None or local.is_loopback:
            return False
        return address is not None or host == self.hostname


class ProxyHeaders:
    """Believes X-Forwarded-For/-Proto from trusted proxies only."""

    def __init__(self, trusted: tuple[Network, ...]) -> None:
        self.trusted = trusted

    def _is_trusted(self, address: Address) -> bool:
        return any(address in network for network in self.trusted)

    def apply(self, scope: Scope) -> Scope:
        """The scope as the app should see it (a copy when a trusted proxy spoke)."""
        client = scope.get("client")
        peer = parse_address(client[0]) if self.trusted and client else None
        if peer is None or not self._is_trusted(peer):
            return scope
        hops = [h.strip() for v in _header(scope, b"x-forwarded-for") for h in v.split(",")]
        chosen = str(peer)
        for hop in reversed([h for h in hops if h]):
            address = parse_address(hop)
            if address is None:
                break  # garbage: keep the last address a trusted hop vouched for
            chosen = str(address)
            if not self._is_trusted(address):
                break
        scope = {**scope, "client": (chosen, 0)}
        protos = [
            p.strip().lower() for v in _header(scope, b"x-forwarded-proto") for p in v.split(",")
        ]
        if protos and protos[-1] in ("http", "https"):
            secure = protos[-1] == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = "https" if secure else "http"
        return scope


def _refusal(host: str) -> tuple[str, str]:
    shown = host if len(host) <= 40 else host[:40] + "…"
    name = host_of(host) or "NAME"
    message = f"this hub does not answer to the Host {shown!r}"
    hint = (
        "reach it as localhost or 127.0.0.1, or start the hub with"
        f" --allowed-host {name} (or --public-url) if that is how it is reached"
    )
    return message, hint


class HubGuard:
    """ASGI middleware: proxy headers from trusted proxies only, then the Host check."""

    def __init__(self, app: ASGIApp, settings: HubSettings) -> None:
        self.app = app
        self.hosts = HostCheck(settings.public_url, settings.allowed_hosts)
        self.proxies = ProxyHeaders(parse_networks(settings.trusted_proxies))
        self._warned: set[str] = set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope = self.proxies.apply(scope)
        hosts = _header(scope, b"host")
        server = scope.get("server")
        local = str(server[0]) if server else None
        if len(hosts) <= 1 and self.hosts.allows(hosts[0] if hosts else None, local):
            await self.app(scope, receive, send)
            return
        await self._refuse(scope, receive, send, ", ".join(hosts))

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, host: str) -> None:
        message, hint = _refusal(host)
        if host not in self._warned and len(self._warned) < _WARNED_LIMIT:
            self._warned.add(host)
            log.warning("refused a request for Host %r: %s", host[:80], hint)
        if scope["type"] == "websocket":
            if (await receive())["type"] != "websocket.connect":
                return
            await send({"type": "websocket.accept"})
            reason = (
                f"host not allowed: start the hub with --allowed-host {host_of(host) or 'NAME'}"
            )
            await send(
                {
                    "type": "websocket.close",
                    "code": REFUSED_HOST_CLOSE_CODE,
                    "reason": reason.encode()[:123].decode(errors="ignore"),
                }
            )
            return
        body = json.dumps(
            {"error": {"code": "host_not_allowed", "message": message, "hint": hint}}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 421,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
