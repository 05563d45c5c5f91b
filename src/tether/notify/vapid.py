"""The hub's VAPID key pair (RFC 8292) for Web Push: made on first start, kept in the hub's
secrets file, the public half served to browsers at `GET /v1/push/vapid-public-key`."""

from __future__ import annotations

import base64
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

VAPID_TTL_S = 12 * 3600
"""A VAPID JWT lives 12 hours (RFC 8292 allows at most 24)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def new_private_key() -> str:
    """A fresh P-256 private key, as the base64url of its 32-byte scalar (HubSecrets keeps it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return _b64(key.private_numbers().private_value.to_bytes(32, "big"))


class VapidKey:
    """Signs VAPID headers for push requests."""

    def __init__(self, private_b64: str, subject: str) -> None:
        from py_vapid import Vapid02

        self._vapid = Vapid02.from_raw(private_b64.encode("ascii"))
        self.subject = subject
        point = self._vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = _b64(point)
        """The application server key a browser subscribes with (base64url, 65 bytes)."""

    def headers(self, audience: str, now: float | None = None) -> dict[str, str]:
        """The `Authorization: vapid t=…, k=…` header for a push service origin."""
        expires = int(now if now is not None else time.time()) + VAPID_TTL_S
        claims = {"aud": audience, "exp": expires, "sub": self.subject}
        signed: dict[str, str] = self._vapid.sign(claims)
        return {"Authorization": signed["Authorization"]}
