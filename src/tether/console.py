"""How `tether attach` shows events to a person. Agent text is untrusted: never Rich markup."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.text import Text

_STATE_STYLE = {
    "idle": "green",
    "busy": "cyan",
    "waiting_permission": "yellow",
    "exited": "red",
    "lost": "red",
    "starting": "cyan",
}


def _compact(value: Any, limit: int = 300) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_event(console: Console, seq: int, payload: dict[str, Any]) -> None:
    """Print one event, human-readable."""
    kind = payload.get("kind")
    line = Text()
    if kind == "status":
        state = str(payload.get("state"))
        line.append(f"· {state}", style=_STATE_STYLE.get(state, "dim"))
        extra = [
            str(payload[k])
            for k in ("agent", "model", "permission_mode", "detail")
            if payload.get(k)
        ]
        if extra:
            line.append("  " + " · ".join(extra), style="dim")
    elif kind == "user_message":
        line.append(f"{payload.get('by') or 'user'} › ", style="bold blue")
        line.append(str(payload.get("text", "")))
    elif kind == "agent_message":
        line.append(str(payload.get("text", "")))
    elif kind == "tool_call":
        line.append(f"⚙ {payload.get('tool')} ", style="magenta")
        line.append(_compact(payload.get("input", {})), style="dim")
    elif kind == "tool_result":
        style = "red" if payload.get("is_error") else "dim"
        line.append("  ↳ " + _compact(payload.get("output", ""), 600), style=style)
    elif kind == "permission_request":
        line.append(
            f"? permission requested [{payload.get('request_id')}]: {payload.get('tool')} ",
            style="bold yellow",
        )
        line.append(_compact(payload.get("input", {})))
    elif kind == "permission_decision":
        behavior = payload.get("behavior")
        style = {"allow": "green", "deny": "red"}.get(str(behavior), "dim")
        line.append(f"  {behavior} [{payload.get('request_id')}]", style=style)
        if payload.get("by"):
            line.append(f" by {payload['by']}", style="dim")
        if payload.get("message"):
            line.append(f": {payload['message']}")
    elif kind == "turn_finished":
        status = str(payload.get("status"))
        line.append(f"— turn {status}", style="green" if status == "success" else "red")
        if payload.get("cost"):
            line.append(f" (${payload['cost']:.4f})", style="dim")
    elif kind == "output":
        line.append(
            str(payload.get("text", "")), style="red" if payload.get("stream") == "stderr" else ""
        )
    elif kind == "exited":
        line.append(f"■ exited (code {payload.get('code')}", style="red")
        if payload.get("signal"):
            line.append(f", signal {payload['signal']}", style="red")
        line.append(")", style="red")
        if payload.get("reason"):
            line.append(f" {_compact(payload['reason'])}", style="dim")
    elif kind == "error":
        line.append(f"! {payload.get('message')}", style="bold red")
    else:
        line.append(f"[{kind}] {_compact(payload)}", style="dim")
    console.print(line, soft_wrap=True)


def event_json(seq: int, ts: float, payload: dict[str, Any]) -> str:
    """One event as a JSON line: seq, ts and the payload's fields."""
    return json.dumps({"seq": seq, "ts": ts, **payload}, ensure_ascii=False)
