"""The Codex adapter: `codex app-server`, JSON-RPC over stdio (wire notes: docs/agents.md).

`initialize` → `initialized` → `thread/start` (or `thread/resume`) with the team's approval
policy and sandbox; each user message is a `turn/start`; `turn/interrupt` stops a turn.
Codex's approval requests become `permission_request`s the session's owner answers.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from tether.agents.base import AgentContext, WireObject
from tether.agents.codex_items import item_events
from tether.agents.jsonrpc import LineRpc
from tether.agents.process import ProcessHost, program_argv
from tether.agents.usage import TurnUsage, codex_usage
from tether.errors import AgentError
from tether.protocol.events import (
    AgentMessage,
    ErrorEvent,
    PermissionDecision,
    PermissionRequest,
    Status,
    TurnFinished,
)
from tether.protocol.messages import ControlPermissionDecision

log = logging.getLogger("tether.agents.codex")

DEFAULT_APPROVAL_POLICY = "on-request"
DEFAULT_SANDBOX = "workspace-write"
APPROVAL_METHODS = {
    "item/commandExecution/requestApproval": "shell",
    "item/fileChange/requestApproval": "apply_patch",
}
# Codex's decisions, as options the owner picks from (ACP-like kinds).
_OPTION_NAMES = {
    "accept": ("Allow", "allow_once"),
    "acceptForSession": ("Allow for this session", "allow_always"),
    "decline": ("Deny (the turn goes on)", "reject_once"),
    "cancel": ("Deny and stop the turn", "reject_once"),
}
_TURN_STATUS: dict[str, Literal["success", "interrupted", "error"]] = {
    "completed": "success",
    "interrupted": "interrupted",
    "failed": "error",
}


@dataclass
class _Approval:
    rpc_id: Any
    decisions: WireObject = field(default_factory=dict)  # option id → decision value


class CodexAdapter(ProcessHost):
    """Drives one `codex app-server` process (one thread)."""

    agent_name = "codex"

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        self.rpc: LineRpc | None = None
        self.thread_id: str | None = ctx.resume
        self.turn_id: str | None = None
        self._approvals: dict[str, _Approval] = {}
        self._texts: dict[str, str] = {}  # agentMessage item id → text streamed so far
        self._usage: TurnUsage | None = None  # the running turn's model calls, summed

    # -- argv and thread settings ------------------------------------------------------------

    def argv(self) -> list[str]:
        """`codex app-server` (the team's `command` replaces `codex`)."""
        return [*program_argv(self.ctx, "codex"), "app-server"]

    def thread_settings(self) -> WireObject:
        """approvalPolicy / sandbox / model / cwd for `thread/start` and `thread/resume`."""
        team = self.ctx.team
        if team.skip_permissions:
            policy, sandbox = "never", team.sandbox or "danger-full-access"
        else:
            policy = team.approval_policy or DEFAULT_APPROVAL_POLICY
            sandbox = team.sandbox or DEFAULT_SANDBOX
        settings: WireObject = {"cwd": team.path, "approvalPolicy": policy, "sandbox": sandbox}
        if team.model:
            settings["model"] = team.model
        return settings

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn, initialize, and start (or resume) the thread."""
        team = self.ctx.team
        proc = await self.spawn_process(self.argv(), dict(team.env))
        self.rpc = LineRpc(proc, self.agent_name, self._on_notification, self._on_request)
        self.add_reader(self.spawn_task(self.rpc.read_forever()))
        timeout = team.session_init_timeout
        try:
            await self.rpc.request(
                "initialize",
                {"clientInfo": {"name": "tether", "title": "tether", "version": _version()}},
                timeout,
            )
            await self.rpc.notify("initialized")
            if self.ctx.resume:
                params = {"threadId": self.ctx.resume, "excludeTurns": True}
                result = await self.rpc.request(
                    "thread/resume", {**params, **self.thread_settings()}, timeout
                )
            else:
                result = await self.rpc.request("thread/start", self.thread_settings(), timeout)
        except TimeoutError:
            await self.stop()
            raise AgentError(
                f"codex did not get ready within {timeout:g} s",
                hint="check the codex install and its model provider; raise session_init_timeout",
            ) from None
        except AgentError as exc:
            await self.stop()
            tail = "; ".join(list(self.stderr_tail)[-3:])
            raise AgentError(
                f"codex could not start: {exc}" + (f" ({tail})" if tail else "")
            ) from None
        thread = result.get("thread") or {}
        self.thread_id = str(thread.get("id") or self.thread_id)
        self.ready(
            Status(
                state="idle",
                agent=self.agent_name,
                agent_session_id=self.thread_id,
                model=result.get("model"),
                permission_mode=result.get("approvalPolicy"),
            )
        )

    async def send_user_message(self, text: str) -> None:
        """Start a turn."""
        rpc = self._require_rpc()
        result = await rpc.request(
            "turn/start",
            {"threadId": self.thread_id, "input": [{"type": "text", "text": text}]},
            timeout=60,
        )
        turn = (result or {}).get("turn") or {}
        self.turn_id = turn.get("id") or self.turn_id

    async def decide_permission(self, decision: ControlPermissionDecision) -> None:
        """Answer an approval: accept / acceptForSession / decline, or an offered option."""
        approval = self._approvals.pop(decision.request_id, None)
        if approval is None:
            raise AgentError(f"no pending permission request {decision.request_id!r}")
        if decision.option_id is not None:
            choice = approval.decisions.get(decision.option_id)
            if choice is None and decision.option_id in _OPTION_NAMES:
                choice = decision.option_id
            if choice is None:
                self._approvals[decision.request_id] = approval
                raise AgentError(
                    f"option {decision.option_id!r} was not offered for {decision.request_id}",
                    hint="pick one of: " + ", ".join(approval.decisions),
                )
        else:
            choice = "accept" if decision.behavior == "allow" else "decline"
        await self._require_rpc().respond(approval.rpc_id, {"decision": choice})

    async def interrupt(self) -> None:
        """Interrupt the running turn."""
        if self.rpc is None or self.turn_id is None:
            return
        with contextlib.suppress(TimeoutError, AgentError):
            await self.rpc.request(
                "turn/interrupt", {"threadId": self.thread_id, "turnId": self.turn_id}, timeout=10
            )

    def _require_rpc(self) -> LineRpc:
        if self.rpc is None:
            raise AgentError("codex is not running")
        return self.rpc

    # -- from the agent ----------------------------------------------------------------------

    def _on_request(self, rpc_id: Any, method: str, params: WireObject, raw: WireObject) -> None:
        tool = APPROVAL_METHODS.get(method)
        if tool is None:
            # Never leave the agent waiting on something tether cannot answer.
            assert self.rpc is not None
            self.spawn_task(
                self.rpc.respond_error(rpc_id, -32601, f"tether does not support {method}")
            )
            return
        request_id = f"codex-{rpc_id}"
        offered = params.get("availableDecisions") or [
            "accept",
            "acceptForSession",
            "decline",
            "cancel",
        ]
        approval = _Approval(rpc_id)
        for value in [*offered, "decline"]:
            option_id = value if isinstance(value, str) else next(iter(value), "")
            if option_id and option_id not in approval.decisions:
                approval.decisions[option_id] = value
        self._approvals[request_id] = approval
        tool_input = {
            k: params[k] for k in ("command", "cwd", "reason", "grantRoot") if params.get(k)
        }
        self.ctx.emit(
            PermissionRequest(
                request_id=request_id,
                tool=tool,
                input=tool_input,
                tool_use_id=params.get("itemId"),
                options=[_option(o, v) for o, v in approval.decisions.items()],
                raw=raw,
            )
        )

    def _on_notification(self, method: str, params: WireObject, raw: WireObject) -> None:
        if method == "turn/started":
            self.turn_id = (params.get("turn") or {}).get("id") or self.turn_id
        elif method == "item/agentMessage/delta":
            item_id = str(params.get("itemId"))
            self._texts[item_id] = self._texts.get(item_id, "") + str(params.get("delta", ""))
        elif method in ("item/started", "item/completed"):
            item = params.get("item") or {}
            started = method == "item/started"
            if item.get("type") == "agentMessage" and not started:
                self._texts.pop(str(item.get("id")), None)  # streamed to its end
            for event in item_events(item, raw, started=started):
                self.ctx.emit(event)
        elif method == "serverRequest/resolved":
            request_id = f"codex-{params.get('requestId')}"
            if self._approvals.pop(request_id, None) is not None:
                self.ctx.emit(_cancelled(request_id, raw))
        elif method == "thread/tokenUsage/updated":
            # One per model call; `last` is that call's, so a turn's usage is their sum.
            call = codex_usage((params.get("tokenUsage") or {}).get("last"))
            if call is not None:
                self._usage = call if self._usage is None else self._usage + call
        elif method == "error" and not params.get("willRetry"):
            error = params.get("error") or {}
            message = str(error.get("message", error))
            self.ctx.emit(ErrorEvent(code="agent", message=message, raw=raw))
        elif method == "turn/completed":
            self._on_turn_completed(params.get("turn") or {}, raw)

    def _on_turn_completed(self, turn: WireObject, raw: WireObject) -> None:
        # Text streamed into a message the turn never completed (an interrupt) still counts.
        for text in self._texts.values():
            if text:
                self.ctx.emit(AgentMessage(text=text, partial=True))
        self._texts.clear()
        self._cancel_approvals()
        error = turn.get("error")
        finished = TurnFinished(
            status=_TURN_STATUS.get(str(turn.get("status")), "error"),
            result=str(error["message"])
            if isinstance(error, dict) and error.get("message")
            else None,
            usage=self._usage.as_payload() if self._usage is not None else None,
            raw=raw,
        )
        self._usage = None
        self.turn_id = None
        self.ctx.emit(finished)

    def _cancel_approvals(self) -> None:
        for request_id in list(self._approvals):
            self._approvals.pop(request_id)
            self.ctx.emit(_cancelled(request_id, None))

    def on_process_exit(self, code: int) -> None:
        """Pending approvals die with the process."""
        self._cancel_approvals()


def _option(option_id: str, value: Any) -> WireObject:
    name, kind = _OPTION_NAMES.get(option_id, (option_id, "allow_always"))
    if option_id == "acceptWithExecpolicyAmendment":
        name = "Always allow this command"
    option: WireObject = {"option_id": option_id, "name": name, "kind": kind}
    if not isinstance(value, str):
        option["value"] = value
    return option


def _cancelled(request_id: str, raw: WireObject | None) -> PermissionDecision:
    return PermissionDecision(request_id=request_id, behavior="cancelled", by="codex", raw=raw)


def _version() -> str:
    import tether

    return str(tether.__version__)
