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


def tighten(path: Path, mode: int) -> bool:
    """Take group/other permissions off an existing file or directory of ours.

    Returns True when something was narrowed. A path that belongs to another user (a
    secrets file an operator mounted read-only) cannot be narrowed by us: that is a
    warning, not an error."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
        return False
    if st.st_uid != os.geteuid():
        log.warning(
            "%s is readable by other users (mode %o) and belongs to uid %d, so tether cannot"
            " narrow it; make it %o",
            path,
            stat.S_IMODE(st.st_mode),
            st.st_uid,
            mode,
        )
        return False
    log.warning(
        "%s was readable by other users (mode %o); narrowing it to %o",
        path,
        stat.S_IMODE(st.st_mode),
        mode,
    )
    try:
        os.chmod(path, mode)
    except OSError as exc:
        log.warning("could not narrow %s: %s", path, exc.strerror)
        return False
    return True


def open_private(
    path: Path,
    flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
    *,
    follow_symlinks: bool = False,
) -> int:
    """`os.open` a file of ours: created 0600, symlinks refused. Returns the descriptor.

    `follow_symlinks` is for a file the operator named explicitly (a secrets file mounted
    by Kubernetes is a symlink into `..data/`); nothing under the data dir follows one."""
    extra = _OPEN_FLAGS if not follow_symlinks else os.O_CLOEXEC
    fd = os.open(path, flags | extra, FILE_MODE)
    with contextlib.suppress(OSError):
        st = os.fstat(fd)
        if st.st_mode & 0o077:  # it existed before, made by an older tether
            tighten(Path(os.path.realpath(path)) if follow_symlinks else path, FILE_MODE)
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


# What tether itself writes under a data dir (docs/security.md, "What is stored where"):
# names directly in it, and directories whose whole tree is tether's. Team workspaces may
# live inside a data dir too (tests do that), so nothing else is touched.
DATA_DIR_FILES = (
    "tether.db",
    "tether.db-wal",
    "tether.db-shm",
    "tether.db-journal",
    "secrets.json",
    "secrets.json.lock",
    "credentials.json",
    ".credentials.lock",
    "hub.json",
)
DATA_DIR_TREES = ("runners", "cm")


def narrow_data_dir(data_dir: Path) -> int:
    """Narrow what an older tether left readable in `data_dir` (0755 dirs, 0644 files) to
    0700/0600, each with a warning; create the dir 0700 if it is missing. Returns how many
    paths were narrowed."""
    data_dir = private_dir(Path(data_dir))
    narrowed = 0
    for name in DATA_DIR_FILES:
        narrowed += tighten(data_dir / name, FILE_MODE)
    for name in DATA_DIR_TREES:
        top = data_dir / name
        if not top.is_dir() or top.is_symlink():
            continue
        narrowed += tighten(top, DIR_MODE)
        for root, dirs, files in os.walk(top):
            for entry in dirs:
                narrowed += tighten(Path(root) / entry, DIR_MODE)
            for entry in files:
                narrowed += tighten(Path(root) / entry, FILE_MODE)
    return narrowed
