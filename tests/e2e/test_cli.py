"""The CLI against a real hub and runner (separate processes): attach, send, stop, sessions,
teams, permissions, the `command` agent in both modes, and a team whose agent is missing."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import Cluster, assert_gap_free
from tests.support.procs import cli_env, json_lines, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with Cluster(tmp_path_factory.mktemp("cluster"), demo_delay=0.02).start() as running:
        yield running


def json_events(proc: subprocess.CompletedProcess[str]) -> list[dict[str, Any]]:
    return json_lines(proc.stdout)


def kinds(events: list[dict[str, Any]]) -> list[str]:
    return [e["kind"] for e in events]


def test_two_attaches_owner_and_follower_see_the_same_events(cluster: Cluster) -> None:
    session = cluster.start_session()
    owner = cluster.attach("owner", session, "--json")
    owner.wait_stderr(f"attached to {session} as owner")
    follower = cluster.attach("follower", session, "--json")
    follower.wait_stderr(f"attached to {session} as follower")
    try:
        # A follower's turn is refused, and never reaches the agent.
        refused = cluster.cli("attach", session, "--prompt", "sneaky", check=False)
        assert refused.returncode == 2
        assert "read-only follower" in refused.stderr
        assert f"attached to {session} as follower" in refused.stderr
        # The owner slot is taken, so a plain `send` from elsewhere is refused over HTTP too
        # unless it is the owner's principal: the local CLI shares it, so it goes through.
        cluster.cli("send", session, "long 5")
        owner.wait_for("turn_finished")
        follower.wait_for("turn_finished")
    finally:
        owner.stop()
        follower.stop()
    seen_by_owner, seen_by_follower = owner.events(), follower.events()
    assert seen_by_owner == seen_by_follower
    assert_gap_free([e["seq"] for e in seen_by_owner])
    texts = [e["text"] for e in seen_by_owner if e["kind"] == "user_message"]
    assert texts == ["long 5"]
    assert sum(1 for e in seen_by_owner if e["kind"] == "agent_message") == 5


def test_start_then_prompt_runs_one_turn_and_exits_zero(cluster: Cluster) -> None:
    session = cluster.cli("start", "demo").stdout.strip()
    assert session.startswith("s_")
    done = cluster.cli("attach", session, "--prompt", "hello there")
    assert f"attached to {session} as owner" in done.stderr
    assert "You said: hello there" in done.stdout
    assert "turn success" in done.stdout


@pytest.mark.parametrize("answer", ["allow", "deny"])
def test_permissions_flag_answers_the_request(cluster: Cluster, answer: str) -> None:
    session = cluster.start_session()
    done = cluster.cli(
        "attach", session, "--prompt", "run touch x", "--permissions", answer, "--json"
    )
    events = json_events(done)
    assert_gap_free([e["seq"] for e in events])
    request = next(e for e in events if e["kind"] == "permission_request")
    assert request["tool"] == "Bash" and request["input"]["command"] == "touch x"
    decision = next(e for e in events if e["kind"] == "permission_decision")
    assert decision["behavior"] == answer and decision["request_id"] == request["request_id"]
    finished = events[-1]
    assert finished["kind"] == "turn_finished" and finished["status"] == "success"
    if answer == "allow":
        assert finished["result"] == "ran touch x"
    else:
        result = next(e for e in events if e["kind"] == "tool_result")
        assert result["is_error"] and "Permission denied" in result["output"]
        assert finished["result"] == "did not run touch x"


def test_send_stop_and_sessions(cluster: Cluster) -> None:
    session = cluster.start_session()
    sent = cluster.cli("send", session, "hi from send")
    assert "sent" in sent.stderr
    wait_until(
        lambda: "turn_finished" in kinds([e["payload"] for e in cluster.events(session)]),
        what="the sent turn to finish",
    )
    cluster.cli("stop", session)
    watched = cluster.cli("attach", session, "--after", "0", "--json", timeout=30)
    events = json_events(watched)
    assert_gap_free([e["seq"] for e in events])
    assert events[-1]["kind"] == "exited" and events[-1]["reason"] == "stopped"
    assert events[-1]["code"] == 0  # the agent ended cleanly on TERM
    assert "hi from send" in [e.get("text") for e in events]
    assert cluster.get(f"/v1/sessions/{session}")["state"] == "exited"
    row = next(line for line in cluster.cli("sessions").stdout.splitlines() if session in line)
    cells = [cell.strip() for cell in row.split("│")[1:-1]]
    assert (cells[2], cells[7]) == ("exited", "0")
    # A session that ended cleanly is woken by a message (same session, its context kept).
    again = cluster.cli("send", session, "anyone?")
    assert "woke the session" in again.stderr
    wait_until(
        lambda: cluster.get(f"/v1/sessions/{session}")["state"] == "idle",
        what="the woken session to be idle",
    )
    cluster.cli("stop", session)


def test_send_to_a_session_that_crashed_is_a_clear_error(cluster: Cluster) -> None:
    session = cluster.start_session()
    cluster.cli("send", session, "exit 3")
    wait_until(lambda: cluster.get(f"/v1/sessions/{session}")["state"] == "exited", what="the exit")
    assert cluster.get(f"/v1/sessions/{session}")["asleep"] is False
    refused = cluster.cli("send", session, "anyone?", check=False)
    assert refused.returncode == 2 and "has exited" in refused.stderr
    assert f"tether resume {session}" in refused.stderr


def test_send_wakes_a_sleeping_session_with_its_context(cluster: Cluster) -> None:
    session = cluster.start_session("sleepy")  # idle_timeout = 1 s
    cluster.cli("send", session, "hello")

    def payloads() -> list[dict[str, Any]]:
        return [e["payload"] for e in cluster.events(session)]

    asleep = wait_until(
        lambda: [p for p in payloads() if p["kind"] == "exited"], what="the session to sleep"
    )
    assert str(asleep[0]["reason"]).startswith("asleep: idle for 1 s")
    before = cluster.get(f"/v1/sessions/{session}")
    assert before["state"] == "exited" and before["asleep"] is True
    agent_session_id = before["agent_session_id"]
    assert agent_session_id

    woken = cluster.cli("send", session, "remember me?")
    assert "woke" in woken.stderr
    answers = wait_until(
        lambda: [
            p for p in payloads() if p["kind"] == "turn_finished" and "remember" in str(p["result"])
        ],
        what="the woken session to answer",
    )
    assert answers[0]["status"] == "success"
    events = payloads()
    statuses = [p for p in events if p["kind"] == "status" and p.get("agent_session_id")]
    assert {p["agent_session_id"] for p in statuses} == {agent_session_id}
    assert cluster.get(f"/v1/sessions/{session}")["agent_session_id"] == agent_session_id
    assert_gap_free([e["seq"] for e in cluster.events(session)])


def test_tokens_and_cost_per_turn_and_per_session(cluster: Cluster) -> None:
    session = cluster.start_session()
    first = cluster.cli("attach", session, "--prompt", "hello")
    second = cluster.cli("attach", session, "--prompt", "hello again")
    events = [e["payload"] for e in cluster.events(session)]
    turns = [e for e in events if e["kind"] == "turn_finished"]
    assert len(turns) == 2 and all(t["cost"] > 0 and t["usage"]["input_tokens"] for t in turns)
    one = turns[0]
    shown = f"{one['usage']['input_tokens']:,} in / {one['usage']['output_tokens']:,} out tokens"
    assert f"turn success · {shown} · ${one['cost']:.4f}" in first.stdout
    total_in = sum(t["usage"]["input_tokens"] for t in turns)
    total_out = sum(t["usage"]["output_tokens"] for t in turns)
    total_cost = round(sum(t["cost"] for t in turns), 6)
    assert (
        f"session so far: {total_in:,} in / {total_out:,} out tokens · ${total_cost:.4f}"
        in second.stdout
    )
    info = cluster.get(f"/v1/sessions/{session}")
    assert (info["input_tokens"], info["output_tokens"]) == (total_in, total_out)
    assert info["cost"] == pytest.approx(total_cost)
    row = next(line for line in cluster.cli("sessions").stdout.splitlines() if session in line)
    assert f"{total_in:,}/{total_out:,}" in row and f"${total_cost:.4f}" in row
    cluster.cli("stop", session)


def test_sessions_table_shows_state_owner_followers_seq_and_exit_code(cluster: Cluster) -> None:
    session = cluster.start_session()
    crashed = cluster.cli("attach", session, "--prompt", "exit 5", "--json", check=False)
    assert crashed.returncode == 1  # the turn never finished: the agent died
    assert json_events(crashed)[-1] == {**json_events(crashed)[-1], "kind": "exited", "code": 5}
    live = cluster.start_session()
    watcher = cluster.attach("watcher", live, "--json")
    follower = cluster.attach("follower2", live, "--json", "--follow")
    try:
        follower.wait_stderr("as follower")
        watcher.wait_stderr("as owner")
        table = cluster.cli("sessions").stdout
        header = table.splitlines()[1]
        for column in ("session", "team", "state", "owner", "followers", "runner seen"):
            assert column in header
        for column in ("last seq", "exit", "pending"):
            assert column in header
        rows = {line.split("│")[1].strip(): line for line in table.splitlines() if "│ s_" in line}
        crashed_row = [cell.strip() for cell in rows[session].split("│")[1:-1]]
        assert crashed_row[1:3] == ["demo", "exited"]
        assert crashed_row[7] == "5"  # the exit code, persisted
        live_row = [cell.strip() for cell in rows[live].split("│")[1:-1]]
        assert live_row[2] == "idle" and live_row[3] == "admin" and live_row[4] == "1"
        assert live_row[5] == "now"
        assert int(live_row[6]) >= 2 and live_row[7] == "-"
    finally:
        watcher.stop()
        follower.stop()
    listed = cluster.get("/v1/sessions")
    assert next(s for s in listed if s["id"] == session)["exit_code"] == 5


def test_teams_lists_every_team_of_the_runner(cluster: Cluster) -> None:
    table = cluster.cli("teams").stdout
    for name in ("demo", "sleepy", "upper", "echo", "missing"):
        assert f" {name} " in table
    assert "e2e" in table and "yes" in table
    teams = json.loads(cluster.cli("teams", "--json").stdout)
    assert {t["name"]: t["agent"] for t in teams} == {
        "demo": "demo",
        "sleepy": "demo",
        "upper": "command",
        "echo": "command",
        "missing": "command",
    }


def test_command_agent_in_stdin_mode(cluster: Cluster) -> None:
    session = cluster.start_session("upper")
    done = cluster.cli("attach", session, "--prompt", "hello", "--json")
    events = json_events(done)
    outputs = [(e["stream"], e["text"]) for e in events if e["kind"] == "output"]
    assert ("stdout", "got: HELLO") in outputs and ("stderr", "note on stderr") in outputs
    assert events[-1]["kind"] == "turn_finished" and events[-1]["status"] == "success"
    # The same process takes the next turn.
    second = json_events(cluster.cli("attach", session, "--prompt", "again", "--json"))
    assert ("stdout", "got: AGAIN") in [
        (e.get("stream"), e.get("text")) for e in second if e["kind"] == "output"
    ]


def test_command_agent_in_args_mode(cluster: Cluster) -> None:
    session = cluster.start_session("echo")
    events = json_events(cluster.cli("attach", session, "--prompt", "hi there; ls", "--json"))
    outputs = [e["text"] for e in events if e["kind"] == "output"]
    assert outputs == ["said: hi there; ls"]  # one argument, never a shell line
    assert events[-1]["kind"] == "turn_finished" and events[-1]["status"] == "success"


def test_start_on_a_team_whose_agent_is_missing_fails_at_once_with_the_reason(
    cluster: Cluster,
) -> None:
    refused = cluster.cli("start", "missing", check=False)
    assert refused.returncode != 0
    assert "team 'missing' is unavailable" in refused.stderr
    assert "'tether-e2e-no-such-program' was not found on PATH" in refused.stderr
    assert refused.stdout.strip() == ""  # no session id to copy
    assert "missing" not in {s["team"] for s in cluster.get("/v1/sessions")}
    table = cluster.cli("teams").stdout
    assert "no: agent binary" in table


def test_example_client_program_runs_against_the_hub(cluster: Cluster, tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "client_example.py"
    done = subprocess.run(
        [
            __import__("sys").executable,
            str(example),
            "--hub",
            cluster.url,
            "--team",
            "demo",
            "--prompt",
            "run make test",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=cli_env(cluster.home, cluster.url),  # this machine's sign-in, as a user runs it
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "permission requested: Bash" in done.stdout
    assert "allowed" in done.stdout
    assert "turn finished: success" in done.stdout


def test_interrupt_command_ends_a_streaming_turn(cluster: Cluster) -> None:
    session = cluster.start_session()
    cluster.cli("send", session, "long 2000")
    wait_until(
        lambda: "agent_message" in kinds([e["payload"] for e in cluster.events(session)]),
        what="the answer to start streaming",
    )
    assert "interrupting" in cluster.cli("interrupt", session).stderr
    finished = wait_until(
        lambda: [
            e["payload"] for e in cluster.events(session) if e["payload"]["kind"] == "turn_finished"
        ],
        what="the turn to end",
    )
    assert finished[0]["status"] == "interrupted"
