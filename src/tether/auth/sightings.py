"""When each device was last seen: the last time it presented a token, sent a frame on
its socket, or its socket closed — not only when it last minted a token.

Written to the device's row at most every `SEEN_EVERY_S` while the device keeps being
seen (a write per request would be a write per keystroke of a busy browser), and at
once when asked (`now=True`: a socket closing is its last sighting for a while).
"""

from __future__ import annotations

from collections.abc import Callable

from tether.auth.db import AuthDb

SEEN_EVERY_S = 30.0


class Sightings:
    """Throttled `last_seen` updates of devices."""

    def __init__(self, db: AuthDb, clock: Callable[[], float]) -> None:
        self.db = db
        self.clock = clock
        self._written: dict[str, float] = {}

    async def seen(self, device_id: str | None, *, now: bool = False) -> None:
        """The device was seen just now."""
        if not device_id:
            return
        at = self.clock()
        last = self._written.get(device_id)
        if not now and last is not None and at - last < SEEN_EVERY_S:
            return
        self._written[device_id] = at
        await self.db.touch_device(device_id, at)
