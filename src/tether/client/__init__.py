"""The public Python client API: talk to a hub from a program.

    from tether.client import HubClient, RemoteSession

`HubClient` wraps the HTTP API; `RemoteSession` is a live, self-reconnecting view
of one session (callbacks or an async iterator). `tether attach` is built on it.
"""

from tether.client.http import HubClient, TokenProvider, static_token
from tether.client.session import RemoteSession, SessionEvent

__all__ = ["HubClient", "RemoteSession", "SessionEvent", "TokenProvider", "static_token"]
