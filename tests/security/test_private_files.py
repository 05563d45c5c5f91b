"""Each writer of the data dir creates its files private, whatever the umask, and narrows
what an older tether left open; the hub's secrets file copes with read-only mounts."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.security.attacker import NOBODY, traversable_home
from tests.support.timing import scaled
from tether.client.credentials import CredentialStore, DeviceCredentials
from tether.errors import ConfigError
from tether.hub.secrets import HubSecrets
from tether.hubfile import write_hub_file
from tether.private import narrow_data_dir
from tether.runner.outbox import Outbox
from tether.store import SessionRecord, SqliteStore, StoredEvent

SRC = Path(__file__).resolve().parents[2] / "src"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


async def test_store_wal_and_shm_are_private_under_umask_zero(
    tmp_path: Path, open_umask: None
) -> None:
    data = tmp_path / "data"
    store = SqliteStore(data / "tether.db")
    await store.open()
    try:
        await store.create_session(SessionRecord(id="s_1", team="t", created_at=1, updated_at=1))
        await store.append_events([StoredEvent("s_1", 1, 1.0, "status", "{}")])
        await store.read_events("s_1", 0)  # a reader: the shared-memory index exists now
        assert mode(data) == 0o700
        for name in ("tether.db", "tether.db-wal", "tether.db-shm"):
            assert mode(data / name) == 0o600, name
    finally:
        await store.close()


async def test_store_narrows_side_files_an_older_tether_left_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    first = SqliteStore(tmp_path / "tether.db")
    await first.open()
    await first.create_session(SessionRecord(id="s_1", team="t", created_at=1, updated_at=1))
    for name in ("tether.db", "tether.db-wal", "tether.db-shm"):
        os.chmod(tmp_path / name, 0o644)  # as an older tether left them, still open
    second = SqliteStore(tmp_path / "tether.db")
    await second.open()
    try:
        for name in ("tether.db", "tether.db-wal", "tether.db-shm"):
            assert mode(tmp_path / name) == 0o600, name
        assert "tether.db-wal was readable by other users" in caplog.text
    finally:
        await second.close()
        await first.close()


def test_credentials_hub_file_and_spill_files_are_private(tmp_path: Path, open_umask: None) -> None:
    data = tmp_path / "data"
    store = CredentialStore(data)
    store.keyring = None  # the file fallback is what runs here
    with store.locked():
        store.save(DeviceCredentials("http://127.0.0.1:1", "cli", "d_1", "trt_x", "tdk_y"))
    write_hub_file(data, "http://127.0.0.1:1")
    outbox = Outbox(data / "runners" / "r" / "spill", memory_limit=1)
    for _ in range(4):
        outbox.append("s_1", {"kind": "status", "state": "idle"})
    spilled = list((data / "runners" / "r" / "spill").glob("*.jsonl"))
    assert spilled, "the outbox should have spilled"
    for path in (data / "credentials.json", data / ".credentials.lock", data / "hub.json"):
        assert mode(path) == 0o600, path
    for path in spilled:
        assert mode(path) == 0o600, path
    for path in (data, data / "runners", data / "runners" / "r", data / "runners" / "r" / "spill"):
        assert mode(path) == 0o700, path


def test_old_credentials_file_is_narrowed_when_read(tmp_path: Path) -> None:
    (tmp_path / "credentials.json").write_text("{}")
    os.chmod(tmp_path / "credentials.json", 0o644)
    store = CredentialStore(tmp_path)
    store.keyring = None
    assert store.load("cli", "http://x") is None
    assert mode(tmp_path / "credentials.json") == 0o600


def test_narrowing_a_data_dir_leaves_what_is_not_tethers_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "runners" / "r" / "spill").mkdir(parents=True)
    (data / "runners" / "r" / "spill" / "s.jsonl").write_text("")
    (data / "hub.json").write_text("{}")
    (data / "my-project").mkdir()
    (data / "my-project" / "README").write_text("a team's workspace inside the data dir")
    for path in (data, data / "runners", data / "my-project"):
        os.chmod(path, 0o755)
    for path in (data / "hub.json", data / "my-project" / "README"):
        os.chmod(path, 0o644)
    assert narrow_data_dir(data) >= 4
    assert mode(data) == 0o700 and mode(data / "runners") == 0o700
    assert mode(data / "hub.json") == 0o600
    assert mode(data / "runners" / "r" / "spill" / "s.jsonl") == 0o600
    assert mode(data / "my-project") == 0o755
    assert mode(data / "my-project" / "README") == 0o644


def test_read_only_secrets_file_is_read_and_never_written(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"session_token_key": "ab" * 32}))
    os.chmod(path, 0o400)
    secrets = HubSecrets(path)
    assert secrets.get_bytes("session_token_key") == bytes.fromhex("ab" * 32)
    with pytest.raises(ConfigError, match=r"cannot add it \(the file is read-only\)") as info:
        secrets.get("pairing_code_key")
    assert info.value.hint and "openssl rand -hex 32" in info.value.hint
    assert json.loads(path.read_text()) == {"session_token_key": "ab" * 32}
    assert not (tmp_path / "secrets.json.lock").exists()


def test_a_key_that_is_not_hex_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"session_token_key": "not a key"}))
    with pytest.raises(ConfigError, match="not a key of at least 32 hex digits"):
        HubSecrets(path).get_bytes("session_token_key")


def test_operator_named_secrets_may_be_a_symlink_the_data_dirs_may_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = tmp_path / "mount" / "..data" / "secrets.json"  # how Kubernetes mounts a secret
    real.parent.mkdir(parents=True)
    real.write_text(json.dumps({"session_token_key": "cd" * 32}))
    os.chmod(real, 0o600)
    (tmp_path / "mount" / "secrets.json").symlink_to(real)
    monkeypatch.setenv("TETHER_SECRETS_FILE", str(tmp_path / "mount" / "secrets.json"))
    assert HubSecrets.for_data_dir(tmp_path / "data").get("session_token_key") == "cd" * 32
    monkeypatch.delenv("TETHER_SECRETS_FILE")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "secrets.json").symlink_to(real)
    with pytest.raises(ConfigError, match="is a symlink"):
        HubSecrets.for_data_dir(tmp_path / "data").get("session_token_key")


_READ_AS_NOBODY = """
import sys
from pathlib import Path
from tether.errors import ConfigError
from tether.hub.secrets import HubSecrets
secrets = HubSecrets(Path(sys.argv[1]), operator_named=True)
print(secrets.get("session_token_key"))
try:
    secrets.get("pairing_code_key")
except ConfigError as exc:
    print("refused:", exc.message)
"""


def test_a_hub_user_reads_a_secrets_file_it_cannot_write_beside() -> None:
    # A replica runs as an unprivileged user; the shared secrets file is root's, in a
    # directory it cannot write (no lock file can be made there).
    mount = traversable_home()
    try:
        path = mount / "secrets.json"
        path.write_text(json.dumps({"session_token_key": "ef" * 32}))
        os.chmod(path, 0o644)
        done = subprocess.run(
            [*NOBODY, sys.executable, "-c", _READ_AS_NOBODY, str(path)],
            capture_output=True,
            text=True,
            timeout=scaled(60),
            env={**os.environ, "PYTHONPATH": str(SRC)},
        )
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert lines[0] == "ef" * 32
        assert "cannot add it (Permission denied)" in lines[1]
        assert "cannot narrow it" in done.stderr  # 0644 and not ours: warned, not fatal
        assert sorted(p.name for p in mount.iterdir()) == ["secrets.json"]
    finally:
        for child in mount.iterdir():
            child.unlink()
        mount.rmdir()
