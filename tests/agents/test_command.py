"""The `command` agent through an in-process hub and runner: failures leave it usable, a
stop ends the running turn before the session, and an interrupt is Ctrl+C for the
command's process group, here and over ssh."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support.hub import running_hub, serving_teams, wait_for_event
from tests.support.ssh_teams import ssh_team, sshd
from tests.support.sshd import SshServer
from tests.support.timing import scaled
from tether.client import HubClient, RemoteSession
from tether.config import TeamConfig, TetherConfig


def command_team(name: str, path: Path, command: list[str], mode: str = "args") -> TeamConfig:
    return TeamConfig(name=name, path=str(path), agent="command", command=command, mode=mode)  # type: ignore[arg-type]


async def kinds_of(hub_client: object, session: str) -> list[dict[str, object]]:
    events = (await hub_client.events(session))["events"]  # type: ignore[attr-defined]
    return [e["payload"] for e in events]


async def test_args_mode_turn_that_cannot_start_leaves_the_session_usable(tmp_path: Path) -> None:
    program = tmp_path / "greet"
    program.write_text('#!/bin/sh\necho "hello $1"\n')
    program.chmod(program.stat().st_mode | stat.S_IXUSR)
    config = TetherConfig(teams={"greet": command_team("greet", tmp_path, [str(program)])})
    async with running_hub(tmp_path, config) as hub, hub.client() as client:
        session = (await client.start("greet"))["id"]
        async with hub.session(session) as remote:
            await wait_for_event(remote, "status", state="idle")
            hidden = program.rename(tmp_path / "hidden")
            await remote.send_message("first")
            error = await wait_for_event(remote, "error")
            assert "could not start" in str(error["message"])
            hidden.rename(program)
            await remote.send_message("second")
            output = await wait_for_event(remote, "output")
            assert output["text"] == "hello second"
            finished = await wait_for_event(remote, "turn_finished")
            assert finished["status"] == "success"


async def test_args_mode_stop_finishes_the_running_turn_before_exiting(tmp_path: Path) -> None:
    config = TetherConfig(teams={"nap": command_team("nap", tmp_path, ["sleep"])})
    async with running_hub(tmp_path, config) as hub, hub.client() as client:
        session = (await client.start("nap"))["id"]
        async with hub.session(session) as remote:
            await wait_for_event(remote, "status", state="idle")
            await remote.send_message("30")
            await wait_for_event(remote, "user_message")
            await asyncio.sleep(scaled(0.3))  # let `sleep 30` start
            await client.stop(session)
            exited = await wait_for_event(remote, "exited")
            assert exited["reason"] == "stopped"
        payloads = await kinds_of(client, session)
        order = [p["kind"] for p in payloads]
        assert order.index("turn_finished") < order.index("exited")
        assert order[-1] == "exited"


BURSTS = """
import sys, time
for line in sys.stdin:
    sys.stdout.write("".join(f"out {i}\\n" for i in range(5000)))
    sys.stdout.write("y" * 100_000 + "\\n")
    sys.stdout.flush()
    time.sleep(0.3)  # the two pipes are read in the order they were written
    print("err after", file=sys.stderr, flush=True)
    time.sleep(0.3)
    print("out last", flush=True)
