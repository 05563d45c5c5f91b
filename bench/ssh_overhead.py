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

from tether.config import TeamConfig  # noqa: E402
from tether.transports.base import AgentProcess, Transport  # noqa: E402
from tether.transports.local import LocalTransport  # noqa: E402
from tether.transports.remote_spec import SshTarget, parse_remote  # noqa: E402
from tether.transports.ssh import SshTransport  # noqa: E402

DEMO = [
    sys.executable,
    "-m",
    "tether.agents.demo_agent",
    "-p",
    "--input-format",
    "stream-json",
    "--output-format",
    "stream-json",
    "--verbose",
    "--permission-prompt-tool",
    "stdio",
]
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


def bare_ssh(server: SshServer, control: str, runs: int) -> tuple[float, float]:
    cold, warm = [], []
    opts = server.ssh_options(control_path=control)
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(["ssh", *server.ssh_options(), server.host, "true"], check=True)
        cold.append(time.perf_counter() - t0)
    subprocess.run(["ssh", *opts, server.host, "true"], check=True)
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(["ssh", *opts, server.host, "true"], check=True)
        warm.append(time.perf_counter() - t0)
    subprocess.run(["ssh", *opts, "-O", "exit", server.host], capture_output=True)
    return statistics.median(cold), statistics.median(warm)


async def bench(runs: int, turns: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="tb-", dir="/tmp"))
    with SshServer() as server:
        bare_cold, bare_warm = bare_ssh(server, server.control_path(), runs)
        team: TeamConfig = ssh_team(server, work)
        local = LocalTransport()
        local_starts, ssh_cold, ssh_warm = [], [], []
        for _ in range(runs):
            seconds, proc = await start_agent(local, str(work))
            local_starts.append(seconds)
            await proc.close_stdin()
            await proc.wait()
        for _ in range(runs):
            transport = SshTransport(team, work, _target(team))
            await transport.close_master()
            seconds, proc = await start_agent(transport, str(work))
            ssh_cold.append(seconds)
            await proc.close_stdin()
            await proc.wait()
        transport = SshTransport(team, work, _target(team))
        for _ in range(runs):
            seconds, proc = await start_agent(transport, str(work))
            ssh_warm.append(seconds)
            await proc.close_stdin()
            await proc.wait()
        _, local_proc = await start_agent(local, str(work))
        _, ssh_proc = await start_agent(transport, str(work))
        local_turn = await turn_latency(local_proc, turns)
        ssh_turn = await turn_latency(ssh_proc, turns)
        for proc in (local_proc, ssh_proc):
            await proc.close_stdin()
            await proc.wait()
        logins = server.count_logins()
        await transport.close_master()

    local_start = statistics.median(local_starts)
    warm = statistics.median(ssh_warm)
    print(f"medians of {runs} starts, {turns} turns; loopback sshd; sshd logins: {logins}")
    print(f"{'':32}{'local':>12}{'tether ssh':>12}{'bare ssh':>12}")
    print(
        f"{'session start, cold':32}{ms(local_start):>12}{ms(statistics.median(ssh_cold)):>12}"
        f"{ms(bare_cold):>12}"
    )
    print(
        f"{'session start, warm master':32}{ms(local_start):>12}{ms(warm):>12}{ms(bare_warm):>12}"
    )
    print(f"{'turn: message -> first byte':32}{ms(local_turn):>12}{ms(ssh_turn):>12}{'-':>12}")
    print()
    print(f"warm start / bare warm ssh:                    {warm / bare_warm:5.2f}x (target 1.2x)")
    print(
        f"(warm start - local start) / bare warm ssh:    {(warm - local_start) / bare_warm:5.2f}x"
        "  (what tether adds to ssh, agent startup excluded)"
    )
    print(
        f"warm turn overhead (ssh - local):              {(ssh_turn - local_turn) * 1000:6.2f} ms"
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
