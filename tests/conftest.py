"""Shared test setup: subprocesses run this checkout's code; timeouts scale with one variable."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"

# Subprocesses (`python -m tether …`, agents) must import this checkout's code.
os.environ["PYTHONPATH"] = os.pathsep.join(
    [str(SRC), *[p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]]
)
if str(SRC) not in sys.path:
    sys.path.insert(0, str(SRC))
# Tests never touch the developer's real ~/.tether.
os.environ.pop("TETHER_HUB", None)
os.environ.pop("TETHER_TOKEN", None)


@pytest.fixture(autouse=True)
def _isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TETHER_HOME", str(tmp_path_factory.mktemp("tether-home")))


@pytest.fixture(params=["sqlite", "postgres"])
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """An open, empty store of each kind (PostgreSQL: a fresh database, dropped after)."""
    from tests.support.stores import opened, pg_store
    from tether.store.sqlite import SqliteStore

    kind = opened(SqliteStore(tmp_path / "tether.db")) if request.param == "sqlite" else pg_store()
    async with kind as store:
        yield store
