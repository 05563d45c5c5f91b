"""Upgrading a data dir an older tether left behind: lax modes narrowed with a warning, the
keys it kept in the database dropped (an old copy of that database mints nothing), and
devices keep working because refresh tokens do not depend on those keys."""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import stat
import time
from pathlib import Path

import httpx
import pytest

from tests.security.attacker import (
    Victim,
    create_user_with,
    forge,
    tether_up,
)
from tether.auth.codes import fingerprint_of, hash_code, hash_token, new_device_key
from tether.store.migrations import MIGRATIONS

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::UserWarning")]


class OldDataDir:
    """A data dir as tether before this change wrote it: 0755 / 0644, schema version 2,
    with the signing and pairing keys in `hub_keys`."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.jwt_key = secrets.token_bytes(32)
        self.code_key = secrets.token_bytes(32)
        self.device_key = new_device_key()
        self.refresh_token = "trt_" + secrets.token_urlsafe(32)
        self.code = "ABCD-EFGH"
        self.victim = Victim("u_admin", "d_laptop", fingerprint_of(self.device_key))

    def write(self) -> None:
        os.mkdir(self.data_dir, 0o755)
        os.chmod(self.data_dir, 0o755)
        db = self.data_dir / "tether.db"
        conn = sqlite3.connect(db)
        now = time.time()
        for number, script in enumerate(MIGRATIONS[:2], start=1):
            conn.executescript(f"BEGIN; {script}; PRAGMA user_version={number}; COMMIT;")
        with conn:
            conn.execute("INSERT INTO users VALUES ('u_admin', 'admin', 1, ?, NULL)", (now,))
            conn.execute(
                "INSERT INTO devices VALUES ('d_laptop', 'u_admin', 'laptop', 'cli', ?, ?,"
                " NULL, NULL, NULL)",
                (self.victim.fingerprint, now),
            )
            conn.execute(
                "INSERT INTO refresh_tokens VALUES (?, 'd_laptop', ?, ?, NULL)",
                (hash_token(self.refresh_token), now, now + 86400),
            )
            conn.execute(
                "INSERT INTO pairing_codes VALUES (?, 'u_admin', ?, ?, NULL, NULL)",
                (hash_code(self.code_key, self.code), now, now + 300),
            )
            conn.executemany(
                "INSERT INTO hub_keys VALUES (?, ?, ?)",
                [("jwt", self.jwt_key.hex(), now), ("pairing", self.code_key.hex(), now)],
            )
        conn.close()
        os.chmod(db, 0o644)
        (self.data_dir / "hub.json").write_text('{"url": "http://127.0.0.1:1"}\n')
        os.chmod(self.data_dir / "hub.json", 0o644)
        spill = self.data_dir / "runners" / "local" / "spill"
        spill.mkdir(parents=True)
        for directory in (self.data_dir / "runners", spill.parent, spill):
            os.chmod(directory, 0o755)


def test_upgrade_narrows_modes_and_drops_the_keys_an_old_database_held(home: Path) -> None:
    old = OldDataDir(home / ".tether")
    old.write()
    stolen_before_upgrade = home / "old-copy.db"
    shutil.copyfile(old.data_dir / "tether.db", stolen_before_upgrade)
    with tether_up(home) as up, httpx.Client(timeout=30) as http:
        log = up.stderr.read_text()
        for path in ("tether.db", "hub.json", "runners/local/spill"):
            assert f"{old.data_dir / path} was readable by other users" in log, path
        for path in (old.data_dir, old.data_dir / "runners" / "local"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o700
        for path in ("tether.db", "hub.json"):
            assert stat.S_IMODE((old.data_dir / path).stat().st_mode) == 0o600
        with sqlite3.connect(old.data_dir / "tether.db") as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert "hub_keys" not in tables
        # The keys in the old copy sign nothing, and its pending pairing code is dead.
        assert create_user_with(up.url, forge(old.jwt_key, old.victim), "mallory", http) == 401
        pair = http.post(
            f"{up.url}/v1/auth/pair",
            json={"code": old.code, "name": "x", "kind": "cli", "fingerprint": "f" * 32},
        )
        assert pair.status_code == 401
        # The device itself refreshes as before: that is all an upgrade costs it.
        fresh = http.post(
            f"{up.url}/v1/auth/token",
            json={"refresh_token": old.refresh_token, "device_key": old.device_key},
        )
        assert fresh.status_code == 200, fresh.text
        token = fresh.json()["access_token"]
        assert create_user_with(up.url, token, "carol", http) == 201
    with sqlite3.connect(stolen_before_upgrade) as conn:
        assert conn.execute("SELECT COUNT(*) FROM hub_keys").fetchone()[0] == 2
