"""The identity tables on both stores: the same answers, and the races two hub replicas on
one PostgreSQL database can run into — one winner each time."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tether.auth.db import AuthDb
from tether.auth.queries import RefreshResult
from tether.auth.records import AuditRow, Device
from tether.auth.runners import claim_op
from tether.errors import Conflict


async def _admin_and_device(db: AuthDb) -> tuple[Any, Device]:
    admin = await db.create_user("admin", is_admin=True, now=time.time())
    device = Device("d_1", admin.id, "laptop", "cli", "fp1", time.time())
    await db.add_device(device, "refresh-1", time.time(), 3600)
    return admin, device


async def test_users_and_the_first_admin_race(any_store: Any) -> None:
    dbs = [AuthDb(any_store) for _ in range(6)]
    results = await asyncio.gather(
        *(db.create_user("admin", is_admin=True, now=time.time()) for db in dbs),
        return_exceptions=True,
    )
    winners = [r for r in results if not isinstance(r, BaseException)]
    assert len(winners) == 1
    assert all(isinstance(r, Conflict) for r in results if isinstance(r, BaseException))
    first = await dbs[0].first_admin()
    assert first is not None and first.id == winners[0].id
    assert await dbs[0].user_by_name("admin") == first
    assert await dbs[0].user("u_nobody") is None


async def test_a_pairing_code_is_redeemed_once_under_a_race(any_store: Any) -> None:
    db = AuthDb(any_store)
    admin, _ = await _admin_and_device(db)
    now = time.time()
    await db.add_code("code-hash", admin.id, now, 300)
    devices = [Device(f"d_new{n}", admin.id, "phone", "browser", "fp", now) for n in range(8)]
    outcomes = await asyncio.gather(
        *(db.redeem_code("code-hash", now, d, f"rt-{d.id}", 3600) for d in devices)
    )
    assert sorted(outcomes) == ["ok"] + ["used"] * 7
    assert await db.redeem_code("nope", now, devices[0], "rt", 3600) == "unknown"
    assert await db.code_owner("code-hash") == admin.id
    await db.add_code("old", admin.id, now - 600, 300)
    assert await db.redeem_code("old", now, devices[0], "rt-x", 3600) == "expired"


async def test_a_refresh_token_rotates_once_and_its_reuse_revokes(any_store: Any) -> None:
    db = AuthDb(any_store)
    _, device = await _admin_and_device(db)
    now = time.time()
    results: list[RefreshResult] = await asyncio.gather(
        *(db.rotate_refresh("refresh-1", "fp1", f"refresh-2-{n}", now, 3600) for n in range(6))
    )
    outcomes = sorted(r.outcome for r in results)
    # One rotation wins; the racing repeats look like a stolen token being reused, which
    # revokes the device (the first of them), and then the device is revoked.
    assert outcomes.count("ok") == 1
    assert set(outcomes) <= {"ok", "reused", "revoked"}
    refreshed = await db.device(device.id)
    assert refreshed is not None and refreshed.revoked
    assert (await db.rotate_refresh("unknown", "fp1", "x", now, 3600)).outcome == "unknown"


async def test_wrong_device_and_expiry_are_told_apart(any_store: Any) -> None:
    db = AuthDb(any_store)
    _, device = await _admin_and_device(db)
    now = time.time()
    assert (await db.rotate_refresh("refresh-1", "fp-other", "r2", now, 3600)).outcome == (
        "wrong_device"
    )
    later = now + 7200
    assert (await db.rotate_refresh("refresh-1", "fp1", "r2", later, 3600)).outcome == "expired"
    assert await db.revoke_device(device.id, "lost", now)
    assert not await db.revoke_device(device.id, "again", now)
    assert [d.id for d in await db.devices(device.user_id)] == [device.id]


async def test_a_runner_id_is_claimed_by_exactly_one_user_under_a_race(any_store: Any) -> None:
    db = AuthDb(any_store)
    now = time.time()
    users = [await db.create_user(f"user{n}", is_admin=False, now=now) for n in range(5)]
    for n, user in enumerate(users):
        await db.add_device(Device(f"d_{n}", user.id, "box", "runner", "fp", now), None, now, 0)
    claims = await asyncio.gather(
        *(
            any_store.run_write(claim_op("build-box", f"d_{n}", user.id, now))
            for n, user in enumerate(users)
        )
    )
    assert sorted(c.outcome for c in claims) == ["claimed"] + ["taken"] * 4
    winner = next(c for c in claims if c.outcome == "claimed")
    assert all(c.owner == winner.owner for c in claims)


async def test_share_links_and_the_audit_log(any_store: Any) -> None:
    from tether.auth.records import ShareLink

    db = AuthDb(any_store)
    admin, _ = await _admin_and_device(db)
    now = time.time()
    link = ShareLink("sh_1", "s_1", admin.id, now, now + 60)
    await db.add_share(link, "share-hash")
    assert await db.share_by_hash("share-hash") == link
    await db.revoke_share("sh_1", now + 1)
    await db.revoke_share("sh_1", now + 2)
    revoked = await db.share_by_hash("share-hash")
    assert revoked is not None and revoked.revoked_at == now + 1
    assert [s.id for s in await db.shares(admin.id)] == ["sh_1"]
    for n in range(3):
        await db.append_audit(
            AuditRow(now + n, "thing", "admin", admin.id, None, "127.0.0.1", {"n": n})
        )
    entries = await db.audit(since=now + 1, limit=10)
    assert [e.details["n"] for e in entries] == [1, 2]
