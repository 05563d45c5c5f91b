"""Watching sessions from inside the hub: "these events of session S are now durable",
and "who is connected to S changed". The MCP endpoint's wake-ups and the notifier build
on this; they read the log (the store), never the sockets."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from tether.store.base import StoredEvent

log = logging.getLogger("tether.hub")


@dataclass(frozen=True, slots=True)
class SessionChange:
    """Something about one session changed."""

    session_id: str
    durable: tuple[StoredEvent, ...] = ()
    """Events that are stored now, in seq order with no gap; empty when only the
    session's presence changed (a viewer or its runner came or went)."""


Observer = Callable[[SessionChange], None]
"""Called on the event loop right after the change: it must not block (schedule work)."""


class Observers:
    """Everyone watching the hub's sessions."""

    def __init__(self) -> None:
        self._observers: list[Observer] = []

    def subscribe(self, observer: Observer) -> Callable[[], None]:
        """Call `observer` on every change from now on; returns how to stop."""
        self._observers.append(observer)

        def unsubscribe() -> None:
            if observer in self._observers:
                self._observers.remove(observer)

        return unsubscribe

    def publish(self, change: SessionChange) -> None:
        """Tell every observer (one that fails is logged; the others still hear)."""
        for observer in list(self._observers):
            try:
                observer(change)
            except Exception:
                log.exception("a session observer failed on %s", change.session_id)
