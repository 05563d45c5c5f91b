"""Turning a notification into a sink's HTTP request, and sending it (the only module that
talks to sinks). The client never follows redirects, never reads proxy settings or
.netrc, and checks an ordinary user's sink destination again before every send."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

import httpx

from tether.errors import TetherError
from tether.notify.addresses import check_destination
from tether.notify.capability import BEHAVIORS, CAPABILITY_TTL_S, Capability, mint
from tether.notify.contract import PERMISSION_EVENTS, Notification
from tether.notify.records import Sink
from tether.notify.sealing import unseal
from tether.notify.sinks import Outcome, OutgoingRequest, ntfy, outcome_of, webhook, webpush
from tether.notify.vapid import VapidKey

log = logging.getLogger("tether.notify")


class Keys(Protocol):
    """The hub secrets notifications need (from the hub's secrets file, never the database)."""

    @property
    def capability(self) -> bytes:
        """Signs answer links."""

    @property
    def seal(self) -> bytes:
        """Seals sink secrets."""

    @property
    def vapid(self) -> VapidKey:
        """Signs Web Push requests."""


@dataclass(frozen=True, slots=True)
class FixedKeys:
    """Keys given as values (tests, tools)."""

    capability: bytes
    seal: bytes
    vapid: VapidKey


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one send did."""

    outcome: Outcome
    detail: str
    status: int | None = None


def answer_url(base: str, token: str) -> str:
    """Where a capability is used (GET shows it, POST acts)."""
    return f"{base}/answer/{token}"


def finalize(note: Notification, sink: Sink, keys: Keys, base: str, now: float) -> Notification:
    """The notification as this sink gets it: links absolute for the hub address the sink
    knows, and for a permission request its own Allow / Deny capabilities."""
    update: dict[str, str | None] = {
        "url": base + note.url if note.url.startswith("/") else note.url
    }
    if note.event in PERMISSION_EVENTS and note.request_id is not None:
        for behavior in BEHAVIORS:
            cap = Capability(
                session_id=note.session,
                request_id=note.request_id,
                behavior=behavior,
                user_id=sink.user_id,
                sink_id=sink.id,
                expires_at=now + CAPABILITY_TTL_S,
            )
            update[f"{behavior}_url"] = answer_url(base, mint(keys.capability, cap))
    return note.model_copy(update=update)


def build_request(sink: Sink, note: Notification, keys: Keys, delivery_id: int) -> OutgoingRequest:
    """The HTTP request for one sink kind."""
    secrets = unseal(keys.seal, sink.sealed, bound_to=sink.id)
    if sink.kind == "webhook":
        return webhook.build(sink.url, note, str(secrets.get("secret", "")), delivery_id)
    if sink.kind == "ntfy":
        return ntfy.build(sink.url, note, secrets.get("token"))
    if sink.kind == "webpush":
        return webpush.build(sink.url, secrets.get("keys") or {}, note, keys.vapid)
    raise TetherError(f"unknown sink kind {sink.kind!r}")


class Sender:
    """Sends sink requests over one pooled HTTP client."""

    def __init__(self, timeout_s: float) -> None:
        self.client = httpx.AsyncClient(
            follow_redirects=False, trust_env=False, timeout=httpx.Timeout(timeout_s)
        )

    async def aclose(self) -> None:
        """Close the pool."""
        await self.client.aclose()

    async def send(self, sink: Sink, request: OutgoingRequest) -> Attempt:
        """POST it; classify what came back."""
        try:
            await check_destination(request.url, trusted=sink.trusted)
        except TetherError as exc:
            return Attempt(Outcome.FAILED, exc.message)
        started = time.monotonic()
        try:
            response = await self.client.post(
                request.url, content=request.body, headers=request.headers
            )
        except httpx.TimeoutException:
            return Attempt(Outcome.RETRY, f"no answer within {self.client.timeout.read} s")
        except httpx.HTTPError as exc:
            return Attempt(Outcome.RETRY, f"cannot reach {_origin(request.url)}: {exc!r}")
        outcome = outcome_of(response.status_code, push=sink.kind == "webpush")
        log.debug(
            "sink %s answered %d in %.0f ms",
            sink.id,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        detail = f"HTTP {response.status_code}"
        if outcome is not Outcome.SENT:
            detail += f" from {_origin(request.url)}: {response.text[:200]!r}"
        return Attempt(outcome, detail, response.status_code)


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.host}" + (f":{parsed.port}" if parsed.port else "")
