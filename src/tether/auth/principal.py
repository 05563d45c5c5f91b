"""Principals and the `authenticate(conn) -> Principal | None` interface (Starlette style)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

from starlette.requests import HTTPConnection

PrincipalKind = Literal["user", "runner", "share"]


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    `id` is stable for the caller (user or device); `session_scope` limits a share-link
    holder to one session; `read_only` callers can watch but never write.
    """

    id: str
    kind: PrincipalKind = "user"
    name: str = ""
    user_id: str | None = None
    device_id: str | None = None
    is_admin: bool = False
    read_only: bool = False
    session_scope: str | None = None
    expires_at: float | None = field(default=None, compare=False)
    """When the credential behind this principal runs out (the hub's clock): a socket it
    opened is closed then, unless it re-authenticates in-band (tether.hub.ws_auth)."""

    @property
    def label(self) -> str:
        """How the caller is shown to others (owner column, `by` fields)."""
        return self.name or self.id


class Authenticator(Protocol):
    """Turns a connection's credentials into a principal, or None when they are missing/bad."""

    async def authenticate(self, conn: HTTPConnection) -> Principal | None:
        """Check the connection's credentials (header or cookies)."""

    async def authenticate_token(self, token: str, conn: HTTPConnection) -> Principal | None:
        """Check a token that came some other way (a browser socket's first `auth` frame)."""


def bearer_token(conn: HTTPConnection) -> str | None:
    """The token of an `Authorization: Bearer …` header, if any."""
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
