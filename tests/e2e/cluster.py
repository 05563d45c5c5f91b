"""A hub and a runner as separate `tether` processes (each can be kill -9'd), plus CLI helpers."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import DEVNULL
from typing import Any

import httpx

from tests.support.procs import (
    cli_env,
    free_port,
    kill9,
    run_cli,
    spawn,
    stop,
    tether_argv,
    wait_until,
)
from tests.support.timing import scaled

TOKEN_REUSE_S = 240.0
"""How long a test reuses a session token (they live ten minutes)."""

STDIN_SCRIPT = """\
import sys
for line in sys.stdin:
    print("got: " + line.strip().upper(), flush=True)
    print("note on stderr", file=sys.stderr, flush=True)
"""


def write_config(root: Path) -> Path:
    """A tether.toml with a demo team and `command` teams in stdin and args mode."""
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    script = root / "upper.py"
    script.write_text(STDIN_SCRIPT)
    config = root / "tether.toml"
    config.write_text(
        f"""
runner_id = "e2e"

[teams.demo]
path = {json.dumps(str(work))}
agent = "demo"
description = "the demo agent"

[teams.sleepy]
path = {json.dumps(str(work))}
agent = "demo"
idle_timeout = 1

[teams.upper]
path = {json.dumps(str(work))}
agent = "command"
command = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]
mode = "stdin"
turn_quiet_s = 0.5

[teams.echo]
path = {json.dumps(str(work))}
agent = "command"
command = ["echo", "said:"]
mode = "args"

[teams.missing]
path = {json.dumps(str(work))}
agent = "command"
command = ["tether-e2e-no-such-program"]
"""
    )
    return config


@dataclass
class Cluster:
    """`tether hub` + `tether runner` subprocesses sharing one data dir."""

    root: Path
    demo_delay: float = 0.05
    port: int = field(default_factory=free_port)
    hub_proc: subprocess.Popen[str] | None = None
    runner_proc: subprocess.Popen[str] | None = None
    _token: tuple[str, float] | None = None  # (session token, when it was minted)
    _runner_paired: bool = False

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def config(self) -> Path:
        return self.root / "tether.toml"

    def token(self) -> str:
        """A session token of the hub machine's signed-in CLI (`tether token`), minted
        again once it is a few minutes old (they live ten)."""
        if self._token is None or time.monotonic() - self._token[1] > TOKEN_REUSE_S:
            self._token = (self.cli("token").stdout.strip(), time.monotonic())
        return self._token[0]

    def _spawn(self, name: str, *args: str, **env: str) -> subprocess.Popen[str]:
        return spawn(self.home, *args, log=self.root / f"{name}.log", hub_url=self.url, **env)

    def start_hub(self) -> None:
        self.hub_proc = self._spawn(
            "hub", "hub", "--port", str(self.port), "--data-dir", str(self.home)
        )
        deadline = time.monotonic() + scaled(30)
        while time.monotonic() < deadline:
            if self.hub_proc.poll() is not None:
                raise AssertionError(f"hub exited:\n{self.log('hub')}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"hub did not start:\n{self.log('hub')}")

    def start_runner(self) -> None:
        # The first start pairs the runner with a code, as a user would on another machine;
        # a restart reuses the credentials it stored.
        pairing: list[str] = []
        if not self._runner_paired:
            minted = self.cli("pair", "new").stdout
            match = re.search(r"pairing code: (\S+)", minted)
            assert match, minted
            pairing = ["--pair", match.group(1)]
            self._runner_paired = True
        self.runner_proc = self._spawn(
            "runner",
            "runner",
            "--hub",
            self.url,
            "--config",
            str(self.config),
            "--runner-id",
            "e2e",
            *pairing,
            TETHER_DEMO_DELAY=str(self.demo_delay),
        )
        wait_until(self.runner_online, timeout=30, interval=0.05, what="the runner to connect")

    def runner_online(self) -> bool:
        return runner_serves_every_team(self.get)

    def start(self) -> Cluster:
        write_config(self.root)
        self.start_hub()
        self.start_runner()
        return self

    async def start_async(self) -> Cluster:
        """`start`, off the event loop (for async tests)."""
        return await asyncio.to_thread(self.start)

    def kill_hub(self) -> None:
        assert self.hub_proc is not None
        kill9(self.hub_proc)

    def kill_runner(self) -> None:
        assert self.runner_proc is not None
        kill9(self.runner_proc)

    def close(self) -> None:
        for proc in (self.runner_proc, self.hub_proc):
            if proc is not None:
                stop(proc)

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text() if path.exists() else ""

    # -- HTTP and CLI --------------------------------------------------------------------

    def get(self, path: str, **params: Any) -> Any:
        response = httpx.get(
            self.url + path,
            params=params,
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def events(self, session: str) -> list[dict[str, Any]]:
        """Every event stored so far (paged; a short page means we have caught up, so a
        session that keeps streaming cannot keep us paging for ever)."""
        out: list[dict[str, Any]] = []
        while True:
            page = self.get(f"/v1/sessions/{session}/events", after=len(out), limit=5000)
            out.extend(page["events"])
            if len(page["events"]) < 5000:
                return out

    def cli(
        self, *args: str, timeout: float = 60, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `tether ARGS` to completion (wide terminal, so tables are not cut)."""
        env = cli_env(self.home, self.url, COLUMNS="250")
        return run_cli(
            self.home, self.url, *args, timeout=timeout, check=check, env=env, stdin=DEVNULL
        )

    def start_session(self, team: str = "demo", prompt: str | None = None) -> str:
        """Start a session over HTTP (quicker than a CLI process; `tether start` has its test)."""
        response = httpx.post(
            f"{self.url}/v1/sessions",
            json={"team": team, "prompt": prompt},
            headers={"Authorization": f"Bearer {self.token()}"},
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["id"])

    def attach(self, name: str, *args: str) -> Attached:
        """`tether attach ARGS` in the background, stdout and stderr to files."""
        return Attached.start(self.root, name, args, cli_env(self.home, self.url))


