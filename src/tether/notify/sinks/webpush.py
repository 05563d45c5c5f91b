"""A Web Push delivery (RFC 8030): the notification's JSON encrypted for one browser
(RFC 8291, aes128gcm, with pywebpush/http_ece) and signed with the hub's VAPID key
(RFC 8292). The push service forwards it to the browser's service worker."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import urlsplit

from tether.notify.contract import PERMISSION_EVENTS, Notification
from tether.notify.sinks import OutgoingRequest
from tether.notify.vapid import VapidKey

MAX_PLAINTEXT = 3000
"""Push services take 4 KiB of payload; encryption adds a little, so leave room."""
PERMISSION_TTL_S = 900
OTHER_TTL_S = 3600


def fit(note: Notification) -> bytes:
    """The JSON body, with the bulkiest optional fields dropped until it fits a push."""
    body = note.body()
    for drop in ({"input": None}, {"result": None}, {"summary": note.summary[:80]}):
        if len(body) <= MAX_PLAINTEXT:
            break
        note = note.model_copy(update=drop)
        body = note.body()
    return body


def topic(note: Notification) -> str:
    """RFC 8030 Topic: a later message with the same topic replaces one still waiting at
    the push service (one per request)."""
    digest = hashlib.sha256(note.tag.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")[:32]


def build(
    endpoint: str, keys: dict[str, str], note: Notification, vapid: VapidKey
) -> OutgoingRequest:
    """The encrypted, signed POST to a browser's push endpoint."""
    from pywebpush import WebPusher

    encrypted = WebPusher({"endpoint": endpoint, "keys": keys}).encode(fit(note), "aes128gcm")
    parts = urlsplit(endpoint)
    urgent = note.event in PERMISSION_EVENTS
    headers = {
        "Content-Type": "application/octet-stream",
        "Content-Encoding": "aes128gcm",
        "TTL": str(PERMISSION_TTL_S if urgent else OTHER_TTL_S),
        "Urgency": "high" if urgent else "normal",
        "Topic": topic(note),
        **vapid.headers(f"{parts.scheme}://{parts.netloc}"),
    }
    return OutgoingRequest(endpoint, bytes(encrypted["body"]), headers)
