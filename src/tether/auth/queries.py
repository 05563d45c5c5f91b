"""The auth tables' operations (users, devices, refresh tokens, pairing codes, share links,
the audit log, runner ownership), written once for SQLite and PostgreSQL.

Each multi-step change (redeeming a code, rotating a refresh token, claiming a runner id)
is one operation and so one transaction; its first read is `lock`ed, so two hubs racing
on one code cannot both win (see `tether.store.sql`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from tether.auth.records import AuditEntry, AuditRow, Device, ShareLink, User
from tether.store.sql import ALL, ONE, ROWCOUNT, Op, Query

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

RefreshOutcome = Literal["ok", "unknown", "reused", "expired", "revoked", "wrong_device"]
RedeemOutcome = Literal["ok", "unknown", "used", "expired"]


@dataclass(frozen=True, slots=True)
class RefreshResult:
    """What happened to a presented refresh token."""

    outcome: RefreshOutcome
    device: Device | None = None


def _of_user(select: str, user_id: str | None) -> Op[list[tuple[Any, ...]]]:
    """The rows of `select` that belong to one user (None: everybody's), oldest first."""
    if user_id is None:
        rows = yield Query(select + " ORDER BY created_at", (), ALL)
    else:
        rows = yield Query(select + " WHERE user_id=? ORDER BY created_at", (user_id,), ALL)
    return list(rows)


def _device(row: tuple[Any, ...] | None) -> Device | None:
    return Device(*row) if row else None


def _user(row: tuple[Any, ...] | None) -> User | None:
    return User(row[0], row[1], bool(row[2]), row[3], row[4]) if row else None


def _insert_device(device: Device, last_seen: float) -> Query:
    return Query(
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


def _insert_refresh(token_hash: str, device_id: str, now: float, ttl: float) -> Query:
    return Query(
        "INSERT INTO refresh_tokens (token_hash, device_id, created_at, expires_at, used_at)"
        " VALUES (?,?,?,?,NULL)",
        (token_hash, device_id, now, now + ttl),
    )


# -- users ---------------------------------------------------------------------------------


def create_user(user: User) -> Op[bool]:
    """Insert a user; False if the name is taken (two hubs creating the first admin at once:
    exactly one wins)."""
    row = yield Query(
        "INSERT INTO users (id, name, is_admin, created_at, disabled_at) VALUES (?,?,?,?,NULL)"
        " ON CONFLICT (name) DO NOTHING RETURNING id",
        (user.id, user.name, int(user.is_admin), user.created_at),
        ONE,
    )
    return row is not None


def user(user_id: str) -> Op[User | None]:
    """One user by id."""
    return _user((yield Query(_USER_SELECT + " WHERE id=?", (user_id,), ONE)))


def user_by_name(name: str) -> Op[User | None]:
    """One user by name."""
    return _user((yield Query(_USER_SELECT + " WHERE name=?", (name,), ONE)))


def first_admin() -> Op[User | None]:
    """The oldest admin."""
    return _user(
        (yield Query(_USER_SELECT + " WHERE is_admin=1 ORDER BY created_at LIMIT 1", (), ONE))
    )


# -- pairing codes -------------------------------------------------------------------------

# The single-use secrets, by table: whom one is for, and the column of its hash.
_SINGLE_USE = {
    "pairing_codes": ("user_id", "code_hash"),
    "refresh_tokens": ("device_id", "token_hash"),
}


def _single_use(table: str, secret_hash: str) -> Op[tuple[str, float, float | None] | None]:
    """Whom a pairing code or refresh token is for, when it expires and when it was used
    (None: no such secret). The row stays locked until the operation ends, so two
    replicas cannot both find it unused."""
    holder, hash_column = _SINGLE_USE[table]
    row = yield Query(
        f"SELECT {holder}, expires_at, used_at FROM {table} WHERE {hash_column}=?",  # noqa: S608
        (secret_hash,),
        ONE,
        lock=True,
    )
    return None if row is None else (row[0], row[1], row[2])


def add_code(code_hash: str, user_id: str, now: float, ttl: float) -> Op[None]:
    """Remember a pairing code (hashed)."""
    yield Query(
        "INSERT INTO pairing_codes (code_hash, user_id, created_at, expires_at, used_at,"
        " used_by_device) VALUES (?,?,?,?,NULL,NULL)",
        (code_hash, user_id, now, now + ttl),
    )


def redeem_code(
    code_hash: str, now: float, device: Device, refresh_hash: str, refresh_ttl: float
) -> Op[RedeemOutcome]:
    """Use a code once: create the device and its first refresh token."""
    secret = yield from _single_use("pairing_codes", code_hash)
    if secret is None:
        return "unknown"
    user_id, expires_at, used_at = secret
    if used_at is not None:
        return "used"
    if expires_at <= now:
        return "expired"
    if user_id != device.user_id:
        return "unknown"
    yield Query(
        "UPDATE pairing_codes SET used_at=?, used_by_device=? WHERE code_hash=?",
        (now, device.id, code_hash),
    )
    yield _insert_device(device, now)
    yield _insert_refresh(refresh_hash, device.id, now, refresh_ttl)
    return "ok"


def code_owner(code_hash: str) -> Op[str | None]:
    """The user a code was minted for (None if there is no such code)."""
    row = yield Query("SELECT user_id FROM pairing_codes WHERE code_hash=?", (code_hash,), ONE)
    return str(row[0]) if row else None


# -- devices and refresh tokens ----------------------------------------------------------


def add_device(device: Device, refresh_hash: str | None, now: float, ttl: float) -> Op[None]:
    """A device minted directly by the hub (the embedded runner, the local CLI)."""
    yield _insert_device(device, now)
    if refresh_hash is not None:
        yield _insert_refresh(refresh_hash, device.id, now, ttl)


def device(device_id: str) -> Op[Device | None]:
    """One device."""
    return _device((yield Query(_DEVICE_SELECT + " WHERE id=?", (device_id,), ONE)))


def touch_device(device_id: str, now: float) -> Op[None]:
    """Note that a device was seen at `now` (never moving its last sighting back)."""
    yield Query(
        "UPDATE devices SET last_seen=? WHERE id=? AND (last_seen IS NULL OR last_seen < ?)",
        (now, device_id, now),
    )


def devices(user_id: str | None) -> Op[list[Device]]:
    """Devices of one user (or of everybody), oldest first."""
    return [Device(*r) for r in (yield from _of_user(_DEVICE_SELECT, user_id))]


def rotate_refresh(
    old_hash: str, fingerprint: str, new_hash: str, now: float, ttl: float
) -> Op[RefreshResult]:
    """Swap a refresh token for a new one; a reused token revokes its device."""
    secret = yield from _single_use("refresh_tokens", old_hash)
    if secret is None:
        return RefreshResult("unknown")
    device_id, expires_at, used_at = secret
    found = _device((yield Query(_DEVICE_SELECT + " WHERE id=?", (device_id,), ONE)))
    if found is None or found.revoked:
        return RefreshResult("revoked", found)
    if used_at is not None:
        yield Query(
            "UPDATE devices SET revoked_at=?, revoked_reason=? WHERE id=?",
            (now, "refresh token reused", device_id),
        )
        return RefreshResult("reused", found)
    if found.fingerprint != fingerprint:
        return RefreshResult("wrong_device", found)
    if expires_at <= now:
        return RefreshResult("expired", found)
    yield Query("UPDATE refresh_tokens SET used_at=? WHERE token_hash=?", (now, old_hash))
    yield _insert_refresh(new_hash, device_id, now, ttl)
    yield Query("UPDATE devices SET last_seen=? WHERE id=?", (now, device_id))
    return RefreshResult("ok", found)


def revoke_device(device_id: str, reason: str, now: float) -> Op[bool]:
    """Mark a device revoked (and use up its refresh tokens); False if it already was."""
    changed = yield Query(
        "UPDATE devices SET revoked_at=?, revoked_reason=? WHERE id=? AND revoked_at IS NULL",
        (now, reason, device_id),
        ROWCOUNT,
    )
    yield Query(
        "UPDATE refresh_tokens SET used_at=COALESCE(used_at, ?) WHERE device_id=?",
        (now, device_id),
    )
    return bool(changed)


# -- share links ---------------------------------------------------------------------------


def add_share(link: ShareLink, token_hash: str) -> Op[None]:
    """Remember a share link (hashed)."""
    yield Query(
        "INSERT INTO share_links (id, token_hash, session_id, user_id, created_at, expires_at,"
        " revoked_at) VALUES (?,?,?,?,?,?,NULL)",
        (link.id, token_hash, link.session_id, link.user_id, link.created_at, link.expires_at),
    )


def share_by_hash(token_hash: str) -> Op[ShareLink | None]:
    """The link a token stands for."""
    row = yield Query(_SHARE_SELECT + " WHERE token_hash=?", (token_hash,), ONE)
    return ShareLink(*row) if row else None


def shares(user_id: str | None) -> Op[list[ShareLink]]:
    """Share links of one user (or all), oldest first."""
    return [ShareLink(*r) for r in (yield from _of_user(_SHARE_SELECT, user_id))]


def revoke_share(share_id: str, now: float) -> Op[None]:
    """Revoke a share link (the first revocation's time stays)."""
    yield Query(
        "UPDATE share_links SET revoked_at=COALESCE(revoked_at, ?) WHERE id=?", (now, share_id)
    )


# -- audit ---------------------------------------------------------------------------------


def append_audit(row: AuditRow) -> Op[None]:
    """Append one audit entry."""
    details = json.dumps(row.details, default=str, sort_keys=True)
    yield Query(
        "INSERT INTO audit_log (ts, action, actor, user_id, device_id, address, details)"
        " VALUES (?,?,?,?,?,?,?)",
        (row.ts, row.action, row.actor, row.user_id, row.device_id, row.address, details),
    )


def audit(since: float, limit: int) -> Op[list[AuditEntry]]:
    """Audit entries at or after `since`, oldest first."""
    rows = yield Query(
        "SELECT id, ts, action, actor, user_id, device_id, address, details"
        " FROM audit_log WHERE ts>=? ORDER BY id LIMIT ?",
        (since, limit),
        ALL,
    )
    return [
        AuditEntry(ts, action, actor, user_id, device_id, address, json.loads(details), id=id_)
        for id_, ts, action, actor, user_id, device_id, address, details in rows
    ]
