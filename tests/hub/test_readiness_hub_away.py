"""A runner process outlives its hub being away for longer than a session token lives:
when its token needs refreshing while no hub answers, it waits and retries (with backoff)
instead of exiting — which would lose the events it holds in memory."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster
from tests.support.procs import wait_until

pytestmark = pytest.mark.e2e


def expire_runner_tokens(home: Path) -> int:
    """As if the runner's session token ran out: its next connect must refresh it."""
    path = home / "credentials.json"
    creds = json.loads(path.read_text())
    expired = 0
    for entry in creds.values():
        if isinstance(entry, dict) and entry.get("kind") == "runner":
            entry["access_token"], entry["access_expires_at"] = "", 0.0
            expired += 1
    path.write_text(json.dumps(creds))
    return expired


def test_a_runner_whose_token_runs_out_while_the_hub_is_down_waits_for_it(
    tmp_path: Path,
) -> None:
    with Cluster(tmp_path).start() as cluster:
        cluster.kill_hub()
        assert expire_runner_tokens(cluster.home) == 1
        time.sleep(3)  # several reconnects, each refreshing against no hub
        assert cluster.runner_proc is not None
        assert cluster.runner_proc.poll() is None, cluster.log("runner")
        assert "cannot reach the hub" in cluster.log("runner")
        cluster.start_hub()
        wait_until(cluster.runner_online, timeout=60, what="the runner to come back")
