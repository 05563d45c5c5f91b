"""`HubClient`: the hub's HTTP API as async methods, errors translated to tether errors."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tether.client.tls import check_hub_url
from tether.errors import (
    AuthError,
    Conflict,
    Forbidden,
    HubUnreachable,
    NotFound,
    ProtocolError,
    TetherError,
)

TokenProvider = Callable[[], Awaitable[str]]
TokenRefresher = Callable[[str], Awaitable[str]]
"""`refresh(refused_token) -> new token`: called once when the hub answers 401."""


def static_token(token: str) -> TokenProvider:
    """A token provider for a fixed token."""

    async def provide() -> str:
        return token

    return provide


_BY_STATUS: dict[int, type[TetherError]] = {
    400: ProtocolError,
    401: AuthError,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ProtocolError,
}


class HubClient:
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
            raise _error_from(response)
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

    async def health(self) -> dict[str, Any]:
        """`/healthz`."""
        result: dict[str, Any] = await self.request("GET", "/healthz")
        return result

    async def teams(self) -> list[dict[str, Any]]:
        """Teams announced by runners."""
        result: list[dict[str, Any]] = await self.request("GET", "/v1/teams")
        return result

    async def sessions(self) -> list[dict[str, Any]]:
        """Sessions, newest first."""
        result: list[dict[str, Any]] = await self.request("GET", "/v1/sessions")
        return result

    async def session(self, session_id: str) -> dict[str, Any]:
        """One session with its pending permission requests."""
        result: dict[str, Any] = await self.request("GET", f"/v1/sessions/{session_id}")
        return result

    async def start(
        self,
        team: str,
        prompt: str | None = None,
        resume: str | None = None,
        *,
        adopt: str | None = None,
    ) -> dict[str, Any]:
        """Start a session of a team; returns the session (its `id`).

        `adopt` (alias `resume`): an agent session started outside tether — Claude's session
        id, Codex's thread id, an ACP session id — to continue.
        """
        body: dict[str, Any] = {"team": team, "prompt": prompt}
        if adopt or resume:
            body["adopt"] = adopt or resume
        result: dict[str, Any] = await self.request("POST", "/v1/sessions", json=body)
        return result

    async def resume(self, session_id: str, prompt: str | None = None) -> dict[str, Any]:
        """Start the agent of an exited session again (same session id, same log)."""
        result: dict[str, Any] = await self.request(
            "POST", f"/v1/sessions/{session_id}/resume", json={"prompt": prompt}
        )
        return result

    async def set_permission_mode(self, session_id: str, mode: str) -> dict[str, Any]:
        """Change the running agent's permission mode."""
        result: dict[str, Any] = await self.request(
            "POST", f"/v1/sessions/{session_id}/permission-mode", json={"mode": mode}
        )
        return result

    async def send(self, session_id: str, text: str) -> dict[str, Any]:
        """Hand the agent a turn."""
        result: dict[str, Any] = await self.request(
            "POST", f"/v1/sessions/{session_id}/messages", json={"text": text}
        )
        return result

    async def decide(
        self, session_id: str, request_id: str, behavior: str, message: str | None = None
    ) -> dict[str, Any]:
        """Answer a pending permission request."""
        result: dict[str, Any] = await self.request(
            "POST",
            f"/v1/sessions/{session_id}/permissions/{request_id}",
            json={"behavior": behavior, "message": message},
        )
        return result

    async def interrupt(self, session_id: str) -> dict[str, Any]:
        """Interrupt the running turn."""
        result: dict[str, Any] = await self.request("POST", f"/v1/sessions/{session_id}/interrupt")
        return result

    async def stop(self, session_id: str) -> dict[str, Any]:
        """End the session's agent."""
        result: dict[str, Any] = await self.request("POST", f"/v1/sessions/{session_id}/stop")
        return result

    async def events(self, session_id: str, after: int = 0, limit: int = 1000) -> dict[str, Any]:
        """Stored events after a seq."""
        result: dict[str, Any] = await self.request(
            "GET", f"/v1/sessions/{session_id}/events", params={"after": after, "limit": limit}
        )
        return result


def _error_from(response: httpx.Response) -> TetherError:
    try:
        body = response.json().get("error") or {}
    except ValueError:
        body = {}
    message = body.get("message") or f"the hub answered HTTP {response.status_code}"
    cls = _BY_STATUS.get(response.status_code, TetherError)
    return cls(message, hint=body.get("hint"))
