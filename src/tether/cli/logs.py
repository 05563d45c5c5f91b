"""Log lines of the long-running commands (`up`, `hub`, `runner`, `mcp`) on stderr.

Start-up is chatty at INFO (migrations, "runner connected" …). A person starting `tether up`
wants the banner — where it listens, the sign-in link — first, so routine lines are held
until the command says it is ready and then written after the banner, in order. Warnings
and errors are never held.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

_HELD_AT_MOST = 10_000


class HeldUntilReady(logging.Handler):
    """Passes records to `target`, holding those below WARNING until `end_hold()`."""

    def __init__(self, target: logging.Handler) -> None:
        super().__init__()
        self.target = target
        self.held: list[logging.LogRecord] | None = []

    def emit(self, record: logging.LogRecord) -> None:
        """Hold a routine record while start-up runs; hand on everything else."""
        held = self.held
        if held is not None and record.levelno < logging.WARNING and len(held) < _HELD_AT_MOST:
            held.append(record)
        else:
            self.target.handle(record)

    def end_hold(self) -> None:
        """Write what was held, then stop holding (safe to call more than once)."""
        held, self.held = self.held, None
        for record in held or []:
            self.target.handle(record)


def setup_logging(verbose: bool) -> Callable[[], None]:
    """Plain logs on stderr (DEBUG with -v); returns the function that ends the hold."""
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    held = HeldUntilReady(stream)
    root = logging.getLogger()
    root.addHandler(held)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("websockets", "uvicorn.error", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return held.end_hold
