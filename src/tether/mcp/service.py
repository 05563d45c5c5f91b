"""What tether's MCP tools do: team messaging (the Iris model) over the hub's API.

Every method takes the `Caller` (who asks, with a hub client acting as them) and
returns a `ToolAnswer` (render.py words it): text for the model plus structured data
for programs. Errors are tether errors; the tool layer turns them into MCP tool errors.

A turn holds its conversation for as long as `async with self.pool.turn(claim)` runs:
claiming picks the pair's conversation (or starts its session), refusing a busy one;
the block hands the message over and waits for the reply; its end frees the
conversation, however the block ends.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Literal

from tether.errors import Conflict, Forbidden, NotFound, TetherError
from tether.mcp import render
from tether.mcp.access import Caller, HubAccess
from tether.mcp.pool import NO_TEAM, Claim, Conversation, ConversationBusy, ConversationPool
from tether.mcp.render import ToolAnswer, TurnFacts, sender
from tether.mcp.turns import TurnReader, transcript
from tether.mcp.waiting import PAGE, TurnFailed, await_reply, wait_exited, wait_state
from tether.protocol.api_shapes import Team
from tether.protocol.states import SessionState

__all__ = ["DEFAULT_TIMEOUT_S", "TeamService", "ToolAnswer", "TurnFailed"]

log = logging.getLogger("tether.mcp")

DEFAULT_TIMEOUT_S = 300.0
WAKE_TIMEOUT_S = 60.0

Decision = Literal["allow", "deny"]
_IN_A_TURN = (SessionState.BUSY, SessionState.WAITING_PERMISSION)


class TeamService:
    """The tools' logic, shared by every transport."""

    def __init__(self, access: HubAccess, pool: ConversationPool | None = None) -> None:
        self.access = access
        self.pool = pool if pool is not None else ConversationPool()

    # -- teams -----------------------------------------------------------------------------

    async def list_teams(self, caller: Caller) -> ToolAnswer:
        """Teams the caller may message."""
        return render.teams_answer(await caller.hub.teams())

    async def _team(self, caller: Caller, name: str) -> Team:
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
        """Hand `to_team` a turn in the pooled conversation; wait for the reply per timeout_s
        (0: for ever; negative: not at all)."""
        if not message.strip():
            raise TetherError("the message is empty", hint="say what you want the team to do")
        timeout = DEFAULT_TIMEOUT_S if timeout_s is None else timeout_s
        team = await self._team(caller, to_team)
        if not team.get("runner_connected"):
            raise Conflict(
                f"team {to_team!r} is offline: its runner {team.get('runner_id')} is away",
                hint="start that runner, or try again later",
            )
        sender_team = from_team or NO_TEAM
        claim = functools.partial(self._claim_for_message, caller, sender_team, to_team, message)
        async with self.pool.turn(claim) as claimed:
            conversation = claimed.conversation
            after = claimed.after
            if after is None:
                after = await self._hand_over(caller, conversation, message)
            base = TurnFacts(session=conversation.session_id, team=to_team, after_seq=after)
            if timeout < 0:
                conversation.open_turn_after = after
                return render.sent_answer(to_team, base)
            return await await_reply(self.access, caller, conversation, base, timeout or None)

    async def quick_message(
        self, caller: Caller, to_team: str, message: str, from_team: str | None = None
    ) -> ToolAnswer:
        """Fire and forget: `send_message` that returns at once."""
        return await self.send_message(caller, to_team, message, from_team, timeout_s=-1)

    async def _claim_for_message(
        self, caller: Caller, from_team: str, to_team: str, message: str
    ) -> Claim:
        """The pair's conversation if it can take a turn now, else a new session that takes
        `message` as its first prompt."""
        conversation = await self._usable(caller, from_team, to_team)
        if conversation is not None:
            return Claim(conversation)
        started = await caller.hub.start(to_team, prompt=message)
        log.info("mcp: %s → %s: new session %s", sender(from_team), to_team, started["id"])
        return Claim(self.pool.add(caller.key, from_team, to_team, started["id"]), after=0)

    async def _hand_over(self, caller: Caller, conversation: Conversation, message: str) -> int:
        """Give a held conversation its turn (waking it if asleep); the seq the turn follows."""
        if conversation.asleep:
            return await self._resume(caller, conversation, message)
        accepted = await caller.hub.send(conversation.session_id, message)
        return int(accepted.get("after_seq", 0))

    async def _resume(self, caller: Caller, conversation: Conversation, prompt: str | None) -> int:
        """Wake a sleeping conversation: the same session's agent starts again with its
        history and takes `prompt` as its next turn. Returns the seq the new turn follows."""
        # One try: if the agent cannot resume, the conversation is dropped at its next turn.
        conversation.asleep = False
        # Put to sleep a moment ago, its agent may still be on its way out.
        await wait_exited(self.access, caller, conversation.session_id, WAKE_TIMEOUT_S)
        info = await caller.hub.resume(conversation.session_id, prompt=prompt)
        log.info("mcp: session %s woken (resumed with its context)", conversation.session_id)
        return int(info.get("last_seq", 0))

    async def _usable(self, caller: Caller, from_team: str, to_team: str) -> Conversation | None:
        """The pair's conversation if it can take a turn now; None if there is none (any
        more); `Conflict` if it is busy or unreachable."""
        conversation = self.pool.get(caller.key, from_team, to_team)
        if conversation is None:
            return None
        sid = conversation.session_id
        if conversation.held:
            raise _busy(to_team, from_team, sid, "in a turn")
        try:
            state = (await caller.hub.session(sid))["state"]
        except NotFound:
            self.pool.drop(conversation)
            return None
        if state == SessionState.EXITED:
            if conversation.asleep:
                return conversation  # the turn wakes it
            self.pool.drop(conversation)
            return None
        if state == SessionState.LOST:
            raise Conflict(
                f"team {to_team!r} is unreachable: the runner of session {sid} is away",
                hint="try again when it has reconnected",
            )
        if state in _IN_A_TURN or not await self._open_turn_ended(caller, conversation):
            raise _busy(to_team, from_team, sid, state)
        return conversation

    async def _open_turn_ended(self, caller: Caller, conversation: Conversation) -> bool:
        """Whether the turn nobody waited for (quick_message, a timeout) has ended."""
        after = conversation.open_turn_after
        if after is None:
            return True
        page = await caller.hub.events(conversation.session_id, after=after, limit=5000)
        if TurnReader().feed(page["events"]) is None:
            return False
        conversation.open_turn_after = None
        return True

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
        rows: list[render.TeamStatus] = []
        for t in teams:
            live = [s for s in sessions if s["team"] == t["name"] and s["state"] != "exited"]
            convs: list[render.Conversation] = [
                {"session": s["id"], "state": s["state"], "from_team": mine[s["id"]].from_team}
                for s in live
                if s["id"] in mine
            ]
            rows.append(
                {
                    "team": t["name"],
                    "online": bool(t.get("runner_connected")),
                    "live_sessions": len(live),
                    "busy_sessions": sum(s["state"] != "idle" for s in live),
                    "your_conversations": convs,
                }
            )
        return render.team_status_answer(rows)

    async def team_wake(
        self, caller: Caller, team: str, from_team: str | None = None
    ) -> ToolAnswer:
        """Make sure the pair's conversation has a running session, ready for a turn."""
        await self._team(caller, team)
        sender_team = from_team or NO_TEAM
        try:
            claim = functools.partial(self._claim_for_wake, caller, sender_team, team)
            async with self.pool.turn(claim) as claimed:
                conversation = claimed.conversation
                resuming = conversation.asleep
                if resuming:
                    await self._resume(caller, conversation, None)
        except ConversationBusy as busy:  # in a turn: awake already
            conversation, resuming = busy.conversation, False
        sid = conversation.session_id
        state = await wait_state(self.access, caller, sid, WAKE_TIMEOUT_S, resuming=resuming)
        return render.woke_answer(team, sid, state)

    async def _claim_for_wake(self, caller: Caller, from_team: str, team: str) -> Claim:
        """The pair's conversation if it is alive or asleep, else a new session for it."""
        conversation = self.pool.get(caller.key, from_team, team)
        if conversation is not None:
            if conversation.held or conversation.asleep or await self._alive(caller, conversation):
                return Claim(conversation)
            self.pool.drop(conversation)
        started = await caller.hub.start(team)
        return Claim(self.pool.add(caller.key, from_team, team, started["id"]))

    async def _alive(self, caller: Caller, conversation: Conversation) -> bool:
        try:
            info = await caller.hub.session(conversation.session_id)
        except NotFound:
            return False
        return bool(info["state"] != SessionState.EXITED)

    async def team_sleep(
        self, caller: Caller, team: str, from_team: str | None = None
    ) -> ToolAnswer:
        """Put the caller's conversations with a team to sleep: their agents stop, and the
        next message (or team_wake) resumes the same session with its context."""
        stopped = []
        for conversation in self.pool.of_owner(caller.key):
            if conversation.to_team != team or conversation.asleep:
                continue
            if from_team is not None and conversation.from_team != from_team:
                continue
            try:
                await caller.hub.stop(conversation.session_id)
            except (NotFound, Conflict) as exc:
                log.info("mcp: session %s already gone: %s", conversation.session_id, exc)
                self.pool.drop(conversation)
            else:
                conversation.asleep = True
            stopped.append(conversation.session_id)
        return render.slept_answer(team, stopped)

    # -- sessions ------------------------------------------------------------------------------

    async def list_sessions(
        self, caller: Caller, team: str | None = None, include_exited: bool = False
    ) -> ToolAnswer:
        """Sessions the caller may see."""
        rows: list[render.SessionRow] = [
            {
                "session": s["id"],
                "team": s["team"],
                "state": s["state"],
                "last_seq": s["last_seq"],
                "owner": s.get("owner"),
                "pending_permissions": s.get("pending_permissions", 0),
                "yours": self.pool.owns(caller.key, s["id"]),
            }
            for s in await caller.hub.sessions()
            if (team is None or s["team"] == team) and (include_exited or s["state"] != "exited")
        ]
        return render.sessions_answer(rows)

    async def session_report(
        self, caller: Caller, session: str, after_seq: int = 0, limit: int = 200
    ) -> ToolAnswer:
        """The transcript of a session after a seq."""
        if after_seq < 0:
            raise TetherError("after_seq must be 0 or more")
        info = await caller.hub.session(session)
        page = await caller.hub.events(session, after=after_seq, limit=max(1, min(limit, PAGE)))
        return render.report_answer(session, info, after_seq, page, transcript(page["events"]))

    async def session_cancel(self, caller: Caller, session: str) -> ToolAnswer:
        """Interrupt the running turn of a session."""
        state = (await caller.hub.session(session))["state"]
        if state not in _IN_A_TURN:
            return render.cancel_answer(session, state, cancelled=False)
        await caller.hub.interrupt(session)
        return render.cancel_answer(session, state, cancelled=True)

    async def permission_decide(
        self,
        caller: Caller,
        request_id: str,
        decision: Decision,
        session: str | None = None,
        message: str | None = None,
    ) -> ToolAnswer:
        """Answer a pending permission request of a session the caller started."""
        mine = [session] if session else [c.session_id for c in self.pool.of_owner(caller.key)]
        for session_id in mine:
            if await self._holds_request(caller, session_id, request_id):
                if not self.pool.owns(caller.key, session_id):
                    raise _not_yours(session_id)
                await caller.hub.decide(session_id, request_id, decision, message)
                return render.decided_answer(session_id, request_id, decision)
        if session is None:
            # Give a precise reason when the request exists in someone else's session.
            for s in await caller.hub.sessions():
                theirs = s.get("pending_permissions") and not self.pool.owns(caller.key, s["id"])
                if theirs and await self._holds_request(caller, s["id"], request_id):
                    raise _not_yours(s["id"])
        raise NotFound(
            f"no pending permission request {request_id!r}"
            + (f" in session {session}" if session else " in your sessions"),
            hint="it may have been answered or withdrawn; check with session_report",
        )

    async def _holds_request(self, caller: Caller, session_id: str, request_id: str) -> bool:
        info = await caller.hub.session(session_id)
        return any(p.get("request_id") == request_id for p in info.get("pending", []))

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
            sid = conversation.session_id
            try:
                done = await self.access.sleep_if_idle(sid)
            except TetherError as exc:
                log.warning("mcp: could not put session %s to sleep: %s", sid, exc)
                continue
            if done:
                conversation.asleep = True
                slept.append(sid)
                pair = f"{sender(conversation.from_team)} → {conversation.to_team}"
                log.info("mcp: session %s (%s) idle; put to sleep", sid, pair)
        return slept


def _busy(to_team: str, from_team: str, session_id: str, state: str) -> Conflict:
    return Conflict(
        f"team {to_team!r} is busy with an earlier turn from {sender(from_team)} "
        f"(session {session_id}, {state})",
        hint=f"wait and try again, read it with session_report(session={session_id!r}), "
        "or stop it with session_cancel",
    )


def _not_yours(session_id: str) -> Forbidden:
    return Forbidden(
        f"permission request belongs to session {session_id}, which you did not start "
        "through tether's MCP tools; only its owner may answer it",
        hint="answer it from `tether attach` or the web UI",
    )
