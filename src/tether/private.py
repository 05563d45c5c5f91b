"""Files only this Unix user can read: directories 0700, files 0600, from the first byte.

Everything tether writes under its data dir (the store, spill files, credentials, hub
secrets, sockets) goes through here. Files are created with their final mode in the
`open` call itself, never chmod-ed after the fact, so there is no moment at which another
user could open them; the umask can only take permissions away, never add them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

log = logging.getLogger("tether")

DIR_MODE = 0o700
FILE_MODE = 0o600
_OPEN_FLAGS = os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)


def private_dir(path: Path) -> Path:
    """Make `path` (and any missing parents) as 0700 directories; tighten it if it exists.

    A directory left 0755 by an older tether is narrowed to 0700 with a warning: what it
    holds may have been readable by others until now."""
    path = Path(path)
    missing: list[Path] = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, DIR_MODE)
    tighten(path, DIR_MODE)
    return path


def tighten(path: Path, mode: int) -> None:
    """Take group/other permissions off an existing file or directory of ours."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        return
    if st.st_mode & 0o077:
        log.warning(
            "%s was readable by other users (mode %o); narrowing it to %o",
            path,
            stat.S_IMODE(st.st_mode),
            mode,
        )
        os.chmod(path, mode)


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """`os.open` a file of ours: created 0600, symlinks refused. Returns the descriptor."""
    fd = os.open(path, flags | _OPEN_FLAGS, FILE_MODE)
    with contextlib.suppress(OSError):
        st = os.fstat(fd)
        if st.st_mode & 0o077:  # it existed before, made by an older tether
            tighten(path, FILE_MODE)
    return fd


def touch_private(path: Path) -> Path:
    """Create an empty 0600 file if it does not exist (so a library that opens it later, such
    as SQLite, inherits its mode); tighten it if it does."""
    os.close(open_private(path, os.O_WRONLY | os.O_CREAT))
    return path


def write_private(path: Path, data: bytes | str) -> None:
    """Replace `path` atomically with `data`, as a 0600 file (a temporary file, fsync, rename)."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def append_private(path: Path) -> int:
    """A descriptor to append to `path`, creating it 0600."""
    return open_private(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
