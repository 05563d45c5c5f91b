"""The JSON bodies the hub's HTTP API answers with, as `TypedDict`s: the hub's routes build
them, `tether.client` returns them, the CLI shows them (docs/cli.md).

They are types only: at runtime every answer stays a plain `dict`, as callers of
`tether.client` have always had it. The hub hands each to FastAPI as its response model
(OpenAPI at /docs), so each says every key the hub sends, with its JSON type. A shape
the hub fills from a record's `public()` (or a runner's team) allows more keys than it
names (`_OPEN`): pydantic must never drop what another part of the hub adds.
"""

from __future__ import annotations

from typing import Any, NotRequired

from pydantic import ConfigDict, with_config
from typing_extensions import TypedDict

JsonObject = dict[str, Any]
"""Arbitrary JSON, passed on untouched: a tool's input, an audit entry's details."""

_OPEN = ConfigDict(extra="allow")


class EventPayload(TypedDict, total=False):
    """An event as JSON (`tether.protocol.events`): untrusted, maybe of a newer kind."""

    kind: str
    raw: Any
    state: str
    detail: str | None
    agent: str | None
    agent_session_id: str | None
    model: str | None
    permission_mode: str | None
    text: str | None
    by: str | None
    partial: bool | None
    tool_use_id: str | None
    tool: str
    input: JsonObject
    title: str | None
    output: str
    is_error: bool
    request_id: str
    suggestions: list[Any]
    options: list[JsonObject]
    description: str | None
    behavior: str
    message: str | None
    updated_input: JsonObject | None
    option_id: str | None
    status: str
    result: str | None
    usage: JsonObject | None
    cost: float | None
    stream: str
    code: int | str | None
    signal: int | None
    reason: str | None
    data: str | None
    cols: int
    rows: int
    console: bool | None
    ansi: str
    lines: list[str]


class PendingPermission(EventPayload, total=False):
    """A `permission_request` still waiting for an answer, with the seq it came at."""

    seq: int


class StoredEvent(TypedDict):
    """One event of a session's log."""

    seq: int
    ts: float
    payload: EventPayload


class EventsPage(TypedDict):
    """`GET /v1/sessions/{id}/events`: stored events, oldest first; page on with the last seq."""

    session: str
    last_seq: int
    events: list[StoredEvent]


# -- teams and sessions ------------------------------------------------------------------


class Health(TypedDict):
    """`GET /healthz`: the hub is up, its version, and how many runners are connected."""

    ok: bool
    version: str
    runners: int


@with_config(_OPEN)
class Team(TypedDict):
    """`GET /v1/teams`: a team a runner announced (`TeamInfo`) and where it runs."""

    name: str
    agent: str
    description: str
    path: str
    host: str
    available: bool
    unavailable_reason: str | None
    runner_id: str
    runner_connected: bool
    agent_version: NotRequired[str | None]  # the agent CLI's version there; None: missing
    agent_installed: NotRequired[bool]
    runner_replica: NotRequired[str | None]


class TerminalView(TypedDict, total=False):
    """A terminal session's screen: a late viewer resumes after `snapshot_seq - 1`."""

    cols: int
    rows: int
    snapshot_seq: int
    console: bool


class SessionRow(TypedDict):
    """A session as the hub shows it (`tether.protocol.messages.SessionInfo`)."""

    id: str
    team: str
    agent: str
    host: str
    state: str
    runner_id: str | None
    runner_connected: bool
    runner_last_seen: float | None
    runner_replica: str | None
    owner: str | None
    followers: int
    last_seq: int
    exit_code: int | None
    agent_session_id: str | None
    input_tokens: int | None
    output_tokens: int | None
    cost: float | None
    asleep: bool
    created_at: float
    updated_at: float
    pending_permissions: int
    terminal: TerminalView | None


class SessionDetail(SessionRow):
    """`GET /v1/sessions/{id}`: a session and its permission requests still pending."""

    pending: list[PendingPermission]


class Accepted(TypedDict):
    """The hub handed the request to the session's runner (the outcome arrives as events)."""

    accepted: bool


class MessageAccepted(Accepted):
    """A turn handed on: its events follow `after_seq`; `woke`: it resumed a sleeping session."""

    session: str
    after_seq: int
    woke: bool


# -- identity: users, devices, pairing, tokens -------------------------------------------


@with_config(_OPEN)
class UserRow(TypedDict):
    """A user as the API shows one."""

    id: str
    name: str
    is_admin: bool


