"""How MCP tool answers read: text blocks for the model, and the same facts as data.

Pure functions from the facts a tool gathered to a `ToolAnswer`; no I/O, so the wording
(every line tells the model what it can call next) is kept apart from the logic that
finds the facts (service.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypedDict


@dataclass
class ToolAnswer:
    """A tool's result: text blocks for the model, and the same facts as data."""

    text: list[str]
    data: dict[str, Any] = field(default_factory=dict)


class TurnFacts(TypedDict):
    """Where a turn went: its session, its team, and the seq it follows."""

    session: str
    team: str
    after_seq: int


class TurnEnd(TurnFacts):
    """How a turn ended, with where it went."""

    status: str
    reply: str
    last_seq: int


class PendingRequest(TypedDict):
    """An open permission request, as the tools report it."""

    request_id: str
    tool: str | None
    input: Any
    """The tool's input, as the agent gave it."""


class Conversation(TypedDict):
    """One of the caller's conversations with a team: its session, and who speaks."""

    session: str
    state: str
    from_team: str


class TeamStatus(TypedDict):
    """A team's row in `team_status`."""

    team: str
    online: bool
    live_sessions: int
    busy_sessions: int
    your_conversations: list[Conversation]


class SessionRow(TypedDict):
    """A session's row in `list_sessions`."""

    session: str
    team: str
    state: str
    last_seq: int
    owner: str | None
    pending_permissions: int
    yours: bool


def sender(from_team: str) -> str:
    """Who sends, in words (an empty `from_team` is an MCP client speaking for no team)."""
    return f"team {from_team!r}" if from_team else "an MCP client"


def pending_request(request: Mapping[str, Any]) -> PendingRequest:
    """An open permission request (a `permission_request` event) as the tools report it."""
    return {
        "request_id": request["request_id"],
        "tool": request.get("tool"),
        "input": request.get("input", {}),
    }


# -- teams ---------------------------------------------------------------------------------


def teams_answer(teams: Iterable[Mapping[str, Any]]) -> ToolAnswer:
    """`list_teams`: the teams the caller may message."""
    rows = [
        {
            "name": t["name"],
            "agent": t.get("agent"),
            "description": t.get("description", ""),
            "host": t.get("host"),
            "online": bool(t.get("runner_connected")),
        }
        for t in teams
    ]
    if not rows:
        return ToolAnswer(["No teams: no runner has announced any yet."], {"teams": []})
    lines = [
        f"- {r['name']} ({r['agent']} on {r['host']}, {'online' if r['online'] else 'offline'})"
        + (f": {r['description']}" if r["description"] else "")
        for r in rows
    ]
    return ToolAnswer(["\n".join(lines)], {"teams": rows})


def team_status_answer(rows: list[TeamStatus]) -> ToolAnswer:
    """`team_status`: each team's online state, live sessions and the caller's conversations."""
    lines = []
    for row in rows:
        convs = row["your_conversations"]
        detail = ", ".join(
            f"{c['session']} {c['state']}" + (f" (from {c['from_team']})" if c["from_team"] else "")
            for c in convs
        )
        lines.append(
            f"- {row['team']}: {'online' if row['online'] else 'offline'}, "
            f"{row['live_sessions']} live session(s); your conversations: {detail or 'none'}"
        )
    return ToolAnswer(["\n".join(lines) or "No teams."], {"teams": rows})


def woke_answer(team: str, session: str, state: str) -> ToolAnswer:
    """`team_wake`: which session is awake, in which state."""
    return ToolAnswer(
        [f"Team {team!r} is awake: session {session} is {state}."],
        {"team": team, "session": session, "state": state},
    )


def slept_answer(team: str, stopped: list[str]) -> ToolAnswer:
    """`team_sleep`: the sessions put to sleep."""
    text = (
        f"Put {len(stopped)} session(s) of team {team!r} to sleep: {', '.join(stopped)}"
        " (the next message resumes each with its context)"
        if stopped
        else f"You have no conversation with team {team!r} to put to sleep."
    )
    return ToolAnswer([text], {"team": team, "stopped": stopped})


# -- a turn ----------------------------------------------------------------------------------


