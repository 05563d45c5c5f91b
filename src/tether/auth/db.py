"""The auth tables (store migration 2), read and written through the store's writer/reader.

The hub's keys are not among them: they live in the hub's secrets file (migration 3
dropped the old `hub_keys` table), so a copy of the database mints nothing.

Every multi-step change (redeeming a code, rotating a refresh token) runs as one
function on the single writer connection, so it is atomic: two racing redemptions
of one code cannot both win.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from tether.auth.records import AuditEntry, Device, ShareLink, User

T = TypeVar("T")


class SqlStore(Protocol):
    """The store primitives the auth tables are built on (SqliteStore has them)."""

    async def write(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run fn on the writer connection inside a transaction."""

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run fn on a reader connection."""


def new_id(prefix: str) -> str:
    """A fresh random id with a readable prefix (`u_`, `d_`, `sh_`)."""
    return prefix + secrets.token_urlsafe(9)


_DEVICE_COLS = (
    "id, user_id, name, kind, fingerprint, created_at, last_seen, revoked_at, revoked_reason"
)
# Built from the constant column list above, never from input.
_DEVICE_INSERT = f"INSERT INTO devices ({_DEVICE_COLS}) VALUES (?,?,?,?,?,?,?,NULL,NULL)"  # noqa: S608
_DEVICE_SELECT = f"SELECT {_DEVICE_COLS} FROM devices"  # noqa: S608
_USER_SELECT = "SELECT id, name, is_admin, created_at, disabled_at FROM users"
_SHARE_SELECT = (
    "SELECT id, session_id, user_id, created_at, expires_at, revoked_at FROM share_links"
)


def _insert_device(conn: sqlite3.Connection, device: Device, last_seen: float) -> None:
    conn.execute(
        _DEVICE_INSERT,
        (
            device.id,
            device.user_id,
            device.name,
            device.kind,
            device.fingerprint,
            device.created_at,
            last_seen,
        ),
    )


def _insert_refresh(
    conn: sqlite3.Connection, token_hash: str, device_id: str, now: float, ttl: float
) -> None:
    conn.execute(
        "INSERT INTO refresh_tokens VALUES (?,?,?,?,NULL)",
        (token_hash, device_id, now, now + ttl),
    )


def _device(row: tuple[Any, ...] | None) -> Device | None:
    return Device(*row) if row else None


def _user(row: tuple[Any, ...] | None) -> User | None:
    if not row:
        return None
    return User(row[0], row[1], bool(row[2]), row[3], row[4])


RefreshOutcome = Literal["ok", "unknown", "reused", "expired", "revoked", "wrong_device"]


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What happened to a presented refresh token."""

    outcome: RefreshOutcome
    device: Device | None = None


