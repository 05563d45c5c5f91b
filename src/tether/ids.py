"""Distinct types for the identifiers that cross the wire, and how new ones are made."""

from __future__ import annotations

import secrets
from typing import NewType

SessionId = NewType("SessionId", str)
RunnerId = NewType("RunnerId", str)
TeamName = NewType("TeamName", str)
RequestId = NewType("RequestId", str)
ConnectionId = NewType("ConnectionId", str)
PrincipalId = NewType("PrincipalId", str)


def new_session_id() -> SessionId:
    """A fresh session id: `s_` and 16 url-safe random characters."""
    return SessionId("s_" + secrets.token_urlsafe(12))


def new_connection_id() -> ConnectionId:
    """A fresh id for one viewer connection."""
    return ConnectionId("c_" + secrets.token_urlsafe(6))
