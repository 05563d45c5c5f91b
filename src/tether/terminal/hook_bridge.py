"""Claude Code's permission prompts in a terminal session, as Allow/Deny cards everywhere.

Claude Code runs its `PermissionRequest` hooks while it shows its own permission dialog,
and takes whichever answers first: a hook's decision closes the dialog (the TUI says
"Allowed by PermissionRequest hook"); an answer in the dialog wins too, and the hook's
later answer is ignored. tether's hooks (`terminal.hook`, installed for that one process
with `--settings`) connect to the PTY host:

* the request becomes a `permission_request` event — the same card viewers already know;
* a remote Allow/Deny (`decide`) goes back to the hook, which prints it for Claude Code,
  and is logged as `permission_decision` by that viewer;
* Claude Code does not tell a hook that the dialog answered first, so two more (async,
  non-blocking) hooks say so: `PostToolUse`/`PostToolUseFailure` for the same tool and
  input means it was allowed in the terminal, `Stop`/`UserPromptSubmit` means the turn
  went on without it (denied or interrupted there). The request is then logged as decided
  by `terminal` with "answered in the terminal", every card goes away, the waiting hook is
  let go, and a late remote answer is refused as already answered. Claude Code may kill
  the waiting hook before those hooks run (an allowed tool is told only once it has
  finished, a denial not at all): from then on no remote answer is taken, and the card
  is settled as soon as they tell how the dialog went, or as `cancelled` after
  `OUTCOME_GRACE` (an allowed tool still running then is logged as `cancelled` too).
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from tether.errors import NotFound
from tether.protocol.events import Event, PermissionDecision, PermissionRequest
from tether.protocol.messages import ControlPermissionDecision
from tether.terminal.claude_hooks import HookDecision, HookEvent, HookOutput

Emit = Callable[[Event], None]
ANSWERED_LOCALLY = "answered in the terminal"
# How long a request whose hook Claude Code let go waits to be told it was allowed (a
# PostToolUse hook, once the tool ran); a denial or Esc in the dialog tells nothing
# (Stop does not run on an interrupt), so past this the card is settled as `cancelled`.
OUTCOME_GRACE = 8.0


def hook_output(decision: ControlPermissionDecision) -> HookOutput:
    """What the hook prints for Claude Code (its `PermissionRequest` decision format)."""
    answer: HookDecision = {"behavior": decision.behavior}
    if decision.behavior == "allow" and decision.updated_input is not None:
        answer["updatedInput"] = decision.updated_input
    if decision.behavior == "deny":
        answer["message"] = decision.message or f"denied by {decision.by or 'a tether viewer'}"
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": answer}}


class HookBridge:
    """The permission requests of one terminal that a hook is waiting on."""

    def __init__(
        self, emit: Emit, *, log_decisions: bool = True, outcome_grace: float = OUTCOME_GRACE
    ) -> None:
        self._emit = emit
        self._outcome_grace = outcome_grace
        # The runner's supervisor logs a viewer's decision itself (agent = "terminal").
        self._log_decisions = log_decisions
        self._waiting: dict[str, asyncio.Future[ControlPermissionDecision | str]] = {}
        self._asked: dict[str, tuple[str, Any]] = {}  # request id → (tool, input)
        self._hook_gone: set[str] = set()  # answered in the dialog, outcome not yet told

    async def ask(
        self, hook_event: HookEvent, hook_gone: asyncio.Future[None]
    ) -> HookOutput | None:
        """Publish the hook's request; return the hook's output once a viewer answers, or
        None when `hook_gone` resolves first (Claude Code took the terminal's answer)."""
        request_id = "perm_" + secrets.token_hex(6)
        suggestions = hook_event.get("permission_suggestions")
        request = PermissionRequest(
            request_id=request_id,
            tool=str(hook_event.get("tool_name") or "tool"),
            input=_as_dict(hook_event.get("tool_input")),
            suggestions=suggestions if isinstance(suggestions, list) else [],
        )
        self._emit(request)
        answer: asyncio.Future[ControlPermissionDecision | str] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[request_id] = answer
        self._asked[request_id] = (request.tool, hook_event.get("tool_input"))
        try:
            either: set[asyncio.Future[Any]] = {answer, hook_gone}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
            if not answer.done():
                # Claude Code let the hook go: the dialog was answered, but how is only
                # told by the PostToolUse/Stop hooks, which may come later (after the
                # allowed tool has run). No viewer can answer it meanwhile.
                self._hook_gone.add(request_id)
                await asyncio.wait({answer}, timeout=self._outcome_grace)
        finally:
            self._waiting.pop(request_id, None)
            self._asked.pop(request_id, None)
            self._hook_gone.discard(request_id)
        if answer.done() and not answer.cancelled() and not isinstance(answer.result(), str):
            decision = answer.result()
            assert isinstance(decision, ControlPermissionDecision)
            if self._log_decisions:
                self._emit(decision.logged())
            return hook_output(decision)
        local = answer.result() if answer.done() and not answer.cancelled() else "cancelled"
        self._settled_locally(request_id, "allow" if local == "allow" else "cancelled")
        return None

    def observe(self, hook_event: HookEvent) -> None:
        """One of the hooks that say what happened in the terminal (see the module doc)."""
        name = hook_event.get("hook_event_name")
        if name in ("PostToolUse", "PostToolUseFailure"):
            tool, tool_input = hook_event.get("tool_name"), hook_event.get("tool_input")
            for request_id, asked in list(self._asked.items()):
                if asked == (tool, tool_input):
                    self._settle(request_id, "allow")
                    return
        elif name in ("Stop", "UserPromptSubmit"):
            for request_id in list(self._asked):
                self._settle(request_id, "cancelled")

    def _settle(self, request_id: str, how: str) -> None:
        answer = self._waiting.get(request_id)
        if answer is not None and not answer.done():
            answer.set_result(how)

    def decide(self, decision: ControlPermissionDecision) -> None:
        """A viewer's answer; NotFound when the request was settled already."""
        answer = self._waiting.get(decision.request_id)
        if answer is None or answer.done() or decision.request_id in self._hook_gone:
            raise NotFound(f"permission request {decision.request_id} was already answered")
        answer.set_result(decision)

    def close(self) -> None:
        """The program ended: every request still waiting is withdrawn."""
        for answer in list(self._waiting.values()):
            if not answer.done():
                answer.cancel()

    def _settled_locally(self, request_id: str, behavior: str) -> None:
        decision = PermissionDecision(
            request_id=request_id,
            behavior="allow" if behavior == "allow" else "cancelled",
            by="terminal",
            message=ANSWERED_LOCALLY,
        )
        self._emit(decision)


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}
