"""A device's credentials on the client: the refresh token and device key, kept in the OS
keyring when one works, else in a 0600 file in the data dir; and the token provider
that turns them into short-lived session tokens.

Rotation means two processes on one machine must not refresh with the same token at
once (the hub would see a reuse and revoke the device), so refreshing takes a file
lock and re-reads the credentials first; a session token is cached (in the same
store) until shortly before it expires, so most commands do not refresh at all.

Where a device's secrets live is decided once, when it is paired, and noted in
`credentials.json` (`{"in_keyring": true}` for a keyring entry, the secrets themselves
otherwise). Reading them back therefore never has to ask the keyring library whether a
backend exists — a question that costs a quarter of a second on a machine without one,
on every command.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tether.client.api import TokenProvider
from tether.client.tls import check_hub_url, ssl_for
from tether.errors import AuthError, HubUnreachable
from tether.private import open_private, private_dir, write_private

if TYPE_CHECKING:
    from tether.protocol.api_shapes import JsonObject, Paired, Tokens

log = logging.getLogger("tether.client")

CREDENTIALS_FILE = "credentials.json"
HUBS_FILE = "hubs.json"
"""URL → hub identity, as each hub answered (so a second URL is asked only once)."""
KEYRING_SERVICE = "tether"
_EARLY_REFRESH_S = 60.0
_IN_KEYRING = "in_keyring"


@dataclass
class DeviceCredentials:
    """What one device holds for one hub."""

    hub: str
    kind: str
    device_id: str
    refresh_token: str
    device_key: str
    access_token: str = ""
    access_expires_at: float = 0.0
    ca: str | None = None
    hub_id: str = ""
    """The hub's identity (GET /v1/hub/identity), the same behind every URL of the hub:
    another URL of it (another replica) finds these credentials by it."""


def _keyring() -> Any | None:
    """The keyring module when a real backend is available, else None (file fallback)."""
    if os.environ.get("TETHER_NO_KEYRING"):
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
    except Exception as exc:  # a broken keyring config must not stop the CLI
        log.debug("keyring unavailable: %s", type(exc).__name__)
        return None
    if isinstance(backend, fail.Keyring) or getattr(backend, "priority", 0) < 1:
        return None
    return keyring


_NOT_ASKED = object()


class CredentialStore:
    """Credentials of this machine's devices, keyed by (kind, hub URL), and found by the
    hub's identity from any other URL of the same hub."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / CREDENTIALS_FILE
        self._keyring: Any = _NOT_ASKED
        self._saved_in_keyring: bool | None = None

    @property
    def keyring(self) -> Any | None:
        """The keyring module if a backend works here (asked once, only when needed)."""
        if self._keyring is _NOT_ASKED:
            self._keyring = _keyring()
        return self._keyring

    @keyring.setter
    def keyring(self, module: Any | None) -> None:
        self._keyring = module

    @property
    def where(self) -> str:
        """Where secrets went (the last save) or would go, for messages."""
        in_keyring = self._saved_in_keyring
        if in_keyring is None:
            in_keyring = self.keyring is not None
        return "the OS keyring" if in_keyring else f"{self.path} (mode 0600)"

    @staticmethod
    def key(kind: str, hub: str) -> str:
        """The entry name of a device."""
        return f"{kind}:{hub.rstrip('/')}"

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """An exclusive lock across processes (refresh, write)."""
        private_dir(self.data_dir)
        fd = open_private(self.data_dir / ".credentials.lock", os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def load(self, kind: str, hub: str) -> DeviceCredentials | None:
        """The credentials of a device for `hub` — paired through that URL, or through
        another URL of the same hub (another replica: same identity)."""
        entries = self._read_file()
        name = self.key(kind, hub)
        if name not in entries:
            name = self._same_hub(entries, kind, hub) or name
        return self._load_entry(name, entries.get(name))

    def _same_hub(self, entries: dict[str, Any], kind: str, hub: str) -> str | None:
        """The entry of a device of this kind paired to the hub that `hub` is, if any."""
        candidates = {
            name: entry
            for name, entry in entries.items()
            if isinstance(entry, dict) and entry.get("kind") == kind and entry.get("hub_id")
        }
        if not candidates:
            return None
        ca = next((e.get("ca") for e in candidates.values() if e.get("ca")), None)
        hub_id = self._identity_of(hub.rstrip("/"), ca)
        if hub_id is None:
            return None
        return next((n for n, e in candidates.items() if e["hub_id"] == hub_id), None)

    def _identity_of(self, hub: str, ca: str | None) -> str | None:
        aliases = self._read_json(self.data_dir / HUBS_FILE)
        known = aliases.get(hub)
        if isinstance(known, str):
            return known
        found = fetch_identity(hub, ca)
        if found is not None:
            aliases[hub] = found
            private_dir(self.data_dir)
            write_private(self.data_dir / HUBS_FILE, json.dumps(aliases, indent=1))
        return found

    def _load_entry(self, name: str, entry: dict[str, Any] | None) -> DeviceCredentials | None:
        if entry is not None and not entry.get(_IN_KEYRING):
            return DeviceCredentials(**entry)
        # In the keyring — or, with no note at all, perhaps put there by an older tether.
        keyring = self.keyring
        text = keyring.get_password(KEYRING_SERVICE, name) if keyring is not None else None
        return DeviceCredentials(**json.loads(text)) if text else None

    def save(self, creds: DeviceCredentials) -> None:
        """Store (replace) a device's credentials where that device keeps them."""
        name = self.key(creds.kind, creds.hub)
        entries = self._read_file()
        existing = entries.get(name)
        to_keyring = bool(existing.get(_IN_KEYRING)) if existing else self.keyring is not None
        keyring = self.keyring if to_keyring else None
        if keyring is not None:
            try:
                keyring.set_password(KEYRING_SERVICE, name, json.dumps(asdict(creds)))
                note = {_IN_KEYRING: True, "kind": creds.kind, "hub": creds.hub}
                entries[name] = {**note, "hub_id": creds.hub_id} if creds.hub_id else note
            except Exception as exc:  # a locked or broken keyring: keep the device usable
                log.warning("the OS keyring refused the credentials (%s); using %s", exc, self.path)
                keyring = None
        if keyring is None:
            entries[name] = asdict(creds)
        self._saved_in_keyring = keyring is not None
        self._write_file(entries)

    def delete(self, kind: str, hub: str) -> None:
        """Forget a device."""
        name = self.key(kind, hub)
        entries = self._read_file()
        entry = entries.pop(name, None)
        if entry is not None:
            self._write_file(entries)
        if (entry is None or entry.get(_IN_KEYRING)) and self.keyring is not None:
            with contextlib.suppress(Exception):
                self.keyring.delete_password(KEYRING_SERVICE, name)

    def _read_file(self) -> dict[str, Any]:
        return self._read_json(self.path)

    @staticmethod
    def _read_json(path: Path) -> dict[str, Any]:
        try:
            fd = open_private(path, os.O_RDONLY)  # narrows a file an older tether left 0644
        except FileNotFoundError:
            return {}
        with os.fdopen(fd, encoding="utf-8") as f:
            text = f.read()
        try:
            data = json.loads(text)
        except ValueError:
            log.warning("%s is not valid JSON; ignoring it (pair again)", path)
            return {}
        return data if isinstance(data, dict) else {}

    def _write_file(self, entries: dict[str, Any]) -> None:
        private_dir(self.data_dir)
        write_private(self.path, json.dumps(entries, indent=1))


def fetch_identity(hub: str, ca: str | None = None) -> str | None:
    """The identity a hub URL answers with, or None (unreachable, or a hub too old)."""
    import httpx

    try:
        response = httpx.get(f"{hub}/v1/hub/identity", timeout=5, verify=ssl_for(hub, ca) or True)
        hub_id = response.json().get("id") if response.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return None
    return hub_id if isinstance(hub_id, str) and hub_id else None


async def _post(hub: str, path: str, body: JsonObject, ca: str | None) -> Any:
    """POST to the hub without a session token (pairing, refreshing); the JSON answer."""
    import httpx  # only pairing and refreshing need it: most commands never get here

    verify: Any = ssl_for(hub, ca) or True
    try:
        async with httpx.AsyncClient(base_url=hub, timeout=30, verify=verify) as http:
            response = await http.post(path, json=body)
    except httpx.TransportError as exc:
        raise HubUnreachable(
            f"cannot reach the hub at {hub}: {exc or type(exc).__name__}",
            hint="check --hub (and --ca for a private certificate)",
        ) from None
    if response.status_code >= 400:
        try:
            err = response.json().get("error") or {}
        except ValueError:
            err = {}
        raise AuthError(
            err.get("message") or f"the hub answered HTTP {response.status_code}",
            hint=err.get("hint"),
        )
    return response.json()


async def pair_device(
    store: CredentialStore,
    hub: str,
    code: str,
    *,
    kind: str,
    name: str,
    ca: str | None = None,
    insecure: bool = False,
) -> DeviceCredentials:
    """Redeem a pairing code and store the device's credentials."""
    from tether.auth.codes import fingerprint_of, new_device_key

    hub = hub.rstrip("/")
    check_hub_url(hub, insecure=insecure)
    device_key = new_device_key()
    answer: Paired = await _post(
        hub,
        "/v1/auth/pair",
        {"code": code, "name": name, "kind": kind, "fingerprint": fingerprint_of(device_key)},
        ca,
    )
    creds = DeviceCredentials(
        hub=hub,
        kind=kind,
        device_id=str(answer["device_id"]),
        refresh_token=str(answer["refresh_token"]),
        device_key=device_key,
        ca=ca,
        hub_id=str(answer.get("hub_id") or ""),
    )
    with store.locked():
        store.save(creds)
    return creds


class DeviceTokenProvider:
    """`async () -> session token` for a paired device: cached, refreshed under a lock."""

    def __init__(self, store: CredentialStore, kind: str, hub: str) -> None:
        self.store = store
        self.kind = kind
        self.hub = hub.rstrip("/")
        self._lock = asyncio.Lock()

    def credentials(self) -> DeviceCredentials:
        """The stored credentials, or an AuthError saying how to pair."""
        creds = self.store.load(self.kind, self.hub)
        if creds is None:
            hint = (
                "pair it: `tether runner --hub URL --pair CODE`"
                if self.kind == "runner"
                else "sign in: `tether login --hub URL --code CODE` (mint a code with "
                "`tether pair new` on a signed-in machine)"
            )
            raise AuthError(
                f"this machine has no {self.kind} credentials for {self.hub}", hint=hint
            )
        return creds

    async def __call__(self) -> str:
        async with self._lock:
            creds = self.credentials()
            if creds.access_token and creds.access_expires_at - _EARLY_REFRESH_S > time.time():
                return creds.access_token
            return await asyncio.to_thread(self._refresh_locked, None)

    async def refresh(self, refused: str) -> str:
        """A new session token after the hub refused `refused` (say, the device was revoked
        while its token was cached): refreshes unless another process already did."""
        async with self._lock:
            return await asyncio.to_thread(self._refresh_locked, refused)

    def _refresh_locked(self, refused: str | None) -> str:
        with self.store.locked():
            creds = self.credentials()  # another process may have refreshed meanwhile
            fresh = creds.access_expires_at - _EARLY_REFRESH_S > time.time()
            if creds.access_token and fresh and creds.access_token != refused:
                return creds.access_token
            try:
                answer: Tokens = asyncio.run(
                    _post(
                        self.hub,
                        "/v1/auth/token",
                        {"refresh_token": creds.refresh_token, "device_key": creds.device_key},
                        creds.ca,
                    )
                )
            except AuthError as exc:
                raise self._refused(exc) from None
            creds.refresh_token = str(answer["refresh_token"])
            creds.access_token = str(answer["access_token"])
            creds.access_expires_at = time.time() + float(answer["expires_in"])
            self.store.save(creds)
            return creds.access_token

    def _refused(self, exc: AuthError) -> AuthError:
        """The hub's refusal in words for this device (a revoked one says so)."""
        if "revoked" not in exc.message and "reused" not in exc.message:
            return exc
        again = (
            "pair it again: `tether runner --hub URL --pair CODE`"
            if self.kind == "runner"
            else "sign in again: `tether login --hub URL --code CODE`"
        )
        return AuthError(f"this device was revoked ({exc.message})", hint=again)


def device_token(data_dir: Path, kind: str, hub: str) -> TokenProvider:
    """The token provider of this machine's `kind` device for `hub`."""
    return DeviceTokenProvider(CredentialStore(data_dir), kind, hub)
