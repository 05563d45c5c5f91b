"""The public Python client API: talk to a hub from a program.

    from tether.client import HubClient, RemoteSession

`HubClient` wraps the HTTP API; `RemoteSession` is a live, self-reconnecting view
of one session (callbacks or an async iterator). `tether attach` is built on it.

The names load on first use, so a program (or a CLI command) that needs only the HTTP
client never imports the WebSocket and protocol modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.client.api import TokenProvider, static_token
    from tether.client.http import HubClient
    from tether.client.session import RemoteSession, SessionEvent

__all__ = ["HubClient", "RemoteSession", "SessionEvent", "TokenProvider", "static_token"]

_HOME = {
    "HubClient": "tether.client.http",
    "TokenProvider": "tether.client.api",
    "static_token": "tether.client.api",
    "RemoteSession": "tether.client.session",
    "SessionEvent": "tether.client.session",
}


def __getattr__(name: str) -> Any:
    if name not in _HOME:
        raise AttributeError(f"module 'tether.client' has no attribute {name!r}")
    return getattr(importlib.import_module(_HOME[name]), name)