def sent_answer(to_team: str, base: TurnFacts) -> ToolAnswer:
    """`quick_message`: sent, and where to read the reply later."""
    session, after = base["session"], base["after_seq"]
    return ToolAnswer(
        [
            f"Sent to team {to_team!r} (session {session}); not waiting for the reply. "
            f"Read it later with session_report(session={session!r}, after_seq={after})."
        ],
        {**base, "status": "sent"},
    )


def reply_answer(to_team: str, base: TurnFacts, reply: str, last_seq: int) -> ToolAnswer:
    """`send_message`: the team's reply."""
    footer = (
        f"(tether: reply from team {to_team!r}, session {base['session']}; "
        "send_message again to continue this conversation)"
    )
    return ToolAnswer(
        [reply, footer], {**base, "status": "success", "reply": reply, "last_seq": last_seq}
    )


def timeout_answer(to_team: str, base: TurnFacts, timeout: float, last_seq: int) -> ToolAnswer:
    """`send_message` gave up waiting; the turn runs on."""
    session, after = base["session"], base["after_seq"]
    return ToolAnswer(
        [
            f"No reply from team {to_team!r} within {timeout:g} s; the turn is still running "
            f"in session {session}. Read it with "
            f"session_report(session={session!r}, after_seq={after})."
        ],
        {**base, "status": "timeout", "last_seq": last_seq},
    )


def waiting_permission_answer(
    to_team: str, base: TurnFacts, pending: list[PendingRequest], last_seq: int
) -> ToolAnswer:
    """`send_message`: the agent waits for a decision only the session's owner can give."""
    session = base["session"]
    lines = [f"- {p['request_id']}: {p['tool']} {p['input']}" for p in pending]
    return ToolAnswer(
        [
            f"Team {to_team!r} is waiting for permission (session {session}):\n"
            + "\n".join(lines)
            + "\nAnswer with permission_decide(request_id, 'allow' or 'deny'), then read the "
            f"reply with session_report(session={session!r}, after_seq={base['after_seq']})."
        ],
        {**base, "status": "waiting_permission", "pending": pending, "last_seq": last_seq},
    )


# -- sessions --------------------------------------------------------------------------------


def sessions_answer(rows: list[SessionRow]) -> ToolAnswer:
    """`list_sessions`."""
    lines = [
        f"- {r['session']} team {r['team']}: {r['state']}, last seq {r['last_seq']}"
        + (
            f", {r['pending_permissions']} permission request(s) pending"
            if r["pending_permissions"]
            else ""
        )
        + (" (yours)" if r["yours"] else "")
        for r in rows
    ]
    return ToolAnswer(["\n".join(lines) or "No sessions."], {"sessions": rows})


def report_answer(
    session: str, info: Mapping[str, Any], after_seq: int, page: Mapping[str, Any], transcript: str
) -> ToolAnswer:
    """`session_report`: a stretch of the transcript (`page` of the event log), and how to
    read on."""
    team, state, events = info["team"], info["state"], page["events"]
    last = events[-1]["seq"] if events else after_seq
    more = last < int(page["last_seq"])
    if events:
        head = f"Session {session} (team {team}, {state}), events after seq {after_seq}:"
    else:
        head = f"Session {session} (team {team}, {state}): nothing after seq {after_seq}."
    tail = (
        f"(more: call session_report(session={session!r}, after_seq={last}))"
        if more
        else f"(last seq {last})"
    )
    data = {
        "session": session,
        "team": team,
        "state": state,
        "after_seq": after_seq,
        "next_after_seq": last,
        "more": more,
        "pending": [pending_request(p) for p in info.get("pending", [])],
        "events": events,
    }
    return ToolAnswer([head + ("\n" + transcript if transcript else "") + "\n" + tail], data)


def cancel_answer(session: str, state: str, *, cancelled: bool) -> ToolAnswer:
    """`session_cancel`."""
    text = (
        f"Asked session {session} to stop its turn."
        if cancelled
        else f"Session {session} is {state}: no turn to cancel."
    )
    return ToolAnswer([text], {"session": session, "cancelled": cancelled, "state": state})


def decided_answer(session: str, request_id: str, decision: str) -> ToolAnswer:
    """`permission_decide`."""
    return ToolAnswer(
        [
            f"Answered {request_id} in session {session}: {decision}. Read what happens "
            f"next with session_report(session={session!r})."
        ],
        {"session": session, "request_id": request_id, "decision": decision},
    )
