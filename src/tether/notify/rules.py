"""What notifies, and what it says: session events in, notifications out (no I/O).

    permission_request                 → permission_request
    permission_decision (of one sent)  → permission_answered   (who answered, how)
    turn_finished                      → turn_finished         (status, a line of the result, cost)
    exited with an error               → session_failed
    runner away for `lost_after_s`     → session_failed (reason `lost`)
    request unanswered for N minutes   → permission_reminder

A notification's `url` is the session's path here; delivery makes it absolute for the
hub address the sink was added through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tether.notify.contract import (
    MAX_SUMMARY,
    Notification,
    clip,
    describe_input,
    first_line,
    shorten_input,
)


@dataclass(frozen=True, slots=True)
class SessionFacts:
    """What the rules need to know about the session an event belongs to."""

    id: str
    team: str


def session_path(session_id: str) -> str:
    """The session's page in the web UI (relative to the hub's address)."""
    return f"/sessions/{session_id}"


def from_event(
    facts: SessionFacts, seq: int, ts: float, payload: dict[str, Any]
) -> Notification | None:
    """The notification an event of the log calls for, if any (decisions: `answered`)."""
    kind = payload.get("kind")
    if kind == "permission_request":
        return _permission_request(facts, seq, ts, payload)
    if kind == "turn_finished":
        return _turn_finished(facts, seq, ts, payload)
    if kind == "exited" and is_failure(payload):
        return _exited(facts, seq, ts, payload)
    return None


def is_failure(exited: dict[str, Any]) -> bool:
    """Did the agent end badly (not stopped by tether, and a non-zero code or a signal)?"""
    if exited.get("reason") == "stopped":
        return False
    code = exited.get("code")
    return bool(exited.get("signal")) or (isinstance(code, int) and code != 0)


def _permission_request(
    facts: SessionFacts, seq: int, ts: float, payload: dict[str, Any]
) -> Notification:
    tool = str(payload.get("tool") or "a tool")
    raw_input = payload.get("input")
    tool_input = raw_input if isinstance(raw_input, dict) else {}
    return Notification(
        event="permission_request",
        id=f"{facts.id}:{seq}",
        session=facts.id,
        team=facts.team,
        url=session_path(facts.id),
        title=clip(f"{facts.team} needs you", 80),
        summary=clip(f"{tool}: {describe_input(tool, tool_input)}", MAX_SUMMARY),
        ts=ts,
        request_id=str(payload.get("request_id")),
        tool=tool,
        input=shorten_input(tool_input),
    )


def _turn_finished(
    facts: SessionFacts, seq: int, ts: float, payload: dict[str, Any]
) -> Notification:
    status = str(payload.get("status") or "success")
    heading = {"success": "finished", "error": "turn failed", "interrupted": "interrupted"}
    line = first_line(payload.get("result") if isinstance(payload.get("result"), str) else None)
    cost = payload.get("cost")
    cost_value = float(cost) if isinstance(cost, int | float) else None
    parts = [heading.get(status, status)]
    if line:
        parts.append(line)
    if cost_value is not None:
        parts.append(f"${cost_value:.4f}")
    return Notification(
        event="turn_finished",
        id=f"{facts.id}:{seq}",
        session=facts.id,
        team=facts.team,
        url=session_path(facts.id),
        title=clip(f"{facts.team}: {heading.get(status, status)}", 80),
        summary=clip(" · ".join(parts), MAX_SUMMARY),
        ts=ts,
        status=status,
        result=line or None,
        cost=cost_value,
    )


def _exited(facts: SessionFacts, seq: int, ts: float, payload: dict[str, Any]) -> Notification:
    if payload.get("signal"):
        how = f"killed by signal {payload['signal']}"
    else:
        how = f"exited with code {payload.get('code')}"
    detail = payload.get("reason")
    reason = f"{how}: {detail}" if isinstance(detail, str) and detail else how
    return Notification(
        event="session_failed",
        id=f"{facts.id}:{seq}",
        session=facts.id,
        team=facts.team,
        url=session_path(facts.id),
        title=clip(f"{facts.team} stopped", 80),
        summary=clip(f"the agent {reason}", MAX_SUMMARY),
        ts=ts,
        reason=clip(reason, MAX_SUMMARY),
    )


def lost(facts: SessionFacts, since: float, now: float) -> Notification:
    """The session's runner has been away since `since`."""
    minutes = max(1, round((now - since) / 60))
    return Notification(
        event="session_failed",
        id=f"{facts.id}:lost:{int(since)}",
        session=facts.id,
        team=facts.team,
        url=session_path(facts.id),
        title=clip(f"{facts.team} lost its runner", 80),
        summary=f"the runner has been away for {minutes} min; the session waits for it",
        ts=now,
        reason="lost",
    )


def answered(request: Notification, decision: dict[str, Any], by: str, ts: float) -> Notification:
    """A request that was notified got its answer: this replaces its notification."""
    behavior = str(decision.get("behavior") or "")
    verb = {"allow": "Allowed", "deny": "Denied", "cancelled": "Withdrawn"}.get(behavior, behavior)
    summary = f"{verb} by {by}" if by and behavior != "cancelled" else f"{verb}"
    return request.model_copy(
        update={
            "event": "permission_answered",
            "id": f"{request.id}:answered",
            "title": clip(f"{request.team}: {verb.lower()}", 80),
            "summary": clip(f"{summary} · {request.summary}", MAX_SUMMARY),
            "ts": ts,
            "behavior": behavior,
            "answered_by": by or None,
            "allow_url": None,
            "deny_url": None,
        }
    )


def withdrawn(request: Notification, why: str, ts: float) -> Notification:
    """A notified request ended without an answer (the turn or the session ended)."""
    return answered(request, {"behavior": "cancelled"}, "", ts).model_copy(
        update={"summary": clip(f"Withdrawn ({why}) · {request.summary}", MAX_SUMMARY)}
    )


def reminder(request: Notification, waited_s: float, ts: float) -> Notification:
    """A request is still unanswered after `waited_s`."""
    minutes = max(1, round(waited_s / 60))
    return request.model_copy(
        update={
            "event": "permission_reminder",
            "id": f"{request.id}:reminder",
            "title": clip(f"{request.team} still needs you", 80),
            "summary": clip(f"waiting {minutes} min · {request.summary}", MAX_SUMMARY),
            "ts": ts,
        }
    )
