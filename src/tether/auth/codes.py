"""Making and hashing the secrets tether hands out: pairing codes, refresh and share tokens.

Tokens are long random strings with a readable prefix (so a leaked one is easy to
recognise and the log redactor can find it); the hub keeps only their SHA-256.
Pairing codes are short enough to type, so they are hashed with an HMAC keyed by a
hub secret: a copy of the database alone does not allow an offline guess.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

REFRESH_PREFIX = "trt_"
SHARE_PREFIX = "tsh_"
DEVICE_KEY_PREFIX = "tdk_"

# No 0/O, 1/I/L: codes are read off a screen and typed.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


def new_refresh_token() -> str:
    """A fresh refresh token (256 bits)."""
    return REFRESH_PREFIX + secrets.token_urlsafe(32)


def new_share_token() -> str:
    """A fresh share-link token (256 bits)."""
    return SHARE_PREFIX + secrets.token_urlsafe(32)


def new_device_key() -> str:
    """A fresh per-device key; its hash is the device fingerprint tokens are bound to."""
    return DEVICE_KEY_PREFIX + secrets.token_urlsafe(32)


def new_pairing_code() -> str:
    """A fresh pairing code, `XXXX-XXXX` (about 40 bits; single use, minutes to live)."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return f"{raw[:4]}-{raw[4:]}"


def normalize_code(code: str) -> str:
    """Upper case, no dashes or spaces: what the user typed, as it was issued."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_token(token: str) -> str:
    """SHA-256 of a high-entropy token, hex."""
    return hashlib.sha256(token.encode()).hexdigest()


def fingerprint_of(device_key: str) -> str:
    """The fingerprint a device key stands for (what the hub stores and tokens carry)."""
    return hashlib.sha256(b"tether-device:" + device_key.encode()).hexdigest()[:32]


def hash_code(key: bytes, code: str) -> str:
    """HMAC-SHA256 of a normalized pairing code under the hub's key, hex."""
    return hmac.new(key, normalize_code(code).encode(), hashlib.sha256).hexdigest()
