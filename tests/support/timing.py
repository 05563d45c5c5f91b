"""Generous, scalable timeouts for tests (TETHER_TEST_TIMEOUT_SCALE multiplies them all)."""

from __future__ import annotations

import os


def scaled(seconds: float) -> float:
    """`seconds` times TETHER_TEST_TIMEOUT_SCALE (default 1)."""
    return seconds * float(os.environ.get("TETHER_TEST_TIMEOUT_SCALE", "1"))
