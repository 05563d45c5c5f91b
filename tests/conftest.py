"""Shared test setup: subprocesses run this checkout's code; timeouts scale with one variable."""

from __future__ import annotations

import os
import sys
from pathlib import Path

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
