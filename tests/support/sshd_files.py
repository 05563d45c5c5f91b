"""Files and processes behind tests/support/sshd.py: keys, sshd_config, ssh_config, /proc.

What the server is:

* ``/usr/sbin/sshd -D -e -f CONFIG`` as a child of the test process, in its own
  process group, listening only on ``127.0.0.1:PORT`` (a free high port), with its
  own host key, PidFile, authorized_keys and log file in a private temp dir (kept
  short, under ``/tmp``, so ControlPath sockets fit in ``sun_path``). It never reads
  ``/etc/ssh/sshd_config`` or the system host keys and never touches a system sshd.
  The one shared thing: as root sshd insists on its privilege-separation directory
  ``/run/sshd`` (compiled in); it is created (0755) if missing, as the Debian
  package's service would.
* Only public-key auth, for the current user (root in CI: ``PermitRootLogin
  prohibit-password``), ``UsePAM no``, ``StrictModes no``.
* ``MaxSessions`` 100 and ``MaxStartups 100:30:200`` so one ControlMaster can carry
  20+ sessions and tests can open many connections at once.

What the remote side looks like (verified, OpenSSH 9.2 on Debian 12, as root):
the command string is run as ``$SHELL -c STRING`` (the user's shell from passwd,
``/bin/bash``), not as a login shell; cwd and ``HOME`` are the user's home
(``/root``); sshd's compiled-in ``PATH`` is
``/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin``, but Debian's bash
sources ``~/.bashrc`` for ssh commands, so whatever ``~/.bashrc`` prepends (pyenv,
cargo) shows up too. ``USER``, ``LOGNAME``, ``SHELL``, ``MAIL``, ``SSH_CLIENT``,
``SSH_CONNECTION`` are set; the test process's environment is NOT inherited. So
remote commands in tests should use absolute paths (``sys.executable``) and ``cd``
explicitly.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

SSH_KEYGEN = shutil.which("ssh-keygen") or "/usr/bin/ssh-keygen"


def keygen(path: Path, comment: str) -> Path:
    """Create an unencrypted ed25519 key pair at ``path`` / ``path.pub``."""
    for p in (path, path.with_name(path.name + ".pub")):
        p.unlink(missing_ok=True)
    subprocess.run(
        [SSH_KEYGEN, "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path


def public_key(path: Path) -> str:
    """Return "TYPE BASE64" of the public half of a key made by :func:`keygen`."""
    fields = path.with_name(path.name + ".pub").read_text().split()
    return f"{fields[0]} {fields[1]}"


def _children_map() -> dict[int, list[int]]:
    """Map each pid to its child pids, read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name is in parentheses and may contain spaces.
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Return every descendant of ``pid``, parents before children."""
    children = _children_map()
    found: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop(0)
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def sshd_config_text(
    *,
    host: str,
    port: int,
    host_key: Path,
    pid_file: Path,
    authorized_keys: Path,
    user: str,
    max_sessions: int,
    extra: Sequence[str],
) -> str:
    """An sshd_config for one test server: public-key auth only, for `user`, on `host`."""
    lines = [
        f"ListenAddress {host}",
        f"Port {port}",
        f"HostKey {host_key}",
        f"PidFile {pid_file}",
        f"AuthorizedKeysFile {authorized_keys}",
        "PubkeyAuthentication yes",
        "AuthenticationMethods publickey",
        "PasswordAuthentication no",
        "KbdInteractiveAuthentication no",
        "HostbasedAuthentication no",
        "UsePAM no",
        "StrictModes no",
        "PermitRootLogin prohibit-password",
        f"AllowUsers {user}",
        "UseDNS no",
        "PrintMotd no",
        "PrintLastLog no",
        "X11Forwarding no",
        "PermitUserEnvironment no",
        f"MaxSessions {max_sessions}",
        "MaxStartups 100:30:200",
        "MaxAuthTries 10",
        "LoginGraceTime 30",
        "LogLevel VERBOSE",
        "Subsystem sftp internal-sftp",
        *extra,
    ]
    return "\n".join(lines) + "\n"


def client_config_text(
    alias: str, host: str, port: int, user: str, identity: Path, known_hosts: Path
) -> str:
    """An ssh_config where `Host ALIAS` reaches the test server and nothing else."""
    return (
        f"Host {alias}\n"
        f"  HostName {host}\n"
        f"  Port {port}\n"
        f"  User {user}\n"
        f"  IdentityFile {identity}\n"
        "  IdentitiesOnly yes\n"
        "  IdentityAgent none\n"
        f"  UserKnownHostsFile {known_hosts}\n"
        "  GlobalKnownHostsFile /dev/null\n"
        "  StrictHostKeyChecking yes\n"
        "  BatchMode yes\n"
    )


def client_options(
    *,
    port: int,
    user: str,
    known_hosts: Path,
    identity: Path,
    control_path: str | Path | None,
    connect_timeout: float | None,
) -> list[str]:
    """Client options that reach the test server and nothing else (see SshServer.ssh_options)."""
    opts = [
        "-F", "/dev/null",
        "-o", "BatchMode=yes",
        "-o", f"UserKnownHostsFile={known_hosts}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"IdentityFile={identity}",
        "-o", "IdentitiesOnly=yes",
        "-o", "IdentityAgent=none",
        "-o", f"Port={port}",
        "-o", f"User={user}",
    ]  # fmt: skip
    if connect_timeout is not None:
        opts += ["-o", f"ConnectTimeout={max(1, round(connect_timeout))}"]
    if control_path is not None:
        opts += [
            "-o", "ControlMaster=auto",
            "-o", f"ControlPath={control_path}",
            "-o", "ControlPersist=60",
        ]  # fmt: skip
    return opts


def wait_for_banner(proc: subprocess.Popen[bytes], host: str, port: int, timeout: float) -> bool:
    """Wait for an SSH banner on `host:port`; False if `proc` died or time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, port), timeout=1) as sock:
                if sock.recv(64).startswith(b"SSH-"):
                    return True
        except OSError:
            pass
        time.sleep(0.02)
    return False


def accepted_lines(
    sshd: str, config_file: Path, render: Callable[[Sequence[str]], str], lines: Sequence[str]
) -> list[str]:
    """The `lines` this sshd accepts (`sshd -t`), each tried on top of the ones before."""
    kept: list[str] = []
    for line in lines:
        config_file.write_text(render([*kept, line]))
        test = subprocess.run([sshd, "-t", "-f", str(config_file)], capture_output=True)
        if test.returncode == 0:
            kept.append(line)
    return kept
