"""The identifiers the hub makes up, as distinct types, and how new ones are made."""

from __future__ import annotations

import secrets
from typing import NewType

SessionId = NewType("SessionId", str)
ConnectionId = NewType("ConnectionId", str)


def new_session_id() -> SessionId:
    """A fresh session id: `s_` and 16 url-safe random characters."""
    return SessionId("s_" + secrets.token_urlsafe(12))


def new_connection_id() -> ConnectionId:
    """A fresh id for one viewer connection."""
    return ConnectionId("c_" + secrets.token_urlsafe(6))
