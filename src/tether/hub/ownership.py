"""Who may take a session's owner slot from whoever holds it, and how the people involved
are named in the messages about it.

A user may take the slot of their own session from any of their devices (`tether attach
--take`, `tether send --take`, the web UI's button): when the holder is another device —
or connection — of the same user, or the taker started the session. Nobody takes it from
another user otherwise, and a read-only principal (a share link) never does. Without
`--take` a second device stays a follower and its refusal names `--take`.
"""

from __future__ import annotations

from tether.auth.principal import Principal
from tether.auth.service import AuthService
from tether.hub.live import LiveSession
from tether.hub.seams import OwnerClaim


async def owner_user(auth: AuthService, holder: OwnerClaim) -> str | None:
    """The user behind the connection that holds the slot (its device's user)."""
    device = await auth.device(holder.principal_id)
    return device.user_id if device is not None else None


async def same_user(auth: AuthService, holder: OwnerClaim | None, principal: Principal) -> bool:
    """Is the slot held by another device (or connection) of `principal`'s user?"""
    if holder is None or principal.read_only or principal.user_id is None:
        return False
    if holder.principal_id == principal.id:
        return True
    return await owner_user(auth, holder) == principal.user_id


async def refuse_take(
    auth: AuthService, live: LiveSession, holder: OwnerClaim | None, principal: Principal
) -> str | None:
    """Why `principal` may not take the slot, or None when it may."""
    if principal.read_only or principal.kind != "user":
        return "read-only link: you can watch this session but not steer it"
    if holder is None or await same_user(auth, holder, principal):
        return None
    if principal.user_id is not None and live.record.created_by == principal.user_id:
        return None  # the session is theirs
    return f"{holder.label} owns this session; --take takes it only from your own devices"


async def device_label(auth: AuthService, principal: Principal) -> str:
    """`admin (laptop)`: the user's name and, when known, the device's."""
    device = await auth.device(principal.device_id) if principal.device_id else None
    return f"{principal.label} ({device.name})" if device is not None else principal.label


async def holder_label(auth: AuthService, holder: OwnerClaim) -> str:
    """The holder as `admin (laptop)`."""
    device = await auth.device(holder.principal_id)
    return f"{holder.label} ({device.name})" if device is not None else holder.label


async def write_refusal(
    auth: AuthService, holder: OwnerClaim | None, principal: Principal
) -> tuple[str, str]:
    """What an HTTP write without `--take` is told while someone else owns the session."""
    if principal.read_only:
        return (
            "read-only link: this link can watch the session but not steer it",
            "ask the session's owner to steer it",
        )
    who = await holder_label(auth, holder) if holder is not None else "another viewer"
    if holder is not None and holder.principal_id == principal.id:
        return (
            f"another connection of this device, {who}, owns this session",
            "`--take` (`tether send --take`, `tether attach --take`) takes the owner slot"
            " from it; it stays connected as a follower",
        )
    if await same_user(auth, holder, principal):
        return (
            f"your other device {who} owns this session",
            "`tether send --take` (or `stop --take`, `attach --take`, the web UI's Take"
            " ownership) takes the owner slot from it; it stays connected as a follower",
        )
    return (
        f"{who} owns this session; only the owner can send",
        "wait for them to leave (`tether attach --follow` watches meanwhile)",
    )
