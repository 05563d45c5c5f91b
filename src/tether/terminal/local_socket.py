"""The PTY host's control socket: where it lives, who may connect, how frames look.

The socket sits in a 0700 directory of the data dir (`terminals/`), or, when that path is
too long for a Unix socket, in a private `/tmp/tether-<uid>/` directory (checked like the
SSH control sockets). Every connection is checked with the peer's credentials
(`SO_PEERCRED`, `LOCAL_PEERCRED` on macOS): only processes of this same Unix user get
past the first byte — they could read the data dir anyway.

A frame is one type byte, a 4-byte big-endian length and the payload:
`J` a JSON object (requests and answers), `I` keystrokes, `O` output bytes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import stat
import struct
import sys
import tempfile
from pathlib import Path
from typing import Any

from tether.errors import TetherError
from tether.private import private_dir

JSON, INPUT, OUTPUT = b"J", b"I", b"O"
MAX_FRAME = 16 * 1024 * 1024
_MAX_SUN_PATH = 100
_HEADER = struct.Struct(">cI")


class LocalSocketError(TetherError):
    """The PTY host's socket could not be used."""

    code = "terminal_host"


def socket_path(data_dir: Path, hub_url: str) -> Path:
    """The control socket of the PTY host for `hub_url` (one host per data dir and hub)."""
    name = hashlib.sha256(hub_url.rstrip("/").encode()).hexdigest()[:16] + ".sock"
    preferred = data_dir / "terminals" / name
    if len(str(preferred)) <= _MAX_SUN_PATH:
        private_dir(preferred.parent)
        return preferred
    fallback = Path(tempfile.gettempdir()) / f"tether-{os.getuid()}"
    private_dir(fallback)
    st = fallback.lstat()
    if stat.S_ISLNK(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise LocalSocketError(
            f"{fallback} is not a private directory of this user",
            hint="remove it, or use a shorter TETHER_HOME",
        )
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:8]
    return fallback / f"{digest}-{name}"


def peer_uid(sock: socket.socket) -> int | None:
    """The Unix user id of the process at the other end of a Unix socket."""
    if hasattr(socket, "SO_PEERCRED"):
        creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
        _pid, uid, _gid = struct.unpack("3i", creds)
        return int(uid)
    if sys.platform == "darwin":  # LOCAL_PEERCRED (SOL_LOCAL = 0): struct xucred
        creds = sock.getsockopt(0, 0x001, struct.calcsize("IIh16I"))
        return int(struct.unpack_from("II", creds)[1])
    return None


def is_same_user(writer: asyncio.StreamWriter) -> bool:
    """Does the peer of this connection run as this process's user?"""
    sock = writer.get_extra_info("socket")
    if sock is None:
        return False
    try:
        return peer_uid(sock) == os.getuid()
    except OSError:
        return False


def frame(kind: bytes, payload: bytes) -> bytes:
    """One frame."""
    return _HEADER.pack(kind, len(payload)) + payload


def json_frame(message: dict[str, Any]) -> bytes:
    """A `J` frame."""
    return frame(JSON, json.dumps(message, separators=(",", ":")).encode())


async def read_frame(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    """The next (kind, payload), or None at the end of the stream."""
    try:
        header = await reader.readexactly(_HEADER.size)
        kind, size = _HEADER.unpack(header)
        if size > MAX_FRAME:
            raise LocalSocketError(f"a frame of {size} bytes on the terminal socket is too big")
        return kind, await reader.readexactly(size)
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


def parse_json(payload: bytes) -> dict[str, Any]:
    """A `J` frame's object."""
    try:
        message = json.loads(payload)
    except ValueError:
        raise LocalSocketError("a bad JSON frame on the terminal socket") from None
    if not isinstance(message, dict):
        raise LocalSocketError("a JSON frame on the terminal socket must be an object")
    return message
