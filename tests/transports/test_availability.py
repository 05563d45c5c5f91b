"""Teams that cannot start say why: probes at runner start, in `hello`, and before a start.

First the rules of `TeamProbes` with a scripted check (no clock involved), then real
probes that must not hang or block the loop, then a real hub and runner.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.hub import running_hub, serving_teams, wait_for_event
from tests.support.ssh_teams import remote_options, ssh_team
from tests.support.sshd import SshServer, sshd_available
from tests.support.timing import scaled
from tether import teams_check
from tether.config import TeamConfig, TetherConfig
from tether.errors import Conflict
from tether.runner.availability import TeamProbes
from tether.teams_check import TeamCheck, check_team

needs_sshd = pytest.mark.skipif(not sshd_available(), reason="OpenSSH server not installed")


def _result(team: TeamConfig, reason: str | None = None) -> TeamCheck:
    return TeamCheck(team.name, "local", "local", reason=reason, code="x" if reason else None)


class ScriptedChecks:
    """A check whose answer per team is set by the test; counts the calls."""

    def __init__(self) -> None:
        self.reasons: dict[str, str | None] = {}
        self.blocked: dict[str, asyncio.Event] = {}
        self.calls: list[str] = []

    async def __call__(self, team: TeamConfig) -> TeamCheck:
        self.calls.append(team.name)
        if team.name in self.blocked:
            await self.blocked[team.name].wait()
        if self.reasons.get(team.name) == "crash":
            raise RuntimeError("a bug in a probe")
        return _result(team, self.reasons.get(team.name))


LOCAL = TeamConfig(name="here", path="/")
REMOTE = TeamConfig(name="box", path="/", remote="ssh box")


async def test_a_host_that_never_answers_delays_only_its_own_team() -> None:
    checks = ScriptedChecks()
    checks.reasons["here"] = "agent binary 'claude' was not found on PATH"
    checks.blocked["box"] = asyncio.Event()  # never set: a host that does not answer
    probes = TeamProbes({"here": LOCAL, "box": REMOTE}, Path("/"), check=checks)
    probes.start()
    await probes.settle(scaled(0.2))
    here, box = probes.get("here"), probes.get("box")
    assert not here.available and here.reason == "agent binary 'claude' was not found on PATH"
    assert box.available and box.checked_at is None  # not answered yet: not held against it
    await probes.close()
    assert all(task.done() for task in asyncio.all_tasks() if "probe team" in task.get_name())


async def test_recheck_before_a_start() -> None:
    checks = ScriptedChecks()
    changes: list[tuple[str, bool]] = []
    probes = TeamProbes(
        {"here": LOCAL, "box": REMOTE},
        Path("/"),
        check=checks,
        on_change=lambda name, a: changes.append((name, a.available)),
    )
    probes.start()
    await probes.settle(scaled(5))
    checks.calls.clear()
    # A local team is probed again every time (a stat and a PATH search).
    assert (await probes.recheck(LOCAL)).available and checks.calls == ["here"]
    # A remote team that answered "available" recently is not (its start checks itself).
    assert (await probes.recheck(REMOTE)).available and checks.calls == ["here"]
    # … but one that was unavailable is, and recovers at once.
    checks.reasons["box"] = "nothing accepts SSH connections at box (connection refused)"
    probes.fresh_s = 0
    assert not (await probes.recheck(REMOTE)).available
    probes.fresh_s = 3600
    checks.reasons["box"] = None
    assert (await probes.recheck(REMOTE)).available
    assert changes == [("here", True), ("box", True), ("box", False), ("box", True)]
    await probes.close()


async def test_starts_at_once_share_one_probe() -> None:
    checks = ScriptedChecks()
    gate = checks.blocked["here"] = asyncio.Event()
    probes = TeamProbes({"here": LOCAL}, Path("/"), check=checks)
    waiting = [asyncio.create_task(probes.recheck(LOCAL)) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert all(a.available for a in await asyncio.gather(*waiting))
    assert checks.calls == ["here"]
    await probes.close()


async def test_a_probe_that_crashes_does_not_lock_the_team(
    caplog: pytest.LogCaptureFixture,
) -> None:
    checks = ScriptedChecks()
    checks.reasons["here"] = "crash"
    probes = TeamProbes({"here": LOCAL}, Path("/"), check=checks)
    with caplog.at_level(logging.ERROR, logger="tether.runner"):
        assert (await probes.recheck(LOCAL)).available
    assert "probing team 'here' failed" in caplog.text and "a bug in a probe" in caplog.text
    await probes.close()


async def test_a_hung_local_check_neither_blocks_the_loop_nor_hangs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stat on a dead network mount blocks; the probe runs it in a thread, with a deadline."""
    release = threading.Event()
    real = teams_check.missing_path

    def hung_stat(path: str) -> object:
        release.wait(scaled(30))
        return real(path)

    monkeypatch.setattr(teams_check, "missing_path", hung_stat)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    beat = asyncio.create_task(ticker())
    team = TeamConfig(name="nfs", path=str(tmp_path), agent="demo")
    try:
        result = await check_team(team, tmp_path, timeout=scaled(0.5))
    finally:
        release.set()
        beat.cancel()
    assert not result.ok and "did not answer the probe within" in str(result.reason)
    assert ticks > 1  # the loop kept running while the stat hung


