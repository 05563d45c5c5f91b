"""Which browser tabs are looking at which session: the page reports its visibility, and a
push to the device whose visible tab owns the session is not sent (it is on screen)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class _Report:
    session_id: str
    visible: bool
    at: float


class Visibility:
    """The latest visibility report of each browser device (kept in memory: a report is
    only worth `ttl_s`, and the page repeats it while visible)."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._reports: dict[str, _Report] = {}

    def report(self, device_id: str, session_id: str, visible: bool, now: float) -> None:
        """A tab of `device_id` showing `session_id` became visible or hidden."""
        current = self._reports.get(device_id)
        if not visible and current is not None and current.session_id != session_id:
            return  # a tab of another session went hidden; this one still shows
        self._reports[device_id] = _Report(session_id, visible, now)

    def showing(self, device_id: str, session_id: str, now: float) -> bool:
        """Does `device_id` have a visible tab on `session_id` right now?"""
        current = self._reports.get(device_id)
        return (
            current is not None
            and current.visible
            and current.session_id == session_id
            and now - current.at <= self.ttl_s
        )
