"""Which of a runner's sessions are idle, since when: for `idle_timeout` and `max_processes`.

A session that has been idle (no turn running, no permission request open) for its
team's `idle_timeout` is put to sleep: its agent process is stopped and the session
ends with an `exited` event saying why; resume it to continue. When a new session
would exceed `max_processes`, the least recently used idle session is stopped to make
room; if every session is busy the new one is refused.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tether.protocol.states import SessionState, SessionTracker

IDLE_REASON = "asleep: idle for {seconds:g} s (idle_timeout); a message wakes it"
EVICT_REASON = "evicted: the runner reached max_processes = {limit} and this was the least"
EVICT_REASON += " recently used idle session; a message wakes it"


@dataclass
class _Activity:
    tracker: SessionTracker = field(default_factory=SessionTracker)
    last_active: float = field(default_factory=time.monotonic)
    seq: int = 0


class SessionPool:
    """Follows the events of live sessions to know which are idle and for how long."""

    def __init__(self) -> None:
        self._sessions: dict[str, _Activity] = {}

    def observe(self, session_id: str, payload: dict[str, Any]) -> None:
        """Note an event of a session (any event counts as activity)."""
        activity = self._sessions.setdefault(session_id, _Activity())
        activity.seq += 1
        activity.tracker.apply(activity.seq, payload)
        activity.last_active = time.monotonic()
        if activity.tracker.state == SessionState.EXITED:
            self._sessions.pop(session_id, None)

    def idle_for(self, session_id: str, now: float | None = None) -> float | None:
        """Seconds the session has been idle, or None if it is busy / unknown."""
        activity = self._sessions.get(session_id)
        if activity is None or activity.tracker.state != SessionState.IDLE:
            return None
        return (time.monotonic() if now is None else now) - activity.last_active

    def least_recently_used_idle(self, session_ids: Iterable[str]) -> str | None:
        """The idle session among `session_ids` that was active longest ago."""
        now = time.monotonic()
        idle = [(self.idle_for(s, now), s) for s in session_ids]
        candidates = [(seconds, s) for seconds, s in idle if seconds is not None]
        return max(candidates)[1] if candidates else None
