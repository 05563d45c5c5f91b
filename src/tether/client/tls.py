"""Client-side transport security: which CA to trust, and no plain text off this machine.

Trust: `--ca FILE` (or `TETHER_CA`), else `SSL_CERT_FILE`/`SSL_CERT_DIR`, else the
system store. Plain `http://`/`ws://` to a host that is not loopback is refused
unless `--insecure` (or `TETHER_INSECURE=1`): a token sent in clear text over a
network is a token given away.
"""

from __future__ import annotations

import ipaddress
import os
import ssl
from urllib.parse import urlsplit

from tether.errors import ConfigError

_TRUE = ("1", "true", "yes", "on")


def is_loopback_host(host: str) -> bool:
    """Is this host name/address on this machine only?"""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def insecure_from_env() -> bool:
    """`TETHER_INSECURE=1`."""
    return os.environ.get("TETHER_INSECURE", "").lower() in _TRUE


def check_hub_url(url: str, *, insecure: bool = False) -> None:
    """Refuse a plain-text URL to a non-loopback host (before anything connects)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "ws", "wss"):
        raise ConfigError(f"hub URL {url!r} must start with https:// (or http:// on this machine)")
    if (
        scheme in ("http", "ws")
        and not is_loopback_host(parts.hostname or "")
        and not (insecure or insecure_from_env())
    ):
        raise ConfigError(
            f"refusing to talk to {parts.hostname} over plain {scheme}://: tokens would cross "
            "the network unencrypted",
            hint="use https:// (run the hub with --tls-cert/--tls-key), or pass --insecure",
        )


def client_ssl_context(ca: str | None = None) -> ssl.SSLContext:
    """A verifying TLS context: `ca` (or TETHER_CA), else SSL_CERT_FILE, else the system."""
    cafile = ca or os.environ.get("TETHER_CA") or None
    if cafile and not os.path.exists(cafile):
        raise ConfigError(f"CA file {cafile} does not exist", hint="check --ca / TETHER_CA")
    # create_default_context() loads SSL_CERT_FILE / SSL_CERT_DIR when set (OpenSSL's
    # default verify paths), and the system store otherwise.
    return ssl.create_default_context(cafile=cafile)


def ssl_for(url: str, ca: str | None = None) -> ssl.SSLContext | None:
    """The context for a URL: None for plain text, a verifying context for TLS."""
    return client_ssl_context(ca) if urlsplit(url).scheme.lower() in ("https", "wss") else None
