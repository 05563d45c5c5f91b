"""Several real `tether hub` processes on one PostgreSQL database, a `tether runner`, and
`tether attach` viewers on any of them (each process can be kill -9'd)."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import DEVNULL
from typing import Any

import httpx

from tests.e2e.cluster import Attached, runner_serves_every_team, write_config
from tests.support.procs import cli_env, free_port, kill9, run_cli, spawn, stop, wait_until
from tests.support.timing import scaled


@dataclass
class Replica:
    """One `tether hub --store postgresql://…` process with its own data dir."""

    index: int
    home: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Replicas:
    """N hub replicas sharing a database and a secrets file; one runner."""

    root: Path
    dsn: str
    count: int = 3
    demo_delay: float = 0.05
    hubs: list[Replica] = field(default_factory=list)
    runner_proc: subprocess.Popen[str] | None = None
    runner_hubs: list[int] = field(default_factory=list)
    _tokens: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        write_config(self.root)
        self.hubs = [Replica(i, self.root / f"hub{i}") for i in range(self.count)]

    @property
    def secrets(self) -> Path:
        return self.root / "shared" / "secrets.json"

    @property
    def runner_home(self) -> Path:
        return self.root / "runner-home"

    def env(self, home: Path, url: str | None, **extra: str) -> dict[str, str]:
        return cli_env(home, url, TETHER_SECRETS_FILE=str(self.secrets), **extra)

    def log(self, name: str) -> str:
        path = self.root / f"{name}.log"
        return path.read_text() if path.exists() else ""

    # -- processes -----------------------------------------------------------------------

    def start_hub(self, i: int, *, secrets: Path | None = None, expect_exit: bool = False) -> None:
        hub = self.hubs[i]
        hub.proc = spawn(
            hub.home,
            *("hub", "--port", str(hub.port), "--data-dir", str(hub.home), "--store", self.dsn),
            log=self.root / f"hub{i}.log",
            TETHER_SECRETS_FILE=str(secrets or self.secrets),
        )
        deadline = time.monotonic() + scaled(30)
        while time.monotonic() < deadline:
            if hub.proc.poll() is not None:
                if expect_exit:
                    return
                raise AssertionError(f"hub {i} exited:\n{self.log(f'hub{i}')}")
            if "listening on" in self.log(f"hub{i}"):
                return
            time.sleep(0.05)
        raise AssertionError(f"hub {i} did not start:\n{self.log(f'hub{i}')}")

    def start(self, count: int | None = None) -> Replicas:
        for i in range(self.count if count is None else count):
            self.start_hub(i)
        return self

    def start_runner(
        self, *hubs: int, team_args: tuple[str, ...] = (), paired_by: Path | None = None
    ) -> None:
        """The runner, paired through the first hub it is given (by the replica's admin
        CLI, or the CLI in `paired_by`), given every hub's URL."""
        self.runner_hubs = list(hubs)
        minted = self.cli(hubs[0], "pair", "new", home=paired_by).stdout
        match = re.search(r"pairing code: (\S+)", minted)
        assert match, minted
        urls = ",".join(self.hubs[i].url for i in hubs)
        self.runner_proc = spawn(
            self.runner_home,
            *("runner", "--hub", urls, "--config", str(self.root / "tether.toml")),
            *("--runner-id", "e2e", "--pair", match.group(1), *team_args),
            log=self.root / "runner.log",
            TETHER_SECRETS_FILE=str(self.secrets),
            TETHER_DEMO_DELAY=str(self.demo_delay),
        )
        wait_until(
            lambda: self.runner_online(hubs[0]), timeout=30, interval=0.05, what="the runner"
        )

    def demo_session(self) -> str:
        """The runner, on the first replica, and a demo session started through it."""
        self.start_runner(0)
        return self.cli(0, "start", "demo").stdout.strip()

    def runner_online(self, i: int) -> bool:
        return runner_serves_every_team(lambda path: self.get(i, path))

    def kill(self, i: int) -> None:
        proc = self.hubs[i].proc
        assert proc is not None
        kill9(proc)

    def close(self) -> None:
        if self.runner_proc is not None:
            stop(self.runner_proc)
        for hub in self.hubs:
            if hub.proc is not None:
                stop(hub.proc)

    # -- CLI and HTTP against one replica --------------------------------------------------

    def cli(
        self,
        i: int,
        *args: str,
        timeout: float = 60,
        check: bool = True,
        home: Path | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """`tether ARGS` against replica i, with its data dir (its CLI is signed in there)
        or another machine's `home`."""
        hub = self.hubs[i]
        env = self.env(home or hub.home, hub.url, COLUMNS="250")
        return run_cli(
            hub.home, hub.url, *args, timeout=timeout, check=check, env=env, stdin=DEVNULL
        )

    def token(self, i: int) -> str:
        if i not in self._tokens:
            self._tokens[i] = self.cli(i, "token").stdout.strip()
        return self._tokens[i]

    def get(self, i: int, path: str, **params: Any) -> Any:
        response = httpx.get(
            self.hubs[i].url + path,
            params=params,
            headers={"Authorization": f"Bearer {self.token(i)}"},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def post(self, i: int, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return httpx.post(
            self.hubs[i].url + path,
            json=body or {},
            headers={"Authorization": f"Bearer {self.token(i)}"},
            timeout=10,
        )

    def attach(self, i: int, name: str, *args: str, home: Path | None = None) -> Attached:
        """`tether attach ARGS` against replica i, in the background."""
        hub = self.hubs[i]
        return Attached.start(self.root, name, args, self.env(home or hub.home, hub.url))
