"""Durations and points in time as people type them: `90s`, `10m`, `2h`, `7d`, a date."""

from __future__ import annotations

import re
import time
from datetime import datetime

from tether.errors import ConfigError

_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_span(text: str) -> float:
    """`90s`, `10m`, `2h`, `7d` → seconds."""
    match = _SPAN.match(text.strip().lower())
    if not match:
        raise ConfigError(f"cannot read {text!r} as a duration", hint="write e.g. 30m, 2h or 1d")
    return float(match.group(1)) * _UNIT[match.group(2)]


def parse_since(text: str, option: str = "--since") -> float:
    """A relative span (`1h`: an hour ago), an ISO date/time, or epoch seconds."""
    try:
        return time.time() - parse_span(text)
    except ConfigError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ConfigError(
            f"cannot read {option} {text!r}", hint="write 1h, 2d, 2026-01-31 or 2026-01-31T12:00"
        ) from None
