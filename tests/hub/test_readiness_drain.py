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
from tests.e2e.watching import Watcher, chunk_numbers
from tests.support.procs import wait_until
from tests.support.timing import scaled

pytestmark = pytest.mark.e2e


async def test_sigterm_closes_sockets_with_reconnect_and_everyone_comes_back(
    tmp_path: Path,
) -> None:
    total = 60
    with await Cluster(tmp_path, demo_delay=0.04).start_async() as cluster:
        session = cluster.start_session()
        watcher = await Watcher.connect(cluster, session)
        raw = await connect(
            cluster.url.replace("http://", "ws://") + f"/v1/sessions/{session}/stream",
            additional_headers={"Authorization": f"Bearer {cluster.token()}"},
        )
        await watcher.remote.send_message(f"long {total}")

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
        await watcher.until_turn_finished()
        await watcher.remote.close()
        stored = await asyncio.to_thread(cluster.events, session)
        assert_gap_free([e["seq"] for e in stored])
        assert chunk_numbers([e["payload"] for e in stored]) == list(range(1, total + 1))
        # the viewer resumed: no gap, no duplicate
        assert watcher.seen == [e["seq"] for e in stored]
        assert watcher.drops  # it did see the drain
        assert "closed (4011)" in cluster.log("runner")  # the runner was told to reconnect
        assert "Traceback" not in cluster.log("hub")