@with_config(_OPEN)
class DeviceRow(TypedDict):
    """`GET /v1/devices`: a paired CLI, runner or browser (never its key's fingerprint)."""

    id: str
    user_id: str
    name: str
    kind: str
    created_at: float
    last_seen: float | None
    revoked_at: float | None
    revoked_reason: str | None


class Paired(TypedDict):
    """`POST /v1/auth/pair`: the new device and the hub's id (credentials are kept by it)."""

    device_id: str
    refresh_token: str
    user: UserRow
    hub_id: str


class Tokens(TypedDict):
    """`POST /v1/auth/token`: the rotated refresh token and a session token."""

    device_id: str
    refresh_token: str
    access_token: str
    expires_in: float


class BrowserSignedIn(TypedDict):
    """`POST /v1/auth/browser` with a code: the browser's cookies are set."""

    user: UserRow
    device_id: str
    expires_in: float


class OpenedShare(TypedDict):
    """Which session a share link opened in a browser watches, and until when."""

    session: str
    expires_at: float


class ShareSignedIn(TypedDict):
    """`POST /v1/auth/browser` with a share link: nobody is signed in."""

    user: None
    share: OpenedShare


class BrowserRefreshed(TypedDict):
    """`POST /v1/auth/refresh`: a new session cookie, and a token for sockets to renew with."""

    device_id: str
    expires_in: float
    socket_token: str


class Ok(TypedDict):
    """`{"ok": true}`."""

    ok: bool


class Me(TypedDict):
    """`GET /v1/auth/me`: who the caller is."""

    id: str
    kind: str
    name: str
    user_id: str | None
    device_id: str | None
    is_admin: bool
    read_only: bool
    session_scope: str | None


class PairingCode(TypedDict):
    """`POST /v1/pairing-codes`: a single-use code and its lifetime in seconds."""

    code: str
    expires_in: int


class UserAdded(PairingCode):
    """`POST /v1/users`: the user and a sign-in code for their first device."""

    user: UserRow


class Revoked(TypedDict):
    """A device or share link revoked: its id."""

    revoked: str


@with_config(_OPEN)
class ShareRow(TypedDict):
    """`GET /v1/shares`: a read-only, expiring follower link for one session."""

    id: str
    session_id: str
    user_id: str
    created_at: float
    expires_at: float
    revoked_at: float | None


@with_config(_OPEN)
class NewShare(ShareRow):
    """`POST /v1/sessions/{id}/shares`: the link and its token (shown this once)."""

    token: str


@with_config(_OPEN)
class AuditRow(TypedDict):
    """`GET /v1/audit`: one line of the audit log."""

    id: int
    ts: float
    action: str
    actor: str | None
    user_id: str | None
    device_id: str | None
    address: str | None
    details: JsonObject


# -- notifications -----------------------------------------------------------------------


class SinkRequest(TypedDict):
    """`POST /v1/notify/sinks`: a webhook or an ntfy topic to add (`events`: `a,b,c`)."""

    kind: str
    url: str
    events: str | None
    secret: NotRequired[str]
    token: NotRequired[str]


@with_config(_OPEN)
class SinkRow(TypedDict):
    """A user's notification sink (no secret; of a push endpoint only its origin)."""

    id: str
    kind: str
    url: str
    device_id: str | None
    events: list[str] | None
    created_at: float
    trusted: bool
    failures: int
    last_error: str | None


@with_config(_OPEN)
class ListedSink(SinkRow):
    """`GET /v1/notify/sinks`: a sink, and whether it is the asking browser's."""

    this_device: bool


@with_config(_OPEN)
class SinkAdded(SinkRow):
    """`POST /v1/notify/sinks`: the sink, with a webhook's signing secret (this once)."""

    secret: str | None


class SinkTested(TypedDict):
    """`POST /v1/notify/sinks/{id}/test`: what sending a test notification did."""

    outcome: str
    detail: str
    status: int | None


class Removed(TypedDict):
    """A sink removed: its id."""

    removed: str


class RemovedSinks(TypedDict):
    """`DELETE /v1/push/subscriptions`: the ids of the sinks removed."""

    removed: list[str]


class QuietHoursShape(TypedDict):
    """A daily span in which nothing is sent (`tether.notify.prefs.QuietHours`)."""

    start: str
    end: str
    tz: str


class PreferencesShape(TypedDict):
    """`GET/PUT /v1/notify/preferences` (`tether.notify.prefs.Preferences`)."""

    events: list[str]
    teams: list[str] | None
    sessions: list[str] | None
    quiet_hours: QuietHoursShape | None
    reminder_minutes: float
