"""The hub's HTTP API as async methods, over any way of sending a request, with the hub's
errors translated to tether errors. `HubClient` (httpx) and `QuickClient` (the standard
library, for one-shot CLI commands) are the two ways; this module imports neither."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from tether.errors import AuthError, Conflict, Forbidden, NotFound, ProtocolError, TetherError

if TYPE_CHECKING:
    from tether.protocol.api_retention import PruneAnswer
    from tether.protocol.api_shapes import (
        Accepted,
        AuditRow,
        DeviceRow,
        EventsPage,
        Health,
        JsonObject,
        Me,
        MessageAccepted,
        NewShare,
        PairingCode,
        Revoked,
        SessionDetail,
        SessionRow,
        ShareRow,
        Team,
        UserAdded,
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


def error_from(status: int, body: bytes) -> TetherError:
    """The tether error for an HTTP error answer of the hub (`{"error": {message, hint}}`)."""
    try:
        error = json.loads(body).get("error") or {}
    except (ValueError, AttributeError):
        error = {}
    if not isinstance(error, dict):
        error = {}
    message = error.get("message") or f"the hub answered HTTP {status}"
    return _BY_STATUS.get(status, TetherError)(str(message), hint=error.get("hint"))


class HubApi:
    """The hub's endpoints; a subclass says how `request` reaches the hub."""

    async def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """One authenticated call (`json=`, `params=`); returns the decoded JSON body."""
        raise NotImplementedError

    async def __aenter__(self) -> HubApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release connections (nothing to release by default)."""

    async def health(self) -> Health:
        """`/healthz`."""
        result: Health = await self.request("GET", "/healthz")
        return result

    async def teams(self) -> list[Team]:
        """Teams announced by runners."""
        result: list[Team] = await self.request("GET", "/v1/teams")
        return result

    async def sessions(self) -> list[SessionRow]:
        """Sessions, newest first."""
        result: list[SessionRow] = await self.request("GET", "/v1/sessions")
        return result

    async def session(self, session_id: str) -> SessionDetail:
        """One session with its pending permission requests."""
        result: SessionDetail = await self.request("GET", f"/v1/sessions/{session_id}")
        return result

    async def start(
        self,
        team: str,
        prompt: str | None = None,
        resume: str | None = None,
        *,
        adopt: str | None = None,
    ) -> SessionRow:
        """Start a session of a team; returns the session (its `id`).

        `adopt` (alias `resume`): an agent session started outside tether — Claude's session
        id, Codex's thread id, an ACP session id — to continue.
        """
        body: JsonObject = {"team": team, "prompt": prompt}
        if adopt or resume:
            body["adopt"] = adopt or resume
        result: SessionRow = await self.request("POST", "/v1/sessions", json=body)
        return result

    async def resume(self, session_id: str, prompt: str | None = None) -> SessionRow:
        """Start the agent of an exited session again (same session id, same log)."""
        result: SessionRow = await self.request(
            "POST", f"/v1/sessions/{session_id}/resume", json={"prompt": prompt}
        )
        return result

    async def set_permission_mode(self, session_id: str, mode: str) -> Accepted:
        """Change the running agent's permission mode."""
        result: Accepted = await self.request(
            "POST", f"/v1/sessions/{session_id}/permission-mode", json={"mode": mode}
        )
        return result

    async def send(self, session_id: str, text: str, *, take: bool = False) -> MessageAccepted:
        """Hand the agent a turn (`take`: take the owner slot from your other device first);
        a session that is asleep is woken for it (the answer says `woke`)."""
        result: MessageAccepted = await self.request(
            "POST",
            f"/v1/sessions/{session_id}/messages",
            json={"text": text},
            params={"take": "true"} if take else None,
        )
        return result

    async def decide(
        self, session_id: str, request_id: str, behavior: str, message: str | None = None
    ) -> Accepted:
        """Answer a pending permission request."""
        result: Accepted = await self.request(
            "POST",
            f"/v1/sessions/{session_id}/permissions/{request_id}",
            json={"behavior": behavior, "message": message},
        )
        return result

    async def interrupt(self, session_id: str, *, take: bool = False) -> Accepted:
        """Interrupt the running turn (any device of the owner's user may)."""
        result: Accepted = await self.request(
            "POST",
            f"/v1/sessions/{session_id}/interrupt",
            params={"take": "true"} if take else None,
        )
        return result

    async def stop(self, session_id: str, *, take: bool = False) -> Accepted:
        """End the session's agent (`take`: take the owner slot from your other device)."""
        result: Accepted = await self.request(
            "POST", f"/v1/sessions/{session_id}/stop", params={"take": "true"} if take else None
        )
        return result

    async def events(self, session_id: str, after: int = 0, limit: int = 1000) -> EventsPage:
        """Stored events after a seq."""
        result: EventsPage = await self.request(
            "GET", f"/v1/sessions/{session_id}/events", params={"after": after, "limit": limit}
        )
        return result

    # -- devices, users, share links, the audit log (docs/security.md) -------------------

    async def me(self) -> Me:
        """Who the caller is (a revoked device gets an `AuthError`)."""
        result: Me = await self.request("GET", "/v1/auth/me")
        return result

    async def pairing_code(self) -> PairingCode:
        """A single-use code (five minutes) that pairs a new device to the caller's user."""
        result: PairingCode = await self.request("POST", "/v1/pairing-codes")
        return result

    async def devices(self) -> list[DeviceRow]:
        """The caller's devices (admins: everybody's)."""
        result: list[DeviceRow] = await self.request("GET", "/v1/devices")
        return result

    async def revoke_device(self, device_id: str) -> Revoked:
        """Revoke a device: its tokens stop working, its sockets close."""
        result: Revoked = await self.request("POST", f"/v1/devices/{device_id}/revoke")
        return result

    async def add_user(self, name: str, *, admin: bool = False) -> UserAdded:
        """Add a user (admins); the answer has a sign-in code for their first device."""
        result: UserAdded = await self.request(
            "POST", "/v1/users", json={"name": name, "admin": admin}
        )
        return result

    async def shares(self) -> list[ShareRow]:
        """The caller's share links (admins: everybody's)."""
        result: list[ShareRow] = await self.request("GET", "/v1/shares")
        return result

    async def create_share(self, session_id: str, ttl_s: float) -> NewShare:
        """A read-only link to a session for `ttl_s` seconds; its token is in this answer only."""
        result: NewShare = await self.request(
            "POST", f"/v1/sessions/{session_id}/shares", json={"ttl_s": ttl_s}
        )
        return result

    async def revoke_share(self, share_id: str) -> Revoked:
        """Revoke a share link; sockets watching through it close."""
        result: Revoked = await self.request("POST", f"/v1/shares/{share_id}/revoke")
        return result

    async def prune(self, before: float, *, dry_run: bool = False) -> PruneAnswer:
        """Remove exited sessions last updated before `before`, with their events (admins);
        `dry_run` only counts them."""
        result: PruneAnswer = await self.request(
            "POST", "/v1/admin/prune", json={"before": before, "dry_run": dry_run}
        )
        return result

    async def audit(self, since: float = 0.0, limit: int = 1000) -> list[AuditRow]:
        """Audit log entries at or after `since`, oldest first (admins)."""
        result: list[AuditRow] = await self.request(
            "GET", "/v1/audit", params={"since": since, "limit": limit}
        )
        return result