class AuthDb:
    """Queries on the auth tables."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # -- users -------------------------------------------------------------------------

    async def create_user(self, name: str, *, is_admin: bool, now: float) -> User:
        """A new user (names are unique)."""
        user = User(new_id("u_"), name, is_admin, now)

        def insert(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO users VALUES (?,?,?,?,NULL)", (user.id, name, int(is_admin), now)
            )

        await self.store.write(insert)
        return user

    async def user(self, user_id: str) -> User | None:
        """One user."""
        return await self.store.read(
            lambda c: _user(
                c.execute(
                    _USER_SELECT + " WHERE id=?",
                    (user_id,),
                ).fetchone()
            )
        )

    async def user_by_name(self, name: str) -> User | None:
        """One user by name."""
        return await self.store.read(
            lambda c: _user(
                c.execute(
                    _USER_SELECT + " WHERE name=?",
                    (name,),
                ).fetchone()
            )
        )

    async def first_admin(self) -> User | None:
        """The oldest admin."""
        return await self.store.read(
            lambda c: _user(
                c.execute(_USER_SELECT + " WHERE is_admin=1 ORDER BY created_at LIMIT 1").fetchone()
            )
        )

    # -- pairing codes -----------------------------------------------------------------

    async def add_code(self, code_hash: str, user_id: str, now: float, ttl: float) -> None:
        """Remember a pairing code (hashed)."""
        await self.store.write(
            lambda c: c.execute(
                "INSERT INTO pairing_codes VALUES (?,?,?,?,NULL,NULL)",
                (code_hash, user_id, now, now + ttl),
            )
        )

    async def redeem_code(
        self, code_hash: str, now: float, device: Device, refresh_hash: str, refresh_ttl: float
    ) -> str:
        """Use a code once: create the device and its first refresh token.

        Returns "ok", "unknown", "used" or "expired"."""

        def redeem(conn: sqlite3.Connection) -> str:
            row = conn.execute(
                "SELECT user_id, expires_at, used_at FROM pairing_codes WHERE code_hash=?",
                (code_hash,),
            ).fetchone()
            if row is None:
                return "unknown"
            user_id, expires_at, used_at = row
            if used_at is not None:
                return "used"
            if expires_at <= now:
                return "expired"
            if user_id != device.user_id:
                return "unknown"
            conn.execute(
                "UPDATE pairing_codes SET used_at=?, used_by_device=? WHERE code_hash=?",
                (now, device.id, code_hash),
            )
            _insert_device(conn, device, now)
            _insert_refresh(conn, refresh_hash, device.id, now, refresh_ttl)
            return "ok"

        return str(await self.store.write(redeem))

    async def code_owner(self, code_hash: str) -> str | None:
        """The user a code was minted for (None if there is no such code)."""
        return await self.store.read(
            lambda c: (lambda r: r[0] if r else None)(
                c.execute(
                    "SELECT user_id FROM pairing_codes WHERE code_hash=?", (code_hash,)
                ).fetchone()
            )
        )

    # -- devices and refresh tokens ------------------------------------------------------

    async def add_device(
        self, device: Device, refresh_hash: str | None, now: float, refresh_ttl: float
    ) -> None:
        """A device minted directly by the hub (the embedded runner, the local CLI)."""

        def insert(conn: sqlite3.Connection) -> None:
            _insert_device(conn, device, now)
            if refresh_hash is not None:
                _insert_refresh(conn, refresh_hash, device.id, now, refresh_ttl)

        await self.store.write(insert)

    async def device(self, device_id: str) -> Device | None:
        """One device."""
        return await self.store.read(
            lambda c: _device(c.execute(_DEVICE_SELECT + " WHERE id=?", (device_id,)).fetchone())
        )

    async def devices(self, user_id: str | None) -> list[Device]:
        """Devices of one user (or of everybody)."""

        def select(conn: sqlite3.Connection) -> list[Device]:
            if user_id is None:
                rows = conn.execute(_DEVICE_SELECT + " ORDER BY created_at")
            else:
                rows = conn.execute(
                    _DEVICE_SELECT + " WHERE user_id=? ORDER BY created_at", (user_id,)
                )
            return [Device(*r) for r in rows.fetchall()]

        return await self.store.read(select)

    async def rotate_refresh(
        self, old_hash: str, fingerprint: str, new_hash: str, now: float, ttl: float
    ) -> RefreshResult:
        """Swap a refresh token for a new one; a reused token revokes its device."""

        def rotate(conn: sqlite3.Connection) -> RefreshResult:
            row = conn.execute(
                "SELECT device_id, expires_at, used_at FROM refresh_tokens WHERE token_hash=?",
                (old_hash,),
            ).fetchone()
            if row is None:
                return RefreshResult("unknown")
            device_id, expires_at, used_at = row
            device = _device(conn.execute(_DEVICE_SELECT + " WHERE id=?", (device_id,)).fetchone())
            if device is None or device.revoked:
                return RefreshResult("revoked", device)
            if used_at is not None:
                conn.execute(
                    "UPDATE devices SET revoked_at=?, revoked_reason=? WHERE id=?",
                    (now, "refresh token reused", device_id),
                )
                return RefreshResult("reused", device)
            if device.fingerprint != fingerprint:
                return RefreshResult("wrong_device", device)
            if expires_at <= now:
                return RefreshResult("expired", device)
            conn.execute("UPDATE refresh_tokens SET used_at=? WHERE token_hash=?", (now, old_hash))
            _insert_refresh(conn, new_hash, device_id, now, ttl)
            conn.execute("UPDATE devices SET last_seen=? WHERE id=?", (now, device_id))
            return RefreshResult("ok", device)

        result: RefreshResult = await self.store.write(rotate)
        return result

    async def revoke_device(self, device_id: str, reason: str, now: float) -> bool:
        """Mark a device revoked (and drop its refresh tokens); False if it already was."""

        def revoke(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "UPDATE devices SET revoked_at=?, revoked_reason=?"
                " WHERE id=? AND revoked_at IS NULL",
                (now, reason, device_id),
            )
            conn.execute(
                "UPDATE refresh_tokens SET used_at=COALESCE(used_at, ?) WHERE device_id=?",
                (now, device_id),
            )
            return cur.rowcount > 0

        return bool(await self.store.write(revoke))

    # -- share links -------------------------------------------------------------------

    async def add_share(self, link: ShareLink, token_hash: str) -> None:
        """Remember a share link (hashed)."""
        await self.store.write(
            lambda c: c.execute(
                "INSERT INTO share_links VALUES (?,?,?,?,?,?,NULL)",
                (
                    link.id,
                    token_hash,
                    link.session_id,
                    link.user_id,
                    link.created_at,
                    link.expires_at,
                ),
            )
        )

    async def share_by_hash(self, token_hash: str) -> ShareLink | None:
        """The link a token stands for."""
        return await self.store.read(
            lambda c: (lambda r: ShareLink(*r) if r else None)(
                c.execute(
                    _SHARE_SELECT + " WHERE token_hash=?",
                    (token_hash,),
                ).fetchone()
            )
        )

    async def shares(self, user_id: str | None) -> list[ShareLink]:
        """Share links of one user (or all)."""

        def select(conn: sqlite3.Connection) -> list[ShareLink]:
            rows = (
                conn.execute(_SHARE_SELECT + " ORDER BY created_at")
                if user_id is None
                else conn.execute(
                    _SHARE_SELECT + " WHERE user_id=? ORDER BY created_at", (user_id,)
                )
            )
            return [ShareLink(*r) for r in rows.fetchall()]

        return await self.store.read(select)

    async def revoke_share(self, share_id: str, now: float) -> None:
        """Revoke a share link."""
        await self.store.write(
            lambda c: c.execute(
                "UPDATE share_links SET revoked_at=COALESCE(revoked_at, ?) WHERE id=?",
                (now, share_id),
            )
        )

    # -- audit -------------------------------------------------------------------------

    async def append_audit(
        self,
        ts: float,
        action: str,
        actor: str | None,
        user_id: str | None,
        device_id: str | None,
        address: str | None,
        details: dict[str, Any],
    ) -> None:
        """Append one audit entry."""
        text = json.dumps(details, default=str, sort_keys=True)
        await self.store.write(
            lambda c: c.execute(
                "INSERT INTO audit_log (ts, action, actor, user_id, device_id, address, details)"
                " VALUES (?,?,?,?,?,?,?)",
                (ts, action, actor, user_id, device_id, address, text),
            )
        )

    async def audit(self, since: float = 0.0, limit: int = 1000) -> list[AuditEntry]:
        """Audit entries at or after `since`, oldest first."""

        def select(conn: sqlite3.Connection) -> list[AuditEntry]:
            rows = conn.execute(
                "SELECT id, ts, action, actor, user_id, device_id, address, details"
                " FROM audit_log WHERE ts>=? ORDER BY id LIMIT ?",
                (since, limit),
            ).fetchall()
            return [
                AuditEntry(r[0], r[1], r[2], r[3], r[4], r[5], r[6], json.loads(r[7])) for r in rows
            ]

        return await self.store.read(select)
