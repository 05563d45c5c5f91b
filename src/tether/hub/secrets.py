"""The hub's own secrets — token signing key, pairing-code key, VAPID key, capability key —
kept in one 0600 file beside the data, never in the database.

A copy of the database alone therefore mints nothing: tokens are signed, and codes
hashed, under keys that live only here. Several hub replicas sharing one database share
this file too (the same file mounted on each, or `TETHER_SECRETS_FILE` naming it); the
first to start creates it, under an exclusive lock, and the others read it.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path

from tether.errors import ConfigError
from tether.private import open_private, private_dir, write_private

SECRETS_FILE = "secrets.json"
SECRETS_ENV = "TETHER_SECRETS_FILE"


def random_hex() -> str:
    """A fresh 256-bit secret, hex."""
    return secrets.token_hex(32)


class HubSecrets:
    """Named secrets of one hub, created on first use and kept in a 0600 JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._cache: dict[str, str] = {}

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> HubSecrets:
        """`$TETHER_SECRETS_FILE` if set, else `<data_dir>/secrets.json`."""
        named = os.environ.get(SECRETS_ENV)
        return cls(Path(named).expanduser() if named else Path(data_dir) / SECRETS_FILE)

    def get(self, name: str, make: Callable[[], str] = random_hex) -> str:
        """The secret called `name`; made with `make()` and saved if there is none yet."""
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        private_dir(self.path.parent)
        lock_fd = open_private(
            self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT
        )
        try:
            # Replicas (or a hub and `tether` commands) starting at once must agree on
            # one value: read, and if missing create, under one exclusive lock.
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            values = self._read()
            if name not in values:
                values[name] = make()
                write_private(self.path, json.dumps(values, indent=1, sort_keys=True) + "\n")
            self._cache.update(values)
        finally:
            os.close(lock_fd)
        return self._cache[name]

    def get_bytes(self, name: str) -> bytes:
        """A 256-bit key as bytes (created on first use)."""
        return bytes.fromhex(self.get(name))

    def _read(self) -> dict[str, str]:
        try:
            fd = open_private(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return {}
        with os.fdopen(fd, encoding="utf-8") as f:
            text = f.read()
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            data = None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ConfigError(
                f"the hub's secrets file {self.path} is damaged",
                hint="restore it from a backup; deleting it signs every device out",
            )
        return data
