"""SIGTERM to a real `tether hub` process mid-stream (systemd, docker stop, a rolling
deploy): it closes every socket with the `shutdown` code (4011, "reconnect") before it
stops; the runner process and the viewers reconnect to the hub once it is back, and the
log has every event exactly once."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.cluster import Cluster, assert_gap_free
from tests.e2e.test_crashes import chunk_numbers
from tests.support.procs import wait_until
from tests.support.timing import scaled
from tether.client import RemoteSession, SessionEvent, static_token

pytestmark = pytest.mark.e2e


async def test_sigterm_closes_sockets_with_reconnect_and_everyone_comes_back(
    tmp_path: Path,
) -> None:
    cluster = Cluster(tmp_path, demo_delay=0.04)
    await asyncio.to_thread(cluster.start)
    total = 60
    try:
        session = cluster.start_session()
        seen: list[int] = []
        drops: list[str] = []
        remote = RemoteSession(
            cluster.url,
            session,
            static_token(cluster.token()),
            on_event=lambda event: seen.append(event.seq),
            on_disconnected=drops.append,
        )
        await remote.connect()
        raw = await connect(
            cluster.url.replace("http://", "ws://") + f"/v1/sessions/{session}/stream",
            additional_headers={"Authorization": f"Bearer {cluster.token()}"},
        )
        await remote.send_message(f"long {total}")

        def streaming() -> bool:
            return len(chunk_numbers([e["payload"] for e in cluster.events(session)])) >= 10

        await asyncio.to_thread(wait_until, streaming, what="the answer to stream")
        assert cluster.hub_proc is not None
        os.kill(cluster.hub_proc.pid, signal.SIGTERM)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(raw.recv(), scaled(30))
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 4011
        assert "reconnect" in closed.value.rcvd.reason
        assert await asyncio.to_thread(cluster.hub_proc.wait, scaled(30)) == 143

        await asyncio.to_thread(cluster.start_hub)
        iterated: list[SessionEvent] = []

        async def until_turn_finished() -> None:
            async for event in remote:
                iterated.append(event)
                if event.kind == "turn_finished":
                    return

        await asyncio.wait_for(until_turn_finished(), scaled(60))
        await remote.close()
        stored = await asyncio.to_thread(cluster.events, session)
        assert_gap_free([e["seq"] for e in stored])
        assert chunk_numbers([e["payload"] for e in stored]) == list(range(1, total + 1))
        assert seen == [e["seq"] for e in stored]  # the viewer resumed: no gap, no duplicate
        assert drops  # it did see the drain
        assert "closed (4011)" in cluster.log("runner")  # the runner was told to reconnect
        assert "Traceback" not in cluster.log("hub")
    finally:
        cluster.close()
