"""What tether's MCP tools do: team messaging (the Iris model) over the hub's API.

Every method takes the `Caller` (who asks, with a hub client acting as them) and
returns a `ToolAnswer`: text for the model plus structured data for programs.
Errors are tether errors; the tool layer turns them into MCP tool errors.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from tether.errors import Conflict, Forbidden, NotFound, TetherError
from tether.mcp.access import Caller, HubAccess
from tether.mcp.pool import NO_TEAM, Conversation, ConversationPool
from tether.mcp.turns import TurnReader, transcript
from tether.protocol.states import SessionState

log = logging.getLogger("tether.mcp")

DEFAULT_TIMEOUT_S = 300.0
WAKE_TIMEOUT_S = 60.0
PAGE = 1000

Decision = Literal["allow", "deny"]


@dataclass
class ToolAnswer:
    """A tool's result: text blocks for the model, and the same facts as data."""

    text: list[str]
    data: dict[str, Any] = field(default_factory=dict)


def _sender(from_team: str) -> str:
    return f"team {from_team!r}" if from_team else "an MCP client"


class TeamService:
    """The tools' logic, shared by every transport."""

    def __init__(self, access: HubAccess, pool: ConversationPool | None = None) -> None:
        self.access = access
        self.pool = pool if pool is not None else ConversationPool()

    # -- teams -----------------------------------------------------------------------------

    async def list_teams(self, caller: Caller) -> ToolAnswer:
        """Teams the caller may message."""
        teams = await caller.hub.teams()
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

    async def _team(self, caller: Caller, name: str) -> dict[str, Any]:
        for team in await caller.hub.teams():
            if team["name"] == name:
                return team
        raise NotFound(f"no team {name!r}", hint="call list_teams to see the teams you can message")

    # -- messaging -------------------------------------------------------------------------

    async def send_message(
        self,
        caller: Caller,
        to_team: str,
        message: str,
        from_team: str | None = None,
        timeout_s: float | None = DEFAULT_TIMEOUT_S,
    ) -> ToolAnswer:
        """Hand `to_team` a turn in the pooled conversation; wait for the reply per timeout_s."""
        if not message.strip():
            raise TetherError("the message is empty", hint="say what you want the team to do")
        timeout = DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
        conversation, after = await self._deliver(caller, to_team, message, from_team or NO_TEAM)
        session_id = conversation.session_id
        base = {"session": session_id, "team": to_team, "after_seq": after}
        if timeout < 0:
            conversation.open_turn_after = after
            conversation.lock.release()
            return ToolAnswer(
                [
                    f"Sent to team {to_team!r} (session {session_id}); not waiting for the reply. "
                    f"Read it later with session_report(session={session_id!r}, after_seq={after})."
                ],
                {**base, "status": "sent"},
            )
        try:
            return await self._await_reply(caller, conversation, after, timeout or None, base)
        finally:
            conversation.touch()
            conversation.lock.release()

    async def quick_message(
        self, caller: Caller, to_team: str, message: str, from_team: str | None = None
    ) -> ToolAnswer:
        """Fire and forget: `send_message` that returns at once."""
        return await self.send_message(caller, to_team, message, from_team, timeout_s=-1)

    async def _deliver(
        self, caller: Caller, to_team: str, message: str, from_team: str
    ) -> tuple[Conversation, int]:
        """Send the turn; return the conversation (its lock held) and the seq it follows."""
        team = await self._team(caller, to_team)
        if not team.get("runner_connected"):
            raise Conflict(
                f"team {to_team!r} is offline: its runner {team.get('runner_id')} is away",
                hint="start that runner, or try again later",
            )
        async with self.pool.create_lock:
            conversation = await self._usable(caller, from_team, to_team)
            if conversation is None:
                started = await caller.hub.start(to_team, prompt=message)
                conversation = self.pool.add(caller.key, from_team, to_team, started["id"])
                await conversation.lock.acquire()
                log.info("mcp: %s → %s: new session %s", _sender(from_team), to_team, started["id"])
                return conversation, 0
            await conversation.lock.acquire()
            if conversation.asleep:
                return conversation, await self._resume(caller, conversation, message)
        try:
            accepted = await caller.hub.send(conversation.session_id, message)
        except BaseException:
            conversation.lock.release()
            raise
        conversation.touch()
        return conversation, int(accepted.get("after_seq", 0))

    async def _resume(self, caller: Caller, conversation: Conversation, prompt: str | None) -> int:
        """Wake a sleeping conversation (its lock held): the same session's agent starts
        again with its history and takes `prompt` as its next turn. Returns the seq the
        new turn follows."""
        # One try: if the agent cannot resume, the conversation is dropped at its next turn.
        conversation.asleep = False
        try:
            # Put to sleep a moment ago, its agent may still be on its way out.
            await self._wait_exited(caller, conversation.session_id, WAKE_TIMEOUT_S)
            info = await caller.hub.resume(conversation.session_id, prompt=prompt)
        except BaseException:
            conversation.lock.release()
            raise
        conversation.touch()
        log.info("mcp: session %s woken (resumed with its context)", conversation.session_id)
        return int(info.get("last_seq", 0))

    async def _usable(self, caller: Caller, from_team: str, to_team: str) -> Conversation | None:
        """The pair's live conversation if it can take a turn now; None if there is none."""
        conversation = self.pool.get(caller.key, from_team, to_team)
        if conversation is None:
            return None
        try:
            info = await caller.hub.session(conversation.session_id)
        except NotFound:
            self.pool.drop(conversation)
            return None
        state = info["state"]
        if state == SessionState.EXITED and conversation.asleep:
            return conversation  # the caller resumes it
        if state == SessionState.EXITED:
            self.pool.drop(conversation)
            return None
        sid = conversation.session_id
        if state == SessionState.LOST:
            raise Conflict(
                f"team {to_team!r} is unreachable: the runner of session {sid} is away",
                hint="try again when it has reconnected",
            )
        busy = conversation.lock.locked() or state in (
            SessionState.BUSY,
            SessionState.WAITING_PERMISSION,
        )
        if not busy and conversation.open_turn_after is not None:
            reader = TurnReader()
            page = await caller.hub.events(sid, after=conversation.open_turn_after, limit=5000)
            if reader.feed(page["events"]) is None:
                busy = True
            else:
                conversation.open_turn_after = None
        if busy:
            raise Conflict(
                f"team {to_team!r} is busy with an earlier turn from {_sender(from_team)} "
                f"(session {sid}, {state})",
                hint=f"wait and try again, read it with session_report(session={sid!r}), "
                "or stop it with session_cancel",
            )
        return conversation

    async def _await_reply(
        self,
        caller: Caller,
        conversation: Conversation,
        after: int,
        timeout: float | None,
        base: dict[str, Any],
    ) -> ToolAnswer:
        session_id = conversation.session_id
        deadline = None if timeout is None else time.monotonic() + timeout
        reader = TurnReader(last_seq=after)
        async with self.access.watch(session_id) as watch:
            while True:
                page = await caller.hub.events(session_id, after=reader.last_seq, limit=PAGE)
                outcome = reader.feed(page["events"])
                if outcome is not None:
                    return self._replied(
                        to_team=conversation.to_team,
                        base=base,
                        status=outcome.status,
                        reply=outcome.reply,
                        last_seq=outcome.last_seq,
                    )
                if len(page["events"]) >= PAGE:
                    continue  # more stored events to read before waiting
                if reader.pending:
                    # The agent waits for a decision only the session's owner can give.
                    conversation.open_turn_after = after
                    return self._waiting_permission(conversation, reader, base)
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    conversation.open_turn_after = after
                    return ToolAnswer(
                        [
                            f"No reply from team {conversation.to_team!r} within {timeout:g} s; "
                            f"the turn is still running in session {session_id}. Read it with "
                            f"session_report(session={session_id!r}, after_seq={after})."
                        ],
                        {**base, "status": "timeout", "last_seq": reader.last_seq},
                    )
                await watch.wait(30.0 if left is None else left)

    def _replied(
        self, *, to_team: str, base: dict[str, Any], status: str, reply: str, last_seq: int
    ) -> ToolAnswer:
        data = {**base, "status": status, "reply": reply, "last_seq": last_seq}
        if status != "success":
            raise TurnFailed(
                f"team {to_team!r} ended the turn with status {status!r}: {reply or '(no text)'}",
                data,
            )
        footer = (
            f"(tether: reply from team {to_team!r}, session {base['session']}; "
            "send_message again to continue this conversation)"
        )
        return ToolAnswer([reply, footer], data)

    def _waiting_permission(
        self, conversation: Conversation, reader: TurnReader, base: dict[str, Any]
    ) -> ToolAnswer:
        pending = [
            {"request_id": p["request_id"], "tool": p.get("tool"), "input": p.get("input", {})}
            for p in reader.pending.values()
        ]
        lines = [f"- {p['request_id']}: {p['tool']} {p['input']}" for p in pending]
        sid = conversation.session_id
        return ToolAnswer(
            [
                f"Team {conversation.to_team!r} is waiting for permission (session {sid}):\n"
                + "\n".join(lines)
                + "\nAnswer with permission_decide(request_id, 'allow' or 'deny'), then read the "
                f"reply with session_report(session={sid!r}, after_seq={base['after_seq']})."
            ],
            {
                **base,
                "status": "waiting_permission",
                "pending": pending,
                "last_seq": reader.last_seq,
            },
        )

    # -- team lifecycle -----------------------------------------------------------------------

    async def team_status(self, caller: Caller, team: str | None = None) -> ToolAnswer:
        """Teams with their online state, sessions and the caller's conversations."""
        teams = await caller.hub.teams()
        if team is not None:
            teams = [t for t in teams if t["name"] == team]
            if not teams:
                raise NotFound(f"no team {team!r}", hint="call list_teams")
        sessions = await caller.hub.sessions()
        mine = {c.session_id: c for c in self.pool.of_owner(caller.key)}
        rows, lines = [], []
        for t in teams:
            live = [s for s in sessions if s["team"] == t["name"] and s["state"] != "exited"]
            convs = [
                {"session": s["id"], "state": s["state"], "from_team": mine[s["id"]].from_team}
                for s in live
                if s["id"] in mine
            ]
            online = bool(t.get("runner_connected"))
            rows.append(
                {
                    "team": t["name"],
                    "online": online,
                    "live_sessions": len(live),
                    "busy_sessions": sum(s["state"] != "idle" for s in live),
                    "your_conversations": convs,
                }
            )
            detail = (
                ", ".join(
                    f"{c['session']} {c['state']}"
                    + (f" (from {c['from_team']})" if c["from_team"] else "")
                    for c in convs
                )
                or "none"
            )
            lines.append(
                f"- {t['name']}: {'online' if online else 'offline'}, "
                f"{len(live)} live session(s); your conversations: {detail}"
            )
        return ToolAnswer(["\n".join(lines) or "No teams."], {"teams": rows})

    async def team_wake(
        self, caller: Caller, team: str, from_team: str | None = None
    ) -> ToolAnswer:
        """Make sure the pair's conversation has a running session, ready for a turn."""
        await self._team(caller, team)
        sender = from_team or NO_TEAM
        async with self.pool.create_lock:
            conversation = self.pool.get(caller.key, sender, team)
            resuming = conversation is not None and conversation.asleep
            if conversation is not None and resuming:
                await conversation.lock.acquire()
                await self._resume(caller, conversation, None)
                conversation.lock.release()
            elif conversation is not None and not await self._alive(caller, conversation):
                self.pool.drop(conversation)
                conversation = None
            if conversation is None:
                started = await caller.hub.start(team)
                conversation = self.pool.add(caller.key, sender, team, started["id"])
        conversation.touch()
        state = await self._wait_state(
            caller, conversation.session_id, WAKE_TIMEOUT_S, resuming=resuming
        )
        return ToolAnswer(
            [f"Team {team!r} is awake: session {conversation.session_id} is {state}."],
            {"team": team, "session": conversation.session_id, "state": state},
        )

    async def _alive(self, caller: Caller, conversation: Conversation) -> bool:
        try:
            info = await caller.hub.session(conversation.session_id)
        except NotFound:
            return False
        return bool(info["state"] != SessionState.EXITED)

    async def _wait_exited(self, caller: Caller, session_id: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        async with self.access.watch(session_id) as watch:
            while (await caller.hub.session(session_id))["state"] != SessionState.EXITED:
                left = deadline - time.monotonic()
                if left <= 0:
                    return  # resume will say why it cannot
                await watch.wait(left)

    async def _wait_state(
        self, caller: Caller, session_id: str, timeout: float, *, resuming: bool = False
    ) -> str:
        # A resumed session still shows `exited` until its runner reports it starting.
        waiting = (
            {SessionState.STARTING, SessionState.EXITED} if resuming else {SessionState.STARTING}
        )
        deadline = time.monotonic() + timeout
        async with self.access.watch(session_id) as watch:
            while True:
                state = str((await caller.hub.session(session_id))["state"])
                left = deadline - time.monotonic()
                if state not in waiting or left <= 0:
                    return state
                await watch.wait(left)

    async def team_sleep(
        self, caller: Caller, team: str, from_team: str | None = None
    ) -> ToolAnswer:
        """Put the caller's conversations with a team to sleep: their agents stop, and the
        next message (or team_wake) resumes the same session with its context."""
        stopped = []
        for conversation in self.pool.of_owner(caller.key):
            if conversation.to_team != team:
                continue
            if from_team is not None and conversation.from_team != from_team:
                continue
            if conversation.asleep:
                continue
            try:
                await caller.hub.stop(conversation.session_id)
            except (NotFound, Conflict) as exc:
                log.info("mcp: session %s already gone: %s", conversation.session_id, exc)
                self.pool.drop(conversation)
            else:
                conversation.asleep = True
            stopped.append(conversation.session_id)
        text = (
            f"Put {len(stopped)} session(s) of team {team!r} to sleep: {', '.join(stopped)}"
            " (the next message resumes each with its context)"
            if stopped
            else f"You have no conversation with team {team!r} to put to sleep."
        )
        return ToolAnswer([text], {"team": team, "stopped": stopped})

    # -- sessions ------------------------------------------------------------------------------

    async def list_sessions(
        self, caller: Caller, team: str | None = None, include_exited: bool = False
    ) -> ToolAnswer:
        """Sessions the caller may see."""
        rows = []
        for s in await caller.hub.sessions():
            if team is not None and s["team"] != team:
                continue
            if s["state"] == "exited" and not include_exited:
                continue
            rows.append(
                {
                    "session": s["id"],
                    "team": s["team"],
                    "state": s["state"],
                    "last_seq": s["last_seq"],
                    "owner": s.get("owner"),
                    "pending_permissions": s.get("pending_permissions", 0),
                    "yours": self.pool.owns(caller.key, s["id"]),
                }
            )
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

    async def session_report(
        self, caller: Caller, session: str, after_seq: int = 0, limit: int = 200
    ) -> ToolAnswer:
        """The transcript of a session after a seq."""
        if after_seq < 0:
            raise TetherError("after_seq must be 0 or more")
        limit = max(1, min(limit, PAGE))
        info = await caller.hub.session(session)
        page = await caller.hub.events(session, after=after_seq, limit=limit)
        events = page["events"]
        last = events[-1]["seq"] if events else after_seq
        more = last < int(page["last_seq"])
        head = (
            f"Session {session} (team {info['team']}, {info['state']}), events after "
            f"seq {after_seq}:"
            if events
            else f"Session {session} (team {info['team']}, {info['state']}): nothing after seq "
            f"{after_seq}."
        )
        tail = (
            f"(more: call session_report(session={session!r}, after_seq={last}))"
            if more
            else f"(last seq {last})"
        )
        body = transcript(events)
        return ToolAnswer(
            [head + ("\n" + body if body else "") + "\n" + tail],
            {
                "session": session,
                "team": info["team"],
                "state": info["state"],
                "after_seq": after_seq,
                "next_after_seq": last,
                "more": more,
                "pending": [
                    {
                        "request_id": p["request_id"],
                        "tool": p.get("tool"),
                        "input": p.get("input", {}),
                    }
                    for p in info.get("pending", [])
                ],
                "events": events,
            },
        )

    async def session_cancel(self, caller: Caller, session: str) -> ToolAnswer:
        """Interrupt the running turn of a session."""
        info = await caller.hub.session(session)
        if info["state"] not in (SessionState.BUSY, SessionState.WAITING_PERMISSION):
            return ToolAnswer(
                [f"Session {session} is {info['state']}: no turn to cancel."],
                {"session": session, "cancelled": False, "state": info["state"]},
            )
        await caller.hub.interrupt(session)
        return ToolAnswer(
            [f"Asked session {session} to stop its turn."],
            {"session": session, "cancelled": True, "state": info["state"]},
        )

    async def permission_decide(
        self,
        caller: Caller,
        request_id: str,
        decision: Decision,
        session: str | None = None,
        message: str | None = None,
    ) -> ToolAnswer:
        """Answer a pending permission request of a session the caller started."""
        candidates = (
            [session] if session else [c.session_id for c in self.pool.of_owner(caller.key)]
        )
        for session_id in candidates:
            info = await caller.hub.session(session_id)
            if any(p.get("request_id") == request_id for p in info.get("pending", [])):
                if not self.pool.owns(caller.key, session_id):
                    raise _not_yours(session_id)
                await caller.hub.decide(session_id, request_id, decision, message)
                return ToolAnswer(
                    [
                        f"Answered {request_id} in session {session_id}: {decision}. Read what "
                        f"happens next with session_report(session={session_id!r})."
                    ],
                    {"session": session_id, "request_id": request_id, "decision": decision},
                )
        if session is None:
            # Give a precise reason when the request exists in someone else's session.
            for s in await caller.hub.sessions():
                if s.get("pending_permissions") and not self.pool.owns(caller.key, s["id"]):
                    info = await caller.hub.session(s["id"])
                    if any(p.get("request_id") == request_id for p in info.get("pending", [])):
                        raise _not_yours(s["id"])
        raise NotFound(
            f"no pending permission request {request_id!r}"
            + (f" in session {session}" if session else " in your sessions"),
            hint="it may have been answered or withdrawn; check with session_report",
        )

    # -- idle sweeping -------------------------------------------------------------------------

    async def sweep_idle(self, interval: float = 30.0) -> None:
        """Forever: put conversations idle longer than the pool's timeout to sleep."""
        while True:
            await asyncio.sleep(interval)
            await self.sweep_once()

    async def sweep_once(self) -> list[str]:
        """One sweep; returns the sessions put to sleep."""
        slept = []
        for conversation in self.pool.idle():
            try:
                done = await self.access.sleep_if_idle(conversation.session_id)
            except TetherError as exc:
                log.warning(
                    "mcp: could not put session %s to sleep: %s", conversation.session_id, exc
                )
                continue
            if done:
                conversation.asleep = True
                slept.append(conversation.session_id)
                log.info(
                    "mcp: session %s (%s → %s) idle; put to sleep",
                    conversation.session_id,
                    _sender(conversation.from_team),
                    conversation.to_team,
                )
        return slept


class TurnFailed(TetherError):
    """The team's agent ended the turn with an error, an interrupt, or by exiting."""

    code = "turn_failed"

    def __init__(self, message: str, data: dict[str, Any]) -> None:
        super().__init__(message, hint="read the session with session_report for details")
        self.data = data


def _not_yours(session_id: str) -> Forbidden:
    return Forbidden(
        f"permission request belongs to session {session_id}, which you did not start "
        "through tether's MCP tools; only its owner may answer it",
        hint="answer it from `tether attach` or the web UI",
    )
