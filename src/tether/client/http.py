"""`HubClient`: the hub's HTTP API over httpx (connection pooling, in-process ASGI
transports for code inside the hub); the endpoints themselves are `tether.client.api`."""

from __future__ import annotations

from typing import Any

import httpx

from tether.client.api import HubApi, TokenProvider, TokenRefresher, error_from
from tether.client.api import static_token as static_token
from tether.client.tls import check_hub_url
from tether.errors import HubUnreachable

__all__ = ["HubClient", "TokenProvider", "TokenRefresher", "static_token"]


class HubClient(HubApi):
    """Async client for the hub's HTTP API."""

    def __init__(
        self,
        hub_url: str,
        token: TokenProvider,
        *,
        timeout: float = 30.0,
        verify: Any = True,
        insecure: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        refresh: TokenRefresher | None = None,
    ) -> None:
        if transport is None:  # an in-process transport never touches the network
            check_hub_url(hub_url, insecure=insecure)
        self.hub_url = hub_url.rstrip("/")
        self._token = token
        self._refresh = refresh
        # `transport` lets code inside the hub (the MCP endpoint) call the API in process.
        self._http = httpx.AsyncClient(
            base_url=self.hub_url, timeout=timeout, verify=verify, transport=transport
        )

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One authenticated call; returns the decoded JSON body.

        A 401 with a refresher (a device's credentials) gets one more try with a freshly
        refreshed token: a cached token may have gone bad before it expired."""
        token = await self._token()
        response = await self._send(method, path, token, **kwargs)
        if response.status_code == 401 and self._refresh is not None:
            response = await self._send(method, path, await self._refresh(token), **kwargs)
        if response.status_code >= 400:
            raise error_from(response.status_code, response.content)
        return response.json() if response.content else None

    async def _send(self, method: str, path: str, token: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            return await self._http.request(method, path, headers=headers, **kwargs)
        except httpx.TransportError as exc:
            raise HubUnreachable(
                f"cannot reach the hub at {self.hub_url}: {exc or type(exc).__name__}",
                hint="is it running? start one with `tether up`, or pass --hub URL",
            ) from None
