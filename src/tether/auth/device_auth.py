"""The hub's real authenticator (session tokens, share links, browser cookies) and the
multi-user policy (a user sees their own teams, runners and sessions; admins see all).

Both keep the skeleton's interfaces (`Authenticator`, `Policy`), so routes written
against those work unchanged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from tether.auth.codes import SHARE_PREFIX
from tether.auth.principal import Principal, bearer_token
from tether.auth.service import AuthService
from tether.auth.tokens import looks_like_jwt
from tether.errors import Forbidden
from tether.protocol.messages import SessionInfo
from tether.store.base import SessionRecord
from tether.terminal.identity import PREFIX as TERMINAL_PREFIX
from tether.terminal.identity import is_terminal_runner_id, terminal_runner_id

if TYPE_CHECKING:
    from tether.hub.broker import Broker

log = logging.getLogger("tether.auth")

SESSION_COOKIE = "tether_session"
REFRESH_COOKIE = "tether_refresh"
DEVICE_COOKIE = "tether_device"
SHARE_COOKIE = "tether_share"
"""A share link opened in a browser; its path is the one session's API (`/v1/sessions/ID`)."""
CSRF_HEADER = "x-tether-csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def client_address(conn: HTTPConnection) -> str:
    """The peer address (proxies are not trusted: X-Forwarded-For is ignored)."""
    return conn.client.host if conn.client else "unknown"


def same_origin(conn: HTTPConnection) -> bool:
    """Does a browser's Origin (if sent) name this hub's host?"""
    origin = conn.headers.get("origin")
    if not origin:
        return True  # not a browser (CLI, runner), or a same-origin GET
    return urlsplit(origin).netloc.lower() == conn.headers.get("host", "").lower()


class DeviceAuthenticator:
    """Bearer session token or share token (CLI, runner, scripts), or the browser cookie."""

    def __init__(self, service: AuthService) -> None:
        self.service = service

    async def authenticate(self, conn: HTTPConnection) -> Principal | None:
        """Check the header, else the cookies; cookie writes need the CSRF header.

        A browser that opened a share link sends its share cookie only to that session's
        API paths; there it wins over a session cookie (the link is what grants access),
        unless it has expired or been revoked."""
        token = bearer_token(conn)
        if token is not None:
            return await self.authenticate_token(token, conn)
        share = conn.cookies.get(SHARE_COOKIE)
        session = conn.cookies.get(SESSION_COOKIE)
        if share is None and session is None:
            return None
        is_http = conn.scope["type"] == "http"
        if (
            is_http
            and conn.scope.get("method", "GET") not in SAFE_METHODS
            and conn.headers.get(CSRF_HEADER) != "1"
        ):
            raise Forbidden(
                "cookie-authenticated writes need the `X-Tether-CSRF: 1` header",
                hint="see docs/security.md, 'Browser sign-in'",
            )
        if not same_origin(conn):
            await self.service.record(
                "auth_failed",
                None,
                address=client_address(conn),
                path=conn.url.path,
                why="cross-origin cookie",
            )
            return None
        if share is not None and session is not None:
            principal = await self.service.principal_for_share(share)
            if principal is not None:
                return principal
        return await self.authenticate_token(session or share or "", conn)

    async def authenticate_token(self, token: str, conn: HTTPConnection) -> Principal | None:
        """A token from a header, cookie, or a socket's first `auth` frame."""
        principal: Principal | None = None
        if token.startswith(SHARE_PREFIX):
            principal = await self.service.principal_for_share(token)
        elif looks_like_jwt(token):
            principal = await self.service.principal_for_access(token)
        if principal is None:
            await self.service.record(
                "auth_failed", None, address=client_address(conn), path=conn.url.path
            )
        return principal


class UserPolicy:
    """Users see what is theirs; admins see everything; share links one session, read-only."""

    def __init__(self, service: AuthService) -> None:
        self.service = service
        self.broker: Broker | None = None

    def runner_owner(self, runner_id: str | None) -> str | None:
        """The user whose runner device is connected as `runner_id` now."""
        if self.broker is None or runner_id is None:
            return None
        return self.broker.directory.runner_user(runner_id)  # on any hub replica

    async def can_view(self, principal: Principal, record: SessionRecord) -> bool:
        """Own sessions, sessions on one's runners; admins all; share links their one."""
        if principal.kind == "share":
            return principal.session_scope == record.id
        if principal.is_admin:
            return True
        return principal.user_id is not None and principal.user_id in (
            record.created_by,
            self.runner_owner(record.runner_id),
        )

    async def can_view_info(self, principal: Principal, info: SessionInfo) -> bool:
        """Same rule for listings (the record is looked up for its creator)."""
        if principal.kind == "share":
            return principal.session_scope == info.id
        if principal.is_admin:
            return True
        if self.broker is None:
            return False
        record = await self.broker.store.get_session(info.id)
        return record is not None and await self.can_view(principal, record)

    async def can_use_team(self, principal: Principal, team: dict[str, Any]) -> bool:
        """Teams of one's own runners (admins: all); share links: none."""
        if principal.kind == "share" or principal.read_only:
            return False
        if principal.is_admin:
            return True
        owner = self.runner_owner(team.get("runner_id"))
        return owner is not None and owner == principal.user_id

    async def refuse_runner(
        self, principal: Principal, runner_id: str, team_names: list[str]
    ) -> str | None:
        """Why this runner device may not serve as `runner_id` with these teams (None: ok).

        A runner device serves under its own name, and never takes over another user's
        runner id or team name (which would route their sessions to it)."""
        device = await self.service.device(principal.device_id or "")
        if device is not None and device.kind != "runner":
            # A CLI device serves only as its own PTY host (`tether run`), with no teams;
            # other devices (browsers) never serve.
            if device.kind != "cli" or not is_terminal_runner_id(runner_id, device.id):
                return f"a {device.kind} device can only serve as its terminal host" + (
                    f" {terminal_runner_id(device.id)!r}" if device.kind == "cli" else " (none)"
                )
            return "a CLI device's terminal host serves no teams" if team_names else None
        if runner_id.startswith(TERMINAL_PREFIX):
            return "runner ids starting with 'terminals-' belong to CLI devices' terminal hosts"
        if device is None or device.name != runner_id:
            return (
                f"this runner was paired as {device.name if device else '?'!r}; "
                f"it cannot serve as {runner_id!r}"
            )
        if self.broker is None:
            return None
        # Whose the runner id is, connected or not, is the store's claim (the runner
        # socket makes it next). A team name is another user's while a runner of theirs
        # announced it, connected or not: taking it over would route their new sessions.
        for name in team_names:
            entry = self.broker.teams.get(name)
            if entry is not None and entry[0] != runner_id:
                other = self.runner_owner(entry[0])
                if other is None:
                    recorded = await self.service.runners.owner(entry[0])
                    other = recorded.user_id if recorded is not None else None
                if other is not None and other != principal.user_id:
                    return f"team {name!r} is served by another user's runner"
        return None
