"""First start and zero setup: the admin user, a one-time sign-in code, and devices for the
hub's own embedded runner and this machine's CLI (so `tether up` needs no pairing step)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from tether.auth.codes import fingerprint_of, new_device_key
from tether.auth.records import Device, User
from tether.auth.service import FIRST_SIGNIN_TTL_S, AuthService
from tether.client.credentials import CredentialStore, DeviceCredentials
from tether.client.http import TokenProvider
from tether.errors import AuthError


@dataclass(frozen=True)
class Bootstrap:
    """What the first start produced."""

    admin: User
    signin_code: str | None
    """Only on the very first start: a one-time code to sign a browser or device in."""


async def bootstrap_hub(
    service: AuthService, data_dir: Path, url: str, *, hub_id: str = ""
) -> Bootstrap:
    """Make sure an admin exists, and that this machine's CLI is paired to `url` as admin
    (under the hub's identity `hub_id`, so other URLs of the hub find it too)."""
    admin, code = await service.ensure_admin()
    store = CredentialStore(data_dir)
    existing = await asyncio.to_thread(store.load, "cli", url)
    device = await service.device(existing.device_id) if existing else None
    if existing is None or device is None:
        key = new_device_key()
        pairing = await service.mint_device(
            admin, name="local-cli", kind="cli", fingerprint=fingerprint_of(key)
        )
        creds = DeviceCredentials(
            hub=url,
            kind="cli",
            device_id=pairing.device.id,
            refresh_token=pairing.refresh_token,
            device_key=key,
            hub_id=hub_id,
        )

        def save() -> None:
            with store.locked():
                store.save(creds)

        await asyncio.to_thread(save)
    return Bootstrap(admin, code)


async def signin_code(service: AuthService, user: User) -> str:
    """A fresh one-time sign-in code for `user` (15 minutes, single use), for a link
    `URL/signin#code=CODE` printed on the hub machine's terminal."""
    return await service.new_pairing_code(user, ttl=FIRST_SIGNIN_TTL_S, reason="sign-in link")


async def embedded_runner_token(service: AuthService, admin: User, runner_id: str) -> TokenProvider:
    """A token provider for the in-process runner: a runner device of the admin, minted
    once and reused; tokens come straight from the service (no refresh token exists)."""
    device: Device | None = next(
        (
            d
            for d in await service.db.devices(admin.id)
            if d.kind == "runner" and d.name == runner_id and not d.revoked
        ),
        None,
    )
    if device is None:
        device = (
            await service.mint_device(
                admin,
                name=runner_id,
                kind="runner",
                fingerprint=fingerprint_of(new_device_key()),
                with_refresh=False,
            )
        ).device
    return device_token(service, device.id)


def device_token(service: AuthService, device_id: str) -> TokenProvider:
    """Session tokens for a device of this hub, straight from the service (no refresh
    token involved): each call mints a fresh one, or fails once the device is revoked."""

    async def provide() -> str:
        current = await service.device(device_id)
        if current is None or current.revoked:
            raise AuthError(
                f"device {device_id} was revoked",
                hint="pair the device again (`tether up` mints a new one for its own runner)",
            )
        return service.access_token(current)

    return provide
