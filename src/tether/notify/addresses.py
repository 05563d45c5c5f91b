"""Where the hub may send notifications: no request forgery into the hub's own network.

* A sink URL is `http://` or `https://` with a host and no credentials in it.
* A sink added by an ordinary user must reach only public addresses: every address its
  host resolves to is checked (loopback, private, link-local, shared, reserved and
  multicast ranges are refused), when it is added and again before every delivery
  (a name that later resolves somewhere private is caught then). Admins may add
  loopback or private targets (a self-hosted ntfy on the LAN).
* A Web Push endpoint must be `https://`; plain `http://` only to a loopback address
  while the hub itself listens on loopback (the offline test setup).
* Redirects are never followed (the delivery client is built that way).
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

from tether.errors import ConfigError, Forbidden

MAX_URL = 2048
_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def parse_sink_url(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an acceptable URL, or ConfigError saying what is wrong."""
    text = url.strip()
    if len(text) > MAX_URL:
        raise ConfigError(f"the URL is longer than {MAX_URL} characters")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"cannot read {text!r} as a URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise ConfigError(
            f"a notification URL must start with https:// or http://, not {text!r}",
            hint="e.g. https://ntfy.sh/my-topic or https://example.com/hooks/tether",
        )
    if not parts.hostname:
        raise ConfigError(f"the URL {text!r} has no host")
    if parts.username or parts.password:
        raise ConfigError(
            "put no user name or password in the URL",
            hint="a webhook is signed with --secret; an ntfy topic takes --token",
        )
    return parts.scheme, parts.hostname.lower(), port or (443 if parts.scheme == "https" else 80)


def is_public(address: str) -> bool:
    """Is this IP address reachable on the public internet (not this host or a LAN)?"""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def is_loopback_host(host: str) -> bool:
    """Is `host` a loopback name or address?"""
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


async def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IP literals resolve to themselves)."""
    try:
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConfigError(
            f"cannot resolve {host!r}: {exc}", hint="check the host name in the URL"
        ) from None
    return sorted({str(info[4][0]) for info in infos})


async def check_destination(url: str, *, trusted: bool) -> None:
    """Refuse a URL that an untrusted (non-admin) sink may not reach."""
    _scheme, host, port = parse_sink_url(url)
    if trusted:
        return
    if host in _LOCAL_NAMES:
        raise _private(host)
    for address in await resolve(host, port):
        if not is_public(address):
            raise _private(host, address)


def _private(host: str, address: str | None = None) -> Forbidden:
    where = f"{host} ({address})" if address and address != host else host
    return Forbidden(
        f"{where} is a loopback or private address; only an admin may send notifications there",
        hint="use a public URL, or ask an admin to add this sink",
    )


async def check_push_endpoint(url: str, *, trusted: bool, hub_on_loopback: bool) -> None:
    """Refuse a Web Push endpoint that is not https (or loopback on a loopback hub)."""
    scheme, host, _port = parse_sink_url(url)
    if scheme == "http":
        if not (hub_on_loopback and is_loopback_host(host)):
            raise ConfigError(
                "a push endpoint must be an https:// URL",
                hint="the browser's push service gives one; plain http works only for "
                "a loopback push service on a loopback hub",
            )
        if not trusted:
            raise _private(host)
        return
    await check_destination(url, trusted=trusted)
