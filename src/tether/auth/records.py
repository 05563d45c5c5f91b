"""The identity records the hub keeps: users, devices, share links, audit entries."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

if TYPE_CHECKING:
    from tether.protocol.api_shapes import AuditRow as AuditShape
    from tether.protocol.api_shapes import DeviceRow, ShareRow, UserRow

DeviceKind = Literal["cli", "runner", "browser"]
DEVICE_KINDS: tuple[str, ...] = get_args(DeviceKind)


@dataclass(frozen=True, slots=True)
class User:
    """A person (or a service account) who owns devices, runners and sessions."""

    id: str
    name: str
    is_admin: bool = False
    created_at: float = 0.0
    disabled_at: float | None = None

    def public(self) -> UserRow:
        """What the API shows."""
        return {"id": self.id, "name": self.name, "is_admin": self.is_admin}


@dataclass(frozen=True, slots=True)
class Device:
    """A paired CLI, runner or browser; `fingerprint` is the hash of its device key."""

    id: str
    user_id: str
    name: str
    kind: str
    fingerprint: str
    created_at: float
    last_seen: float | None = None
    revoked_at: float | None = None
    revoked_reason: str | None = None

    @property
    def revoked(self) -> bool:
        """Has it been revoked?"""
        return self.revoked_at is not None

    def public(self) -> DeviceRow:
        """What the API shows (the fingerprint is not a secret, but nobody needs it)."""
        data = asdict(self)
        data.pop("fingerprint")
        return cast("DeviceRow", data)


@dataclass(frozen=True, slots=True)
class ShareLink:
    """A read-only, expiring, revocable follower grant for one session."""

    id: str
    session_id: str
    user_id: str
    created_at: float
    expires_at: float
    revoked_at: float | None = None

    def public(self) -> ShareRow:
        """What the API shows."""
        return cast("ShareRow", asdict(self))


@dataclass(frozen=True, slots=True)
class AuditRow:
    """One line of the audit log, as it is appended (`details`: what the action wants
    kept, ids only, never a secret)."""

    ts: float
    action: str
    actor: str | None
    user_id: str | None
    device_id: str | None
    address: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditEntry(AuditRow):
    """One line of the audit log as read back: the row and where it stands in the log."""

    id: int = field(kw_only=True)

    def public(self) -> AuditShape:
        """What the API and `tether audit --json` show (the id first, as the log reads)."""
        data = asdict(self)
        return cast("AuditShape", {"id": data.pop("id"), **data})


@dataclass(frozen=True, slots=True)
class Pairing:
    """What a device gets when it redeems a code."""

    device: Device
    user: User
    refresh_token: str


@dataclass(frozen=True, slots=True)
class Refreshed:
    """A rotated refresh token and a fresh session token."""

    device: Device
    refresh_token: str
    access_token: str
    expires_in: float
