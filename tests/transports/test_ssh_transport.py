"""The ssh transport against a real OpenSSH server: secrets, failure classes, retries, sync.

The cases every transport shares (paths, env, exit codes, terminate) are in
test_contract.py; the ssh command line forms people write are in test_ssh_remote_forms.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.ssh_teams import NEEDS_SSHD, remote_options, ssh_team, sshd
from tests.support.sshd import SshServer
from tether.remote.spec import parse_remote
from tether.remote.ssh_args import SshArgs
from tether.transports.factory import transport_for
from tether.transports.failures import (
    SshAuthFailed,
    SshConnectionRefused,
    SshHostKeyFailed,
)
from tether.transports.ssh import SshTransport

pytestmark = NEEDS_SSHD
server = sshd


def _transport(team: object, tmp_path: Path) -> SshTransport:
    transport = transport_for(team, tmp_path)  # type: ignore[arg-type]
    assert isinstance(transport, SshTransport)
    return transport


async def _collect(proc: object) -> list[str]:
    return [line.decode() async for line in proc.lines("stdout")]  # type: ignore[attr-defined]


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


async def _refused_once(
    server: SshServer, tmp_path: Path, failure: type[Exception], match: str, **options: str
) -> str:
    """A spawn over ssh with `options` changed fails with `failure` (matching `match`) on its
    one attempt: one connection, no retry, no login. Returns the error's text."""
    team = ssh_team(server, tmp_path, options=remote_options(server, **options))
    transport = _transport(team, tmp_path)
    offset = server.log_offset()
    with pytest.raises(failure, match=match) as info:
        await transport.spawn(["true"], cwd=str(tmp_path), env={})
    assert transport.attempts == 1 and transport.retries == 0
    assert server.log_since(offset).count("Connection from") == 1
    assert server.count_logins(offset) == 0
    return str(info.value)


async def test_wrong_host_key_fails_at_once_with_the_host_key_message(
    server: SshServer, tmp_path: Path
) -> None:
    wrong = str(server.wrong_known_hosts())
    message = await _refused_once(
        server, tmp_path, SshHostKeyFailed, "has CHANGED", known_hosts=wrong
    )
    assert "ssh-keygen -R" in message


async def test_unknown_host_key_fails_with_the_host_key_message(
    server: SshServer, tmp_path: Path
) -> None:
    options = remote_options(server, known_hosts=str(server.unknown_known_hosts()))
    transport = _transport(ssh_team(server, tmp_path, options=options), tmp_path)
    with pytest.raises(SshHostKeyFailed, match="is not known"):
        await transport.spawn(["true"], cwd=str(tmp_path), env={})
    assert transport.attempts == 1


async def test_unauthorized_key_fails_as_authentication_without_retry(
    server: SshServer, tmp_path: Path
) -> None:
    failed = r"authentication to root@127\.0\.0\.1:\d+ failed"
    wrong = str(server.wrong_identity())
    await _refused_once(server, tmp_path, SshAuthFailed, failed, identity=wrong)


async def test_refused_connection_is_retried_then_reported(tmp_path: Path) -> None:
    with SshServer() as down:
        down.stop()
        team = ssh_team(down, tmp_path)
        target = parse_remote(team.remote)
        assert isinstance(target, SshArgs)
        transport = SshTransport(team, tmp_path, target, retry_delays=(0.01, 0.01, 0.01))
        with pytest.raises(SshConnectionRefused, match="connection refused"):
            await transport.spawn(["true"], cwd=str(tmp_path), env={})
        assert transport.attempts == 4 and transport.retries == 3


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


_TEXT = st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)))
_DIR_NAME = st.text(
    st.characters(exclude_characters="\x00/", exclude_categories=("Cs",)), min_size=1, max_size=40
).filter(lambda name: name not in (".", ".."))


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(words=st.lists(_TEXT, max_size=6), dir_name=_DIR_NAME)
def test_any_argv_and_path_reach_the_remote_side_intact(
    server: SshServer, words: list[str], dir_name: str
) -> None:
    """The remote command line is shell-quoted: random words and directory names arrive as
    they were, through ssh and the remote user's shell."""
    with tempfile.TemporaryDirectory(prefix="tq-") as base:
        workdir = Path(base) / dir_name
        workdir.mkdir()
        code = "import json, os, sys; print(json.dumps([os.getcwd(), sys.argv[1:]]))"

        async def run() -> list[object]:
            transport = _transport(ssh_team(server, workdir), Path(base))
            proc = await transport.spawn(
                [sys.executable, "-c", code, *words], cwd=str(workdir), env={}
            )
            out = [json.loads(line) async for line in proc.lines("stdout")]
            assert await proc.wait() == 0
            return out  # the master connection stays up for the next example

        assert asyncio.run(run()) == [[str(workdir), words]]
