"""The event loop of tether's long-running processes: uvloop when it is installed.

`tether hub`, `tether runner` and `tether up` spend their time in the
event loop (a wake-up per frame, per pipe read, per store write); uvloop's loop does the
same work in C for a fraction of the CPU. Short commands (`tether send`, `sessions`) keep
the standard loop: importing uvloop would cost them more than it saves.

`TETHER_EVENT_LOOP=asyncio` turns uvloop off (to compare, or to rule it out when
something misbehaves); `TETHER_EVENT_LOOP=uvloop` insists on it (an error if missing).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from tether.errors import TetherError

ENV = "TETHER_EVENT_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None for the standard asyncio loop."""
    choice = os.environ.get(ENV, "auto").strip().lower() or "auto"
    if choice not in ("auto", "uvloop", "asyncio"):
        raise TetherError(
            f"{ENV}={choice!r} is not a loop tether knows",
            hint=f"set {ENV} to auto, uvloop or asyncio (or unset it)",
        )
    if choice == "asyncio":
        return None
    try:
        import uvloop
    except ImportError:
        if choice == "uvloop":
            raise TetherError(
                f"{ENV}=uvloop, but uvloop is not installed", hint="pip install uvloop"
            ) from None
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory
