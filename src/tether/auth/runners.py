"""Who owns a runner id: the device and user that first registered it, for good.

A runner's id is chosen by whoever pairs it, so it proves nothing by itself; what the
hub trusts is the owner recorded here (store migration 4) the first time a device
claimed the id. The rule, one atomic step on the store's writer (docs/decisions.md,
"Runner ownership"):

| claimant                                 | outcome   | allowed                           |
| ---------------------------------------- | --------- | --------------------------------- |
| nobody owns the id yet                   | `claimed` | yes                               |
| the owner device itself                  | `owned`   | yes                               |
| a *newer* device of the owner's user     | `moved`   | yes: re-pairing keeps the id      |
| an older (or as old) device of that user | `stale`   | no: the id moved to a newer one   |
| a device of any other user               | `taken`   | no: online or not, for good       |

Ownership never passes to another user: not when the owner goes offline, not when its
device is revoked, not when the owner's user is disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from tether.auth.db import SqlStore
from tether.store.sql import ALL, ONE, Op, Query

if TYPE_CHECKING:
    from tether.auth.audit import AuditLog
    from tether.auth.principal import Principal

ClaimOutcome = Literal["claimed", "owned", "moved", "stale", "taken"]
ALLOWED_OUTCOMES: frozenset[str] = frozenset({"claimed", "owned", "moved"})


@dataclass(frozen=True, slots=True)
class RunnerOwner:
    """The recorded owner of a runner id."""

    user_id: str
    device_id: str
    claimed_at: float


@dataclass(frozen=True, slots=True)
class RunnerClaim:
    """What a claim did. `owner` is who owns the id afterwards — for a refused claim, the
    one who refused it (for the audit row; never shown to the claimant)."""

    outcome: ClaimOutcome
    runner_id: str
    owner: RunnerOwner
    previous_device: str | None = None
    """For `moved`: the device that owned the id until now."""

    @property
    def allowed(self) -> bool:
        """May the claimant serve as this runner id?"""
        return self.outcome in ALLOWED_OUTCOMES

    def refusal(self) -> str | None:
        """What to tell a refused claimant (nothing about the owner); None if allowed."""
        if self.outcome == "taken":
            return (
                f"runner id {self.runner_id!r} belongs to another user;"
                " start this runner with another --runner-id"
            )
        if self.outcome == "stale":
            return (
                f"runner id {self.runner_id!r} now belongs to a newer device of yours;"
                " pair this runner again (`tether runner --pair CODE`) or pick another"
                " --runner-id"
            )
        return None


def _created_at(device_id: str) -> Op[float | None]:
    row = yield Query("SELECT created_at FROM devices WHERE id=?", (device_id,), ONE)
    return float(row[0]) if row else None


def claim_op(runner_id: str, device_id: str, user_id: str, now: float) -> Op[RunnerClaim]:
    """The claim as one operation, so one transaction (see the module's table)."""
    yield Query(
        "INSERT INTO runners (id, version, teams, last_seen) VALUES (?, '', '[]', ?)"
        " ON CONFLICT(id) DO NOTHING",
        (runner_id, now),
    )
    owner_user, owner_device, claimed_at = yield Query(
        "SELECT owner_user, owner_device, claimed_at FROM runners WHERE id=?",
        (runner_id,),
        ONE,
        lock=True,
    )
    if owner_user is None or owner_device is None:
        yield Query(
            "UPDATE runners SET owner_user=?, owner_device=?, claimed_at=? WHERE id=?",
            (user_id, device_id, now, runner_id),
        )
        return RunnerClaim("claimed", runner_id, RunnerOwner(user_id, device_id, now))
    current = RunnerOwner(str(owner_user), str(owner_device), float(claimed_at or 0.0))
    if owner_device == device_id:
        return RunnerClaim("owned", runner_id, current)
    if owner_user != user_id:
        return RunnerClaim("taken", runner_id, current)
    mine = yield from _created_at(device_id)
    theirs = yield from _created_at(str(owner_device))
    if mine is None or (theirs is not None and mine <= theirs):
        return RunnerClaim("stale", runner_id, current)
    yield Query(
        "UPDATE runners SET owner_device=?, claimed_at=? WHERE id=?", (device_id, now, runner_id)
    )
    return RunnerClaim(
        "moved", runner_id, RunnerOwner(user_id, device_id, now), previous_device=current.device_id
    )


def _owner(runner_id: str) -> Op[RunnerOwner | None]:
    row = yield Query(
        "SELECT owner_user, owner_device, claimed_at FROM runners WHERE id=?", (runner_id,), ONE
    )
    if row is None or row[0] is None or row[1] is None:
        return None
    return RunnerOwner(str(row[0]), str(row[1]), float(row[2] or 0.0))


def _owned_by(user_id: str) -> Op[list[str]]:
    rows = yield Query("SELECT id FROM runners WHERE owner_user=? ORDER BY id", (user_id,), ALL)
    return [str(r[0]) for r in rows]


_AUDIT_ACTION = {
    "claimed": "runner_claimed",
    "moved": "runner_moved",
    "stale": "runner_claim_refused",
    "taken": "runner_claim_refused",
}


class RunnerRegistry:
    """Runner ownership in the store (the hub's runner socket asks it before `welcome`)."""

    def __init__(self, store: SqlStore, audit: AuditLog, clock: Callable[[], float]) -> None:
        self.store = store
        self.audit = audit
        self.clock = clock

    async def claim_runner(self, runner_id: str, device_id: str, user_id: str) -> RunnerClaim:
        """Claim `runner_id` for a device of a user, atomically; durable once this returns."""
        now = self.clock()
        return await self.store.run_write(claim_op(runner_id, device_id, user_id, now))

    async def claim(
        self, principal: Principal, runner_id: str, *, address: str | None = None
    ) -> RunnerClaim:
        """`claim_runner` for an authenticated runner device, with its audit row
        (`runner_claimed`, `runner_moved`, or `runner_claim_refused` naming the owner)."""
        if principal.device_id is None or principal.user_id is None:
            raise ValueError("only a paired device can claim a runner id")
        claim = await self.claim_runner(runner_id, principal.device_id, principal.user_id)
        action = _AUDIT_ACTION.get(claim.outcome)
        if action is not None:
            details: dict[str, object] = {"runner": runner_id, "outcome": claim.outcome}
            if claim.previous_device is not None:
                details["previous_device"] = claim.previous_device
            if not claim.allowed:
                details["owner_user"] = claim.owner.user_id
                details["owner_device"] = claim.owner.device_id
            await self.audit.record(action, principal, address=address, **details)
        return claim

    async def owner(self, runner_id: str) -> RunnerOwner | None:
        """The recorded owner of a runner id (None: unknown or never claimed)."""
        return await self.store.run_read(_owner(runner_id))

    async def owned_by(self, user_id: str) -> list[str]:
        """The runner ids a user owns."""
        return await self.store.run_read(_owned_by(user_id))
