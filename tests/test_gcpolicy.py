"""Long-running processes freeze what survives a full collection (no long pauses), and
let it go once in a while so that old garbage cycles are still freed."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from tether import gcpolicy


@pytest.fixture
def clean_gc() -> Iterator[None]:
    before = list(gc.callbacks)
    yield
    gc.callbacks[:] = before
    gc.unfreeze()


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_survivors_of_a_full_collection_are_frozen_then_thawed_within_the_hour(
    clean_gc: None,
) -> None:
    clock = _Clock()
    gc.callbacks.append(gcpolicy.FreezeSurvivors(clock, thaw_every_s=3600))
    gc.collect()
    assert gc.get_freeze_count() > 0  # later collections do not walk these again
    clock.now += 3601
    gc.collect()
    assert gc.get_freeze_count() == 0  # the next full collection walks everything once
    gc.collect()
    assert gc.get_freeze_count() > 0


def test_a_garbage_cycle_among_frozen_objects_is_freed_after_the_thaw(clean_gc: None) -> None:
    class Node:
        other: object = None

    clock = _Clock()
    gc.callbacks.append(gcpolicy.FreezeSurvivors(clock, thaw_every_s=3600))
    a, b = Node(), Node()
    a.other, b.other = b, a
    gc.collect()  # a and b survive (still referenced): frozen
    alive = weakref.ref(a)
    del a, b  # garbage now, but frozen: a collection does not see them
    gc.collect()
    assert alive() is not None
    clock.now += 3601
    gc.collect()  # the thaw
    gc.collect()  # walks everything: the cycle is freed
    assert alive() is None


def test_tether_gc_default_keeps_pythons_own_behaviour(
    clean_gc: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(gcpolicy.ENV, "default")
    assert gcpolicy.install() is None
    assert not [c for c in gc.callbacks if isinstance(c, gcpolicy.FreezeSurvivors)]
    monkeypatch.delenv(gcpolicy.ENV)
    assert isinstance(gcpolicy.install(), gcpolicy.FreezeSurvivors)
