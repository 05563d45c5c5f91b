"""Whether the store takes writes: what `/readyz` reports, said once in the log.

A full disk or a read-only database fails every write until someone acts, and a hub
under load writes hundreds of times a second: logging each failure would bury the one
line that matters. So a store notes each outcome here, and only a change is logged — the
first refusal, and the first write that works again.
"""

from __future__ import annotations

import logging

from tether.errors import StoreError

log = logging.getLogger("tether.store")


class WriteHealth:
    """The outcome of a store's latest write: None while writes work, else the refusal."""

    def __init__(self, where: str) -> None:
        self.where = where
        self.problem: StoreError | None = None
        self.refusals = 0
        """Writes refused since the store last took one (how long the outage has been)."""

    def refused(self, error: StoreError) -> None:
        """A write was refused for a reason of the store's own (disk, database), not the
        caller's; the first of a run is logged."""
        self.refusals += 1
        if self.problem is None:
            log.error(
                "the store refuses writes (%s); nothing is acknowledged until it takes them"
                " again (runners keep their events and resend)",
                error.message,
            )
        self.problem = error

    def took(self) -> None:
        """A write was durable: a refusal before it is over (logged once)."""
        if self.problem is not None:
            log.warning(
                "the store at %s takes writes again (after %d refused)", self.where, self.refusals
            )
        self.problem = None
        self.refusals = 0
