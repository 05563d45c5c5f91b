"""The audit log's writer (`AuditLog`): every entry goes straight to the append-only table, except
failed authentication, which anyone can cause as often as they like and is therefore
aggregated per source address and minute.

For each (action, address) the first failure of a minute is written at once, in full;
the rest are counted in memory and written as one summary row when that minute closes
(or at shutdown). Every failed-auth row carries `count` — 1 for the first, N for a
summary — so the number of failures is the sum of the counts. At most
`max_sources` (action, address) pairs get their own rows in one minute; failures from
further addresses share one summary row per action (address `*`, with how many distinct
addresses it covers), so rotating source addresses cannot grow the log faster either.
The table stays append-only: nothing is ever updated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tether.auth.records import AuditEntry, AuditRow

if TYPE_CHECKING:
    from tether.auth.db import AuthDb
    from tether.auth.principal import Principal

log = logging.getLogger("tether.auth")

FAILED_AUTH_ACTIONS = frozenset(
    {"auth_failed", "pairing_failed", "pairing_rate_limited", "token_refresh_failed"}
)
"""Actions anyone can cause without credentials: aggregated."""
WINDOW_S = 60.0
MAX_SOURCES_PER_WINDOW = 100
OVERFLOW_ADDRESS = "*"
_MAX_REASONS = 10
_MAX_DISTINCT_TRACKED = 100_000


WriteRow = Callable[[AuditRow], Awaitable[None]]


@dataclass(slots=True)
class _Repeats:
    """Failures of one (action, address) this minute after the first one."""

    count: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    addresses: set[str] = field(default_factory=set)


class FailedAuthLog:
    """Aggregates failed-auth rows per (action, source address) and minute."""

    def __init__(
        self,
        write: WriteRow,
        clock: Callable[[], float],
        *,
        window_s: float = WINDOW_S,
        max_sources: int = MAX_SOURCES_PER_WINDOW,
    ) -> None:
        self._write = write
        self._clock = clock
        self.window_s = window_s
        self.max_sources = max_sources
        self._window: float | None = None
        self._repeats: dict[tuple[str, str], _Repeats] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()

    def _window_of(self, ts: float) -> float:
        return math.floor(ts / self.window_s) * self.window_s

    async def failed(self, row: AuditRow) -> None:
        """Note one failed authentication (written now if it is the first of its kind)."""
        window = self._window_of(row.ts)
        if self._window is not None and window > self._window:
            await self._flush()
        self._window = window if self._window is None else max(self._window, window)
        address = row.address or ""
        key = (row.action, address)
        if key not in self._repeats and len(self._repeats) >= self.max_sources:
            key = (row.action, OVERFLOW_ADDRESS)
        repeats = self._repeats.get(key)
        if repeats is None:
            self._repeats[key] = _Repeats()
            self._arm_timer(window)
            row.details["count"] = 1
            await self._write(row)
            return
        repeats.count += 1
        reason = str(row.details.get("why") or row.details.get("path") or "")
        if reason in repeats.reasons or len(repeats.reasons) < _MAX_REASONS:
            repeats.reasons[reason] += 1
        else:
            repeats.reasons["(other)"] += 1
        if key[1] == OVERFLOW_ADDRESS and len(repeats.addresses) < _MAX_DISTINCT_TRACKED:
            repeats.addresses.add(address)

    async def flush_closed(self) -> None:
        """Write the summaries of a minute that has closed."""
        if self._window is not None and self._clock() >= self._window + self.window_s:
            await self._flush()

    async def close(self) -> None:
        """Write every pending summary (at shutdown: nothing counted is lost)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._flushes:
            await asyncio.gather(*self._flushes, return_exceptions=True)
        await self._flush()

    async def _flush(self) -> None:
        window, pending = self._window, self._repeats
        self._window, self._repeats = None, {}
        if window is None:
            return
        for (action, address), repeats in pending.items():
            if repeats.count == 0:
                continue
            details: dict[str, Any] = {
                "count": repeats.count,
                "summary": True,
                "window_start": window,
                "window_s": self.window_s,
                "reasons": dict(repeats.reasons),
            }
            if address == OVERFLOW_ADDRESS:
                details["addresses"] = len(repeats.addresses)
            await self._write(
                AuditRow(window + self.window_s, action, None, None, None, address or None, details)
            )

    def _arm_timer(self, window: float) -> None:
        """Flush when the minute closes, even if no further failure comes to trigger it."""
        if self._timer is not None:
            return
        delay = max(0.0, window + self.window_s - self._clock()) + 0.1
        self._timer = asyncio.get_running_loop().call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        task = asyncio.get_running_loop().create_task(self._timed_flush())
        self._flushes.add(task)
        task.add_done_callback(self._flushes.discard)

    async def _timed_flush(self) -> None:
        try:
            await self.flush_closed()
        except Exception:
            log.exception("writing the failed-auth summary to the audit log failed")
        if self._window is not None:
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._arm_timer(self._window)


class AuditLog:
    """Appends to the audit log of one hub; failed authentication goes through
    `FailedAuthLog` so that nobody can grow the log without bound."""

    def __init__(self, db: AuthDb, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock
        self.failures = FailedAuthLog(self._append, clock)

    async def record(
        self,
        action: str,
        principal: Principal | None = None,
        *,
        address: str | None = None,
        **details: Any,
    ) -> None:
        """Append one entry (never a secret: callers pass ids only). Without a principal,
        `user_id=` and `device_id=` in `details` fill those columns."""
        actor = principal.label if principal else None
        user_id = principal.user_id if principal else details.pop("user_id", None)
        device_id = principal.device_id if principal else details.pop("device_id", None)
        row = AuditRow(self.clock(), action, actor, user_id, device_id, address, details)
        if action in FAILED_AUTH_ACTIONS:
            await self.failures.failed(row)
        else:
            await self._append(row)

    async def hook(self, action: str, principal: Principal, **details: Any) -> None:
        """The hub's `app.state.audit(action, principal, **details)`."""
        await self.record(action, principal, **details)

    async def entries(self, since: float = 0.0, limit: int = 1000) -> list[AuditEntry]:
        """Entries at or after `since`, oldest first."""
        return await self.db.audit(since, limit)

    async def close(self) -> None:
        """Write the pending failed-auth summaries (before the store closes)."""
        await self.failures.close()

    async def _append(self, row: AuditRow) -> None:
        await self.db.append_audit(row)
