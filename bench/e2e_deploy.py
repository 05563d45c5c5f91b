"""What the end-to-end benchmark measures, started as a user starts it.

* `up`: `tether up --config FILE --data-dir DIR --port P` (hub and runner in one process);
* `split`: `tether hub` and `tether runner` as two processes, the runner paired the way a
  user pairs one (`tether pair new` on the hub machine, `tether runner --pair CODE`);
* `relay`: the bare `websockets` relay (bench/e2e_relay.py) and its producer.

Each is an async context manager that stops every process it started, whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from e2e_procs import BENCH, BenchError, Proc, free_port, python_argv, tether_argv

DEPLOYS = {"up": "tether up", "split": "tether hub + runner"}


def write_config(root: Path, max_processes: int) -> Path:
    """A tether.toml: `bench` runs the benchmark agent, `idle` runs `cat` (it only waits)."""
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    agent = [sys.executable, str(BENCH / "e2e_agent.py")]
    path = root / "tether.toml"
    path.write_text(
        f"""runner_id = "bench"
max_processes = {max_processes}

[teams.bench]
path = {json.dumps(str(work))}
agent = "command"
command = {json.dumps(agent)}
mode = "stdin"

[teams.idle]
path = {json.dumps(str(work))}
agent = "command"
command = ["cat"]
mode = "stdin"
"""
    )
    path.chmod(0o600)  # tether warns about a teams file others can read
    return path


def child_env(home: Path) -> dict[str, str]:
    """The environment of every child: its own data dir, no OS keyring touched."""
    env = {**os.environ, "TETHER_HOME": str(home), "TETHER_NO_KEYRING": "1"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH), env.get("PYTHONPATH", "")) if p)
    return env


@dataclass
class Deployment:
    """A running system under test."""

    kind: str  # up | split | relay
    url: str
    cli_home: Path  # tether: the data dir holding the hub machine's signed-in CLI
    env: dict[str, str]
    pids: dict[str, int] = field(default_factory=dict)  # hub / runner / relay / producer

    @property
    def hub_pid(self) -> int:
        """The process whose memory is "hub RSS" (`tether up`: hub and runner together)."""
        return self.pids.get("hub") or self.pids["relay"]


async def wait_healthy(url: str, proc: Proc, timeout: float = 60.0) -> None:
    """Until GET /healthz answers 200 (or the process died)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            if proc.exited() is not None:
                raise BenchError(f"{proc.name} exited with status {proc.exited()}{proc.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise BenchError(f"{proc.name} did not answer /healthz within {timeout:.0f} s{proc.tail()}")


async def wait_runner(url: str, home: Path, proc: Proc, timeout: float = 60.0) -> None:
    """Until the hub lists team `bench` with its runner connected (as `tether teams` would)."""
    from tether.client import HubClient
    from tether.client.access import hub_access
    from tether.errors import TetherError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.exited() is not None:
            raise BenchError(f"{proc.name} exited with status {proc.exited()}{proc.tail()}")
        with contextlib.suppress(TetherError, httpx.HTTPError):
            async with HubClient(url, hub_access(url, home).token) as hub:
                teams = {t["name"]: t for t in await hub.teams()}
            if teams.get("bench", {}).get("runner_connected"):
                return
        await asyncio.sleep(0.2)
    raise BenchError(f"the runner did not connect within {timeout:.0f} s{proc.tail()}")


async def pairing_code(url: str, home: Path, env: dict[str, str], log_dir: Path) -> str:
    """`tether pair new` on the hub machine (its CLI was signed in by the first start)."""
    for _attempt in range(50):
        cli = Proc("pair-new", tether_argv("pair", "new", "--hub", url, "--no-qr"), env, log_dir)
        await cli.start()
        assert cli.proc is not None
        out, _ = await cli.proc.communicate()
        match = re.search(r"pairing code: (\S+)", out.decode(errors="replace"))
        if cli.proc.returncode == 0 and match:
            return match.group(1)
        await asyncio.sleep(0.2)  # the hub may still be writing the CLI's credentials
    raise BenchError(f"`tether pair new` did not give a pairing code{cli.tail()}")


async def start_hub(
    name: str, argv: list[str], env: dict[str, str], root: Path, url: str, procs: list[Proc]
) -> Proc:
    """Start a hub process (`tether hub` or `tether up`) and wait until `url` is healthy.
    It is added to `procs`, which the caller stops."""
    hub = Proc(name, argv, env, root, stdout_to_log=True)
    procs.append(await hub.start())
    await wait_healthy(url, hub)
    return hub


async def start_runner(
    url: str, hub_home: Path, env: dict[str, str], config: Path, root: Path, procs: list[Proc]
) -> Proc:
    """A `tether runner` for `config`, paired by the hub machine's CLI (`hub_home`, `env`)
    through the hub at `url`, started and added to `procs` (the caller waits for it)."""
    code = await pairing_code(url, hub_home, env, root)
    runner_home = root / "runner-home"
    argv = tether_argv(
        "runner", "--hub", url, "--pair", code, "--config", str(config),
        "--data-dir", str(runner_home), "--runner-id", "bench",
    )  # fmt: skip
    runner = Proc("tether-runner", argv, child_env(runner_home), root, stdout_to_log=True)
    procs.append(await runner.start())
    return runner


@contextlib.asynccontextmanager
async def tether(
    kind: str,
    root: Path,
    max_processes: int,
    hub_argv: Callable[[Path, int], list[str]] | None = None,
) -> AsyncIterator[Deployment]:
    """`tether up`, or `tether hub` + a paired `tether runner`, on a free port
    (`hub_argv(data_dir, port)`: the hub's command line, when not the plain `tether hub`)."""
    config = write_config(root, max_processes)
    hub_home = root / "hub-home"
    env = child_env(hub_home)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    procs: list[Proc] = []
    try:
        if kind == "up":
            argv = tether_argv(
                "up", "--config", str(config), "--data-dir", str(hub_home), "--port", str(port)
            )
            hub = await start_hub("tether-up", argv, env, root, url, procs)
            await wait_runner(url, hub_home, hub)
            yield Deployment(kind, url, hub_home, env, {"hub": hub.pid})
            return
        if hub_argv is None:
            argv = tether_argv("hub", "--data-dir", str(hub_home), "--port", str(port))
        else:
            argv = hub_argv(hub_home, port)
        hub = await start_hub("tether-hub", argv, env, root, url, procs)
        runner = await start_runner(url, hub_home, env, config, root, procs)
        await wait_runner(url, hub_home, runner)
        yield Deployment(kind, url, hub_home, env, {"hub": hub.pid, "runner": runner.pid})
    finally:
        # The runner first: it stops its agents; then the hub.
        for proc in reversed(procs):
            await proc.stop()


@contextlib.asynccontextmanager
async def relay(root: Path, channel: str = "live") -> AsyncIterator[Deployment]:
    """The bare relay and one producer on `channel`."""
    env = child_env(root / "relay-home")
    port = free_port()
    url = f"ws://127.0.0.1:{port}"
    procs: list[Proc] = []
    try:
        server = Proc("relay", python_argv("e2e_relay.py", "serve", str(port)), env, root)
        procs.append(await server.start())
        await server.expect("ready", 30)
        producer = Proc("producer", python_argv("e2e_relay.py", "produce", url, channel), env, root)
        procs.append(await producer.start())
        await producer.expect("ready", 30)
        yield Deployment("relay", url, root, env, {"relay": server.pid, "producer": producer.pid})
    finally:
        for proc in reversed(procs):
            await proc.stop(grace_s=5)
