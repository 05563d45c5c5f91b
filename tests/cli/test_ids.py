"""Id prefixes: the full id, a unique start of one, none, several."""

from __future__ import annotations

import pytest

from tether.cli.ids import AmbiguousId, resolve, with_id
from tether.errors import Forbidden, NotFound

IDS = ["d_iMP1abcdefgh", "d_iMP2abcdefgh", "d_xyz000000000"]


def test_a_full_id_and_a_unique_prefix_resolve() -> None:
    assert resolve("device", "d_xyz000000000", IDS, "tether devices") == "d_xyz000000000"
    assert resolve("device", "d_x", IDS, "tether devices") == "d_xyz000000000"
    assert resolve("device", "d_iMP1", IDS, "tether devices") == "d_iMP1abcdefgh"


def test_an_ambiguous_prefix_names_the_candidates() -> None:
    with pytest.raises(AmbiguousId) as caught:
        resolve("device", "d_iMP", IDS, "tether devices")
    assert "d_iMP1abcdefgh" in caught.value.message and "d_iMP2abcdefgh" in caught.value.message
    assert "2 device ids" in caught.value.message and caught.value.hint


def test_no_match_says_where_to_look() -> None:
    with pytest.raises(NotFound) as caught:
        resolve("device", "d_nope", IDS, "tether devices")
    assert "d_nope" in caught.value.message and "tether devices" in str(caught.value.hint)


def test_an_empty_prefix_is_not_a_wildcard() -> None:
    with pytest.raises(AmbiguousId):
        resolve("device", "", IDS, "tether devices")


class Hub:
    """What a hub would answer: ids it knows; calls with anything else are not found."""

    def __init__(self, listing_error: Exception | None = None) -> None:
        self.calls: list[str] = []
        self.listed = 0
        self.listing_error = listing_error

    async def call(self, given: str) -> str:
        self.calls.append(given)
        if given not in IDS:
            raise NotFound(f"no device {given}")
        return f"done {given}"

    async def ids(self) -> list[str]:
        self.listed += 1
        if self.listing_error is not None:
            raise self.listing_error
        return IDS


async def test_a_full_id_costs_no_listing() -> None:
    hub = Hub()
    assert await with_id("device", IDS[0], hub.call, hub.ids, "x") == f"done {IDS[0]}"
    assert hub.listed == 0 and hub.calls == [IDS[0]]


async def test_a_prefix_is_tried_then_resolved_then_done_once() -> None:
    hub = Hub()
    assert await with_id("device", "d_x", hub.call, hub.ids, "x") == "done d_xyz000000000"
    assert hub.calls == ["d_x", "d_xyz000000000"] and hub.listed == 1


async def test_when_listing_is_not_allowed_the_hubs_own_answer_stands() -> None:
    hub = Hub(listing_error=Forbidden("share links cannot list"))
    with pytest.raises(NotFound, match="no device d_x"):
        await with_id("device", "d_x", hub.call, hub.ids, "x")