"""


async def test_lines_that_arrive_together_are_one_event_with_every_line_in_order(
    tmp_path: Path,
) -> None:
    script = tmp_path / "bursts.py"
    script.write_text(BURSTS)
    team = command_team("bursts", tmp_path, [sys.executable, str(script)], mode="stdin")
    async with serving_teams(tmp_path, team) as (hub, client):
        session = (await client.start("bursts"))["id"]
        async with hub.session(session) as remote:
            await wait_for_event(remote, "status", state="idle")
            await remote.send_message("go")
            await wait_for_event(remote, "output", text="out last")
        outputs = [p for p in await kinds_of(client, session) if p["kind"] == "output"]
    lines = [(p["stream"], line) for p in outputs for line in str(p["text"]).split("\n")]
    expected = [("stdout", f"out {i}") for i in range(5000)] + [("stdout", "y" * 100_000)]
    assert lines == [*expected, ("stderr", "err after"), ("stdout", "out last")]
    assert len(outputs) < 100  # 5,003 lines, a few dozen events
    assert all("truncated" not in p for p in outputs)  # joined events stay under the limit
    assert {str(p["text"]) for p in outputs} >= {"y" * 100_000, "err after", "out last"}


async def test_an_event_over_the_frame_limit_is_truncated_not_wedging_the_session(
    tmp_path: Path,
) -> None:
    script = tmp_path / "big.py"
    script.write_text(
        "import sys\n"
        "for line in sys.stdin:\n"
        "    print('x' * 3_000_000, flush=True)\n"
        "    print('after the big one', flush=True)\n"
    )
    team = command_team("big", tmp_path, [sys.executable, str(script)], mode="stdin")
    async with running_hub(tmp_path, TetherConfig(teams={"big": team})) as hub:
        async with hub.client() as client:
            session = (await client.start("big"))["id"]
            async with hub.session(session) as remote:
                await wait_for_event(remote, "status", state="idle")
                await remote.send_message("go")
                after = await wait_for_event(remote, "output", text="after the big one")
                assert after["stream"] == "stdout"
            payloads = await kinds_of(client, session)
        big = next(
            p for p in payloads if p["kind"] == "output" and p["text"] != "after the big one"
        )
        assert big["truncated"] is True
        assert str(big["text"]).startswith("xxxx") and len(str(big["text"])) < 1024 * 1024
        assert "truncated" in str(big["text"])[-100:]


JOBS = """
import signal, subprocess, sys
signal.signal(signal.SIGINT, lambda *_: print("shell got SIGINT", flush=True))
JOB = (
    "import os, signal, sys, time\\n"
    "open('job.pid', 'w').write(str(os.getpid()))\\n"
    "def stop(*_):\\n"
    "    print('job got SIGINT', flush=True)\\n"
    "    sys.exit(130)\\n"
    "signal.signal(signal.SIGINT, stop)\\n"
    "print('job started', flush=True)\\n"
    "time.sleep(600)\\n"
)
for line in sys.stdin:
    subprocess.Popen([sys.executable, "-c", JOB])  # same process group, like a shell's job
"""


server = sshd


def jobs_team(tmp_path: Path, where: str, request: pytest.FixtureRequest) -> TeamConfig:
    """A stdin-mode command that starts a long job per line, here or over ssh."""
    script = tmp_path / "jobs.py"
    script.write_text(JOBS)
    argv = [sys.executable, str(script)]
    if where == "ssh":
        server: SshServer = request.getfixturevalue("server")
        team = ssh_team(server, tmp_path, "jobs", agent="command", command=argv, mode="stdin")
    else:
        team = command_team("jobs", tmp_path, argv, mode="stdin")
    return team.model_copy(update={"turn_quiet_s": 0.2})


@contextlib.asynccontextmanager
async def job_running(
    tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[HubClient, str, RemoteSession]]:
    """A `jobs` session whose command has started its long job and gone quiet, so the
    quiet time has ended the turn (seen in either order), and its owner."""
    config = TetherConfig(teams={"jobs": jobs_team(tmp_path, where, request)})
    async with running_hub(tmp_path, config) as hub, hub.client() as client:
        session = (await client.start("jobs"))["id"]
        async with hub.session(session) as remote:
            await remote.send_message("run the long job")
            seen: set[str] = set()
            async with asyncio.timeout(scaled(60)):
                async for event in remote:
                    if event.kind == "turn_finished":
                        assert event.payload["status"] == "success"
                        seen.add("quiet")
                    elif event.kind == "output" and event.payload["text"] == "job started":
                        seen.add("started")
                    if seen == {"quiet", "started"}:
                        break
            yield client, session, remote


@pytest.mark.parametrize("where", ["local", "ssh"])
async def test_interrupt_reaches_the_process_group_after_the_quiet_time_ended_the_turn(
    tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    async with job_running(tmp_path, where, request) as (client, session, remote):
        await client.interrupt(session)  # no turn is open, but the job runs on
        heard = ""  # both processes write to one pipe: their lines may even interleave
        seen: list[str] = []  # every event meanwhile, for the message if it never comes
        try:
            async with asyncio.timeout(scaled(30)):
                async for event in remote:
                    seen.append(f"{event.kind} {event.payload}")
                    if event.kind == "output":  # in either order, maybe one event
                        heard += str(event.payload["text"])
                    if "job got SIGINT" in heard and "shell got SIGINT" in heard:
                        break
        except TimeoutError:
            raise AssertionError(f"no SIGINT heard; events after the interrupt: {seen}") from None
        await client.stop(session)
        await wait_for_event(remote, "exited")


@pytest.mark.parametrize("where", ["local", "ssh"])
async def test_stopping_the_session_ends_the_jobs_its_command_started(
    tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    async with job_running(tmp_path, where, request) as (client, session, remote):
        await client.stop(session)
        await wait_for_event(remote, "exited")
    job = int((tmp_path / "job.pid").read_text())
    for _ in range(100):
        if not pid_alive(job):
            break
        await asyncio.sleep(scaled(0.05))
    else:
        os.kill(job, signal.SIGKILL)
        raise AssertionError("the job outlived its session")


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
