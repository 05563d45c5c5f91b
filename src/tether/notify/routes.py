"""HTTP routes of notifications (docs/notifications.md): a user's sinks and preferences,
Web Push subscriptions, the tab-visibility report, and the answer links.

Sinks belong to one user: another user's sink is "not found", whoever asks. Admins may
add sinks that reach loopback or private addresses; nobody else may.
"""

from __future__ import annotations

import base64
from typing import Literal, cast

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field, field_validator
from starlette.requests import HTTPConnection

from tether.auth.device_auth import client_address
from tether.auth.principal import Principal
from tether.errors import Forbidden
from tether.hub.hub import hub_of
from tether.hub.routes import User, visible_session
from tether.notify.addresses import is_loopback_host
from tether.notify.answer_page import answer_csp, confirm_page, result_page
from tether.notify.prefs import Preferences, parse_events
from tether.notify.service import NotifyService
from tether.protocol.api_shapes import (
    ListedSink,
    Removed,
    RemovedSinks,
    SinkAdded,
    SinkRow,
    SinkTested,
)
from tether.web.headers import SECURITY_HEADERS

notify_router = APIRouter()


def notify_of(where: HTTPConnection | FastAPI) -> NotifyService:
    """The hub's notification service (`install_notifications` put it there)."""
    service = hub_of(where).extensions.get("notify")
    if not isinstance(service, NotifyService):
        raise TypeError("notifications are not installed on this hub")
    return service


def service_of(request: Request) -> NotifyService:
    """The app's notification service."""
    return notify_of(request)


def signed_in(principal: Principal) -> str:
    """The user id of a signed-in person (share links have no notifications)."""
    if principal.kind != "user" or principal.user_id is None or principal.read_only:
        raise Forbidden("only a signed-in user has notifications")
    return principal.user_id


def hub_url(request: Request) -> str:
    """The address this request reached the hub through (links in notifications use it)."""
    return str(request.base_url).rstrip("/")


def hub_on_loopback(request: Request) -> bool:
    """Does the hub listen on a loopback address (the request came in on one)?"""
    server = request.scope.get("server")
    return server is not None and is_loopback_host(str(server[0]))


class NewSink(BaseModel):
    """Add a webhook or an ntfy topic."""

    kind: Literal["webhook", "ntfy"]
    url: str = Field(min_length=8, max_length=2048)
    secret: str | None = Field(default=None, min_length=16, max_length=256)
    token: str | None = Field(default=None, min_length=1, max_length=256)
    events: str | list[str] | None = None

    def event_list(self) -> list[str] | None:
        """The events filter, from a list or `a,b,c`."""
        text = ",".join(self.events) if isinstance(self.events, list) else self.events
        return parse_events(text)


class PushKeys(BaseModel):
    """A PushSubscription's keys (base64url)."""

    p256dh: str = Field(min_length=80, max_length=100)
    auth: str = Field(min_length=16, max_length=32)

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value: str) -> str:
        raw = _unb64(value)
        if len(raw) != 65 or raw[0] != 4:
            raise ValueError("p256dh must be an uncompressed P-256 point (65 bytes)")
        return value

    @field_validator("auth")
    @classmethod
    def _secret(cls, value: str) -> str:
        if len(_unb64(value)) != 16:
            raise ValueError("auth must be 16 bytes")
        return value


