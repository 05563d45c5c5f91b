"""The one hub object: everything a route, a socket or the MCP endpoint reaches for.

`create_app` (tether.app) builds exactly one `Hub` per app, for `tether hub`,
`tether up` and every in-process test alike, and keeps it as `app.state.hub` — the
only attribute tether puts on `app.state`. Code reads it through `hub_of`.
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.requests import HTTPConnection

from tether.auth.policy import Policy
from tether.auth.principal import Authenticator, Principal
from tether.auth.ratelimit import PendingLimit
from tether.auth.service import AuthService
from tether.hub.broker import Broker
from tether.hub.replicated import Replication
from tether.hub.seams import LiveSockets
from tether.hub.settings import HubSettings
from tether.store.base import Store

MAX_PREAUTH_PER_ADDRESS = 16
"""Unauthenticated sockets one address may hold open at once (docs/security.md)."""


class AuditHook(Protocol):
    """Appends one entry to the audit log."""

    def __call__(self, action: str, principal: Principal, **details: Any) -> Awaitable[None]:
        """Record `action` by `principal` with `details` (ids only, never a secret)."""


@dataclass(eq=False)
class Hub:
    """One hub: its settings, store, identities, authorization and session machinery."""

    settings: HubSettings
    store: Store
    auth: AuthService
    authenticator: Authenticator
    policy: Policy
    broker: Broker
    """Runners, sessions, viewers, ingest and fan-out."""
    live: LiveSockets
    """Every open socket by the principal behind it (revoking closes them)."""
    audit: AuditHook
    identity: str = ""
    """The hub's id, the same on every replica (tether.hub.identity; read at startup)."""
    replication: Replication | None = None
    """On PostgreSQL: this replica's place in the cluster (tether.hub.replicated)."""
    preauth: PendingLimit = field(default_factory=lambda: PendingLimit(MAX_PREAUTH_PER_ADDRESS))
    """Sockets per client address still waiting for their first-frame `auth`."""
    extensions: dict[str, object] = field(default_factory=dict)
    """Services of the features mounted on the hub, by name (`notify`); each feature reads
    its own with a typed accessor (e.g. `tether.notify.install.notify_of`)."""
    draining: bool = False
    """Shutting down: `/readyz` says 503 and sockets are being closed (hub/health.py)."""


def hub_of(where: HTTPConnection | Starlette) -> Hub:
    """The hub serving a request or socket (or owning an app)."""
    app = where.app if isinstance(where, HTTPConnection) else where
    hub = app.state.hub
    if not isinstance(hub, Hub):  # only an app not built by create_app lacks it
        raise TypeError("this app was not built by tether.app.create_app")
    return hub
