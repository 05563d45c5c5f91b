"""`tether attach` as scripts and people rely on it: it never asks again about a request
that was answered, answers nothing when there is nobody to ask, follows a resumed
session past its old `exited`, and `--no-follow` dumps the log and exits. And the
README's `tether send … ; tether interrupt …` line, run as written."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import Cluster, assert_gap_free
from tests.support.procs import json_lines, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    # The demo's own pace (as under `tether up`): the README's examples run here as written.
    with Cluster(tmp_path_factory.mktemp("attach")).start() as running:
        yield running


def _payloads(cluster: Cluster, session: str) -> list[dict[str, Any]]:
    return [e["payload"] for e in cluster.events(session)]


def test_attach_without_a_terminal_leaves_a_pending_request_pending(cluster: Cluster) -> None:
    session = cluster.start_session(prompt="run deploy")
    wait_until(
        lambda: cluster.get(f"/v1/sessions/{session}")["pending_permissions"] == 1,
        what="the permission request",
    )
    # As a script runs it: `tether attach S --json > log </dev/null` (stdin is /dev/null).
    with cluster.attach("script", session, "--json") as watcher:
        watcher.wait_for("permission_request")
        watcher.wait_stderr("pending: no terminal to ask on")
        detail = cluster.get(f"/v1/sessions/{session}")
        assert detail["state"] == "waiting_permission" and len(detail["pending"]) == 1
        assert "permission_decision" not in [p["kind"] for p in _payloads(cluster, session)]
    cluster.cli("stop", session)


def test_a_replayed_request_is_never_asked_about_again(cluster: Cluster) -> None:
    session = cluster.start_session()
    cluster.cli("attach", session, "--prompt", "run touch x", "--permissions", "allow")
    # The whole log again, then a new turn: only the new request gets this attach's answer.
    done = cluster.cli(
        "attach", session, "--after", "0", "--json", "--permissions", "deny",
        "--prompt", "run touch y",
    )  # fmt: skip
    assert "could not answer" not in done.stderr
    assert "already answered" not in done.stderr
    events = json_lines(done.stdout)
    assert_gap_free([e["seq"] for e in events])
    decisions = [
        (e["request_id"], e["behavior"]) for e in events if e["kind"] == "permission_decision"
    ]
    requests = [e["request_id"] for e in events if e["kind"] == "permission_request"]
    assert decisions == [(requests[0], "allow"), (requests[1], "deny")]
    cluster.cli("stop", session)


def _resumed_session(cluster: Cluster) -> str:
    session = cluster.start_session()
    cluster.cli("attach", session, "--prompt", "before")
    cluster.cli("stop", session)
    wait_until(lambda: cluster.get(f"/v1/sessions/{session}")["state"] == "exited", what="the stop")
    cluster.cli("resume", session, "--prompt", "after")
    wait_until(
        lambda: any(
            p["kind"] == "turn_finished" and p.get("result") == "You said: after"
            for p in _payloads(cluster, session)
        ),
        what="the resumed turn",
    )
    return session


def test_watching_a_resumed_session_goes_on_past_its_old_exit(cluster: Cluster) -> None:
    session = _resumed_session(cluster)
    with cluster.attach("resumed", session, "--after", "0", "--json") as watcher:
        watcher.wait_for("turn_finished", result="You said: after")
        assert watcher.proc.poll() is None  # still following the live session
        cluster.cli("send", session, "more")
        watcher.wait_for("turn_finished", result="You said: more")
    kinds = [e["kind"] for e in watcher.events()]
    assert kinds.count("exited") == 1  # the old one, followed past


def test_no_follow_dumps_the_log_up_to_now_and_exits(cluster: Cluster) -> None:
    session = _resumed_session(cluster)
    last_seq = cluster.get(f"/v1/sessions/{session}")["last_seq"]
    dumped = cluster.cli("attach", session, "--after", "0", "--json", "--no-follow", timeout=30)
    events = json_lines(dumped.stdout)
    assert [e["seq"] for e in events] == list(range(1, last_seq + 1))
    assert events[-1]["kind"] == "turn_finished"  # live session: up to now, then out
    refused = cluster.cli("attach", session, "--no-follow", "--prompt", "x", check=False)
    assert refused.returncode == 2 and "--no-follow and --prompt" in refused.stderr
    cluster.cli("stop", session)


def test_the_readmes_interrupt_example_interrupts_its_turn(cluster: Cluster) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    line = next(ln for ln in readme.splitlines() if "tether interrupt $S" in ln)
    commands = re.sub(r"\s+#.*$", "", line.removeprefix("$ ")).split(";")
    session = cluster.start_session()
    for command in commands:  # one process after the other, as a shell runs them
        argv = shlex.split(command.strip().replace("$S", session))
        assert argv[0] == "tether"
        cluster.cli(*argv[1:])
    finished = wait_until(
        lambda: [p for p in _payloads(cluster, session) if p["kind"] == "turn_finished"],
        what="the turn to end",
    )
    assert finished[0]["status"] == "interrupted"
    cluster.cli("stop", session)
