"""The notification contract: the JSON every sink gets (docs/notifications.md, "Contract").

A `Notification` is what happened, for one user, without anything sink-specific; the
delivery step adds the capability URLs (`allow_url`, `deny_url`) minted for the sink it
sends to, so a stored notification never holds a credential.
"""

from __future__ import annotations

import json
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict

EventName = Literal[
    "permission_request",
    "permission_reminder",
    "permission_answered",
    "turn_finished",
    "session_failed",
    "test",
]
EVENTS: tuple[str, ...] = tuple(name for name in get_args(EventName) if name != "test")
"""What a user or a sink can subscribe to (`test` is only sent by `tether notify test`)."""
PERMISSION_EVENTS = frozenset({"permission_request", "permission_reminder"})
"""Events that carry Allow / Deny capabilities."""

MAX_SUMMARY = 200
MAX_STRING = 200
MAX_INPUT_JSON = 1000


class Notification(BaseModel):
    """One notification, as sinks receive it (fields that do not apply are null)."""

    model_config = ConfigDict(frozen=True)

    event: EventName
    id: str
    """Stable for one thing that happened (a receiver can drop a repeat delivery by it)."""
    session: str
    team: str
    url: str
    """The session in the web UI."""
    title: str
    summary: str
    ts: float
    request_id: str | None = None
    tool: str | None = None
    input: dict[str, Any] | None = None
    allow_url: str | None = None
    deny_url: str | None = None
    behavior: str | None = None
    """permission_answered: allow, deny, or cancelled (the agent withdrew the request)."""
    answered_by: str | None = None
    status: str | None = None
    """turn_finished: success, error or interrupted."""
    result: str | None = None
    cost: float | None = None
    reason: str | None = None
    """session_failed: why (an exit code, a signal, or `lost`)."""

    def body(self) -> bytes:
        """The JSON body sent to webhooks and in Web Push payloads."""
        return json.dumps(self.model_dump(), separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def tag(self) -> str:
        """Notifications with one tag replace each other on a device (one per request)."""
        if self.request_id is not None:
            return f"tether:{self.session}:{self.request_id}"
        return f"tether:{self.session}:{self.event}:{self.id}"


def clip(text: str, limit: int) -> str:
    """`text` on one line, at most `limit` characters (an ellipsis marks a cut)."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def first_line(text: str | None, limit: int = MAX_SUMMARY) -> str:
    """The first non-empty line of `text`, clipped."""
    for line in (text or "").splitlines():
        if line.strip():
            return clip(line, limit)
    return ""


def shorten_input(value: dict[str, Any]) -> dict[str, Any]:
    """A tool input small enough for a push payload: long strings cut, and past
    MAX_INPUT_JSON characters a one-line preview in place of the whole."""

    def cut(item: Any) -> Any:
        if isinstance(item, str):
            return item if len(item) <= MAX_STRING else item[: MAX_STRING - 1] + "…"
        if isinstance(item, dict):
            return {str(k): cut(v) for k, v in item.items()}
        if isinstance(item, list):
            return [cut(v) for v in item[:20]]
        return item

    short = cut(value)
    text = json.dumps(short, ensure_ascii=False)
    if len(text) <= MAX_INPUT_JSON:
        return short  # type: ignore[no-any-return]
    return {"preview": clip(text, MAX_INPUT_JSON)}


def describe_input(tool: str, value: dict[str, Any]) -> str:
    """What a tool call is about, in a line: a shell command, a file path, or a preview."""
    for key in ("command", "file_path", "path", "url", "pattern", "query"):
        if isinstance(value.get(key), str) and value[key].strip():
            return clip(value[key], 120)
    return clip(json.dumps(value, ensure_ascii=False), 120) if value else tool
