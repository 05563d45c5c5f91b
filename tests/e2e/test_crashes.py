"""kill -9 of the runner or the hub in the middle of a streamed answer: the log stays whole."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.e2e.cluster import Cluster, assert_gap_free
from tests.e2e.watching import Watcher, chunk_numbers
from tests.support.procs import json_lines, wait_until
from tests.support.timing import scaled

pytestmark = pytest.mark.e2e


def send(cluster: Cluster, session: str, text: str) -> None:
    response = httpx.post(
        f"{cluster.url}/v1/sessions/{session}/messages",
        json={"text": text},
        headers={"Authorization": f"Bearer {cluster.token()}"},
        timeout=10,
    )
    response.raise_for_status()


def test_runner_killed_mid_stream_then_restarted(tmp_path: Path) -> None:
    with Cluster(tmp_path, demo_delay=0.05).start() as cluster:
        session = cluster.start_session()
        send(cluster, session, "long 400")
        wait_until(
            lambda: len(chunk_numbers([e["payload"] for e in cluster.events(session)])) >= 10,
            what="the answer to start streaming",
        )
        cluster.kill_runner()
        cluster.start_runner()
        done = cluster.cli("attach", session, "--after", "0", "--json", timeout=60)
        printed = json_lines(done.stdout)
        assert_gap_free([e["seq"] for e in printed])
        last = printed[-1]
        assert last["kind"] == "exited"
        assert "runner restarted" in last["reason"]
        chunks = chunk_numbers(printed)
        assert chunks == list(range(1, len(chunks) + 1)) and 10 <= len(chunks) < 400
        # The printed log is the stored log.
        stored = cluster.events(session)
        assert [e["seq"] for e in stored] == [e["seq"] for e in printed]
        assert cluster.get(f"/v1/sessions/{session}")["state"] == "exited"


async def test_hub_killed_mid_stream_then_restarted(tmp_path: Path) -> None:
    chunks_total = 80
    with await Cluster(tmp_path, demo_delay=0.04).start_async() as cluster:
        session = cluster.start_session()
        watcher = await Watcher.connect(cluster, session)
        viewer = cluster.attach("viewer", session, "--json", "--follow")
        await asyncio.to_thread(viewer.wait_stderr, "as follower")
        await watcher.remote.send_message(f"long {chunks_total}")
        await asyncio.to_thread(
            lambda: wait_until(lambda: len(chunk_numbers(viewer.events())) >= 15, what="chunks")
        )
        cluster.kill_hub()
        printed_before_kill = viewer.events()
        await asyncio.sleep(1.0)  # the runner keeps streaming into its outbox meanwhile
        await asyncio.to_thread(cluster.start_hub)

        iterated = await watcher.until_turn_finished()
        await asyncio.to_thread(viewer.wait_for, "turn_finished", 60)
        viewer.stop()
        await watcher.remote.close()

        stored = await asyncio.to_thread(cluster.events, session)
        assert_gap_free([e["seq"] for e in stored])
        by_seq = {e["seq"]: e["payload"] for e in stored}
        # Nothing the hub had acked (and so shown to a viewer) was lost or changed.
        for event in printed_before_kill:
            payload = {k: v for k, v in event.items() if k not in ("seq", "ts")}
            assert by_seq[event["seq"]] == payload
        # The runner resent the rest: every chunk exactly once, and the turn finished.
        assert chunk_numbers([e["payload"] for e in stored]) == list(range(1, chunks_total + 1))
        assert stored[-1]["payload"]["kind"] == "turn_finished"
        assert stored[-1]["payload"]["status"] == "success"
        # The client API resumed by itself: every event exactly once, in order, both ways.
        seen, roles = watcher.seen, watcher.roles
        assert seen == [e["seq"] for e in stored]
        assert [e.seq for e in iterated] == seen
        assert len(watcher.drops) >= 1 and roles[0] == "owner" and len(roles) >= 2
        # So did `tether attach`.
        assert [e["seq"] for e in viewer.events()] == seen


def _agents_in(work: Path) -> list[int]:
    """Pids of demo agents whose working directory is `work`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if "tether.agents.demo_agent" not in (proc / "cmdline").read_text():
                continue
            if Path(os.readlink(proc / "cwd")) == work:
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def test_runner_terminated_stops_its_agents_first(tmp_path: Path) -> None:
    with Cluster(tmp_path, demo_delay=0.05).start() as cluster:
        session = cluster.start_session()
        send(cluster, session, "long 4000")  # 200 s of streaming: it cannot end by itself
        # Right after the agent process appears, while its session is still starting:
        # the runner must not leave it behind either.
        wait_until(lambda: _agents_in(tmp_path / "work"), what="the demo agent to run")
        assert cluster.runner_proc is not None
        os.killpg(cluster.runner_proc.pid, signal.SIGTERM)
        assert cluster.runner_proc.wait(timeout=scaled(30)) == 143
        # No agent is left running on its own once its runner has gone.
        wait_until(lambda: not _agents_in(tmp_path / "work"), what="the agent to be stopped")
