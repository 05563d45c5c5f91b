"""The garbage collector of tether's long-running processes: no long pauses.

A hub with a thousand sessions (or `tether up`: hub and runner in one process) holds
hundreds of thousands of objects that Python's cyclic collector tracks, and each full
collection walked them all, stopping the event loop for up to half a second several
times a minute (bench/README.md, `scale`: live p99 474 ms). So after a full collection
what survived it is frozen (`gc.freeze`): later collections walk only what is newer.
Once an hour the frozen objects are let go again (`gc.unfreeze`), so that the next full
collection frees cycles among old objects that have become garbage since: one long
pause an hour instead of several a minute, and no leak.

`TETHER_GC=default` keeps Python's own behaviour.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from typing import Any

ENV = "TETHER_GC"
THAW_EVERY_S = 3600.0


class FreezeSurvivors:
    """A `gc.callbacks` entry: freeze what survives each full collection, except once
    every `thaw_every_s`, when it unfreezes instead."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, thaw_every_s: float = THAW_EVERY_S
    ) -> None:
        self.clock = clock
        self.thaw_every_s = thaw_every_s
        self.next_thaw = clock() + thaw_every_s

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info.get("generation") != 2:
            return
        now = self.clock()
        if now >= self.next_thaw:
            self.next_thaw = now + self.thaw_every_s
            gc.unfreeze()  # the next full collection walks (and frees) everything once
        else:
            gc.freeze()


def install() -> FreezeSurvivors | None:
    """Set the collector up for a long-running process (unless TETHER_GC=default)."""
    if os.environ.get(ENV, "").strip().lower() == "default":
        return None
    policy = FreezeSurvivors()
    gc.callbacks.append(policy)
    return policy
