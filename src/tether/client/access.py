"""How the CLI reaches a hub: URL check, TLS trust, and the token of this machine's device."""

from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from tether.auth.redact import install_redaction
from tether.client.api import HubApi, TokenProvider, TokenRefresher, static_token
from tether.client.credentials import CredentialStore, DeviceTokenProvider
from tether.client.tls import check_hub_url, ssl_for
from tether.errors import HubUnreachable

if TYPE_CHECKING:
    from tether.client.http import HubClient
    from tether.client.session import RemoteSession


@dataclass(frozen=True)
class HubAccess:
    """Everything a client needs to talk to one hub."""

    url: str
    token: TokenProvider
    ssl: ssl.SSLContext | None
    insecure: bool = False
    urls: tuple[str, ...] = ()
    """Every URL of the hub given (`--hub A,B`), `url` first: a live session fails over."""

    def client(self) -> HubClient:
        """An HTTP client (it refreshes a device's token once if the hub refuses it)."""
        from tether.client.http import HubClient

        return HubClient(
            self.url,
            self.token,
            verify=self.ssl or True,
            insecure=self.insecure,
            refresh=self._refresh,
        )

    def quick_client(self) -> HubApi:
        """A client for a command that makes a request or two and exits: the standard
        library's, which loads in a fraction of httpx's time (httpx when a proxy is set)."""
        from tether.client.quick import QuickClient, proxy_configured

        if proxy_configured():
            return self.client()
        return QuickClient(
            self.url,
            self.token,
            ssl_context=self.ssl,
            insecure=self.insecure,
            refresh=self._refresh,
        )

    @property
    def _refresh(self) -> TokenRefresher | None:
        return (
            self.token.refresh
            if isinstance(self.token, DeviceTokenProvider | FailoverTokens)
            else None
        )

    def session(self, session_id: str, **kwargs: Any) -> RemoteSession:
        """A live session view."""
        from tether.client.session import RemoteSession

        return RemoteSession(
            list(self.urls) or self.url,
            session_id,
            self.token,
            ssl=self.ssl,
            insecure=self.insecure,
            **kwargs,
        )


def hub_access(
    url: str, data_dir: Path, *, kind: str = "cli", ca: str | None = None, insecure: bool = False
) -> HubAccess:
    """Access for this machine's `kind` device (TETHER_TOKEN overrides: a session or share
    token for scripts); the URL is checked before anything connects."""
    install_redaction()
    urls = split_urls(url)
    for each in urls:
        check_hub_url(each, insecure=insecure)
    if len(urls) > 1:
        urls = reachable_first(urls)
    url = urls[0]
    store = CredentialStore(data_dir)
    env_token = os.environ.get("TETHER_TOKEN")
    token: TokenProvider
    if env_token:
        token = static_token(env_token.strip())
    elif len(urls) > 1:
        token = FailoverTokens([DeviceTokenProvider(store, kind, u) for u in urls])
    else:
        token = DeviceTokenProvider(store, kind, url)
    creds = store.load(kind, url)
    trust = ssl_for(url, ca or (creds.ca if creds else None))
    return HubAccess(url, token, trust, insecure, urls=tuple(urls))


def split_urls(given: str) -> list[str]:
    """`URL` or `URL1,URL2,…` (several URLs of one hub: its replicas)."""
    urls = [u.strip().rstrip("/") for u in given.split(",") if u.strip()]
    return urls or [given.strip().rstrip("/")]


def reachable_first(urls: list[str], timeout: float = 2.0) -> list[str]:
    """The URLs with the first one that takes a TCP connection in front (a replica that
    died refuses at once), the rest after it in their order."""
    for at, url in enumerate(urls):
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            with socket.create_connection((parts.hostname or "", port), timeout=timeout):
                return [*urls[at:], *urls[:at]]
        except OSError:
            continue
    return urls


class FailoverTokens:
    """A device's session tokens through whichever URL of its hub answers: every replica
    refreshes the same credentials (they are found by the hub's identity)."""

    def __init__(self, providers: list[DeviceTokenProvider]) -> None:
        self.providers = providers
        self._good = 0

    async def __call__(self) -> str:
        last: HubUnreachable | None = None
        for step in range(len(self.providers)):
            at = (self._good + step) % len(self.providers)
            try:
                token = await self.providers[at]()
            except HubUnreachable as exc:
                last = exc
                continue
            self._good = at
            return token
        assert last is not None
        raise last

    async def refresh(self, refused: str) -> str:
        """A new token after the hub refused `refused` (through the URL that answers)."""
        return await self.providers[self._good].refresh(refused)


def runner_tokens(urls: list[str], data_dir: Path) -> TokenProvider:
    """The runner device's tokens for a hub with one or several URLs (TETHER_TOKEN wins)."""
    env_token = os.environ.get("TETHER_TOKEN")
    if env_token:
        return static_token(env_token.strip())
    store = CredentialStore(data_dir)
    providers = [DeviceTokenProvider(store, "runner", url) for url in urls]
    return providers[0] if len(providers) == 1 else FailoverTokens(providers)
