"""Claude Code's permission prompts in a terminal session, as Allow/Deny cards everywhere.

Claude Code runs its `PermissionRequest` hooks while it shows its own permission dialog,
and takes whichever answers first: a hook's decision closes the dialog (the TUI says
"Allowed by PermissionRequest hook"), an answer in the dialog kills the hook. tether's
hook (`terminal.hook`, installed for that one process with `--settings`) connects to the
PTY host and waits here:

* the request becomes a `permission_request` event — the same card viewers already know;
* a remote Allow/Deny (`decide`) goes back to the hook, which prints it for Claude Code,
  and is logged as `permission_decision` by that viewer;
* if the hook's connection ends first (the user answered in the terminal, or interrupted),
  the request is logged as decided `cancelled` "answered in the terminal", so every card
  goes away and a late remote answer is refused as already answered.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

from tether.errors import NotFound
from tether.protocol.events import PermissionDecision, PermissionRequest, event_payload
from tether.protocol.messages import ControlPermissionDecision

Emit = Callable[[dict[str, Any]], None]
ANSWERED_LOCALLY = "answered in the terminal"


def hook_output(decision: ControlPermissionDecision) -> dict[str, Any]:
    """What the hook prints for Claude Code (its `PermissionRequest` decision format)."""
    answer: dict[str, Any] = {"behavior": decision.behavior}
    if decision.behavior == "allow" and decision.updated_input is not None:
        answer["updatedInput"] = decision.updated_input
    if decision.behavior == "deny":
        answer["message"] = decision.message or f"denied by {decision.by or 'a tether viewer'}"
    return {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": answer}}


class HookBridge:
    """The permission requests of one terminal that a hook is waiting on."""

    def __init__(self, emit: Emit, *, log_decisions: bool = True) -> None:
        self._emit = emit
        # The runner's supervisor logs a viewer's decision itself (agent = "terminal").
        self._log_decisions = log_decisions
        self._waiting: dict[str, asyncio.Future[ControlPermissionDecision]] = {}

    async def ask(
        self, hook_event: dict[str, Any], hook_gone: asyncio.Future[None]
    ) -> dict[str, Any] | None:
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
        self._emit(event_payload(request))
        answer: asyncio.Future[ControlPermissionDecision] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting[request_id] = answer
        try:
            either: set[asyncio.Future[Any]] = {answer, hook_gone}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._waiting.pop(request_id, None)
        if answer.done() and not answer.cancelled():
            decision = answer.result()
            if self._log_decisions:
                self._emit(
                    event_payload(
                        PermissionDecision(
                            request_id=request_id,
                            behavior=decision.behavior,
                            by=decision.by,
                            message=decision.message,
                            updated_input=decision.updated_input,
                        )
                    )
                )
            return hook_output(decision)
        self._settled_locally(request_id)
        return None

    def decide(self, decision: ControlPermissionDecision) -> None:
        """A viewer's answer; NotFound when the request was settled already."""
        answer = self._waiting.get(decision.request_id)
        if answer is None or answer.done():
            raise NotFound(f"permission request {decision.request_id} was already answered")
        answer.set_result(decision)

    def close(self) -> None:
        """The program ended: every request still waiting is withdrawn."""
        for answer in list(self._waiting.values()):
            if not answer.done():
                answer.cancel()

    def _settled_locally(self, request_id: str) -> None:
        decision = PermissionDecision(
            request_id=request_id, behavior="cancelled", by="terminal", message=ANSWERED_LOCALLY
        )
        self._emit(event_payload(decision))


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}
