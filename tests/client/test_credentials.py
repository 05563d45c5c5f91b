"""Where a device's secrets live: the keyring when it works (the file then holds a note,
no secret), else the 0600 file — and reading them never has to ask the keyring library."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tether.client import credentials
from tether.client.credentials import CredentialStore, DeviceCredentials


class MemoryKeyring:
    """The three calls of the `keyring` module tether uses, keeping secrets in memory.

    (Not a `keyring.backend.KeyringBackend` subclass: keyring discovers every subclass
    and would then use this one for the rest of the test process.)"""

    def __init__(self) -> None:
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


def creds(hub: str = "http://127.0.0.1:1") -> DeviceCredentials:
    return DeviceCredentials(
        hub=hub, kind="cli", device_id="d_1", refresh_token="trt_secret", device_key="tdk_key"
    )


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    """A working keyring, as `tether.client.credentials` finds one."""
    memory = MemoryKeyring()
    monkeypatch.setattr(credentials, "_keyring", lambda: memory)
    return memory


def test_with_a_keyring_the_file_holds_a_note_and_no_secret(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    store = CredentialStore(tmp_path)
    store.save(creds())
    text = (tmp_path / "credentials.json").read_text()
    assert "trt_secret" not in text and "tdk_key" not in text
    assert json.loads(text) == {
        "cli:http://127.0.0.1:1": {"in_keyring": True, "kind": "cli", "hub": "http://127.0.0.1:1"}
    }
    assert store.where == "the OS keyring"
    assert CredentialStore(tmp_path).load("cli", "http://127.0.0.1:1") == creds()
    CredentialStore(tmp_path).delete("cli", "http://127.0.0.1:1")
    assert memory_keyring.secrets == {}
    assert CredentialStore(tmp_path).load("cli", "http://127.0.0.1:1") is None


def test_a_device_paired_into_the_file_stays_there(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    store = CredentialStore(tmp_path)
    store.keyring = None  # paired while no keyring worked
    store.save(creds())
    later = CredentialStore(tmp_path)  # a keyring works now
    refreshed = creds()
    refreshed.refresh_token = "trt_rotated"
    later.save(refreshed)
    assert memory_keyring.secrets == {}
    assert "trt_rotated" in (tmp_path / "credentials.json").read_text()
    assert (tmp_path / "credentials.json").stat().st_mode & 0o777 == 0o600


def test_an_older_keyring_entry_without_a_note_is_still_found(
    tmp_path: Path, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.set_password("tether", "cli:http://127.0.0.1:1", json.dumps(creds().__dict__))
    assert CredentialStore(tmp_path).load("cli", "http://127.0.0.1:1") == creds()


def test_reading_file_credentials_does_not_import_keyring(tmp_path: Path) -> None:
    store = CredentialStore(tmp_path)
    store.keyring = None
    store.save(creds())
    code = (
        "import sys; from pathlib import Path\n"
        "from tether.client.credentials import CredentialStore\n"
        f"assert CredentialStore(Path({str(tmp_path)!r})).load('cli', 'http://127.0.0.1:1')\n"
        "print('keyring' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
