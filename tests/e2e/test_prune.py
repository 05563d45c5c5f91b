"""`tether prune` against a real `tether up`, as an admin runs it: a dry run lists what
would go, without a terminal it asks for `--yes` and removes nothing, and with it the
exited session and its events are gone while a running one is untouched."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import free_port, run_cli, spawn, stop, wait_until

pytestmark = pytest.mark.e2e


def _state(home: Path, url: str, session: str) -> str | None:
    rows = json.loads(run_cli(home, url, "sessions", "--json").stdout)
    return next((str(r["state"]) for r in rows if r["id"] == session), None)


def test_prune_removes_an_exited_session_and_keeps_a_running_one(tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "up.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    up = spawn(home, "up", "--port", str(port), log=log)
    try:
        wait_until(lambda: "tether is up" in log.read_text(), what="the banner")
        old = run_cli(home, url, "start", "demo").stdout.strip()
        kept = run_cli(home, url, "start", "demo").stdout.strip()
        run_cli(home, url, "send", old, "hello")
        run_cli(home, url, "stop", old)
        wait_until(lambda: _state(home, url, old) == "exited", what="the stopped session")

        # No terminal to ask: nothing happens without --yes.
        asked = run_cli(
            home, url, "prune", "--older-than", "0s", check=False, stdin=subprocess.DEVNULL
        )
        assert asked.returncode != 0
        assert "--yes" in asked.stderr and "1 exited session(s)" in asked.stderr, asked.stderr
        assert _state(home, url, old) == "exited"

        dry = json.loads(
            run_cli(home, url, "prune", "--older-than", "0s", "--dry-run", "--json").stdout
        )
        assert dry["sessions"] == [old] and dry["events"] > 0 and dry["dry_run"] is True

        done = run_cli(home, url, "prune", "--older-than", "0s", "--yes")
        assert f"removed 1 exited session(s) and {dry['events']} events" in done.stderr, done.stderr
        assert _state(home, url, old) is None
        gone = run_cli(home, url, "attach", old, "--no-follow", check=False)
        assert gone.returncode != 0 and "no session" in gone.stderr, gone.stderr
        assert _state(home, url, kept) != "exited"  # untouched, and still answers
        run_cli(home, url, "send", kept, "still here")

        again = run_cli(home, url, "prune", "--older-than", "30d", "--yes")
        assert "nothing to prune" in again.stderr
        bad = run_cli(home, url, "prune", "--older-than", "soon", check=False)
        assert bad.returncode != 0 and "cannot read --older-than 'soon'" in bad.stderr
        audit = run_cli(home, url, "audit", "--json").stdout
        assert '"sessions_pruned"' in audit
    finally:
        stop(up)
