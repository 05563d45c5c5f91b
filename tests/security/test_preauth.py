"""Before anyone is authenticated, a socket costs the hub next to nothing (issue #11,
finding 6), attacked on a real `tether up`: eight 14 MiB first frames are each refused
by their length (1009) while `/healthz` keeps answering; one address cannot hold more
than a few unauthenticated sockets; a socket that never sends `auth` is closed soon.
(The latency figures: bench/preauth.py.)"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.security.attacker import UpProcess, tether_up, traversable_home
from tests.support.timing import scaled
from tether.hub.hub import MAX_PREAUTH_PER_ADDRESS
from tether.hub.ws_auth import MAX_AUTH_FRAME_BYTES

# 14 MiB of JSON that would be costly to parse (seven million tiny list items).
HUGE_FRAME = (
    '{"v": 1, "type": "auth", "payload": {"token": "x", "pad": [' + "0," * (7 << 20) + "0]}}"
)


@pytest.fixture(scope="module")
def up() -> Iterator[UpProcess]:
    with tether_up(traversable_home()) as hub:
        yield hub


def stream_url(up: UpProcess, session: str = "s_anything") -> str:
    return up.url.replace("http://", "ws://") + f"/v1/sessions/{session}/stream"


async def closed(ws: ClientConnection, within: float = 30) -> tuple[int, str]:
    """Wait for the hub to close `ws`; (code, reason)."""
    try:
        async with asyncio.timeout(scaled(within)):
            while True:
                await ws.recv()
    except ConnectionClosed as exc:
        assert exc.rcvd is not None, f"no close frame ({exc})"
        return exc.rcvd.code, exc.rcvd.reason
    raise AssertionError("unreachable")


async def huge_first_frame(up: UpProcess) -> tuple[int, str]:
    async with connect(stream_url(up), max_size=None, open_timeout=scaled(30)) as ws:
        with contextlib.suppress(ConnectionClosed):
            await ws.send(HUGE_FRAME)
        return await closed(ws)


async def test_eight_huge_first_frames_are_refused_and_healthz_keeps_answering(
    up: UpProcess,
) -> None:
    answered: list[int] = []
    attack_done = asyncio.Event()

    async def probe() -> None:
        async with httpx.AsyncClient(base_url=up.url, timeout=scaled(10)) as http:
            while not attack_done.is_set():
                answered.append((await http.get("/healthz")).status_code)
                await asyncio.sleep(0.02)

    prober = asyncio.create_task(probe())
    try:
        outcomes = await asyncio.gather(*(huge_first_frame(up) for _ in range(8)))
    finally:
        attack_done.set()
        await prober
    for code, reason in outcomes:
        assert code == 1009, (code, reason)
        assert f"at most {MAX_AUTH_FRAME_BYTES} bytes" in reason
    assert answered and set(answered) == {200}, answered


async def test_one_address_holds_only_a_few_unauthenticated_sockets(up: UpProcess) -> None:
    async with contextlib.AsyncExitStack() as stack:
        idle = [
            await stack.enter_async_context(connect(stream_url(up), open_timeout=scaled(30)))
            for _ in range(MAX_PREAUTH_PER_ADDRESS)
        ]
        one_more = await stack.enter_async_context(connect(stream_url(up)))
        code, reason = await closed(one_more)
        assert code == 1008 and "too many unauthenticated connections" in reason
        # The idle ones are not kept for long either: no `auth`, then 4001.
        for ws in idle:
            assert (await closed(ws))[0] == 4001


async def test_a_socket_that_never_authenticates_is_closed_soon(up: UpProcess) -> None:
    async with connect(stream_url(up), open_timeout=scaled(30)) as ws:
        code, _reason = await closed(ws, within=15)
        assert code == 4001
