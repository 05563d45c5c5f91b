"""The hub's own secrets — token signing key, pairing-code key, VAPID key, capability key —
kept in one 0600 file beside the data, never in the database.

A copy of the database alone therefore mints nothing: tokens are signed, and codes
hashed, under keys that live only here. Several hub replicas sharing one database share
this file too (the same file mounted on each, or `TETHER_SECRETS_FILE` naming it); the
first to start creates it, under an exclusive lock, and the others read it.

A secret that is already in the file is read without any lock (the file is only ever
replaced by an atomic rename), so a file on a read-only mount works as long as it holds
every secret the hub asks for. A read-only file (no owner write bit, or a read-only
filesystem) is never written: a missing secret is then a clear error, not a new key.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import secrets
import stat
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

    def __init__(self, path: Path, *, operator_named: bool = False) -> None:
        self.path = Path(path)
        self.operator_named = operator_named
        """A file the operator named (`TETHER_SECRETS_FILE`): it may be a symlink (a
        Kubernetes secret is one, into `..data/`) and its directory is the operator's, so
        tether leaves that directory's mode alone. The data dir's own file is neither."""
        self._cache: dict[str, str] = {}

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> HubSecrets:
        """`$TETHER_SECRETS_FILE` if set, else `<data_dir>/secrets.json`."""
        named = os.environ.get(SECRETS_ENV)
        if named:
            return cls(Path(named).expanduser(), operator_named=True)
        return cls(Path(data_dir) / SECRETS_FILE)

    def get(self, name: str, make: Callable[[], str] = random_hex) -> str:
        """The secret called `name`; made with `make()` and saved if there is none yet."""
        cached = self._cache.get(name)
        if cached is not None:
            return cached
        values = self._read()
        if name in values:
            self._cache.update(values)
            return values[name]
        if self._read_only():
            raise self._cannot_create(name, "the file is read-only")
        try:
            if self.operator_named:
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            else:
                private_dir(self.path.parent)
            lock_fd = open_private(
                self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT
            )
        except OSError as exc:
            raise self._cannot_create(name, exc.strerror or str(exc)) from None
        try:
            # Replicas (or a hub and `tether` commands) starting at once must agree on
            # one value: read, and if missing create, under one exclusive lock.
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            values = self._read()
            if name not in values:
                values[name] = make()
                target = Path(os.path.realpath(self.path)) if self.operator_named else self.path
                write_private(target, json.dumps(values, indent=1, sort_keys=True) + "\n")
            self._cache.update(values)
        finally:
            os.close(lock_fd)
        return self._cache[name]

    def get_bytes(self, name: str) -> bytes:
        """A 256-bit key as bytes (created on first use)."""
        value = self.get(name)
        try:
            key = bytes.fromhex(value)
        except ValueError:
            key = b""
        if len(key) < 16:
            raise ConfigError(
                f"{name!r} in the hub's secrets file {self.path} is not a key of at least"
                " 32 hex digits",
                hint="replace it with 64 hex digits (`openssl rand -hex 32`)",
            )
        return key

    def _read_only(self) -> bool:
        """Is the file there but not ours to change (mode, or a read-only mount)?"""
        try:
            st = os.stat(self.path) if self.operator_named else os.lstat(self.path)
        except FileNotFoundError:
            return False
        if not st.st_mode & stat.S_IWUSR:
            return True
        try:
            return os.statvfs(self.path).f_flag & os.ST_RDONLY != 0
        except OSError:
            return False

    def _cannot_create(self, name: str, why: str) -> ConfigError:
        return ConfigError(
            f"the hub's secrets file {self.path} has no {name!r} and tether cannot add it ({why})",
            hint=f"add {name!r} (64 hex digits, e.g. from `openssl rand -hex 32`) to the file,"
            f" or make it writable by the hub; see docs/security.md",
        )

    def _read(self) -> dict[str, str]:
        try:
            fd = open_private(self.path, os.O_RDONLY, follow_symlinks=self.operator_named)
        except FileNotFoundError:
            return {}
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ConfigError(
                    f"the hub's secrets file {self.path} is a symlink; tether does not follow"
                    " one inside its data dir",
                    hint=f"replace it by the file itself, or name it with {SECRETS_ENV}",
                ) from None
            raise ConfigError(
                f"cannot read the hub's secrets file {self.path}: {exc.strerror}",
                hint="the hub needs to read it; check its owner and mode",
            ) from None
        with os.fdopen(fd, encoding="utf-8") as f:
            text = f.read()
        try:
            data = json.loads(text) if text.strip() else {}
        except ValueError:
            data = None
        if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
            raise ConfigError(
                f"the hub's secrets file {self.path} is damaged",
                hint="restore it from a backup (deleting it makes new keys: session tokens and"
                " pending pairing codes stop working; devices refresh)",
            )
        return data
