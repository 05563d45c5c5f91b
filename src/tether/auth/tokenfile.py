"""The local hub token: created by `tether up` as a 0600 file, read by the local CLI."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from tether.config import warn_if_readable_by_others
from tether.errors import AuthError

TOKEN_FILE = "hub.token"  # noqa: S105 (a file name, not a secret)


def token_path(data_dir: Path) -> Path:
    """Where the local token lives."""
    return data_dir / TOKEN_FILE


def ensure_token(data_dir: Path) -> str:
    """Read the token, creating it (0600, atomically) on first use."""
    path = token_path(data_dir)
    if path.exists():
        return read_token(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    return token


def read_token(data_dir: Path) -> str:
    """The local token, or an AuthError saying how to get one."""
    env = os.environ.get("TETHER_TOKEN")
    if env:
        return env.strip()
    path = token_path(data_dir)
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        raise AuthError(
            f"no hub token at {path}",
            hint="start the hub with `tether up` (it writes one), or set TETHER_TOKEN",
        ) from None
    warn_if_readable_by_others(path)
    return token
