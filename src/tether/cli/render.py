"""How `tether attach` shows events to a person. Everything in an event is untrusted: it
is sanitized (`tether.sanitize`) and printed as `Text`, never as Rich markup."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from tether.cli.output import json_line
from tether.sanitize import revealed, terminal_name, terminal_text, with_colours

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    from tether.protocol.api_shapes import EventPayload

_STATUS_FACTS: tuple[Literal["agent", "model", "permission_mode", "detail"], ...] = (
    "agent",
    "model",
    "permission_mode",
    "detail",
)
"""What a status line shows after the state, where the event says it."""

_STATE_STYLE = {
    "idle": "green",
    "busy": "cyan",
    "waiting_permission": "yellow",
    "exited": "red",
    "lost": "red",
    "starting": "cyan",
}


def compact(value: Any, limit: int = 300) -> str:
    """A value on one line (JSON unless it is a string), cut at `limit` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def request_text(request: EventPayload) -> str:
    """`TOOL INPUT` of a permission request, with invisible characters shown as <U+XXXX>."""
    return f"{terminal_name(request.get('tool'))} {revealed(compact(request.get('input', {})))}"


def render_event(console: Console, payload: EventPayload) -> None:
    """Print one event, human-readable."""
    from rich.text import Text

    line = Text()
    kind = str(payload.get("kind"))
    render = _RENDERERS.get(kind)
    if render is None:
        line.append(f"[{terminal_name(kind)}] {terminal_text(compact(payload))}", style="dim")
    else:
        render(line, payload)
    console.print(line, soft_wrap=True)


def event_json(seq: int, ts: float, payload: EventPayload) -> str:
    """One event as a JSON line: seq, ts and the payload's fields."""
    return json_line({"seq": seq, "ts": ts, **payload})


def _status(line: Text, p: EventPayload) -> None:
    state = terminal_name(p.get("state"))
    line.append(f"· {state}", style=_STATE_STYLE.get(state, "dim"))
    extra = [terminal_name(p.get(k)) for k in _STATUS_FACTS if p.get(k)]
    if extra:
        line.append("  " + " · ".join(extra), style="dim")


def _user_message(line: Text, p: EventPayload) -> None:
    line.append(f"{terminal_name(p.get('by') or 'user')} › ", style="bold blue")
    line.append(terminal_text(p.get("text", "")))


def _agent_message(line: Text, p: EventPayload) -> None:
    line.append(terminal_text(p.get("text", "")))


def _tool_call(line: Text, p: EventPayload) -> None:
    line.append(f"⚙ {terminal_name(p.get('tool'))} ", style="magenta")
    line.append(revealed(compact(p.get("input", {}))), style="dim")


def _tool_result(line: Text, p: EventPayload) -> None:
    style = "red" if p.get("is_error") else "dim"
    line.append("  ↳ " + terminal_text(compact(p.get("output", ""), 600)), style=style)


def _permission_request(line: Text, p: EventPayload) -> None:
    line.append(
        f"? permission requested [{terminal_name(p.get('request_id'))}]: ", style="bold yellow"
    )
    line.append(request_text(p))


def _permission_decision(line: Text, p: EventPayload) -> None:
    behavior = terminal_name(p.get("behavior"))
    style = {"allow": "green", "deny": "red"}.get(behavior, "dim")
    line.append(f"  {behavior} [{terminal_name(p.get('request_id'))}]", style=style)
    if p.get("by"):
        line.append(f" by {terminal_name(p['by'])}", style="dim")
    if p.get("message"):
        line.append(f": {terminal_text(p['message'])}")


def _turn_finished(line: Text, p: EventPayload) -> None:
    status = terminal_name(p.get("status"))
    line.append(f"— turn {status}", style="green" if status == "success" else "red")
    usage = p.get("usage")
    if not isinstance(usage, dict):
        usage = {}
    spent = spent_text(usage.get("input_tokens"), usage.get("output_tokens"), p.get("cost"))
    if spent:
        line.append(f" · {spent}", style="dim")


def spent_text(input_tokens: object, output_tokens: object, cost: object) -> str:
    """`1,234 in / 56 out tokens · $0.0123`; the parts that are known; "" when none is."""
    parts = []
    if _number(input_tokens) or _number(output_tokens):
        parts.append(f"{_number(input_tokens):,} in / {_number(output_tokens):,} out tokens")
    if isinstance(cost, int | float) and not isinstance(cost, bool) and cost > 0:
        parts.append(f"${cost:.4f}")
    return " · ".join(parts)


def _number(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _output(line: Text, p: EventPayload) -> None:
    from rich.text import Text

    # The agent's own colours survive, through the allow-list; nothing else does.
    text = Text.from_ansi(with_colours(p.get("text", "")))
    if p.get("stream") == "stderr":
        text.stylize("red")
    line.append_text(text)


def _exited(line: Text, p: EventPayload) -> None:
    line.append(f"■ exited (code {terminal_name(p.get('code'))}", style="red")
    if p.get("signal"):
        line.append(f", signal {terminal_name(p['signal'])}", style="red")
    line.append(")", style="red")
    if p.get("reason"):
        line.append(f" {terminal_text(compact(p['reason']))}", style="dim")


def _error(line: Text, p: EventPayload) -> None:
    line.append(f"! {terminal_text(p.get('message'))}", style="bold red")


_RENDERERS: dict[str, Callable[[Text, EventPayload], None]] = {
    "status": _status,
    "user_message": _user_message,
    "agent_message": _agent_message,
    "tool_call": _tool_call,
    "tool_result": _tool_result,
    "permission_request": _permission_request,
    "permission_decision": _permission_decision,
    "turn_finished": _turn_finished,
    "output": _output,
    "exited": _exited,
    "error": _error,
}
