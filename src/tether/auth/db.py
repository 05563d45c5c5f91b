"""The auth tables, through the store: each method runs one operation of
`tether.auth.queries` on whichever store the hub has (SQLite or PostgreSQL).

The hub's keys are not among them: they live in the hub's secrets file (migration 3
dropped the old `hub_keys` table), so a copy of the database mints nothing.
"""

from __future__ import annotations

import secrets
from typing import Protocol, TypeVar

from tether.auth import queries
from tether.auth.queries import RedeemOutcome, RefreshResult
from tether.auth.records import AuditEntry, AuditRow, Device, ShareLink, User
from tether.errors import Conflict
from tether.store.sql import Op

T = TypeVar("T")

__all__ = ["AuthDb", "RefreshResult", "SqlStore", "new_id"]


class SqlStore(Protocol):
    """What the auth tables need from a store (SqliteStore and PostgresStore have it)."""

    async def run_write(self, op: Op[T]) -> T:
        """Run an operation in one transaction; durable when it returns."""

    async def run_read(self, op: Op[T]) -> T:
        """Run a read-only operation."""


def new_id(prefix: str) -> str:
    """A fresh random id with a readable prefix (`u_`, `d_`, `sh_`)."""
    return prefix + secrets.token_urlsafe(9)


class AuthDb:
    """Queries on the auth tables."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # -- users -------------------------------------------------------------------------

    async def create_user(self, name: str, *, is_admin: bool, now: float) -> User:
        """A new user; Conflict if the name is taken (also when another hub replica created
        it a moment ago)."""
        user = User(new_id("u_"), name, is_admin, now)
        if not await self.store.run_write(queries.create_user(user)):
            raise Conflict(f"there is already a user named {name!r}")
        return user

    async def user(self, user_id: str) -> User | None:
        """One user."""
        return await self.store.run_read(queries.user(user_id))

    async def user_by_name(self, name: str) -> User | None:
        """One user by name."""
        return await self.store.run_read(queries.user_by_name(name))

    async def first_admin(self) -> User | None:
        """The oldest admin."""
        return await self.store.run_read(queries.first_admin())

    # -- pairing codes -----------------------------------------------------------------

    async def add_code(self, code_hash: str, user_id: str, now: float, ttl: float) -> None:
        """Remember a pairing code (hashed)."""
        await self.store.run_write(queries.add_code(code_hash, user_id, now, ttl))

    async def redeem_code(
        self, code_hash: str, now: float, device: Device, refresh_hash: str, refresh_ttl: float
    ) -> RedeemOutcome:
        """Use a code once: create the device and its first refresh token."""
        return await self.store.run_write(
            queries.redeem_code(code_hash, now, device, refresh_hash, refresh_ttl)
        )

    async def code_owner(self, code_hash: str) -> str | None:
        """The user a code was minted for (None if there is no such code)."""
        return await self.store.run_read(queries.code_owner(code_hash))

    # -- devices and refresh tokens ------------------------------------------------------

    async def add_device(
        self, device: Device, refresh_hash: str | None, now: float, refresh_ttl: float
    ) -> None:
        """A device minted directly by the hub (the embedded runner, the local CLI)."""
        await self.store.run_write(queries.add_device(device, refresh_hash, now, refresh_ttl))

    async def device(self, device_id: str) -> Device | None:
        """One device."""
        return await self.store.run_read(queries.device(device_id))

    async def devices(self, user_id: str | None) -> list[Device]:
        """Devices of one user (or of everybody)."""
        return await self.store.run_read(queries.devices(user_id))

    async def rotate_refresh(
        self, old_hash: str, fingerprint: str, new_hash: str, now: float, ttl: float
    ) -> RefreshResult:
        """Swap a refresh token for a new one; a reused token revokes its device."""
        return await self.store.run_write(
            queries.rotate_refresh(old_hash, fingerprint, new_hash, now, ttl)
        )

    async def touch_device(self, device_id: str, now: float) -> None:
        """Note when a device was last seen."""
        await self.store.run_write(queries.touch_device(device_id, now))

    async def revoke_device(self, device_id: str, reason: str, now: float) -> bool:
        """Mark a device revoked (and drop its refresh tokens); False if it already was."""
        return await self.store.run_write(queries.revoke_device(device_id, reason, now))

    # -- share links -------------------------------------------------------------------

    async def add_share(self, link: ShareLink, token_hash: str) -> None:
        """Remember a share link (hashed)."""
        await self.store.run_write(queries.add_share(link, token_hash))

    async def share_by_hash(self, token_hash: str) -> ShareLink | None:
        """The link a token stands for."""
        return await self.store.run_read(queries.share_by_hash(token_hash))

    async def shares(self, user_id: str | None) -> list[ShareLink]:
        """Share links of one user (or all)."""
        return await self.store.run_read(queries.shares(user_id))

    async def revoke_share(self, share_id: str, now: float) -> None:
        """Revoke a share link."""
        await self.store.run_write(queries.revoke_share(share_id, now))

    # -- audit -------------------------------------------------------------------------

    async def append_audit(self, row: AuditRow) -> None:
        """Append one audit entry."""
        await self.store.run_write(queries.append_audit(row))

    async def audit(self, since: float = 0.0, limit: int = 1000) -> list[AuditEntry]:
        """Audit entries at or after `since`, oldest first."""
        return await self.store.run_read(queries.audit(since, limit))
