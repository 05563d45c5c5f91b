"""Authorization: which sessions and teams a principal may see and use, and which runner
ids and teams a runner device may serve. `tether.auth.device_auth.UserPolicy` is the one
implementation (users see their own; admins see all; share links one session)."""

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

    async def refuse_runner(
        self, principal: Principal, runner_id: str, team_names: list[str]
    ) -> str | None:
        """Why this runner device may not serve as `runner_id` with these teams (None: ok)."""
