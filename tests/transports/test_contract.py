"""One contract, every transport: the same cases over local, exec and ssh.

* `local`: a child of the test process.
* `exec-env`: `remote = "env"`, the smallest exec prefix.
* `exec-docker`: `fake-docker exec -i box`, a few lines of sh standing in for
  `docker exec -i CONTAINER` (it drops `exec`, its options and the container name and
  runs the rest). No Docker engine runs where these tests run; everything tether does
  behind the prefix — the wrapper, the env over stdin, quoting, the handshake,
  terminate through a second prefix command — is the real code path.
* `ssh`: the loopback OpenSSH server of tests/support/sshd.py, through the shared
  master connection.

All four run on this machine, so a test can look in /proc for what is still running.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.ssh_teams import ssh_team
from tests.support.sshd import SshServer, sshd_available
from tests.support.timing import scaled
from tether.config import TeamConfig
from tether.errors import TransportError
from tether.transports.base import AgentProcess, Transport
from tether.transports.factory import transport_for
from tether.transports.failures import CommandNotFound, PathNotFound

FAKE_DOCKER = """#!/bin/sh
# Stands in for `docker exec -i CONTAINER CMD...`: drop `exec`, its options and the name.
shift
while [ "$#" -gt 0 ]; do case $1 in -*) shift;; *) break;; esac; done
shift
exec "$@"
"""
KINDS = ["local", "exec-env", "exec-docker", "ssh"]


@dataclass
class Rig:
    """A transport of one kind, and a directory to run in."""

    kind: str
    transport: Transport
    workdir: Path

    def pid(self, proc: AgentProcess) -> int:
        """The agent's own pid (behind a carrier: the remote one)."""
        remote = getattr(proc, "remote_pid", None)
        pid = remote if remote is not None else proc.pid
        assert pid is not None
        return pid

    async def spawn(self, code: str, *args: str, **env: str) -> AgentProcess:
        """Run a Python snippet with `args` in the workdir."""
        argv = [sys.executable, "-c", code, *args]
        return await self.transport.spawn(argv, cwd=str(self.workdir), env=env)


@pytest.fixture(scope="module")
def server() -> Iterator[SshServer | None]:
    if not sshd_available():
        yield None
        return
    with SshServer() as srv:
        yield srv


@pytest.fixture(params=KINDS)
async def rig(
    request: pytest.FixtureRequest, server: SshServer | None, tmp_path: Path
) -> AsyncIterator[Rig]:
    kind = request.param
    workdir = tmp_path / "work"
    workdir.mkdir()
    if kind == "ssh":
        if server is None:
            pytest.skip("OpenSSH server not installed")
        team = ssh_team(server, workdir)
    elif kind == "exec-docker":
        script = tmp_path / "fake-docker"
        script.write_text(FAKE_DOCKER)
        script.chmod(0o755)
        team = TeamConfig(name="c", path=str(workdir), remote=f"{script} exec -i box")
    else:
        team = TeamConfig(name="c", path=str(workdir), remote="env" if kind == "exec-env" else None)
    yield Rig(kind, transport_for(team, tmp_path), workdir)


ECHO = "import sys\nfor line in sys.stdin:\n    print('got:' + line.strip(), flush=True)"


async def test_write_and_read_lines_then_eof_ends_it(rig: Rig) -> None:
    proc = await rig.spawn(ECHO)
    lines = proc.lines("stdout")
    await proc.write(b"one\n")
    assert await anext(lines) == b"got:one"
    await proc.write(b"two words; $x `id`\n")
    assert await anext(lines) == b"got:two words; $x `id`"
    await proc.close_stdin()
    assert [line async for line in lines] == []
    assert await proc.wait() == 0 and proc.returncode == 0


async def test_stderr_lines_and_the_exit_code(rig: Rig) -> None:
    proc = await rig.spawn("import sys; print('to err', file=sys.stderr); sys.exit(42)")
    assert [line async for line in proc.lines("stderr")] == [b"to err"]
    assert await proc.wait() == 42 and proc.returncode == 42


async def test_a_long_line_arrives_whole(rig: Rig) -> None:
    proc = await rig.spawn("print('x' * (1 << 20))")
    assert [len(line) async for line in proc.lines("stdout")] == [1 << 20]
    assert await proc.wait() == 0