def _unb64(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise ValueError("not base64url") from None


class PushSubscription(BaseModel):
    """What `PushSubscription.toJSON()` gives in the browser."""

    endpoint: str = Field(min_length=8, max_length=2048)
    keys: PushKeys
    expirationTime: float | None = Field(default=None, ge=0, le=1e15, allow_inf_nan=False)
    """Milliseconds since the epoch (as browsers give it), if the subscription expires."""


class VisibilityReport(BaseModel):
    """A tab showing a session became visible or hidden."""

    session: str = Field(min_length=1, max_length=64)
    visible: bool


@notify_router.get("/v1/notify/sinks")
async def list_sinks(request: Request, principal: User) -> list[ListedSink]:
    """Your sinks (never their secrets)."""
    user_id = signed_in(principal)
    sinks = await service_of(request).db.sinks_of(user_id)
    listed = [{**s.public(), "this_device": s.device_id == principal.device_id} for s in sinks]
    return cast(list[ListedSink], listed)


@notify_router.post("/v1/notify/sinks", status_code=201)
async def add_sink(request: Request, body: NewSink, principal: User) -> SinkAdded:
    """Add a sink; a webhook's signing secret is in this answer only."""
    user_id = signed_in(principal)
    sink, secret = await service_of(request).add_sink(
        user_id,
        body.kind,
        body.url,
        hub_url=hub_url(request),
        trusted=principal.is_admin,
        secret=body.secret,
        token=body.token,
        events=body.event_list(),
    )
    await hub_of(request).audit("notify_sink_added", principal, sink=sink.id, kind=sink.kind)
    return cast(SinkAdded, {**sink.public(), "secret": secret})


@notify_router.delete("/v1/notify/sinks/{sink_id}")
async def remove_sink(request: Request, sink_id: str, principal: User) -> Removed:
    """Remove one of your sinks."""
    await service_of(request).remove_sink(signed_in(principal), sink_id)
    await hub_of(request).audit("notify_sink_removed", principal, sink=sink_id)
    return {"removed": sink_id}


@notify_router.post("/v1/notify/sinks/{sink_id}/test")
async def test_sink(request: Request, sink_id: str, principal: User) -> SinkTested:
    """Send a test notification to one of your sinks now."""
    attempt = await service_of(request).test_sink(signed_in(principal), sink_id)
    return {"outcome": attempt.outcome.value, "detail": attempt.detail, "status": attempt.status}


@notify_router.get("/v1/notify/preferences")
async def get_prefs(request: Request, principal: User) -> Preferences:
    """Your notification preferences."""
    return await service_of(request).prefs(signed_in(principal))


@notify_router.put("/v1/notify/preferences")
async def put_prefs(request: Request, body: Preferences, principal: User) -> Preferences:
    """Replace your notification preferences."""
    await service_of(request).save_prefs(signed_in(principal), body)
    return body


@notify_router.get("/v1/push/vapid-public-key")
async def vapid_public_key(request: Request) -> dict[str, str]:
    """The application server key browsers subscribe with (public; no sign-in needed)."""
    return {"key": service_of(request).keys.vapid.public_key}


@notify_router.post("/v1/push/subscriptions", status_code=201)
async def subscribe(request: Request, body: PushSubscription, principal: User) -> SinkRow:
    """This browser's push subscription (it replaces the browser's previous one)."""
    user_id = signed_in(principal)
    if principal.device_id is None:
        raise Forbidden("push subscriptions belong to a signed-in browser")
    sink = await service_of(request).subscribe_push(
        user_id,
        principal.device_id,
        body.endpoint,
        body.keys.model_dump(),
        hub_url=hub_url(request),
        trusted=principal.is_admin,
        hub_on_loopback=hub_on_loopback(request),
    )
    await hub_of(request).audit("push_subscribed", principal, sink=sink.id)
    return sink.public()


@notify_router.delete("/v1/push/subscriptions")
async def unsubscribe(request: Request, principal: User) -> RemovedSinks:
    """Stop pushes to this browser."""
    user_id = signed_in(principal)
    service = service_of(request)
    removed = [
        s.id
        for s in await service.db.sinks_of(user_id)
        if s.kind == "webpush" and s.device_id == principal.device_id
    ]
    for sink_id in removed:
        await service.remove_sink(user_id, sink_id)
    return {"removed": removed}


@notify_router.post("/v1/push/visibility", status_code=204)
async def visibility(request: Request, body: VisibilityReport, principal: User) -> Response:
    """A tab of this browser shows a session (visible) or stopped showing it."""
    signed_in(principal)
    await visible_session(request, body.session, principal)
    if principal.device_id is not None:
        service = service_of(request)
        service.visibility.report(principal.device_id, body.session, body.visible, service.clock())
    return Response(status_code=204)


def _page(text: str, status: int) -> HTMLResponse:
    headers = {
        **SECURITY_HEADERS,
        "Content-Security-Policy": answer_csp(),
        "Cache-Control": "no-store",
    }
    return HTMLResponse(text, status_code=status, headers=headers)


@notify_router.get("/answer/{token}", include_in_schema=False)
async def show_answer(request: Request, token: str) -> HTMLResponse:
    """What an answer link would do, and a button; never decides (link previews)."""
    service = service_of(request)
    answer = await service.answers.describe(token, service.clock())
    return _page(confirm_page(answer), answer.status)


@notify_router.post("/answer/{token}")
async def use_answer(request: Request, token: str) -> Response:
    """Decide with an answer link: 200 decided, 409 already answered, 403 not valid."""
    service = service_of(request)
    answer = await service.answers.use(token, service.clock(), client_address(request))
    if "text/html" in request.headers.get("accept", ""):
        return _page(result_page(answer), answer.status)
    return JSONResponse(
        answer.public(), status_code=answer.status, headers={"Cache-Control": "no-store"}
    )
