"""Using a capability: what a link would do (GET) and doing it (POST), exactly once.

    tampered, expired, its sink removed, its browser revoked,
    or its request withdrawn                                    → 403
    the request was answered (through any link, or elsewhere)  → 409
    decided now                                                  → 200
    the session's runner is away (nothing was used up)           → 503

The first use of any capability for a request is recorded durably before the decision
goes out, so two racing POSTs (or a replay) can never both decide.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, TypedDict

from tether.errors import Conflict, NotFound
from tether.notify.capability import Capability, CapabilityRefused, verify
from tether.notify.db import NotifyDb
from tether.notify.hubview import HubView
from tether.notify.records import Sink
from tether.notify.sender import Keys


class AnswerBody(TypedDict):
    """The JSON answer to a POST of a capability link."""

    status: int
    message: str
    session: str | None
    request_id: str | None
    behavior: str | None


@dataclass(frozen=True, slots=True)
class Answer:
    """What a capability link did (or would do)."""

    status: int
    message: str
    session_id: str | None = None
    request_id: str | None = None
    behavior: str | None = None
    team: str | None = None
    tool: str | None = None
    input: dict[str, Any] = field(default_factory=dict)

    def public(self) -> AnswerBody:
        """The JSON answer to a POST."""
        return {
            "status": self.status,
            "message": self.message,
            "session": self.session_id,
            "request_id": self.request_id,
            "behavior": self.behavior,
        }


class Answers:
    """Checks and uses capabilities."""

    def __init__(self, db: NotifyDb, hub: HubView, keys: Keys) -> None:
        self.db, self.hub, self.keys = db, hub, keys

    async def _check(self, token: str, now: float) -> tuple[Capability, Answer, Sink | None]:
        """The capability and what it would do now (status 200: it can still decide)."""
        try:
            cap = verify(self.keys.capability, token, now)
        except CapabilityRefused as exc:
            return _nothing(), Answer(403, exc.message), None
        shown = Answer(403, "", cap.session_id, cap.request_id, cap.behavior)
        view = await self.hub.session(cap.session_id)
        sink = await self.db.sink(cap.sink_id)
        if view is None or sink is None or sink.user_id != cap.user_id:
            return cap, replace(shown, message="this answer link is no longer valid"), sink
        if sink.device_id is not None and await self.hub.device_name(sink.device_id) is None:
            return (
                cap,
                replace(shown, message="this browser was signed out; its links are void"),
                sink,
            )
        shown = replace(shown, team=view.team)
        request = view.pending.get(cap.request_id)
        if request is not None:
            raw_input = request.get("input")
            tool_input = raw_input if isinstance(raw_input, dict) else {}
            shown = replace(shown, tool=str(request.get("tool") or ""), input=tool_input)
        prior = await self.db.answer_of(cap.session_id, cap.request_id)
        if prior is not None:
            return cap, replace(shown, status=409, message=f"already answered, by {prior}"), sink
        if request is None:
            told = await self.db.request(cap.session_id, cap.request_id)
            if told is not None and told.closed_how == "withdrawn":
                why = "the agent no longer asks this (withdrawn)"
                return cap, replace(shown, message=why), sink
            how = told.closed_how if told is not None and told.closed_how else "already answered"
            return cap, replace(shown, status=409, message=how), sink
        return cap, replace(shown, status=200, message=f"{cap.behavior} this request"), sink

    async def describe(self, token: str, now: float) -> Answer:
        """What a POST would do (a GET never decides anything)."""
        _cap, answer, _sink = await self._check(token, now)
        return answer

    async def use(self, token: str, now: float, address: str) -> Answer:
        """Decide, if this link still may."""
        cap, answer, sink = await self._check(token, now)
        if answer.status != 200 or sink is None:
            await self.hub.audit(
                "capability_refused",
                None,
                None,
                status=answer.status,
                session=answer.session_id,
                request_id=answer.request_id,
                address=address,
            )
            return answer
        user = await self.hub.user(cap.user_id)
        if user is None or user.disabled:
            return Answer(403, "the user of this link no longer exists")
        by = f"{user.name} {await self._via(sink)}"
        if not await self.db.claim_answer(
            cap.session_id, cap.request_id, cap.behavior, sink.id, by, address, now
        ):
            prior = await self.db.answer_of(cap.session_id, cap.request_id)
            return replace(answer, status=409, message=f"already answered, by {prior}")
        try:
            await self.hub.decide(cap.session_id, cap.request_id, cap.behavior, by)
        except NotFound:
            return replace(answer, status=409, message="already answered")
        except Conflict as exc:
            await self.db.release_answer(cap.session_id, cap.request_id)
            return replace(
                answer, status=503, message=f"{exc.message}; the link still works, try again"
            )
        await self.hub.audit(
            "permission_decision",
            user.id,
            sink.device_id,
            via="capability",
            sink=sink.id,
            sink_kind=sink.kind,
            session=cap.session_id,
            request_id=cap.request_id,
            behavior=cap.behavior,
            address=address,
        )
        verb = "Allowed" if cap.behavior == "allow" else "Denied"
        return replace(answer, status=200, message=f"{verb}, by {by}")

    async def _via(self, sink: Sink) -> str:
        if sink.kind == "webpush" and sink.device_id is not None:
            return f"on {await self.hub.device_name(sink.device_id) or 'a browser'}"
        return f"via {sink.kind}"


def _nothing() -> Capability:
    return Capability("", "", "deny", "", "", 0.0)
