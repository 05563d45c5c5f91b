"""A real OpenSSH server on a loopback high port, for tests of the ssh transport.

Usage::

    from tests.support.sshd import SshServer, sshd_available

    pytestmark = pytest.mark.skipif(not sshd_available(), reason="no /usr/sbin/sshd")

    def test_true() -> None:
        with SshServer() as server:
            proc = subprocess.run(server.ssh_argv("true"), capture_output=True)
            assert proc.returncode == 0

or the ``sshd_server`` fixture below (start takes ~0.1 s, key generation ~0.05 s).

What the server is (its own keys, loopback only, public-key auth only) and what the
remote side looks like (shell, PATH, HOME): see tests/support/sshd_files.py.

Failure simulations: :meth:`SshServer.stop` (the host goes away: listener and
every session process killed, the client sees "closed by remote host"),
:meth:`SshServer.pause` / :meth:`SshServer.resume` (the host hangs: SIGSTOP, new
connections time out during banner exchange and live ones hit ServerAlive
timeouts), :meth:`SshServer.wrong_known_hosts` (host key changed),
:meth:`SshServer.unknown_known_hosts` (host key not known),
:meth:`SshServer.wrong_identity` (key not authorized).

Timeouts are multiplied by ``TETHER_TEST_TIMEOUT_SCALE`` (default 1).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType

import pytest

from tests.support.procs import free_port
from tests.support.sshd_files import (
    SSH_KEYGEN,
    accepted_lines,
    client_config_text,
    client_options,
    descendants,
    keygen,
    public_key,
    sshd_config_text,
    wait_for_banner,
)

SSHD = "/usr/sbin/sshd"
HOST = "127.0.0.1"

# sshd as root needs its privsep directory (a compiled-in path): the fixture creates it.
_PRIVSEP_DIR = Path("/run/sshd")

# Config lines a newer sshd understands and an older one rejects. They are kept
# only if `sshd -t` accepts them. OpenSSH >= 9.8 penalizes sources that fail auth
# repeatedly, which would make failure tests flaky.
_OPTIONAL_LINES = ("PerSourcePenalties no",)


def timeout_scale() -> float:
    """Return the factor every test timeout here is multiplied by."""
    try:
        return max(float(os.environ.get("TETHER_TEST_TIMEOUT_SCALE", "1")), 0.1)
    except ValueError:
        return 1.0


def sshd_available() -> bool:
    """Return True if an OpenSSH server and client can be used for tests."""
    return (
        os.access(SSHD, os.X_OK)
        and shutil.which("ssh") is not None
        and os.access(SSH_KEYGEN, os.X_OK)
    )


class SshServer:
    """A throwaway sshd on 127.0.0.1 with its own keys, known_hosts and log.

    ``start()`` may be called again after ``stop()``; the port and keys stay the
    same, so known_hosts and ControlPath names stay valid across a restart.
    """

    host = HOST

    def __init__(
        self,
        *,
        port: int | None = None,
        workdir: Path | None = None,
        max_sessions: int = 100,
        extra_config: Sequence[str] = (),
    ) -> None:
        """Prepare (but do not start) a server; ``workdir`` defaults to a new temp dir."""
        self._own_workdir = workdir is None
        # mkdtemp under /tmp, not pytest's tmp_path: ControlPath sockets under
        # it must stay below the ~104-byte sun_path limit.
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="tsshd-", dir="/tmp"))
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self._fixed_port = port is not None
        self.user = pwd.getpwuid(os.geteuid()).pw_name
        self.home = pwd.getpwuid(os.geteuid()).pw_dir
        self.max_sessions = max_sessions
        self.extra_config = list(extra_config)
        self.host_key = self.workdir / "ssh_host_ed25519_key"
        self.identity_file = self.workdir / "id_ed25519"
        self.authorized_keys_file = self.workdir / "authorized_keys"
        self.known_hosts_file = self.workdir / "known_hosts"
        self.config_file = self.workdir / "sshd_config"
        self.pid_file = self.workdir / "sshd.pid"
        self.log_file = self.workdir / "sshd.log"
        self.control_dir = self.workdir / "cm"
        self.control_dir.mkdir(mode=0o700, exist_ok=True)
        self._proc: subprocess.Popen[bytes] | None = None
        self._optional_lines: list[str] | None = None
        self._make_keys()

    # -- lifecycle ---------------------------------------------------------

    def __enter__(self) -> SshServer:
        """Start the server."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop the server and delete its temp dir."""
        self.close()

    @property
    def running(self) -> bool:
        """True while the listening sshd process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The pid of the listening sshd, or None when stopped."""
        return self._proc.pid if self.running and self._proc else None

    def start(self, timeout: float = 10.0) -> None:
        """Start sshd and wait until it answers with an SSH banner."""
        if self.running:
            return
        if os.geteuid() == 0 and not _PRIVSEP_DIR.is_dir():
            _PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        attempts = 1 if self._fixed_port else 5
        for attempt in range(attempts):
            self._write_config()
            self._write_known_hosts()
            offset = self.log_offset()
            with self.log_file.open("ab") as log:
                self._proc = subprocess.Popen(
                    [SSHD, "-D", "-e", "-f", str(self.config_file)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                    start_new_session=True,
                    env={"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"},
                )
            if self._wait_ready(timeout * timeout_scale()):
                return
            text = self.log_since(offset)
            self._kill_listener()
            port_taken = "Bind to port" in text or "Cannot bind" in text
            if port_taken and attempt + 1 < attempts:
                self.port = free_port()
                continue
            raise RuntimeError(f"sshd did not start on {HOST}:{self.port}; log:\n{text}")

    def stop(self, *, kill_sessions: bool = True, sig: int = signal.SIGKILL) -> None:
        """Stop sshd. With ``kill_sessions`` every connection dies too (host gone).

        sshd forks one process per connection in its own session, so killing only
        the listener leaves live connections (and ControlMasters) working; pass
        ``kill_sessions=False`` to simulate an sshd restart that keeps them.
        """
        if self._proc is None:
            return
        if kill_sessions and self._proc.poll() is None:
            self.kill_sessions(sig)
        self._kill_listener()

    def restart(self, timeout: float = 10.0) -> None:
        """Stop (killing sessions) and start again on the same port with the same keys."""
        self.stop()
        self.start(timeout)

    def close(self) -> None:
        """Stop and remove the temp dir (if this object created it)."""
        with contextlib.suppress(ProcessLookupError):
            self.resume()
        self.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def session_pids(self) -> list[int]:
        """Pids of every process below the listener: per-connection sshds and commands."""
        if not self.running or self._proc is None:
            return []
        return descendants(self._proc.pid)

    def kill_sessions(self, sig: int = signal.SIGKILL) -> list[int]:
        """Send ``sig`` to every per-connection process; the listener keeps running."""
        pids = self.session_pids()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        return pids

    def pause(self) -> None:
        """SIGSTOP the listener and every session: the host hangs, sockets stay open.

        New connections are accepted by the kernel but get no banner ("Connection
        timed out during banner exchange"); live ones stop answering, so the client
        gives up after ServerAliveInterval * ServerAliveCountMax.
        """
        if self._proc is None:
            return
        for pid in [self._proc.pid, *self.session_pids()]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Undo :meth:`pause`."""
        if self._proc is None or self._proc.poll() is not None:
            return
        for pid in [self._proc.pid, *self.session_pids()]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    # -- client side -------------------------------------------------------

    @property
    def destination(self) -> str:
        """``user@127.0.0.1`` for the ssh command line."""
        return f"{self.user}@{self.host}"

    def ssh_options(
        self,
        *,
        known_hosts_file: Path | None = None,
        identity_file: Path | None = None,
        control_path: str | Path | None = None,
        connect_timeout: float | None = 5,
    ) -> list[str]:
        """Client options that reach this server and nothing else.

        ``-F /dev/null`` keeps the user's ~/.ssh/config out; everything is ``-o``
        so the list works for ssh, scp, sftp and ``rsync -e``. With
        ``control_path`` a ControlMaster (auto, persist 60 s) is used.
        """
        return client_options(
            port=self.port,
            user=self.user,
            known_hosts=known_hosts_file or self.known_hosts_file,
            identity=identity_file or self.identity_file,
            control_path=control_path,
            connect_timeout=None if connect_timeout is None else connect_timeout * timeout_scale(),
        )

    def control_path(self) -> str:
        """A short ControlPath template (``WORKDIR/cm/%C``) for this server."""
        return str(self.control_dir / "%C")

    def ssh_argv(self, *remote: str, options: Sequence[str] | None = None) -> list[str]:
        """``ssh OPTIONS 127.0.0.1 REMOTE...`` (remote words are joined by ssh with spaces)."""
        opts = list(self.ssh_options() if options is None else options)
        return ["ssh", *opts, self.host, *remote]

    def write_ssh_config(self, alias: str = "tether-test", path: Path | None = None) -> Path:
        """Write an ssh_config where ``Host ALIAS`` reaches this server; return its path.

        For tests of code that runs plain ``ssh ALIAS`` with ``-F PATH``.
        """
        path = path or self.workdir / "ssh_config"
        path.write_text(
            client_config_text(
                alias, self.host, self.port, self.user, self.identity_file, self.known_hosts_file
            )
        )
        return path

    def wrong_known_hosts(self, path: Path | None = None) -> Path:
        """Write a known_hosts that pins ANOTHER host key for this server's name."""
        path = path or self.workdir / "known_hosts.wrong"
        other = keygen(self.workdir / "other_host_key", "other-host")
        path.write_text(f"{self.known_hosts_name} {public_key(other)}\n")
        return path

    def unknown_known_hosts(self, path: Path | None = None) -> Path:
        """Write an empty known_hosts (the host key is not known at all)."""
        path = path or self.workdir / "known_hosts.empty"
        path.write_text("")
        return path

    def wrong_identity(self) -> Path:
        """Create a client key that is NOT in authorized_keys; return its path."""
        return keygen(self.workdir / "id_unauthorized", "unauthorized")

    @property
    def known_hosts_name(self) -> str:
        """How ssh names this server in known_hosts: ``[127.0.0.1]:PORT``."""
        return f"[{self.host}]:{self.port}"

    # -- log ---------------------------------------------------------------

    def log_offset(self) -> int:
        """Current size of the sshd log, for :meth:`log_since`."""
        try:
            return self.log_file.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset: int = 0) -> str:
        """sshd log text written after ``offset``."""
        try:
            with self.log_file.open("rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def count_logins(self, offset: int = 0) -> int:
        """Number of successful authentications logged since ``offset``."""
        return self.log_since(offset).count("Accepted publickey for ")

    # -- internals ---------------------------------------------------------

    def _make_keys(self) -> None:
        if not self.host_key.exists():
            keygen(self.host_key, "tether-test-host")
        if not self.identity_file.exists():
            keygen(self.identity_file, "tether-test-client")
        self.authorized_keys_file.write_text(public_key(self.identity_file) + "\n")
        os.chmod(self.authorized_keys_file, 0o600)

    def _config_text(self, optional: Sequence[str]) -> str:
        return sshd_config_text(
            host=HOST,
            port=self.port,
            host_key=self.host_key,
            pid_file=self.pid_file,
            authorized_keys=self.authorized_keys_file,
            user=self.user,
            max_sessions=self.max_sessions,
            extra=[*optional, *self.extra_config],
        )

    def _write_config(self) -> None:
        if self._optional_lines is None:
            self._optional_lines = accepted_lines(
                SSHD, self.config_file, self._config_text, _OPTIONAL_LINES
            )
        self.config_file.write_text(self._config_text(self._optional_lines))

    def _write_known_hosts(self) -> None:
        self.known_hosts_file.write_text(f"{self.known_hosts_name} {public_key(self.host_key)}\n")

    def _wait_ready(self, timeout: float) -> bool:
        """Wait for an SSH banner on the port; False if sshd died or time ran out."""
        return self._proc is not None and wait_for_banner(self._proc, HOST, self.port, timeout)

    def _kill_listener(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGCONT)
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def sshd_server() -> Iterator[SshServer]:
    """A running :class:`SshServer` for one test (skips if sshd is missing)."""
    if not sshd_available():
        pytest.skip(f"OpenSSH server not installed ({SSHD})")
    with SshServer() as server:
        yield server
