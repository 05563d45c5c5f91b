"""The ssh command lines people write in `remote`, against the loopback OpenSSH server.

The two forms from Iris's examples run a real team (hub, runner, demo agent over ssh):
`ssh -i KEY user@host` and `ssh -o StrictHostKeyChecking=accept-new host`. Then `-J`
and `-F`, which only a real ssh can prove.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.hub import team_session, wait_for_event
from tests.support.ssh_teams import NEEDS_SSHD, remote_options, sshd
from tests.support.sshd import SshServer
from tether.config import TeamConfig
from tether.transports.factory import transport_for
from tether.transports.failures import SshAuthFailed, SshHostKeyFailed

pytestmark = NEEDS_SSHD
server = sshd


def _team(remote: str, path: Path, server: SshServer, **options: object) -> TeamConfig:
    """A demo team with `remote` as written; the options carry only what `remote` does not."""
    values = {"identity": None, **options}
    return TeamConfig(
        name="seed",
        path=str(path),
        agent="demo",
        remote=remote,
        remote_options=remote_options(server, **values),
    )


async def _one_turn(team: TeamConfig, tmp_path: Path) -> None:
    async with team_session(tmp_path, team) as session:
        await session.remote.send_message("hello over the seed's ssh")
        finished = await wait_for_event(session.remote, "turn_finished")
        assert finished["status"] == "success"
        await session.client.stop(session.id)
        await wait_for_event(session.remote, "exited")


async def test_dash_i_key_runs_a_real_team(server: SshServer, tmp_path: Path) -> None:
    remote = f"ssh -i {server.identity_file} {server.user}@{server.host}"
    offset = server.log_offset()
    await _one_turn(_team(remote, tmp_path, server), tmp_path)
    assert server.count_logins(offset) == 1  # one master, reused by the probe and the session

    wrong = f"ssh -i {server.wrong_identity()} {server.user}@{server.host}"
    transport = transport_for(_team(wrong, tmp_path, server), tmp_path / "other")
    with pytest.raises(SshAuthFailed, match="authentication"):
        await transport.spawn(["true"], cwd=str(tmp_path), env={})


async def test_accept_new_records_a_new_host_and_still_refuses_a_changed_key(
    server: SshServer, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text("")
    remote = f"ssh -o StrictHostKeyChecking=accept-new -i {server.identity_file} {server.host}"
    team = _team(remote, tmp_path, server, known_hosts=str(known_hosts), user=server.user)
    await _one_turn(team, tmp_path)
    assert server.known_hosts_name in known_hosts.read_text()  # trusted on first use

    changed = _team(remote, tmp_path, server, known_hosts=str(server.wrong_known_hosts()))
    transport = transport_for(changed, tmp_path / "other")
    with pytest.raises(SshHostKeyFailed, match="has CHANGED"):
        await transport.spawn(["true"], cwd=str(tmp_path), env={})


async def test_jump_host_and_config_file(server: SshServer, tmp_path: Path) -> None:
    config = server.write_ssh_config("tether-jump")  # reaches the same server as a jump host
    remote = f"ssh -F {config} -J tether-jump -i {server.identity_file} {server.destination}"
    team = _team(remote, tmp_path, server, ssh_config=None)
    transport = transport_for(team, tmp_path)
    offset = server.log_offset()
    proc = await transport.spawn([sys.executable, "-c", "print('via the jump')"], cwd="/", env={})
    assert [line async for line in proc.lines("stdout")] == [b"via the jump"]
    assert await proc.wait() == 0
    assert server.count_logins(offset) == 2  # the jump host, then the host behind it
