"""The OpenSSH client command line for a team: forced options first, then the team's.

OpenSSH takes the FIRST value it sees for an option, and command-line options beat
~/.ssh/config. So tether puts on the command line only what it must control
(BatchMode, LogLevel, multiplexing) plus what the team's `remote_options` set;
everything else (jump hosts, HostName aliases, agent forwarding) still comes from the
user's ~/.ssh/config, unless `remote_options.ssh_config` names another file (or
"none").
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

from tether.config import RemoteOptions
from tether.transports.remote_spec import SshTarget

log = logging.getLogger("tether.transports.ssh")

# Linux sun_path is 108 bytes; ssh binds ControlPath + ".XXXXXXXXXXXXXXXX" first (17
# bytes more) and needs the NUL: 90 characters is the longest that works. macOS: 86.
MAX_CONTROL_PATH = 86


@dataclass(frozen=True)
class SshCommand:
    """How to run ssh for one destination with one set of options."""

    target: SshTarget
    options: tuple[str, ...]
    control_path: str | None

    @property
    def where(self) -> str:
        """user@host:port as far as the config says (for messages)."""
        user = f"{self.target.user}@" if self.target.user else ""
        port = f":{self.target.port}" if self.target.port else ""
        return f"{user}{self.target.host}{port}"

    def argv(self, *extra: str, remote: str | None = None) -> list[str]:
        """`ssh OPTIONS [EXTRA] HOST [REMOTE]`."""
        tail = [remote] if remote is not None else []
        return ["ssh", *self.options, *extra, self.target.host, *tail]


def build_ssh_command(target: SshTarget, opts: RemoteOptions, data_dir: Path) -> SshCommand:
    """The ssh options for a team: forced ones, then `extra_options`, then `remote_options`."""
    words: list[str] = []
    if opts.ssh_config:
        words += ["-F", "/dev/null" if opts.ssh_config == "none" else _expand(opts.ssh_config)]
    words += ["-o", "BatchMode=yes", "-o", "LogLevel=INFO"]
    user = target.user or opts.user
    port = target.port or opts.port
    auth = (
        user,
        port,
        opts.identity,
        opts.known_hosts,
        opts.ssh_config,
        opts.strict_host_key_checking,
        tuple(opts.extra_options),
    )
    control_path = _control_path(target.host, auth, data_dir) if opts.control_persist > 0 else None
    if control_path is not None:
        words += [
            "-o",
            "ControlMaster=auto",
            "-o",
            f"ControlPath={control_path.replace('%', '%%')}",
            "-o",
            f"ControlPersist={opts.control_persist}",
        ]
    for extra in opts.extra_options:
        words += ["-o", extra]
    words += [
        "-o", f"ConnectTimeout={max(1, round(opts.connect_timeout))}",
        "-o", f"ServerAliveInterval={opts.server_alive_interval}",
        "-o", f"ServerAliveCountMax={opts.server_alive_count_max}",
        # Never "no": with a CHANGED key that still logs in. accept-new only trusts new hosts.
        "-o", f"StrictHostKeyChecking={'yes' if opts.strict_host_key_checking else 'accept-new'}",
    ]  # fmt: skip
    if opts.identity:
        words += ["-o", f"IdentityFile={_expand(opts.identity)}", "-o", "IdentitiesOnly=yes"]
    if opts.known_hosts:
        words += ["-o", f"UserKnownHostsFile={_expand(opts.known_hosts)}"]
    if port:
        words += ["-o", f"Port={port}"]
    if user:
        words += ["-o", f"User={user}"]
    return SshCommand(
        target=SshTarget(target.host, user, port), options=tuple(words), control_path=control_path
    )


def _expand(path: str) -> str:
    return str(Path(path).expanduser())


def _control_path(host: str, auth: tuple[object, ...], data_dir: Path) -> str | None:
    """A short socket path, one per (host, user, port, keys, known_hosts …).

    A mux client ignores its own key and known_hosts options, so two teams with
    different identities for the same host must not share a master: the name is a hash
    of everything that decides how the master authenticates.
    """
    digest = hashlib.sha256(repr((socket.gethostname(), host, auth)).encode()).hexdigest()[:20]
    for directory in (data_dir / "cm", Path(tempfile.gettempdir()) / f"tether-{os.getuid()}"):
        path = directory / digest
        if len(str(path)) <= MAX_CONTROL_PATH and _private_dir(directory):
            return str(path)
    log.warning(
        "no short private directory for SSH control sockets (tried %s and /tmp);"
        " connections to %s are not reused",
        data_dir / "cm",
        host,
    )
    return None


def _private_dir(directory: Path) -> bool:
    """Create `directory` 0700, or accept it only if it is ours, real and private."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = directory.lstat()
    except OSError as exc:
        log.warning("cannot use %s for SSH control sockets: %s", directory, exc)
        return False
    if directory.is_symlink() or st.st_uid != os.getuid() or st.st_mode & 0o077:
        log.warning(
            "%s is not a private directory of this user; not used for control sockets", directory
        )
        return False
    return True
