"""An ntfy delivery (https://ntfy.sh or a self-hosted server): ntfy's JSON publish format,
posted to the server's root with the topic in the body, so titles in any language arrive
intact. Permission requests get `http` actions that POST their capability URLs."""

from __future__ import annotations

import json
from typing import Literal, NotRequired, TypedDict
from urllib.parse import urlsplit, urlunsplit

import tether
from tether.errors import ConfigError
from tether.notify.contract import PERMISSION_EVENTS, Notification
from tether.notify.sinks import OutgoingRequest

_TAGS = {
    "permission_request": "key",
    "permission_reminder": "alarm_clock",
    "permission_answered": "heavy_check_mark",
    "turn_finished": "white_check_mark",
    "session_failed": "x",
    "test": "bell",
}


def split_topic(url: str) -> tuple[str, str]:
    """(server root URL, topic) of a topic URL such as `https://ntfy.sh/my-topic`."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    root_path, _, topic = path.rpartition("/")
    if not topic:
        raise ConfigError(
            f"the ntfy URL {url!r} names no topic", hint="write e.g. https://ntfy.sh/my-topic"
        )
    return urlunsplit((parts.scheme, parts.netloc, root_path + "/", "", "")), topic


class Action(TypedDict):
    """A button on an ntfy notification: open a link (`view`) or POST to one (`http`)."""

    action: Literal["view", "http"]
    label: str
    url: str
    method: NotRequired[str]
    clear: NotRequired[bool]


class Message(TypedDict):
    """ntfy's JSON publish format (the fields tether sets)."""

    topic: str
    title: str
    message: str
    tags: list[str]
    priority: int
    click: str
    actions: list[Action]


def message(note: Notification, topic: str) -> Message:
    """ntfy's publish JSON for a notification."""
    actions: list[Action] = []
    if note.event in PERMISSION_EVENTS and note.allow_url and note.deny_url:
        for label, target in (("Allow", note.allow_url), ("Deny", note.deny_url)):
            actions.append(
                {"action": "http", "label": label, "url": target, "method": "POST", "clear": True}
            )
    actions.append({"action": "view", "label": "Open", "url": note.url})
    return {
        "topic": topic,
        "title": note.title,
        "message": note.summary,
        "tags": [_TAGS.get(note.event, "bell"), "tether"],
        "priority": 4 if note.event in PERMISSION_EVENTS else 3,
        "click": note.url,
        "actions": actions,
    }


def build(url: str, note: Notification, token: str | None) -> OutgoingRequest:
    """The POST for an ntfy topic (with its access token, if it has one)."""
    root, topic = split_topic(url)
    headers = {"Content-Type": "application/json", "User-Agent": f"tether/{tether.__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    body = json.dumps(message(note, topic), ensure_ascii=False).encode()
    return OutgoingRequest(root, body, headers)
