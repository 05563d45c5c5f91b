"""Renew an open socket's credential in-band, before the hub closes it at expiry.

The hub closes a socket whose session token has run out (docs/security.md, "Expiry on
open sockets") unless the client sends `{"type":"auth","payload":{"token":…}}` with a
fresh token of the same device first. `renew_in_band` does that for `tether attach`
(`RemoteSession`) and the runner: it reads when the token it connected with expires
(the token's own `exp`, without verifying it — the hub does that), asks the token
provider for a fresh one a little before, and sends it. Share links cannot be renewed;
for them (and any token it cannot read) it does nothing, and the socket closes at expiry.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import time
from collections.abc import Awaitable, Callable

from tether.client.api import TokenProvider
from tether.errors import TetherError
from tether.protocol.codec import encode, make

log = logging.getLogger("tether.client")

RENEW_BEFORE_S = 30.0
"""Renew this long before expiry (a quarter of the lifetime, for very short tokens)."""
_RETRY_S = 5.0


def seconds_left(token: str, *, now: float | None = None) -> tuple[float, float] | None:
    """(seconds until `token` expires, its whole lifetime), read from a session token's
    claims; None for anything that is not a readable JWT (a share link, say)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        padded = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(padded))
        expires, issued = float(claims["exp"]), float(claims.get("iat", 0.0))
    except (binascii.Error, ValueError, KeyError, TypeError):
        return None
    lifetime = max(0.0, expires - issued) if issued else 0.0
    left = expires - (time.time() if now is None else now)
    # `iat` is whole seconds on the hub's clock; the lifetime also bounds a skewed clock.
    return (min(left, lifetime) if lifetime else left), lifetime


async def renew_in_band(
    token: TokenProvider,
    current: str,
    send: Callable[[str], Awaitable[None]],
    *,
    session: str | None = None,
) -> None:
    """Forever: shortly before `current` expires, send an `auth` frame with a fresh token."""
    while True:
        timing = seconds_left(current)
        if timing is None:
            await asyncio.Event().wait()  # nothing to renew: the socket lives as long as it
            return
        left, lifetime = timing
        margin = min(RENEW_BEFORE_S, (lifetime or left) / 4)
        await asyncio.sleep(max(0.0, left - margin))
        try:
            fresh = await token()
        except (TetherError, OSError) as exc:
            log.warning("could not renew the connection's session token: %s", exc)
            await asyncio.sleep(min(_RETRY_S, max(0.1, margin / 2)))
            continue
        if fresh == current:
            # The provider had nothing newer: let the hub close the socket at expiry (the
            # caller reconnects with a fresh token then) rather than spin.
            await asyncio.sleep(max(0.1, margin) + 1.0)
            continue
        current = fresh
        await send(encode(make("auth", {"token": fresh}, session=session)))
