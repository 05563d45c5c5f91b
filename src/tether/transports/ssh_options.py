"""The OpenSSH client command line for a team: forced options first, then the team's.

OpenSSH takes the FIRST value it sees for an option, and command-line options beat
~/.ssh/config. So tether puts on the command line only what it must control
(BatchMode, LogLevel, multiplexing), then what the team's `remote` says (it wins),
then `remote_options`; everything else (jump hosts, HostName aliases, agent
forwarding) still comes from the user's ~/.ssh/config, unless the team names another
config file (`-F`, `remote_options.ssh_config`) or "none".
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from tether.config import RemoteOptions
from tether.remote.ssh_args import SshArgs, extra_ssh_args, merged

log = logging.getLogger("tether.transports.ssh")

# Linux sun_path is 108 bytes; ssh binds ControlPath + ".XXXXXXXXXXXXXXXX" first (17
# bytes more) and needs the NUL: 90 characters is the longest that works. macOS: 86.
MAX_CONTROL_PATH = 86


@dataclass(frozen=True)
class SshCommand:
    """How to run ssh for one destination with one set of options."""

    target: SshArgs
    options: tuple[str, ...]
    control_path: str | None

    @property
    def host(self) -> str:
        """The destination as ssh gets it (a host name, address or ~/.ssh/config alias)."""
        assert self.target.host is not None
        return self.target.host

    @property
    def where(self) -> str:
        """user@host:port as far as the config says (for messages)."""
        user = f"{self.target.user}@" if self.target.user else ""
        port = f":{self.target.port}" if self.target.port else ""
        return f"{user}{self.host}{port}"

    def argv(self, *extra: str, remote: str | None = None, tty: bool = False) -> list[str]:
        """`ssh OPTIONS [EXTRA] [-tt] HOST [REMOTE]` (a tty only where a team allows one)."""
        tail = [remote] if remote is not None else []
        return ["ssh", *self.options, *extra, *(["-tt"] if tty else []), self.host, *tail]


def options_args(opts: RemoteOptions, where: str = "remote_options") -> SshArgs:
    """`remote_options.extra_args` and `extra_options`, read like a `remote` command line."""
    return extra_ssh_args(opts.extra_args, opts.extra_options, where)


def build_ssh_command(target: SshArgs, opts: RemoteOptions, data_dir: Path) -> SshCommand:
    """The ssh options for a team: forced ones, then `remote`'s, then `remote_options`."""
    given = merged(target, options_args(opts))
    settled = replace(
        given,
        user=given.user or opts.user,
        port=given.port or opts.port,
        identities=tuple(
            _expand(p) for p in (*given.identities, *([opts.identity] if opts.identity else []))
        ),
        known_hosts=given.known_hosts or (_expand(opts.known_hosts) if opts.known_hosts else None),
        strict_host_key_checking=given.strict_host_key_checking
        or ("yes" if opts.strict_host_key_checking else "accept-new"),
        config_file=_config_file(given.config_file or opts.ssh_config),
    )
    control_path = (
        _control_path(_connection_key(settled), data_dir) if opts.control_persist > 0 else None
    )
    words: list[str] = []
    if settled.config_file:
        words += ["-F", settled.config_file]
    words += ["-o", "BatchMode=yes", "-o", "LogLevel=INFO"]
    if control_path is not None:
        words += [
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={control_path.replace('%', '%%')}",
            "-o", f"ControlPersist={opts.control_persist}",
        ]  # fmt: skip
    for option in settled.options:
        words += ["-o", option]
    words += [
        "-o", f"ConnectTimeout={max(1, round(opts.connect_timeout))}",
        "-o", f"ServerAliveInterval={opts.server_alive_interval}",
        "-o", f"ServerAliveCountMax={opts.server_alive_count_max}",
        # Never "no": with a CHANGED key that still logs in. accept-new only trusts new hosts.
        "-o", f"StrictHostKeyChecking={settled.strict_host_key_checking}",
    ]  # fmt: skip
    for identity in settled.identities:
        words += ["-o", f"IdentityFile={identity}"]
    if settled.identities:
        words += ["-o", "IdentitiesOnly=yes"]
    if settled.known_hosts:
        words += ["-o", f"UserKnownHostsFile={settled.known_hosts}"]
    if settled.port:
        words += ["-o", f"Port={settled.port}"]
    if settled.user:
        words += ["-o", f"User={settled.user}"]
    return SshCommand(target=settled, options=tuple(words), control_path=control_path)


def _connection_key(args: SshArgs) -> tuple[object, ...]:
    """Everything that decides where a master connects and how it authenticates."""
    return (
        args.host,
        args.user,
        args.port,
        args.identities,
        args.known_hosts,
        args.strict_host_key_checking,
        args.config_file,
        args.options,
    )


def _config_file(value: str | None) -> str | None:
    if value is None:
        return None
    return "/dev/null" if value == "none" else _expand(value)


def _expand(path: str) -> str:
    # os.path, not Path: Path.expanduser raises on `~nosuchuser/…`; ssh would say why.
    return os.path.expanduser(path)


def _control_path(key: tuple[object, ...], data_dir: Path) -> str | None:
    """A short socket path, one per (host, user, port, keys, known_hosts …).

    A mux client ignores its own key and known_hosts options, so two teams with
    different identities for the same host must not share a master: the name is a hash
    of everything that decides how the master authenticates.
    """
    digest = hashlib.sha256(repr((socket.gethostname(), key)).encode()).hexdigest()[:20]
    for directory in (data_dir / "cm", Path(tempfile.gettempdir()) / f"tether-{os.getuid()}"):
        path = directory / digest
        if len(str(path)) <= MAX_CONTROL_PATH and _private_dir(directory):
            return str(path)
    log.warning(
        "no short private directory for SSH control sockets (tried %s and /tmp);"
        " connections to %s are not reused",
        data_dir / "cm",
        key[0],
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
