"""Self-test of the real-sshd fixture in tests/support/sshd.py."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

import pytest

from tests.support.sshd import SshServer, sshd_available, sshd_server

pytestmark = [
    pytest.mark.ssh,
    pytest.mark.skipif(not sshd_available(), reason="OpenSSH server not installed"),
]

__all__ = ["sshd_server"]  # re-exported so pytest finds the fixture here


def _run(argv: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def test_connects_and_runs_true(sshd_server: SshServer) -> None:
    proc = _run(sshd_server.ssh_argv("true"))
    assert proc.returncode == 0, proc.stderr
    assert sshd_server.count_logins() == 1


def test_remote_exit_code_and_quoting(sshd_server: SshServer, tmp_path: Path) -> None:
    odd = tmp_path / "a dir;x"
    odd.mkdir()
    remote = f"cd {shlex.quote(str(odd))} && exec " + shlex.join(
        ["printf", "%s\\n", "arg with space", "$HOME"]
    )
    proc = _run(sshd_server.ssh_argv(remote))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "arg with space\n$HOME\n"
    assert _run(sshd_server.ssh_argv("exit 7")).returncode == 7


def test_wrong_host_key_fails(sshd_server: SshServer) -> None:
    opts = sshd_server.ssh_options(known_hosts_file=sshd_server.wrong_known_hosts())
    proc = _run(sshd_server.ssh_argv("true", options=opts))
    assert proc.returncode == 255
    assert "Host key verification failed." in proc.stderr
    assert sshd_server.count_logins() == 0


def test_unauthorized_key_fails(sshd_server: SshServer) -> None:
    opts = sshd_server.ssh_options(identity_file=sshd_server.wrong_identity())
    proc = _run(sshd_server.ssh_argv("true", options=opts))
    assert proc.returncode == 255
    assert "Permission denied (publickey)" in proc.stderr


def test_stop_and_restart_keep_port_and_host_key() -> None:
    with SshServer() as server:
        port = server.port
        server.stop()
        down = _run(server.ssh_argv("true"))
        assert down.returncode == 255
        assert "Connection refused" in down.stderr
        server.start()
        assert server.port == port
        assert _run(server.ssh_argv("true")).returncode == 0
    assert not server.workdir.exists()


def test_control_master_reuses_one_connection(sshd_server: SshServer) -> None:
    opts = sshd_server.ssh_options(control_path=sshd_server.control_path())
    try:
        assert _run(sshd_server.ssh_argv("true", options=opts)).returncode == 0
        for _ in range(3):
            assert _run(sshd_server.ssh_argv("true", options=opts)).returncode == 0
        check = _run(["ssh", *opts, "-O", "check", sshd_server.host])
        assert check.returncode == 0, check.stderr
        assert sshd_server.count_logins() == 1
    finally:
        _run(["ssh", *opts, "-O", "exit", sshd_server.host])


def test_stop_mid_session_closes_connection(sshd_server: SshServer) -> None:
    proc = subprocess.Popen(
        sshd_server.ssh_argv("echo started; exec sleep 100"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "started\n"
    sshd_server.stop()
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 255
    assert "closed by remote host" in err


def test_pause_makes_new_connections_time_out(sshd_server: SshServer) -> None:
    sshd_server.pause()
    try:
        opts = sshd_server.ssh_options(connect_timeout=1)
        proc = _run(sshd_server.ssh_argv("true", options=opts))
    finally:
        sshd_server.resume()
    assert proc.returncode == 255
    assert "Connection timed out during banner exchange" in proc.stderr
    assert _run(sshd_server.ssh_argv("true")).returncode == 0
