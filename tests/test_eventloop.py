"""Which loop the long-running commands get, and what a wrong TETHER_EVENT_LOOP says."""

from __future__ import annotations

import asyncio

import pytest

from tether.errors import TetherError
from tether.eventloop import ENV, loop_factory


def test_uvloop_is_the_default_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    uvloop = pytest.importorskip("uvloop")
    monkeypatch.delenv(ENV, raising=False)
    factory = loop_factory()
    assert factory is not None
    loop = factory()
    try:
        assert isinstance(loop, uvloop.Loop)
        assert loop.run_until_complete(asyncio.sleep(0, "ran")) == "ran"
    finally:
        loop.close()


def test_asyncio_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "asyncio")
    assert loop_factory() is None


def test_an_unknown_loop_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "trio")
    with pytest.raises(TetherError, match="TETHER_EVENT_LOOP='trio' is not a loop") as caught:
        loop_factory()
    assert "auto, uvloop or asyncio" in str(caught.value.hint)
