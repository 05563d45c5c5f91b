"""`tether up` and `tether hub` as a user runs them: the banner comes before routine log
lines, and SIGTERM (systemd, docker stop, kill) stops them cleanly, without a traceback."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.support.procs import free_port, run_cli, spawn, stop, wait_healthy, wait_until
from tests.support.timing import scaled

pytestmark = pytest.mark.e2e


def terminate(proc: subprocess.Popen[str]) -> int:
    os.kill(proc.pid, signal.SIGTERM)
    return proc.wait(timeout=scaled(30))


def test_up_shows_its_banner_first_and_stops_on_sigterm(tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "up.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    up = spawn(home, "up", "--port", str(port), log=log)
    watcher = None
    try:
        wait_until(lambda: "tether is up" in log.read_text(), what="the banner")
        wait_until(lambda: " INFO " in log.read_text(), what="the held log lines")
        text = log.read_text()
        assert text.index("first start:") < text.index("tether is up") < text.index(" INFO ")
        # Something live when the signal comes: a session and a viewer on it.
        session = run_cli(home, url, "start", "demo").stdout.strip()
        watcher = spawn(home, "attach", session, "--follow", hub_url=url, log=tmp_path / "w.log")
        wait_until(lambda: "attached to" in (tmp_path / "w.log").read_text(), what="attach")
        assert terminate(up) == 143
    finally:
        if watcher is not None:
            stop(watcher)
        stop(up)
    assert "Traceback" not in log.read_text()


def test_hub_stops_on_sigterm_without_a_traceback(tmp_path: Path) -> None:
    home, log = tmp_path / "home", tmp_path / "hub.log"
    port = free_port()
    hub = spawn(home, "hub", "--port", str(port), log=log)
    try:
        wait_healthy(f"http://127.0.0.1:{port}")
        wait_until(lambda: "listening on" in log.read_text(), what="the hub's ready line")
        assert terminate(hub) == 143
    finally:
        stop(hub)
    assert "Traceback" not in log.read_text(), log.read_text()