@needs_sshd
async def test_a_host_that_hangs_is_reported_within_the_deadline(tmp_path: Path) -> None:
    with SshServer() as hung:
        hung.pause()  # accepts TCP, never sends a banner
        team = ssh_team(hung, tmp_path, options=remote_options(hung, connect_timeout=1))
        result = await check_team(team, tmp_path, timeout=scaled(20))
        hung.resume()
    assert not result.ok and result.code in ("ssh_timeout", "transport")
    assert result.reachable != "ok"


@pytest.fixture
def down_server() -> Iterator[SshServer]:
    with SshServer() as server:
        server.stop()
        yield server


@needs_sshd
async def test_hello_says_which_teams_cannot_start_and_why(
    tmp_path: Path, down_server: SshServer
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    teams = {
        "good": TeamConfig(name="good", path=str(work), agent="demo"),
        "nobin": TeamConfig(
            name="nobin", path=str(work), agent="command", command=["tether-no-such-agent"]
        ),
        "nopath": TeamConfig(name="nopath", path=str(tmp_path / "gone"), agent="demo"),
        "down": ssh_team(down_server, work, name="down"),
    }
    async with running_hub(tmp_path, TetherConfig(teams=teams)) as hub, hub.client() as client:
        assert hub.runner is not None
        announced = {t.name: t for t in hub.runner.hello().teams}
        assert announced["good"].available and announced["good"].unavailable_reason is None
        assert not announced["nobin"].available
        assert "'tether-no-such-agent' was not found on PATH" in str(
            announced["nobin"].unavailable_reason
        )
        assert "does not exist" in str(announced["nopath"].unavailable_reason)
        assert "connection refused" in str(announced["down"].unavailable_reason)
        listed = {t["name"]: t for t in await client.teams()}  # as the hub stored them
        assert listed["nobin"]["available"] is False
        assert listed["nobin"]["unavailable_reason"] == announced["nobin"].unavailable_reason

        # The hub refuses a start on a team its runner reported unavailable, at once and
        # with the reason: no session id that only ever shows an error.
        with pytest.raises(Conflict) as refused:
            await client.start("nobin")
        assert "team 'nobin' is unavailable: agent binary" in str(refused.value)
        assert "the runner probes it again" in str(refused.value.hint)
        assert [s for s in await client.sessions() if s["team"] == "nobin"] == []

        good = await client.start("good")
        async with hub.session(good["id"]) as remote:
            await remote.send_message("hello")
            assert (await wait_for_event(remote, "turn_finished"))["status"] == "success"
            await client.stop(good["id"])


async def test_a_team_fixed_while_its_runner_runs_can_be_started_without_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tether.runner import daemon

    monkeypatch.setattr(daemon, "TEAMS_RECHECK_S", 0.2)
    program = tmp_path / "bin" / "late-agent"
    work = tmp_path / "work"
    work.mkdir()
    late = TeamConfig(name="late", path=str(work), agent="command", command=[str(program)])
    async with serving_teams(tmp_path, late) as (hub, client):
        with pytest.raises(Conflict, match="team 'late' is unavailable"):
            await client.start("late")
        # The user installs the program; the runner finds out and tells the hub.
        program.parent.mkdir()
        program.write_text('#!/bin/sh\nwhile read line; do echo "got $line"; done\n')
        program.chmod(0o755)
        async with asyncio.timeout(scaled(30)):
            while not {t["name"]: t for t in await client.teams()}["late"]["available"]:
                await asyncio.sleep(0.05)
        session = await client.start("late")
        async with hub.session(session["id"]) as remote:
            await remote.send_message("hi")
            output = await wait_for_event(remote, "output")
        assert output["text"] == "got hi"
        await client.stop(session["id"])
