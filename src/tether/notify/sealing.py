"""Secrets of a sink (a webhook's signing secret, an ntfy token, a browser's push keys)
sealed with AES-GCM under a key from the hub's secrets file, so the database holds only
ciphertext: a copy of it cannot sign webhooks or read pushes."""

from __future__ import annotations

import base64
import json
import os
from typing import TypedDict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tether.errors import ConfigError

PREFIX = "s1."


class SinkSecrets(TypedDict, total=False):
    """What a sink keeps sealed: a webhook's signing secret, an ntfy access token, a
    browser's push subscription keys (`p256dh`, `auth`)."""

    secret: str
    token: str
    keys: dict[str, str]


def seal(key: bytes, values: SinkSecrets, *, bound_to: str) -> str:
    """`values` encrypted; `bound_to` (the sink id) is authenticated too, so a sealed blob
    copied onto another sink's row does not open."""
    nonce = os.urandom(12)
    plain = json.dumps(values, separators=(",", ":")).encode()
    sealed = AESGCM(key).encrypt(nonce, plain, bound_to.encode())
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, text: str, *, bound_to: str) -> SinkSecrets:
    """The values sealed for `bound_to`, or ConfigError when the key or row does not match."""
    if not text:
        return {}
    if not text.startswith(PREFIX):
        raise ConfigError("a notification sink's secrets are in an unknown format")
    raw = base64.urlsafe_b64decode(text[len(PREFIX) :])
    try:
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], bound_to.encode())
    except InvalidTag:
        raise ConfigError(
            f"the secrets of notification sink {bound_to} do not open with this hub's key",
            hint="the hub's secrets file was replaced; remove the sink and add it again",
        ) from None
    values: SinkSecrets = json.loads(plain)
    return values
