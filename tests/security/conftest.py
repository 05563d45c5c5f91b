"""Fixtures the security tests share."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.attacker import traversable_home


@pytest.fixture
def home() -> Iterator[Path]:
    """A home-like directory other users can traverse, removed afterwards."""
    path = traversable_home()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
