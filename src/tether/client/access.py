"""How the CLI reaches a hub: URL check, TLS trust, and the token of this machine's device."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

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
        return self.token.refresh if isinstance(self.token, DeviceTokenProvider) else None

    def session(self, session_id: str, **kwargs: Any) -> RemoteSession:
        """A live session view."""
        from tether.client.session import RemoteSession

        return RemoteSession(
            self.url,
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
    url = url.rstrip("/")
    check_hub_url(url, insecure=insecure)
    store = CredentialStore(data_dir)
    env_token = os.environ.get("TETHER_TOKEN")
    token: TokenProvider
    token = static_token(env_token.strip()) if env_token else DeviceTokenProvider(store, kind, url)
    creds = store.load(kind, url)
    return HubAccess(url, token, ssl_for(url, ca or (creds.ca if creds else None)), insecure)


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


def runner_tokens(urls: list[str], data_dir: Path) -> TokenProvider:
    """The runner device's tokens for a hub with one or several URLs (TETHER_TOKEN wins)."""
    env_token = os.environ.get("TETHER_TOKEN")
    if env_token:
        return static_token(env_token.strip())
    store = CredentialStore(data_dir)
    providers = [DeviceTokenProvider(store, "runner", url) for url in urls]
    return providers[0] if len(providers) == 1 else FailoverTokens(providers)
