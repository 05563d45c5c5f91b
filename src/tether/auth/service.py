"""The hub's identity service: users, pairing, refresh rotation, session tokens, share
links, revocation and the audit log. Routes and sockets call into this; it owns no I/O
besides the store.

Time comes from an injected clock so tests can expire codes and tokens without sleeping.
The keys that sign session tokens and hash pairing codes come from the hub's secrets
file (`HubSecrets`), never from the database: a copy of the database mints nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from tether.auth import codes
from tether.auth.audit import AuditLog
from tether.auth.db import AuthDb, SqlStore, new_id
from tether.auth.live import LiveConnections
from tether.auth.principal import Principal
from tether.auth.ratelimit import GLOBAL_KEY, Limiter, RateLimited, RateLimiter
from tether.auth.records import DEVICE_KINDS, Device, Pairing, Refreshed, ShareLink, User
from tether.auth.runners import RunnerRegistry
from tether.auth.sightings import Sightings
from tether.auth.tokens import ACCESS_TTL_S, mint_access, verify_access
from tether.errors import AuthError, Conflict, Forbidden, NotFound
from tether.hub_secrets import HubSecrets

log = logging.getLogger("tether.auth")

Clock = Callable[[], float]
R = TypeVar("R")

PAIRING_TTL_S = 300.0
"""A pairing code lives five minutes."""
FIRST_SIGNIN_TTL_S = 900.0
"""The one-time sign-in code printed at first start lives fifteen minutes."""
REFRESH_TTL_S = 30 * 86400.0
"""A refresh token unused for thirty days expires (each use rotates it)."""
SHARE_TTL_S = 3600.0
MAX_SHARE_TTL_S = 7 * 86400.0
PAIR_ATTEMPTS_PER_ADDRESS = 10
PAIR_ATTEMPTS_ALL_ADDRESSES = 60
"""The ceiling for every address together (docs/security.md shows the arithmetic)."""
PAIR_WINDOW_S = 300.0
PAIR_CEILING_MESSAGE = (
    "the hub is refusing pairing attempts for a while: too many have come from many addresses"
)
SESSION_TOKEN_KEY = "session_token_key"  # noqa: S105 - the name of a secret, not one
PAIRING_CODE_KEY = "pairing_code_key"


class AuthService:
    """Identity and authorization state of one hub."""

    def __init__(self, store: SqlStore, *, secrets: HubSecrets, clock: Clock = time.time) -> None:
        self.db = AuthDb(store)
        self.secrets = secrets
        self.clock = clock
        self.sightings = Sightings(self.db, clock)
        self.live = LiveConnections()
        # In memory for one hub; replicas on PostgreSQL put shared ones here (tether.app).
        self.pair_limiter: Limiter = RateLimiter(PAIR_ATTEMPTS_PER_ADDRESS, PAIR_WINDOW_S, clock)
        self.pair_ceiling: Limiter = RateLimiter(
            PAIR_ATTEMPTS_ALL_ADDRESSES, PAIR_WINDOW_S, clock, message=PAIR_CEILING_MESSAGE
        )
        self.audit = AuditLog(self.db, clock)
        self.record = self.audit.record
        """`record(action, principal, address=…, **details)`: append to the audit log."""
        self.audit_hook = self.audit.hook
        self.audit_entries = self.audit.entries
        self.runners = RunnerRegistry(store, self.audit, clock)
        self.access_ttl = ACCESS_TTL_S  # how long session tokens live (tests shorten it)
        self._jwt_key = b""
        self._code_key = b""
        self._devices: dict[str, Device] = {}
        self._users: dict[str, User] = {}
        self._ready = asyncio.Lock()
        self._loaded = False

    async def ready(self) -> None:
        """Load the hub's keys from its secrets file (once; made on the very first start)."""
        if self._loaded:
            return
        async with self._ready:
            if not self._loaded:
                self._jwt_key = await asyncio.to_thread(self.secrets.get_bytes, SESSION_TOKEN_KEY)
                self._code_key = await asyncio.to_thread(self.secrets.get_bytes, PAIRING_CODE_KEY)
                self._loaded = True

    async def close(self) -> None:
        """Write what is still pending (failed-auth summaries); call before the store closes."""
        await self.audit.close()

    # -- users -------------------------------------------------------------------------

    async def ensure_admin(self) -> tuple[User, str | None]:
        """The admin user; on the very first start also a one-time sign-in code."""
        await self.ready()
        admin = await self.db.first_admin()
        if admin is not None:
            return admin, None
        try:
            admin = await self.db.create_user("admin", is_admin=True, now=self.clock())
        except Conflict:
            # Another hub replica on the same database created it a moment ago: it prints
            # the sign-in code, this one prints none.
            raced = await self.db.first_admin()
            if raced is None:
                raise
            return raced, None
        await self.record("user_created", None, user_id=admin.id, name=admin.name, admin=True)
        code = await self.new_pairing_code(admin, ttl=FIRST_SIGNIN_TTL_S, reason="first start")
        return admin, code

    async def create_user(
        self, by: Principal, name: str, *, is_admin: bool = False
    ) -> tuple[User, str]:
        """A new user (admins only) and a sign-in code for their first device."""
        if not by.is_admin:
            raise Forbidden("only an admin can add users")
        if await self.db.user_by_name(name) is not None:
            raise Conflict(f"there is already a user named {name!r}")
        user = await self.db.create_user(name, is_admin=is_admin, now=self.clock())
        await self.record("user_created", by, new_user=user.id, name=name, admin=is_admin)
        code = await self.new_pairing_code(user, reason=f"new user {name}")
        return user, code

    async def user(self, user_id: str) -> User | None:
        """A user (cached)."""
        return await _cached(self._users, user_id, self.db.user)

    # -- pairing -----------------------------------------------------------------------

    async def new_pairing_code(
        self,
        user: User,
        *,
        ttl: float = PAIRING_TTL_S,
        by: Principal | None = None,
        reason: str = "",
    ) -> str:
        """Mint a single-use code that pairs a new device to `user`."""
        await self.ready()
        code = codes.new_pairing_code()
        await self.db.add_code(codes.hash_code(self._code_key, code), user.id, self.clock(), ttl)
        await self.record("pairing_code_created", by, user_id=user.id, ttl_s=ttl, reason=reason)
        return code

    async def pair(
        self, code: str, *, name: str, kind: str, fingerprint: str, address: str
    ) -> Pairing:
        """Redeem a pairing code for a device and its first refresh token."""
        await self.ready()
        try:
            await self.pair_limiter.check(address)
            await self.pair_ceiling.check(GLOBAL_KEY)
        except RateLimited:
            await self.record("pairing_rate_limited", None, address=address)
            raise
        if kind not in DEVICE_KINDS:
            raise AuthError(f"unknown device kind {kind!r}", hint="use cli, runner or browser")
        code_hash = codes.hash_code(self._code_key, code)
        user_id = await self.db.code_owner(code_hash)
        user = await self.user(user_id) if user_id else None
        if user is None or user.disabled_at is not None:
            await self.record("pairing_failed", None, address=address, why="unknown code")
            raise AuthError(
                "that pairing code is not valid",
                hint="check it, or mint a new one with `tether pair new`",
            )
        now = self.clock()
        device = Device(new_id("d_"), user.id, name[:64] or kind, kind, fingerprint, now)
        refresh = codes.new_refresh_token()
        outcome = await self.db.redeem_code(
            code_hash, now, device, codes.hash_token(refresh), REFRESH_TTL_S
        )
        if outcome != "ok":
            await self.record("pairing_failed", None, address=address, why=outcome, user_id=user.id)
            raise AuthError(
                f"that pairing code is {'already used' if outcome == 'used' else outcome}",
                hint="codes work once and for five minutes; mint a new one with `tether pair new`",
            )
        self._devices[device.id] = device
        await self.record(
            "device_paired",
            None,
            address=address,
            user_id=user.id,
            device_id=device.id,
            kind=kind,
            name=device.name,
        )
        return Pairing(device, user, refresh)

    async def mint_device(
        self, user: User, *, name: str, kind: str, fingerprint: str, with_refresh: bool = True
    ) -> Pairing:
        """Create a device directly (the hub's own embedded runner and local CLI)."""
        now = self.clock()
        device = Device(new_id("d_"), user.id, name, kind, fingerprint, now)
        refresh = codes.new_refresh_token() if with_refresh else ""
        await self.db.add_device(
            device, codes.hash_token(refresh) if with_refresh else None, now, REFRESH_TTL_S
        )
        self._devices[device.id] = device
        await self.record(
            "device_paired",
            None,
            user_id=user.id,
            device_id=device.id,
            kind=kind,
            name=name,
            how="local",
        )
        return Pairing(device, user, refresh)

    # -- tokens ------------------------------------------------------------------------

    def access_token(self, device: Device, *, scope: str | None = None) -> str:
        """A fresh session token for a device (the caller checked it may have one); with
        `scope="renew"`, a `socket_token` that only renews its open sockets."""
        return mint_access(
            self._jwt_key,
            user_id=device.user_id,
            device_id=device.id,
            fingerprint=device.fingerprint,
            now=self.clock(),
            ttl=self.access_ttl,
            scope=scope,
        )

    async def refresh(self, refresh_token: str, device_key: str, *, address: str) -> Refreshed:
        """Rotate a refresh token; reusing an old one revokes its device at once."""
        await self.ready()
        new = codes.new_refresh_token()
        result = await self.db.rotate_refresh(
            codes.hash_token(refresh_token),
            codes.fingerprint_of(device_key),
            codes.hash_token(new),
            self.clock(),
            REFRESH_TTL_S,
        )
        device = result.device
        if result.outcome == "reused" and device is not None:
            await self.record(
                "token_reuse", None, address=address, user_id=device.user_id, device_id=device.id
            )
            log.warning("refresh token of device %s was used twice; device revoked", device.id)
            await self._after_revoke(device.id, "refresh token reused")
        if result.outcome != "ok" or device is None:
            await self.record(
                "token_refresh_failed",
                None,
                address=address,
                why=result.outcome,
                device_id=device.id if device else None,
            )
            raise AuthError(
                f"refresh refused ({result.outcome.replace('_', ' ')})",
                hint="pair this device again: `tether login --hub URL --code CODE`",
            )
        self._devices[device.id] = device
        await self.record(
            "token_refresh", None, address=address, user_id=device.user_id, device_id=device.id
        )
        return Refreshed(device, new, self.access_token(device), self.access_ttl)

    async def device(self, device_id: str) -> Device | None:
        """A device (cached; revocation updates the cache)."""
        return await _cached(self._devices, device_id, self.db.device)

    async def principal_for_access(self, token: str, *, renewal: bool = False) -> Principal | None:
        """The principal of a valid, unexpired session token of a live device (a scoped
        `socket_token` only with `renewal`: an open socket renewing itself in-band)."""
        await self.ready()
        claims = verify_access(self._jwt_key, token, now=self.clock())
        if claims is None or (
            claims.scope is not None and not (renewal and claims.scope == "renew")
        ):
            return None
        device = await self.device(claims.device_id)
        if device is None or device.revoked or device.fingerprint != claims.fingerprint:
            return None
        user = await self.user(device.user_id)
        if user is None or user.disabled_at is not None or user.id != claims.user_id:
            return None
        await self.sightings.seen(device.id)
        return Principal(
            id=device.id,
            kind="runner" if device.kind == "runner" else "user",
            name=user.name,
            user_id=user.id,
            device_id=device.id,
            is_admin=user.is_admin,
            expires_at=claims.expires_at,
        )

    async def share_link(self, token: str) -> ShareLink | None:
        """The live (unexpired, unrevoked) share link a token stands for."""
        link = await self.db.share_by_hash(codes.hash_token(token))
        if link is None or link.revoked_at is not None or link.expires_at <= self.clock():
            return None
        return link

    async def principal_for_share(self, token: str) -> Principal | None:
        """The read-only principal of a live share link."""
        link = await self.share_link(token)
        if link is None:
            return None
        return Principal(
            id=f"share:{link.id}",
            kind="share",
            name=f"share link {link.id}",
            read_only=True,
            session_scope=link.session_id,
            expires_at=link.expires_at,
        )

    # -- revocation --------------------------------------------------------------------

    async def devices(self, by: Principal) -> list[Device]:
        """The caller's devices (an admin sees everybody's)."""
        return await self.db.devices(None if by.is_admin else by.user_id)

    async def revoke_device(
        self, by: Principal | None, device_id: str, *, reason: str = "revoked"
    ) -> Device:
        """Revoke a device: its tokens stop working and its live sockets close now."""
        device = await self.db.device(device_id)
        if device is None:
            raise NotFound(f"no device {device_id!r}", hint="list them with `tether devices`")
        if by is not None and not by.is_admin and by.user_id != device.user_id:
            raise Forbidden("you may only revoke your own devices")
        await self.db.revoke_device(device_id, reason, self.clock())
        await self.record("device_revoked", by, target=device_id, reason=reason)
        await self._after_revoke(device_id, reason)
        return device

    def forget_device(self, device_id: str) -> None:
        """Drop a cached device (another hub replica revoked it): the next use reads it."""
        self._devices.pop(device_id, None)

    async def _after_revoke(self, device_id: str, reason: str) -> None:
        refreshed = await self.db.device(device_id)
        if refreshed is not None:
            self._devices[device_id] = refreshed
        await self.live.close(f"device:{device_id}", f"revoked: {reason}")

    # -- share links -------------------------------------------------------------------

    async def create_share(
        self, by: Principal, session_id: str, ttl: float = SHARE_TTL_S
    ) -> tuple[ShareLink, str]:
        """A read-only follower grant for one session."""
        if by.user_id is None or by.read_only:
            raise Forbidden("a read-only link cannot create share links")
        ttl = max(1.0, min(ttl, MAX_SHARE_TTL_S))
        now = self.clock()
        link = ShareLink(new_id("sh_"), session_id, by.user_id, now, now + ttl)
        token = codes.new_share_token()
        await self.db.add_share(link, codes.hash_token(token))
        await self.record("share_created", by, share=link.id, session=session_id, ttl_s=ttl)
        return link, token

    async def shares(self, by: Principal) -> list[ShareLink]:
        """The caller's share links (an admin sees all)."""
        return await self.db.shares(None if by.is_admin else by.user_id)

    async def revoke_share(self, by: Principal, share_id: str) -> None:
        """Revoke a share link and close the sockets watching through it."""
        mine = {s.id: s for s in await self.shares(by)}
        if share_id not in mine:
            raise NotFound(f"no share link {share_id!r}", hint="list them with `tether share list`")
        await self.db.revoke_share(share_id, self.clock())
        await self.record("share_revoked", by, share=share_id)
        await self.live.close(f"principal:share:{share_id}", "share link revoked")


async def _cached(
    cache: dict[str, R], key: str, load: Callable[[str], Awaitable[R | None]]
) -> R | None:
    """`cache[key]`, loaded from the store and kept when it is not there yet (a miss is
    not kept: the record may be created later)."""
    found = cache.get(key)
    if found is None:
        found = await load(key)
        if found is not None:
            cache[key] = found
    return found
