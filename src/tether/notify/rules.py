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

from tether.errors import ProtocolError
from tether.notify.contract import (
    MAX_SUMMARY,
    EventName,
    Notification,
    clip,
    describe_input,
    first_line,
    shorten_input,
)
from tether.protocol.events import Exited, PermissionRequest, TurnFinished, parse_event


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
    if payload.get("kind") not in _NOTIFYING_KINDS:
        return None
    try:
        event = parse_event(payload)
    except ProtocolError:
        return None  # the hub stored it, so it is the agent's oddity, not a notification
    if isinstance(event, PermissionRequest):
        return _permission_request(facts, seq, ts, event)
    if isinstance(event, TurnFinished):
        return _turn_finished(facts, seq, ts, event)
    if isinstance(event, Exited) and _failed(event):
        return _exited(facts, seq, ts, event)
    return None


_NOTIFYING_KINDS = frozenset({"permission_request", "turn_finished", "exited"})


def _failed(exited: Exited) -> bool:
    """Did the agent end badly (not stopped by tether, and a non-zero code or a signal)?"""
    if exited.reason == "stopped":
        return False
    return bool(exited.signal) or (exited.code is not None and exited.code != 0)


def _about(
    facts: SessionFacts,
    event: str,
    note_id: str,
    ts: float,
    title: str,
    summary: str,
    **fields: Any,
) -> Notification:
    """A notification about the session of `facts`, linking to its page."""
    return Notification(
        event=event,
        id=note_id,
        session=facts.id,
        team=facts.team,
        url=session_path(facts.id),
        title=clip(title, 80),
        summary=clip(summary, MAX_SUMMARY),
        ts=ts,
        **fields,
    )


def _permission_request(
    facts: SessionFacts, seq: int, ts: float, request: PermissionRequest
) -> Notification:
    tool = request.tool or "a tool"
    return _about(
        facts,
        "permission_request",
        f"{facts.id}:{seq}",
        ts,
        f"{facts.team} needs you",
        f"{tool}: {describe_input(tool, request.input)}",
        request_id=request.request_id,
        tool=tool,
        input=shorten_input(request.input),
    )


_TURN_HEADINGS = {"success": "finished", "error": "turn failed", "interrupted": "interrupted"}


def _turn_finished(facts: SessionFacts, seq: int, ts: float, turn: TurnFinished) -> Notification:
    heading = _TURN_HEADINGS.get(turn.status, turn.status)
    line = first_line(turn.result)
    cost = [f"${turn.cost:.4f}"] if turn.cost is not None else []
    parts = [heading, *([line] if line else []), *cost]
    return _about(
        facts,
        "turn_finished",
        f"{facts.id}:{seq}",
        ts,
        f"{facts.team}: {heading}",
        " · ".join(parts),
        status=turn.status,
        result=line or None,
        cost=turn.cost,
    )


def _exited(facts: SessionFacts, seq: int, ts: float, exited: Exited) -> Notification:
    how = (
        f"killed by signal {exited.signal}" if exited.signal else f"exited with code {exited.code}"
    )
    reason = f"{how}: {exited.reason}" if exited.reason else how
    return _about(
        facts,
        "session_failed",
        f"{facts.id}:{seq}",
        ts,
        f"{facts.team} stopped",
        f"the agent {reason}",
        reason=clip(reason, MAX_SUMMARY),
    )


def lost(facts: SessionFacts, since: float, now: float) -> Notification:
    """The session's runner has been away since `since`."""
    minutes = max(1, round((now - since) / 60))
    return _about(
        facts,
        "session_failed",
        f"{facts.id}:lost:{int(since)}",
        now,
        f"{facts.team} lost its runner",
        f"the runner has been away for {minutes} min; the session waits for it",
        reason="lost",
    )


def answered(request: Notification, behavior: str, by: str, ts: float) -> Notification:
    """A request that was notified got its answer (`behavior`, from its decision): this
    replaces its notification."""
    verb = {"allow": "Allowed", "deny": "Denied", "cancelled": "Withdrawn"}.get(behavior, behavior)
    summary = f"{verb} by {by}" if by and behavior != "cancelled" else f"{verb}"
    return _follow_up(
        request,
        "permission_answered",
        ts,
        title=f"{request.team}: {verb.lower()}",
        summary=summary,
        behavior=behavior,
        answered_by=by or None,
        allow_url=None,
        deny_url=None,
    )


def withdrawn(request: Notification, why: str, ts: float) -> Notification:
    """A notified request ended without an answer (the turn or the session ended)."""
    return answered(request, "cancelled", "", ts).model_copy(
        update={"summary": clip(f"Withdrawn ({why}) · {request.summary}", MAX_SUMMARY)}
    )


def reminder(request: Notification, waited_s: float, ts: float) -> Notification:
    """A request is still unanswered after `waited_s`."""
    minutes = max(1, round(waited_s / 60))
    title = f"{request.team} still needs you"
    return _follow_up(
        request, "permission_reminder", ts, title=title, summary=f"waiting {minutes} min"
    )


def _follow_up(
    request: Notification, event: EventName, ts: float, *, title: str, summary: str, **more: Any
) -> Notification:
    """A later notification about a notified request (its tag is the request's, so it
    replaces the first on a device): its id is the request's with the event's last word
    (`:answered`, `:reminder`), and its summary leads the request's."""
    return request.model_copy(
        update={
            "event": event,
            "id": f"{request.id}:{event.removeprefix('permission_')}",
            "title": clip(title, 80),
            "summary": clip(f"{summary} · {request.summary}", MAX_SUMMARY),
            "ts": ts,
            **more,
        }
    )
