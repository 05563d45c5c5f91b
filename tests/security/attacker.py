"""What an attacker does, as helpers: read files as another Unix user, dig keys out of a
stolen database, sign a session token with them, and start a real `tether up`."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.procs import cli_env, free_port, run_cli, stop, tether_argv, wait_healthy
from tests.support.timing import scaled
from tether.auth.tokens import mint_access

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

_PROBE = r"""
import json, os, sqlite3, sys
results = {}
for path in json.loads(sys.argv[1]):
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            with open(path, "rb") as f:
                f.read(1)
        results[path] = "read"
    except OSError as exc:
        results[path] = type(exc).__name__
db = sys.argv[2]
try:
    sqlite3.connect(f"file:{db}?mode=ro", uri=True).execute("SELECT * FROM users").fetchall()
    results["sqlite:" + db] = "read"
except sqlite3.Error as exc:
    results["sqlite:" + db] = type(exc).__name__
print(json.dumps(results))
"""


def as_nobody_try_reading(paths: list[Path], db: Path) -> dict[str, str]:
    """Run as uid 65534 (no groups): try to list/read each path and open `db` with SQLite.
    Returns path -> "read" or the exception's name."""
    proc = subprocess.run(
        [*NOBODY, sys.executable, "-I", "-c", _PROBE, json.dumps([str(p) for p in paths]), str(db)],
        capture_output=True,
        text=True,
        timeout=scaled(60),
        check=True,
    )
    result: dict[str, str] = json.loads(proc.stdout)
    return result


def everything_under(root: Path) -> list[Path]:
    """`root` and every path below it."""
    found = [root]
    for base, dirs, files in os.walk(root):
        found += [Path(base) / d for d in dirs] + [Path(base) / f for f in files]
    return found


def steal_database(data_dir: Path, into: Path) -> Path:
    """What a backup thief has: the database files, copied byte for byte."""
    into.mkdir(parents=True, exist_ok=True)
    for path in data_dir.glob("tether.db*"):
        shutil.copyfile(path, into / path.name)
    return into / "tether.db"


def key_candidates(db_copy: Path) -> set[bytes]:
    """Anything in a stolen database that could be a signing key: every text or blob value
    of every table (raw and hex-decoded), and every long hex run in the raw file bytes
    (freed pages and the WAL keep deleted rows)."""
    found: set[bytes] = set()

    def add(text: str) -> None:
        found.add(text.encode())
        with contextlib.suppress(ValueError):
            if len(text) >= 32:
                found.add(bytes.fromhex(text))

    conn = sqlite3.connect(db_copy)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, str):
                        add(value)
                    elif isinstance(value, bytes):
                        found.add(value)
    finally:
        conn.close()
    for path in db_copy.parent.glob("tether.db*"):
        for run in re.findall(rb"[0-9a-f]{32,}", path.read_bytes()):
            add(run.decode())
    return {key for key in found if key}


@dataclass(frozen=True)
class Victim:
    """The admin's device as a stolen database describes it."""

    user_id: str
    device_id: str
    fingerprint: str


def admin_device(db_copy: Path) -> Victim:
    """The admin's newest unrevoked CLI device, read from a stolen database."""
    conn = sqlite3.connect(db_copy)
    try:
        row = conn.execute(
            "SELECT u.id, d.id, d.fingerprint FROM devices d JOIN users u ON u.id = d.user_id"
            " WHERE u.is_admin = 1 AND d.kind = 'cli' AND d.revoked_at IS NULL"
            " ORDER BY d.created_at DESC LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    assert row is not None, "the stolen database names no admin device"
    return Victim(*row)


def forge(key: bytes, victim: Victim) -> str:
    """A session token for the victim's device, signed with `key`, in the hub's own format."""
    return mint_access(
        key,
        user_id=victim.user_id,
        device_id=victim.device_id,
        fingerprint=victim.fingerprint,
        now=time.time(),
    )


def create_user_with(url: str, token: str, name: str, http: httpx.Client) -> int:
    """`POST /v1/users` with a bearer token; the status code."""
    return http.post(
        f"{url}/v1/users", json={"name": name}, headers={"Authorization": f"Bearer {token}"}
    ).status_code


def traversable_home() -> Path:
    """A directory like a user's home: 0755 all the way up, so another user can reach
    whatever is in it that its own mode allows (pytest's tmp dirs are 0700)."""
    base = Path(tempfile.mkdtemp(prefix="tether-sec-", dir="/tmp"))
    os.chmod(base, 0o755)
    return base


@dataclass
class UpProcess:
    """A running `tether up` subprocess."""

    url: str
    data_dir: Path
    proc: subprocess.Popen[str]
    stdout: Path
    stderr: Path
    extra: dict[str, str] = field(default_factory=dict)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`tether ARGS` against this hub, as its own user (the data dir's CLI device)."""
        return run_cli(self.data_dir, self.url, *args, check=check)


@contextlib.contextmanager
def tether_up(
    home: Path, *, umask: int = 0o022, env: dict[str, str] | None = None
) -> Iterator[UpProcess]:
    """`tether up -v` with its data dir at `home/.tether`, started under `umask`."""
    data_dir, port = home / ".tether", free_port()
    work = home / "work"
    work.mkdir(exist_ok=True)
    out, err = home / "up.stdout", home / "up.stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        proc = subprocess.Popen(
            tether_argv("up", "--port", str(port), "--data-dir", str(data_dir), "-v"),
            env=cli_env(data_dir, **(env or {})),
            cwd=work,
            stdout=stdout,
            stderr=stderr,
            text=True,
            start_new_session=True,
            umask=umask,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=60)
        deadline = time.monotonic() + scaled(60)
        while "tether is up" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        yield UpProcess(url, data_dir, proc, out, err)
    finally:
        stop(proc)