async def test_argv_with_quotes_spaces_and_shell_text_is_not_parsed(rig: Rig) -> None:
    words = ["it's", 'say "hi"', "$HOME", "`id`", "a; rm -rf x", "", "*", "\\n", "é ü"]
    proc = await rig.spawn("import json, sys; print(json.dumps(sys.argv[1:]))", *words)
    assert [json.loads(line) async for line in proc.lines("stdout")] == [words]
    assert await proc.wait() == 0


async def test_a_path_with_spaces_and_a_semicolon_is_a_path(rig: Rig) -> None:
    odd = rig.workdir / "a b; touch pwned"
    odd.mkdir()
    rig.workdir = odd
    proc = await rig.spawn("import os; print(os.getcwd())")
    assert [line.decode() async for line in proc.lines("stdout")] == [str(odd)]
    assert await proc.wait() == 0
    for place in (odd.parent, odd, Path.home(), Path("/")):
        assert not (place / "pwned").exists()


async def test_env_values_arrive_byte_for_byte(rig: Rig) -> None:
    env = {"QUOTED": "it's \"q\" $HOME `id` \\ ; x=1 'y'", "EMPTY": "", "UNI": "ü €"}
    code = (
        "import json, os; print(json.dumps({k: os.environ[k] for k in ('QUOTED', 'EMPTY', 'UNI')}))"
    )
    proc = await rig.spawn(code, **env)
    assert [json.loads(line) async for line in proc.lines("stdout")] == [env]
    assert await proc.wait() == 0


async def test_terminate_sends_term_and_nothing_is_left(rig: Rig) -> None:
    proc = await rig.spawn("import sys, time; print('up', flush=True); time.sleep(600)")
    assert await anext(proc.lines("stdout")) == b"up"
    pid = rig.pid(proc)
    assert await proc.terminate(grace_s=scaled(10)) == -15
    assert await _gone(pid), f"pid {pid} still runs"


async def test_terminate_kills_what_ignores_term_and_its_children(rig: Rig, tmp_path: Path) -> None:
    marker = f"{4000 + os.getpid() % 1000}.{KINDS.index(rig.kind) + 1}"
    script = f"trap '' TERM; sleep {marker} & sleep {marker} & echo started; wait"
    proc = await rig.transport.spawn(["sh", "-c", script], cwd=str(rig.workdir), env={})
    assert await anext(proc.lines("stdout")) == b"started"
    assert await _until(lambda: len(_running_with(marker)) == 2)  # both sleeps exec'd
    assert await proc.terminate(grace_s=0.5) == -9
    assert await _gone(rig.pid(proc))
    assert await _until(lambda: _running_with(marker) == []), _running_with(marker)


async def test_writing_to_an_ended_process_is_a_transport_error(rig: Rig) -> None:
    proc = await rig.spawn("pass")
    assert await proc.wait() == 0
    with pytest.raises(TransportError):
        for _ in range(20):  # the first write may still land in a pipe buffer
            await proc.write(b"x" * 65536)


async def test_a_missing_program_is_command_not_found(rig: Rig) -> None:
    with pytest.raises(CommandNotFound, match="tether-no-such-program-xyz"):
        await rig.transport.spawn(["tether-no-such-program-xyz"], cwd=str(rig.workdir), env={})


async def test_a_missing_path_is_path_not_found(rig: Rig) -> None:
    missing = rig.workdir / "not here"
    with pytest.raises(PathNotFound, match="not here"):
        await rig.transport.spawn(["true"], cwd=str(missing), env={})


async def _until(condition: Callable[[], bool]) -> bool:
    """Wait (generously) until `condition()` holds; False if it never does."""
    for _ in range(int(scaled(10) / 0.05)):
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def _gone(pid: int) -> bool:
    """Wait until `pid` has ended (gone from /proc, or a zombie its parent will reap)."""
    return await _until(lambda: not _alive(pid))


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def _running_with(marker: str) -> list[int]:
    """Pids of live processes whose command line has `marker` as a word."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            words = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in words and _alive(int(entry)):
            found.append(int(entry))
    return found
