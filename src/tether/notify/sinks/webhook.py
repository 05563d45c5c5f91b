"""A webhook delivery: the notification's JSON, signed under the sink's secret."""

from __future__ import annotations

import hashlib
import hmac

import tether
from tether.notify.contract import Notification
from tether.notify.sinks import OutgoingRequest

SIGNATURE_HEADER = "X-Tether-Signature"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the body under the secret>` (what a receiver recomputes)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build(url: str, note: Notification, secret: str, delivery_id: int) -> OutgoingRequest:
    """The POST for a webhook."""
    body = note.body()
    return OutgoingRequest(
        url,
        body,
        {
            "Content-Type": "application/json",
            "User-Agent": f"tether/{tether.__version__}",
            SIGNATURE_HEADER: signature(secret, body),
            "X-Tether-Event": note.event,
            "X-Tether-Delivery": str(delivery_id),
        },
    )
