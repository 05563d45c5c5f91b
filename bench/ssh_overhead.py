"""What the ssh transport costs, against a local agent and a bare `ssh` in the same run.

    PYTHONPATH=src python bench/ssh_overhead.py [--runs 15] [--turns 200]

Starts a throwaway sshd on 127.0.0.1 (tests/support/sshd.py) and prints medians of:

* session start: spawn the demo agent and get its answer to `initialize`, cold (no
  master connection yet) and warm (over the master) — vs a local spawn, and vs a bare
  `ssh -o ControlPath=… host true` cold and warm;
* turn overhead: time from writing a user message to the first byte back, for the
  same demo agent locally and over ssh (warm), the difference is what ssh adds.

The remote side runs `bash -c …`, which on this container sources ~/.bashrc (pyenv
init, ~170 ms): that is part of every ssh figure, bare or tether.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from tests.support.ssh_teams import ssh_team  # noqa: E402
from tests.support.sshd import SshServer  # noqa: E402

from tether.agents.claude_launch import STREAM_JSON_FLAGS  # noqa: E402
from tether.config import TeamConfig  # noqa: E402
from tether.remote.spec import SshTarget, parse_remote  # noqa: E402
from tether.transports.base import AgentProcess, Transport  # noqa: E402
from tether.transports.local import LocalTransport  # noqa: E402
from tether.transports.ssh import SshTransport  # noqa: E402

# The demo agent, started with the flags the Claude adapter gives `claude`.
DEMO = [sys.executable, "-m", "tether.agents.demo_agent", *STREAM_JSON_FLAGS]
ENV = {"PYTHONPATH": str(ROOT / "src")}
INIT = {
    "type": "control_request",
    "request_id": "b1",
    "request": {"subtype": "initialize", "hooks": None},
}
TURN = {
    "type": "user",
    "message": {"role": "user", "content": "hi"},
    "parent_tool_use_id": None,
    "session_id": "default",
}


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


async def start_agent(transport: Transport, cwd: str) -> tuple[float, AgentProcess]:
    t0 = time.perf_counter()
    proc = await transport.spawn(DEMO, cwd=cwd, env=ENV)
    await proc.write((json.dumps(INIT) + "\n").encode())
    async for line in proc.lines("stdout"):
        if b'"control_response"' in line:
            break
    return time.perf_counter() - t0, proc


async def drain_turn(lines: object) -> None:
    async for line in lines:  # type: ignore[attr-defined]
        if b'"type": "result"' in line:
            return


async def turn_latency(proc: AgentProcess, turns: int) -> float:
    stdout = proc.lines("stdout")
    samples = []
    payload = (json.dumps(TURN) + "\n").encode()
    for _ in range(turns):
        t0 = time.perf_counter()
        await proc.write(payload)
        await anext(stdout)  # the first line back
        samples.append(time.perf_counter() - t0)
        await drain_turn(stdout)
    return statistics.median(samples)


def timed_run(argv: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - t0


async def spawn_only(transport: Transport, cwd: str) -> float:
    """Until the remote wrapper has exec'd the program: the transport's own start cost."""
    t0 = time.perf_counter()
    proc = await transport.spawn(["cat"], cwd=cwd, env={})
    seconds = time.perf_counter() - t0
    await proc.close_stdin()
    await proc.wait()
    return seconds


async def stopped(seconds_and_proc: tuple[float, AgentProcess]) -> float:
    seconds, proc = seconds_and_proc
    await proc.close_stdin()
    await proc.wait()
    return seconds


async def bench(runs: int, turns: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="tb-", dir="/tmp"))
    rows: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        rows.setdefault(name, []).append(seconds)

    with SshServer() as server:
        bare_opts = server.ssh_options(control_path=server.control_path())
        team: TeamConfig = ssh_team(server, work)
        local = LocalTransport()
        transport = SshTransport(team, work, _target(team))
        # Interleaved, so a change in machine load hits every column alike.
        for _ in range(runs):
            add("bare cold", timed_run(["ssh", *server.ssh_options(), server.host, "true"]))
            await transport.close_master()
            add("ssh cold", await stopped(await start_agent(transport, str(work))))
            add("local start", await stopped(await start_agent(local, str(work))))
            timed_run(["ssh", *bare_opts, server.host, "true"])  # make sure its master is up
            add("bare warm", timed_run(["ssh", *bare_opts, server.host, "true"]))
            add("ssh warm", await stopped(await start_agent(transport, str(work))))
            add("ssh spawn", await spawn_only(transport, str(work)))
            add("local spawn", await spawn_only(local, str(work)))
        _, local_proc = await start_agent(local, str(work))
        _, ssh_proc = await start_agent(transport, str(work))
        local_turn = await turn_latency(local_proc, turns)
        ssh_turn = await turn_latency(ssh_proc, turns)
        for proc in (local_proc, ssh_proc):
            await proc.close_stdin()
            await proc.wait()
        subprocess.run(["ssh", *bare_opts, "-O", "exit", server.host], capture_output=True)
        await transport.close_master()

    med = {name: statistics.median(values) for name, values in rows.items()}
    print(f"medians of {runs} interleaved runs and {turns} turns; loopback sshd; demo agent")
    print(f"{'':36}{'local':>12}{'tether ssh':>12}{'bare ssh':>12}")
    print(
        f"{'session start, cold':36}{ms(med['local start']):>12}{ms(med['ssh cold']):>12}"
        f"{ms(med['bare cold']):>12}"
    )
    print(
        f"{'session start, warm master':36}{ms(med['local start']):>12}{ms(med['ssh warm']):>12}"
        f"{ms(med['bare warm']):>12}"
    )
    print(
        f"{'spawn only (until exec), warm':36}{ms(med['local spawn']):>12}"
        f"{ms(med['ssh spawn']):>12}{ms(med['bare warm']):>12}"
    )
    print(f"{'turn: message -> first byte':36}{ms(local_turn):>12}{ms(ssh_turn):>12}{'-':>12}")
    print()
    warm, bare, agent = med["ssh warm"], med["bare warm"], med["local start"]
    print(
        f"warm spawn / bare warm ssh:                 {med['ssh spawn'] / bare:5.2f}x (target 1.2x)"
    )
    print(f"warm session start / (bare ssh + local):    {warm / (bare + agent):5.2f}x")
    print(
        f"warm session start / bare warm ssh:         {warm / bare:5.2f}x"
        " (includes the agent's own start-up)"
    )
    print(
        f"warm turn overhead (ssh - local):           {(ssh_turn - local_turn) * 1000:6.2f} ms"
        " (target < 1 ms)"
    )


def _target(team: TeamConfig) -> SshTarget:
    target = parse_remote(team.remote, team.name)
    assert isinstance(target, SshTarget)
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(bench(args.runs, args.turns))


if __name__ == "__main__":
    main()
