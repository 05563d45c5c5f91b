"""The session state machine: events in, state and pending permissions out."""

from __future__ import annotations

from typing import Any

import pytest

from tether.protocol import SessionState, SessionTracker
from tether.protocol.events import EVENT_KINDS
from tether.protocol.states import TRANSITIONS

S = SessionState


def run(*payloads: dict[str, Any]) -> tuple[SessionTracker, list[SessionState]]:
    tracker = SessionTracker()
    states = [tracker.apply(seq, p) for seq, p in enumerate(payloads, start=1)]
    return tracker, states


def status(state: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "status", "state": state, **extra}


def request(rid: str) -> dict[str, Any]:
    return {"kind": "permission_request", "request_id": rid, "tool": "Bash", "input": {}}


def decision(rid: str, behavior: str = "allow") -> dict[str, Any]:
    return {"kind": "permission_decision", "request_id": rid, "behavior": behavior}


def test_every_event_kind_except_status_has_a_transition() -> None:
    assert set(TRANSITIONS) == EVENT_KINDS - {"status"}


def test_a_turn_with_a_permission_walks_the_states() -> None:
    tracker, states = run(
        status("starting"),
        status("idle", agent_session_id="abc"),
        {"kind": "user_message", "text": "run ls"},
        {"kind": "agent_message", "text": "let me"},
        request("p1"),
        decision("p1"),
        {"kind": "tool_result", "tool_use_id": "t", "output": ""},
        {"kind": "turn_finished", "status": "success"},
    )
    assert states == [
        S.STARTING,
        S.IDLE,
        S.BUSY,
        S.BUSY,
        S.WAITING_PERMISSION,
        S.BUSY,
        S.BUSY,
        S.IDLE,
    ]
    assert tracker.agent_session_id == "abc"
    assert tracker.turns == 1 and tracker.last_seq == 8 and tracker.pending == {}


def test_pending_requests_are_tracked_until_each_is_answered() -> None:
    tracker, states = run(
        {"kind": "user_message", "text": "x"}, request("p1"), request("p2"), decision("p1")
    )
    # One answered, one still open: still waiting.
    assert states[-1] is S.WAITING_PERMISSION
    assert list(tracker.pending) == ["p2"]
    assert tracker.pending["p2"]["seq"] == 3 and tracker.pending["p2"]["tool"] == "Bash"
    tracker.apply(5, decision("p2", "deny"))
    assert tracker.state is S.BUSY and tracker.pending == {}


def test_cancelled_request_is_no_longer_pending() -> None:
    tracker, _ = run(request("p1"), decision("p1", "cancelled"))
    assert tracker.pending == {} and tracker.state is S.BUSY


def test_turn_end_withdraws_open_requests() -> None:
    tracker, states = run(request("p1"), {"kind": "turn_finished", "status": "interrupted"})
    assert states[-1] is S.IDLE and tracker.pending == {}


def test_exit_is_final_and_keeps_the_code() -> None:
    tracker, states = run(
        status("idle"),
        request("p1"),
        {"kind": "exited", "code": 3},
        {"kind": "agent_message", "text": "late output"},
        {"kind": "turn_finished", "status": "error"},
        {"kind": "error", "message": "x"},
    )
    assert states[2:] == [S.EXITED] * 4
    assert tracker.exit_code == 3 and tracker.pending == {}


def test_exit_by_signal_has_no_code() -> None:
    tracker, _ = run({"kind": "exited", "code": None, "signal": 9})
    assert tracker.exit_code is None and tracker.state is S.EXITED


def test_status_lost_and_unknown_states_are_not_taken_from_events() -> None:
    _tracker, states = run(status("idle"), status("lost"), status("dreaming"))
    assert states == [S.IDLE, S.IDLE, S.IDLE]


def test_unknown_kinds_change_nothing_but_the_seq() -> None:
    tracker, states = run(status("idle"), {"kind": "from_the_future", "x": 1})
    assert states == [S.IDLE, S.IDLE] and tracker.last_seq == 2


@pytest.mark.parametrize("kind", ["agent_message", "tool_call", "tool_result", "output", "error"])
def test_activity_does_not_move_the_state(kind: str) -> None:
    _tracker, states = run({"kind": "user_message", "text": "x"}, {"kind": kind})
    assert states == [S.BUSY, S.BUSY]
