"""Every live socket of every principal, so revoking a device or link closes them at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

from tether.auth.principal import Principal

log = logging.getLogger("tether.auth")

CloseFn = Callable[[int, str], Awaitable[None]]

REVOKED_CLOSE_CODE = 4001


class LiveConnections:
    """A registry of open sockets, keyed by the device, share link and user behind them."""

    def __init__(self) -> None:
        self._by_key: dict[str, dict[int, CloseFn]] = {}

    @staticmethod
    def keys_of(principal: Principal) -> set[str]:
        """Every key a principal's connections are filed under."""
        keys = {f"principal:{principal.id}"}
        if principal.device_id:
            keys.add(f"device:{principal.device_id}")
        if principal.user_id:
            keys.add(f"user:{principal.user_id}")
        return keys

    @contextlib.contextmanager
    def track(self, principal: Principal, close: CloseFn) -> Iterator[None]:
        """Register a socket for the `with` block."""
        token = id(close)
        keys = self.keys_of(principal)
        for key in keys:
            self._by_key.setdefault(key, {})[token] = close
        try:
            yield
        finally:
            for key in keys:
                entries = self._by_key.get(key)
                if entries is not None:
                    entries.pop(token, None)
                    if not entries:
                        del self._by_key[key]

    def count(self, key: str) -> int:
        """Open sockets under a key (`device:…`, `user:…`, `principal:share:…`)."""
        return len(self._by_key.get(key, {}))

    async def close(self, key: str, reason: str) -> int:
        """Close every socket under a key; return how many."""
        closers = list(self._by_key.get(key, {}).values())
        if closers:
            await asyncio.gather(
                *(c(REVOKED_CLOSE_CODE, reason) for c in closers), return_exceptions=True
            )
            log.info("closed %d live connection(s) of %s: %s", len(closers), key, reason)
        return len(closers)

    async def close_all(self, code: int, reason: str) -> int:
        """Close every socket (a shutdown's drain); return how many."""
        # Each socket is filed under several keys: close each once.
        closers = {t: c for entries in self._by_key.values() for t, c in entries.items()}
        await asyncio.gather(*(c(code, reason) for c in closers.values()), return_exceptions=True)
        return len(closers)
