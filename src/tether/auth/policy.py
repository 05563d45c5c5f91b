"""Authorization: which sessions and teams a principal may see and use."""

from __future__ import annotations

from typing import Any, Protocol

from tether.auth.principal import Principal
from tether.protocol.messages import SessionInfo
from tether.store.base import SessionRecord


class Policy(Protocol):
    """Answers "may this principal …?" for the hub's routes and sockets."""

    async def can_view(self, principal: Principal, record: SessionRecord) -> bool:
        """May see (follow) this session."""

    async def can_view_info(self, principal: Principal, info: SessionInfo) -> bool:
        """May see this session in a listing."""

    async def can_use_team(self, principal: Principal, team: dict[str, Any]) -> bool:
        """May see and start sessions of this team."""


class SingleUserPolicy:
    """One local user owns everything; share-link holders see only their one session."""

    async def can_view(self, principal: Principal, record: SessionRecord) -> bool:
        """Anyone authenticated, within a share link's scope."""
        return principal.session_scope in (None, record.id)

    async def can_view_info(self, principal: Principal, info: SessionInfo) -> bool:
        """Same rule for listings."""
        return principal.session_scope in (None, info.id)

    async def can_use_team(self, principal: Principal, team: dict[str, Any]) -> bool:
        """Share-link holders see no teams."""
        return principal.session_scope is None
