"""`QuickClient`: the hub's HTTP API on the standard library, for one-shot commands.

`tether sessions`, `send`, `stop` … make one request (two for an id prefix) and exit.
Importing httpx and the async stack under it (httpcore, h11, anyio — and httpx's own command
line, which pulls in click and pygments) costs more than the request itself; `http.client`
is already half loaded by then. The same endpoints (`tether.client.api.HubApi`), the same
errors, the same one retry after a 401 with a refreshed token.

Proxies: httpx honours HTTP(S)_PROXY/ALL_PROXY; this does not, so `quick_client()` hands
out a `HubClient` whenever one of them is set.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import ssl
from typing import Any
from urllib.parse import urlencode, urlsplit

from tether.client.api import HubApi, TokenProvider, TokenRefresher, error_from
from tether.client.tls import check_hub_url
from tether.errors import HubUnreachable

_PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def proxy_configured() -> bool:
    """Is a proxy set in the environment (which only httpx would use)?"""
    return any(os.environ.get(v) or os.environ.get(v.upper()) for v in _PROXY_VARIABLES)


class QuickClient(HubApi):
    """One blocking HTTP/1.1 request per call, in a worker thread (the event loop stays free)."""

    def __init__(
        self,
        hub_url: str,
        token: TokenProvider,
        *,
        ssl_context: ssl.SSLContext | None = None,
        insecure: bool = False,
        timeout: float = 30.0,
        refresh: TokenRefresher | None = None,
    ) -> None:
        check_hub_url(hub_url, insecure=insecure)
        self.hub_url = hub_url.rstrip("/")
        parts = urlsplit(self.hub_url)
        self._https = parts.scheme in ("https", "wss")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path
        self._ssl = ssl_context or (ssl.create_default_context() if self._https else None)
        self._timeout = timeout
        self._token = token
        self._refresh = refresh

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One authenticated call (`json=`, `params=`); returns the decoded JSON body."""
        body = None if kwargs.get("json") is None else json.dumps(kwargs["json"]).encode()
        target = self._prefix + path
        if kwargs.get("params"):
            target += "?" + urlencode(kwargs["params"])
        token = await self._token()
        status, answer = await asyncio.to_thread(self._send, method, target, token, body)
        if status == 401 and self._refresh is not None:
            token = await self._refresh(token)
            status, answer = await asyncio.to_thread(self._send, method, target, token, body)
        if status >= 400:
            raise error_from(status, answer)
        return json.loads(answer) if answer else None

    def _send(self, method: str, target: str, token: str, body: bytes | None) -> tuple[int, bytes]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        connection: http.client.HTTPConnection
        if self._https:
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self._timeout, context=self._ssl
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            connection.request(method, target, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise HubUnreachable(
                f"cannot reach the hub at {self.hub_url}: {exc or type(exc).__name__}",
                hint="is it running? start one with `tether up`, or pass --hub URL",
            ) from None
        finally:
            connection.close()
