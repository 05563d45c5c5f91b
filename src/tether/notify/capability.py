"""One-shot capabilities: a URL that makes exactly one decision on one permission request.

    token = "c1." + base64url(claims JSON) + "." + base64url(HMAC-SHA256(key, "c1." + claims))

The claims name the session, the request, the behavior (allow or deny), the user it acts
for, the sink it was sent to (for the audit log) and when it expires (15 minutes after it
was minted at most). The key lives in the hub's secrets file, so a copy of the database
cannot mint one. Single use is the caller's job: the hub records the first use of any
capability for a request durably and refuses the rest (docs/notifications.md).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from typing import Literal

from tether.errors import Forbidden

PREFIX = "c1"
CAPABILITY_TTL_S = 900.0
"""A capability lives 15 minutes at most (less when its request ends first)."""
MAX_TOKEN = 2048

Behavior = Literal["allow", "deny"]
BEHAVIORS: tuple[Behavior, ...] = ("allow", "deny")


class CapabilityRefused(Forbidden):
    """The capability is not one this hub minted, was changed, or has expired."""

    code = "capability_refused"


@dataclass(frozen=True, slots=True)
class Capability:
    """What a valid capability allows."""

    session_id: str
    request_id: str
    behavior: Behavior
    user_id: str
    sink_id: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(key: bytes, signed: str) -> str:
    return _b64(hmac.new(key, signed.encode("ascii"), hashlib.sha256).digest())


def mint(key: bytes, cap: Capability) -> str:
    """A token for `cap` (a random nonce makes every token distinct)."""
    claims = {
        "s": cap.session_id,
        "r": cap.request_id,
        "b": cap.behavior,
        "u": cap.user_id,
        "k": cap.sink_id,
        "x": round(cap.expires_at, 3),
        "n": secrets.token_urlsafe(6),
    }
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signed = f"{PREFIX}.{body}"
    return f"{signed}.{_signature(key, signed)}"


def verify(key: bytes, token: str, now: float) -> Capability:
    """The capability a token stands for; CapabilityRefused when it was tampered with or
    has expired (the message never says which part was wrong beyond that)."""
    parts = token.split(".")
    if len(token) > MAX_TOKEN or len(parts) != 3 or parts[0] != PREFIX:
        raise CapabilityRefused("this link is not a valid tether answer link")
    signed = f"{parts[0]}.{parts[1]}"
    if not hmac.compare_digest(_signature(key, signed), parts[2]):
        raise CapabilityRefused("this link is not a valid tether answer link")
    try:
        claims = json.loads(_unb64(parts[1]))
        cap = Capability(
            session_id=str(claims["s"]),
            request_id=str(claims["r"]),
            behavior=claims["b"],
            user_id=str(claims["u"]),
            sink_id=str(claims["k"]),
            expires_at=float(claims["x"]),
        )
    except (ValueError, KeyError, TypeError):
        raise CapabilityRefused("this link is not a valid tether answer link") from None
    if cap.behavior not in ("allow", "deny"):
        raise CapabilityRefused("this link is not a valid tether answer link")
    if cap.expires_at <= now:
        raise CapabilityRefused(
            "this answer link has expired", hint="open the session in tether to answer"
        )
    return cap
