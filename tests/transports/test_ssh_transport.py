"""The ssh transport against a real OpenSSH server: quoting, env, failure classes, retries."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ssh_teams import remote_options, ssh_team
from tests.support.sshd import SshServer, sshd_available
from tether.transports.factory import transport_for
from tether.transports.failures import (
    RemoteCommandNotFound,
    RemotePathNotFound,
    SshAuthFailed,
    SshConnectionRefused,
    SshHostKeyFailed,
)
from tether.transports.ssh import SshTransport

pytestmark = [
    pytest.mark.ssh,
    pytest.mark.skipif(not sshd_available(), reason="OpenSSH server not installed"),
]

PRINT_CWD_ENV_AND_ECHO = (
    "import os, sys; print(os.getcwd()); print(os.environ.get('SECRET_TOKEN'));"
    " print(sys.argv[1]); sys.stdout.flush(); print(sys.stdin.readline().strip())"
)


@pytest.fixture(scope="module")
def server() -> Iterator[SshServer]:
    with SshServer() as srv:
        yield srv


def _transport(team: object, tmp_path: Path) -> SshTransport:
    transport = transport_for(team, tmp_path)  # type: ignore[arg-type]
    assert isinstance(transport, SshTransport)
    return transport


async def _collect(proc: object) -> list[str]:
    return [line.decode() async for line in proc.lines("stdout")]  # type: ignore[attr-defined]


async def test_path_with_space_and_semicolon_stays_a_path(
    server: SshServer, tmp_path: Path
) -> None:
    odd = tmp_path / "a dir; touch pwned"
    odd.mkdir()
    transport = _transport(ssh_team(server, odd), tmp_path)
    argv = [sys.executable, "-c", PRINT_CWD_ENV_AND_ECHO, "it's $HOME; `id` | x"]
    proc = await transport.spawn(argv, cwd=str(odd), env={"SECRET_TOKEN": "s3cret value; $x"})
    await proc.write(b"from stdin\n")
    lines = await _collect(proc)
    assert await proc.wait() == 0
    assert lines == [str(odd), "s3cret value; $x", "it's $HOME; `id` | x", "from stdin"]
    # Nothing ran as a command: no file named `pwned` appeared anywhere near.
    assert not (tmp_path / "pwned").exists() and not Path(server.home, "pwned").exists()


async def test_secret_env_is_not_on_any_command_line(server: SshServer, tmp_path: Path) -> None:
    transport = _transport(ssh_team(server, tmp_path), tmp_path)
    proc = await transport.spawn(
        ["sleep", "30"], cwd=str(tmp_path), env={"SECRET_TOKEN": "zzsecretzz"}
    )
    try:
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                assert b"zzsecretzz" not in cmdline
    finally:
        await proc.terminate(grace_s=5)


async def test_terminate_kills_the_remote_process(server: SshServer, tmp_path: Path) -> None:
    transport = _transport(ssh_team(server, tmp_path), tmp_path)
    proc = await transport.spawn(["sleep", "4242"], cwd=str(tmp_path), env={})
    remote_pid = proc.remote_pid  # type: ignore[attr-defined]
    assert remote_pid and Path(f"/proc/{remote_pid}").exists()
    code = await proc.terminate(grace_s=5)
    assert code == -15
    assert not Path(f"/proc/{remote_pid}").exists()
    assert not transport.is_busy()


async def test_missing_path_and_program_have_their_own_errors(
    server: SshServer, tmp_path: Path
) -> None:
    transport = _transport(ssh_team(server, tmp_path), tmp_path)
    with pytest.raises(RemotePathNotFound, match=r"does not exist on root@127\.0\.0\.1"):
        await transport.spawn(["true"], cwd=str(tmp_path / "nope"), env={})
    with pytest.raises(RemoteCommandNotFound, match="'no-such-agent-xyz' was not found"):
        await transport.spawn(["no-such-agent-xyz"], cwd=str(tmp_path), env={})


async def test_wrong_host_key_fails_at_once_with_the_host_key_message(
    server: SshServer, tmp_path: Path
) -> None:
    options = remote_options(server, known_hosts=str(server.wrong_known_hosts()))
    transport = _transport(ssh_team(server, tmp_path, options=options), tmp_path)
    offset = server.log_offset()
    with pytest.raises(SshHostKeyFailed, match="has CHANGED") as info:
        await transport.spawn(["true"], cwd=str(tmp_path), env={})
    assert "ssh-keygen -R" in str(info.value)
    assert transport.metrics()["attempts"] == 1 and transport.metrics()["retries"] == 0
    assert server.log_since(offset).count("Connection from") == 1
    assert server.count_logins(offset) == 0


async def test_unknown_host_key_fails_with_the_host_key_message(
    server: SshServer, tmp_path: Path
) -> None:
    options = remote_options(server, known_hosts=str(server.unknown_known_hosts()))
    transport = _transport(ssh_team(server, tmp_path, options=options), tmp_path)
    with pytest.raises(SshHostKeyFailed, match="is not known"):
        await transport.spawn(["true"], cwd=str(tmp_path), env={})
    assert transport.metrics()["attempts"] == 1


async def test_unauthorized_key_fails_as_authentication_without_retry(
    server: SshServer, tmp_path: Path
) -> None:
    options = remote_options(server, identity=str(server.wrong_identity()))
    transport = _transport(ssh_team(server, tmp_path, options=options), tmp_path)
    offset = server.log_offset()
    with pytest.raises(SshAuthFailed, match=r"authentication to root@127\.0\.0\.1:\d+ failed"):
        await transport.spawn(["true"], cwd=str(tmp_path), env={})
    assert transport.metrics()["attempts"] == 1 and transport.metrics()["retries"] == 0
    assert server.log_since(offset).count("Connection from") == 1
    assert server.count_logins(offset) == 0


async def test_refused_connection_is_retried_then_reported(tmp_path: Path) -> None:
    with SshServer() as down:
        down.stop()
        team = ssh_team(down, tmp_path)
        transport = SshTransport(
            team, tmp_path, _transport(team, tmp_path).ssh.target, retry_delays=(0.01, 0.01, 0.01)
        )
        with pytest.raises(SshConnectionRefused, match="connection refused"):
            await transport.spawn(["true"], cwd=str(tmp_path), env={})
        assert transport.metrics()["attempts"] == 4 and transport.metrics()["retries"] == 3


async def test_sync_push_copies_the_workspace_over_the_master(
    server: SshServer, tmp_path: Path
) -> None:
    source = tmp_path / "local src"
    (source / "sub dir").mkdir(parents=True)
    (source / "sub dir" / "b c.txt").write_text("pushed\n")
    dest = tmp_path / "remote dest; x"
    team = ssh_team(server, dest, sync="push", sync_from=str(source))
    transport = _transport(team, tmp_path)
    await transport.ensure_master()
    offset = server.log_offset()
    proc = await transport.spawn(["cat", "sub dir/b c.txt"], cwd=str(dest), env={})
    assert await _collect(proc) == ["pushed"]
    assert await proc.wait() == 0
    assert server.count_logins(offset) == 0  # rsync and the session rode on the master
