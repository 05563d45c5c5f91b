"""Secrets at rest, attacked as a second local user and as a thief of the database would,
against a real `tether up` started under the usual umask (022)."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.security.attacker import (
    UpProcess,
    admin_device,
    as_nobody_try_reading,
    create_user_with,
    everything_under,
    forge,
    key_candidates,
    steal_database,
    tether_up,
)

pytestmark = [pytest.mark.e2e, pytest.mark.filterwarnings("ignore::UserWarning")]

CODE = re.compile(r"\b[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}\b")


@pytest.fixture
def up(home: Path) -> Iterator[UpProcess]:
    with tether_up(home) as hub:
        session = hub.cli("start", "demo", "--prompt", "hello").stdout.strip().splitlines()[-1]
        hub.cli("attach", session, "--prompt", "and again")
        hub.extra["session"] = session
        yield hub


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_another_local_user_can_read_nothing_in_the_data_dir(up: UpProcess, home: Path) -> None:
    up.cli("pair", "new", "--no-qr")  # a pending pairing code in the store too
    paths = everything_under(up.data_dir)
    names = {p.name for p in paths}
    assert {"tether.db", "tether.db-wal", "tether.db-shm", "secrets.json", "hub.json"} <= names
    assert "credentials.json" in names
    for path in paths:
        expected = 0o700 if path.is_dir() else 0o600
        assert mode(path) == expected, f"{path} is {mode(path):o}"
    control = home / "readable.txt"
    control.write_text("anyone may read this")
    os.chmod(control, 0o644)
    results = as_nobody_try_reading([control, *paths], up.data_dir / "tether.db")
    assert results.pop(str(control)) == "read"  # the probe can read what is readable
    assert results, "nothing probed"
    assert {path: how for path, how in results.items() if how == "read"} == {}


def test_a_stolen_database_mints_no_token(up: UpProcess, tmp_path: Path) -> None:
    thief = steal_database(up.data_dir, tmp_path / "thief")
    victim = admin_device(thief)
    candidates = key_candidates(thief)
    assert len(candidates) > 20  # the copy is full of values: hashes, ids, events
    with httpx.Client(timeout=30) as http:
        statuses = {
            create_user_with(up.url, forge(key, victim), f"mallory{i}", http)
            for i, key in enumerate(sorted(candidates))
        }
        assert statuses == {401}
        # The same forgery with the key from the secrets file works: the attack above was
        # a real one, and only the key was missing.
        secrets = json.loads((up.data_dir / "secrets.json").read_text())
        key = bytes.fromhex(secrets["session_token_key"])
        assert create_user_with(up.url, forge(key, victim), "control", http) == 201
    assert not any(key in candidates for key in (key, key.hex().encode()))


def test_no_secret_in_ps_output_or_in_the_hub_log(up: UpProcess) -> None:
    paired = up.cli("pair", "new", "--no-qr").stdout
    share = up.cli("share", up.extra["session"]).stdout
    ps = subprocess.run(["ps", "-eww", "-o", "args"], capture_output=True, text=True).stdout
    secrets = [*CODE.findall(paired), *re.findall(r"tsh_[\w-]+", share)]
    creds = json.loads((up.data_dir / "credentials.json").read_text())
    for entry in creds.values():
        secrets += [entry["refresh_token"], entry["device_key"], entry["access_token"]]
    secrets += json.loads((up.data_dir / "secrets.json").read_text()).values()
    secrets = [s for s in secrets if s]
    assert len(secrets) >= 7
    up.cli("sessions")
    log = up.stderr.read_text()
    assert "DEBUG" in log or "INFO" in log  # -v: the log is really there
    signin = CODE.findall(up.stdout.read_text())  # printed on the terminal by design, once
    for secret in secrets:
        assert secret not in ps, "a secret in ps output"
        assert secret not in log, "a secret in the hub's log"
        if secret not in signin:
            assert secret not in up.stdout.read_text(), "a secret on the hub's terminal"
    for code in signin:
        assert code not in log
