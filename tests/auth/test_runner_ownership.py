"""A runner id belongs to the device and user that first registered it, for good: claims at
the store level, an attacker's claims online and offline, re-pairing, and racing claims."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tether.auth.principal import Principal
from tether.auth.records import Device, User
from tether.auth.service import AuthService
from tether.hub_secrets import HubSecrets
from tether.store import SqliteStore
from tether.store.migrations import MIGRATIONS


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        self.now += 0.001  # every call is a little later: devices have distinct ages
        return self.now


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[AuthService]:
    store = SqliteStore(tmp_path / "tether.db")
    await store.open()
    auth = AuthService(store, secrets=HubSecrets(tmp_path / "secrets.json"), clock=Clock())
    try:
        yield auth
    finally:
        await auth.close()
        await store.close()


async def runner_device(auth: AuthService, user: User, name: str = "laptop") -> Device:
    return (
        await auth.mint_device(
            user, name=name, kind="runner", fingerprint="f" * 32, with_refresh=False
        )
    ).device


def principal(device: Device) -> Principal:
    return Principal(id=device.id, kind="runner", user_id=device.user_id, device_id=device.id)


async def test_first_claim_owns_the_id_and_another_user_never_gets_it(
    service: AuthService,
) -> None:
    alice = await service.db.create_user("alice", is_admin=False, now=1)
    mallory = await service.db.create_user("mallory", is_admin=False, now=1)
    mine = await runner_device(service, alice)
    theirs = await runner_device(service, mallory)
    first = await service.runners.claim_runner("laptop", mine.id, alice.id)
    assert first.outcome == "claimed" and first.allowed
    assert (await service.runners.claim_runner("laptop", mine.id, alice.id)).outcome == "owned"
    # Alice's runner is offline (nothing is connected in this test at all): still hers.
    taken = await service.runners.claim_runner("laptop", theirs.id, mallory.id)
    assert taken.outcome == "taken" and not taken.allowed
    assert (taken.owner.user_id, taken.owner.device_id) == (alice.id, mine.id)
    message = taken.refusal() or ""
    assert "another user" in message and alice.id not in message and mine.id not in message
    # Not even once her device is revoked, nor when mallory pairs a fresh one.
    await service.revoke_device(None, mine.id)
    again = await runner_device(service, mallory)
    assert (await service.runners.claim_runner("laptop", again.id, mallory.id)).outcome == "taken"
    owner = await service.runners.owner("laptop")
    assert owner is not None and (owner.user_id, owner.device_id) == (alice.id, mine.id)


async def test_re_pairing_the_same_machine_keeps_its_id(service: AuthService) -> None:
    alice = await service.db.create_user("alice", is_admin=False, now=1)
    old = await runner_device(service, alice)
    assert (await service.runners.claim_runner("laptop", old.id, alice.id)).outcome == "claimed"
    new = await runner_device(service, alice)  # `tether runner --pair CODE` again
    moved = await service.runners.claim_runner("laptop", new.id, alice.id)
    assert moved.outcome == "moved" and moved.allowed and moved.previous_device == old.id
    # The old credentials cannot pull it back: the id moved on to the newer device.
    stale = await service.runners.claim_runner("laptop", old.id, alice.id)
    assert stale.outcome == "stale" and not stale.allowed
    assert "pair this runner again" in (stale.refusal() or "")
    assert await service.runners.owned_by(alice.id) == ["laptop"]


async def test_claims_are_audited_with_the_owner_for_the_admin(service: AuthService) -> None:
    alice = await service.db.create_user("alice", is_admin=False, now=1)
    mallory = await service.db.create_user("mallory", is_admin=False, now=1)
    mine, theirs = await runner_device(service, alice), await runner_device(service, mallory)
    await service.runners.claim(principal(mine), "laptop", address="10.0.0.1")
    refused = await service.runners.claim(principal(theirs), "laptop", address="10.6.6.6")
    assert refused.outcome == "taken"
    rows = {e.action: e for e in await service.audit_entries()}
    assert rows["runner_claimed"].device_id == mine.id
    row = rows["runner_claim_refused"]
    assert (row.user_id, row.device_id, row.address) == (mallory.id, theirs.id, "10.6.6.6")
    assert row.details["owner_user"] == alice.id and row.details["outcome"] == "taken"


async def test_ownership_survives_a_restart(tmp_path: Path) -> None:
    for attempt in range(2):
        store = SqliteStore(tmp_path / "tether.db")
        await store.open()
        auth = AuthService(store, secrets=HubSecrets(tmp_path / "secrets.json"), clock=Clock())
        try:
            if attempt == 0:
                alice = await auth.db.create_user("alice", is_admin=False, now=1)
                device = await runner_device(auth, alice)
                await auth.runners.claim_runner("laptop", device.id, alice.id)
            else:
                mallory = await auth.db.create_user("mallory", is_admin=False, now=1)
                theirs = await runner_device(auth, mallory)
                claim = await auth.runners.claim_runner("laptop", theirs.id, mallory.id)
                assert claim.outcome == "taken"
        finally:
            await auth.close()
            await store.close()


async def test_two_racing_claims_one_wins(service: AuthService) -> None:
    alice = await service.db.create_user("alice", is_admin=False, now=1)
    mallory = await service.db.create_user("mallory", is_admin=False, now=1)
    mine, theirs = await runner_device(service, alice), await runner_device(service, mallory)
    for n in range(50):
        runner_id = f"box-{n}"
        a, b = await asyncio.gather(
            service.runners.claim_runner(runner_id, mine.id, alice.id),
            service.runners.claim_runner(runner_id, theirs.id, mallory.id),
        )
        assert sorted([a.outcome, b.outcome]) == ["claimed", "taken"]
        assert a.owner == b.owner  # both answers name the one owner


def test_racing_claims_from_two_hub_processes_one_wins(tmp_path: Path) -> None:
    """Two stores on one file (two hub processes): SQLite's write lock serialises them."""
    path = tmp_path / "tether.db"

    async def setup() -> tuple[str, str, str, str]:
        store = SqliteStore(path)
        await store.open()
        auth = AuthService(store, secrets=HubSecrets(tmp_path / "s.json"), clock=Clock())
        alice = await auth.db.create_user("alice", is_admin=False, now=1)
        mallory = await auth.db.create_user("mallory", is_admin=False, now=1)
        a, m = await runner_device(auth, alice), await runner_device(auth, mallory)
        await store.close()
        return alice.id, a.id, mallory.id, m.id

    alice, mine, mallory, theirs = asyncio.run(setup())
    outcomes: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def hub_process(user: str, device: str) -> None:
        async def claim_all() -> None:
            store = SqliteStore(path)
            await store.open()
            auth = AuthService(store, secrets=HubSecrets(tmp_path / "s.json"), clock=Clock())
            start.wait()
            for n in range(30):
                claim = await auth.runners.claim_runner(f"box-{n}", device, user)
                outcomes.setdefault(f"box-{n}", []).append(claim.outcome)
            await store.close()

        asyncio.run(claim_all())

    threads = [
        threading.Thread(target=hub_process, args=(alice, mine)),
        threading.Thread(target=hub_process, args=(mallory, theirs)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 30
    assert all(sorted(o) == ["claimed", "taken"] for o in outcomes.values()), outcomes


async def test_upgrade_gives_existing_runners_to_their_first_registering_user(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tether.db"
    conn = sqlite3.connect(path)
    for number, script in enumerate(MIGRATIONS[:3], start=1):
        conn.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")
    with conn:
        conn.execute("INSERT INTO users VALUES ('u_a', 'alice', 0, 1, NULL)")
        conn.execute("INSERT INTO users VALUES ('u_m', 'mallory', 0, 1, NULL)")
        for device, user, created in (("d_a", "u_a", 10.0), ("d_m", "u_m", 20.0)):
            conn.execute(
                "INSERT INTO devices VALUES (?, ?, 'laptop', 'runner', 'f', ?, NULL, NULL, NULL)",
                (device, user, created),
            )
        conn.execute("INSERT INTO runners VALUES ('laptop', '0.1', '[]', 30.0)")
        conn.execute("INSERT INTO runners VALUES ('legacy', '0.1', '[]', 30.0)")
    conn.close()
    store = SqliteStore(path)
    await store.open()
    auth = AuthService(store, secrets=HubSecrets(tmp_path / "s.json"), clock=Clock())
    try:
        owner = await auth.runners.owner("laptop")
        assert owner is not None and (owner.user_id, owner.device_id) == ("u_a", "d_a")
        assert (await auth.runners.claim_runner("laptop", "d_m", "u_m")).outcome == "taken"
        assert await auth.runners.owner("legacy") is None  # no device ever named it
    finally:
        await auth.close()
        await store.close()