@dataclass
class Attached:
    """A background `tether attach`."""

    proc: subprocess.Popen[str]
    out: Path
    err: Path

    @classmethod
    def start(cls, root: Path, name: str, args: Sequence[str], env: dict[str, str]) -> Attached:
        """`tether attach ARGS` with `env`, stdout and stderr to ROOT/NAME.out and .err."""
        out = root / f"{name}.out"
        err = root / f"{name}.err"
        proc = subprocess.Popen(
            tether_argv("attach", *args),
            env=env,
            stdout=open(out, "w"),  # noqa: SIM115 (the child owns it)
            stderr=open(err, "w"),  # noqa: SIM115
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,
        )
        return cls(proc, out, err)

    def stderr(self) -> str:
        return self.err.read_text()

    def events(self) -> list[dict[str, Any]]:
        """The JSON lines printed so far (a partly written last line is left out)."""
        text = self.out.read_text()
        lines = text.splitlines()
        if lines and not text.endswith("\n"):
            lines = lines[:-1]
        return [json.loads(line) for line in lines if line.strip()]

    def wait_for(self, kind: str, timeout: float = 30, **fields: Any) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            for event in self.events():
                if event.get("kind") == kind and all(event.get(k) == v for k, v in fields.items()):
                    return event
            if self.proc.poll() is not None:
                raise AssertionError(f"attach ended early:\n{self.stderr()}")
            return None

        result: dict[str, Any] = wait_until(found, timeout=timeout, interval=0.05, what=kind)
        return result

    def wait_stderr(self, text: str, timeout: float = 30) -> str:
        return str(
            wait_until(lambda: text in self.stderr() and self.stderr(), timeout=timeout, what=text)
        )

    def stop(self) -> None:
        stop(self.proc)

    def __enter__(self) -> Attached:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def runner_serves_every_team(get: Callable[[str], Any]) -> bool:
    """Whether `get("/v1/teams")` answers and says a runner is connected for each team."""
    try:
        teams = get("/v1/teams")
    except httpx.HTTPError:
        return False
    return bool(teams) and all(t["runner_connected"] for t in teams)


def assert_gap_free(seqs: list[int]) -> None:
    """seq 1..N, each once, in order."""
    assert seqs == list(range(1, len(seqs) + 1)), seqs
