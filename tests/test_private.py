"""Files tether writes are private from the first byte, whatever the umask."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from tether.errors import ConfigError
from tether.hub_secrets import HubSecrets
from tether.private import append_private, private_dir, touch_private, write_private


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def open_umask():
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_dirs_and_files_private_under_umask_zero(tmp_path: Path, open_umask: None) -> None:
    data = private_dir(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == 0o700
    assert mode(data) == 0o700
    write_private(data / "x.json", "{}")
    touch_private(data / "db")
    os.close(append_private(data / "spill.jsonl"))
    for name in ("x.json", "db", "spill.jsonl"):
        assert mode(data / name) == 0o600, name


def test_existing_lax_paths_are_narrowed(tmp_path: Path) -> None:
    lax = tmp_path / "old"
    lax.mkdir(mode=0o755)
    os.chmod(lax, 0o755)
    (lax / "tether.db").write_text("")
    os.chmod(lax / "tether.db", 0o644)
    private_dir(lax)
    touch_private(lax / "tether.db")
    assert mode(lax) == 0o700
    assert mode(lax / "tether.db") == 0o600


def test_symlink_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(OSError):
        touch_private(tmp_path / "link")
    assert target.read_text() == "keep"


def test_hub_secrets_persist_and_agree_across_instances(tmp_path: Path, open_umask: None) -> None:
    first = HubSecrets.for_data_dir(tmp_path)
    key = first.get_bytes("jwt")
    assert len(key) == 32
    assert HubSecrets.for_data_dir(tmp_path).get_bytes("jwt") == key
    assert mode(tmp_path / "secrets.json") == 0o600
    # Many "replicas" creating the same secret at once end up with one value.
    seen: list[str] = []
    threads = [
        threading.Thread(target=lambda: seen.append(HubSecrets(tmp_path / "s.json").get("k")))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(seen)) == 1


def test_secrets_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TETHER_SECRETS_FILE", str(tmp_path / "mounted" / "hub-secrets.json"))
    HubSecrets.for_data_dir(tmp_path / "data").get("jwt")
    assert (tmp_path / "mounted" / "hub-secrets.json").exists()
    assert not (tmp_path / "data" / "secrets.json").exists()


def test_damaged_secrets_file_is_a_clear_error(tmp_path: Path) -> None:
    write_private(tmp_path / "secrets.json", "not json")
    with pytest.raises(ConfigError, match="damaged"):
        HubSecrets.for_data_dir(tmp_path).get("jwt")
