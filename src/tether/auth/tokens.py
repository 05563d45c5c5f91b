"""Short-lived session tokens: JWTs (HS256) bound to a device id and its fingerprint."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import jwt

ISSUER = "tether-hub"
ACCESS_TTL_S = 600.0
"""Session tokens live ten minutes; clients mint a fresh one from their refresh token."""


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a valid session token says."""

    user_id: str
    device_id: str
    fingerprint: str
    expires_at: float
    scope: str | None = None
    """`renew`: good only to renew an open socket in-band (`socket_token`), nothing else."""


def mint_access(
    key: bytes,
    *,
    user_id: str,
    device_id: str,
    fingerprint: str,
    now: float,
    ttl: float = ACCESS_TTL_S,
    scope: str | None = None,
) -> str:
    """A signed session token (with `scope`, one good only for that, see AccessClaims)."""
    claims: dict[str, object] = {
        "iss": ISSUER,
        "sub": user_id,
        "dev": device_id,
        "fp": fingerprint,
        "iat": int(now),
        "exp": now + ttl,
        "jti": secrets.token_urlsafe(8),
    }
    if scope is not None:
        claims["scp"] = scope
    return jwt.encode(claims, key, algorithm="HS256")


def verify_access(key: bytes, token: str, *, now: float) -> AccessClaims | None:
    """The claims of a token signed by us and not expired at `now`, else None.

    Expiry is checked against the injected clock (not the wall clock inside pyjwt),
    so tests can move time without sleeping."""
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            issuer=ISSUER,
            # pyjwt would check `iat` against the wall clock too (refusing a token "from
            # the future" when the injected clock is ahead); time is ours to check.
            options={
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": ["exp", "sub", "iss"],
            },
        )
    except jwt.PyJWTError:
        return None
    try:
        expires_at = float(claims["exp"])
        scope = claims.get("scp")
        parsed = AccessClaims(
            str(claims["sub"]),
            str(claims["dev"]),
            str(claims["fp"]),
            expires_at,
            str(scope) if scope is not None else None,
        )
    except (KeyError, TypeError, ValueError):
        return None
    if expires_at <= now:
        return None
    return parsed


def looks_like_jwt(token: str) -> bool:
    """Cheap shape test, to pick the right verifier for a bearer token."""
    return token.count(".") == 2 and token.startswith("eyJ")
