"""CLI start-up: wall time of `tether version`, `--help`, `sessions` and `send`, beside a bare
`python -c pass` measured in the same run, as ratios — for this checkout and, with
--baseline, another install (e.g. main's venv) side by side.

Run: python bench/cli_startup.py [--runs 10] [--baseline /work/main/.venv] [--venv .venv]

Each install gets its own `tether up` (a demo team, a temporary data dir, a free port) so
`sessions` and `send` talk to a live hub, as a user's would. Runs are interleaved (one of
each command of each install per round) so a busy machine slows both alike. Printed, for
wall time and for the CPU time the command's process used (which a busy machine inflates
far less): the median of each command in ms, its ratio to `python -c pass` of the same
install, and the ratio this/baseline; then what the libraries cost on their own.
Target (issue #14): each of the four commands ≤ 0.3 s wall (median); the exit status is 0
when this install meets it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.3
COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "import tether.cli": ["-c", "import tether.cli"],
    "tether version": ["-m", "tether", "version"],
    "tether --help": ["-m", "tether", "--help"],
    "tether sessions": ["-m", "tether", "sessions"],
    "tether send": ["-m", "tether", "send", "{session}", "hello"],
}
TARGETED = ("tether version", "tether --help", "tether sessions", "tether send")
LIBRARIES = ("typer", "rich.console", "httpx", "pydantic", "keyring")


@dataclass
class Install:
    """One venv with a hub of its own."""

    name: str
    venv: Path
    home: Path
    port: int = 0
    session: str = ""
    hub: subprocess.Popen[bytes] | None = None
    times: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return {**os.environ, "TETHER_HOME": str(self.home), "TETHER_HUB": self.url}

    def argv(self, command: str) -> list[str]:
        return [self.python, *(a.format(session=self.session) for a in COMMANDS[command])]

    def time_once(self, command: str) -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run(
            self.argv(command),
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        elapsed = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: {command} failed:\n{done.stderr.decode()}")
        self.times.setdefault(command, []).append(elapsed)
        used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        self.cpu.setdefault(command, []).append(used)

    def median(self, command: str, *, cpu: bool = False) -> float:
        return statistics.median((self.cpu if cpu else self.times)[command])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def hub_up(install: Install) -> Iterator[None]:
    """`tether up` of that install, a session started, stopped afterwards."""
    install.port = free_port()
    install.hub = subprocess.Popen(
        [install.python, "-m", "tether", "up", "--port", str(install.port)],
        env={**install.env(), "TETHER_DEMO_DELAY": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (install.home / "hub.json").exists() or not _healthy(install.url):
            if time.monotonic() > deadline or install.hub.poll() is not None:
                raise SystemExit(f"{install.name}: tether up did not start")
            time.sleep(0.1)
        started = subprocess.run(
            [install.python, "-m", "tether", "start", "demo"],
            env=install.env(),
            capture_output=True,
            text=True,
            check=True,
        )
        install.session = started.stdout.strip()
        yield
    finally:
        install.hub.terminate()
        install.hub.wait(timeout=30)


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def library_costs(python: str, runs: int) -> dict[str, float]:
    """Median wall time of `python -c 'import X'` per library (the bare start included)."""
    costs: dict[str, list[float]] = {}
    for _ in range(runs):
        for name in ("", *LIBRARIES):
            code = f"import {name}" if name else "pass"
            started = time.perf_counter()
            subprocess.run([python, "-c", code], check=True)
            costs.setdefault(name or "python -c pass", []).append(time.perf_counter() - started)
    return {name: statistics.median(values) for name, values in costs.items()}


def report(installs: list[Install]) -> bool:
    """Print wall and CPU tables; True when the last install (this checkout) meets the target."""
    for cpu in (False, True):
        what = "CPU (user+sys) of the command" if cpu else "wall time"
        print(f"\n{what}: median ms (x python -c pass of the same install)")
        header = f"{'command':20}" + "".join(f"{i.name:>22}" for i in installs)
        print(header + (f"{'this/baseline':>15}" if len(installs) == 2 else ""))
        for command in COMMANDS:
            line = f"{command:20}"
            for install in installs:
                value = install.median(command, cpu=cpu)
                ratio = value / install.median("python -c pass", cpu=cpu)
                line += f"{value * 1000:>13.0f} ({ratio:>5.1f}x)"
            if len(installs) == 2:
                base, this = (i.median(command, cpu=cpu) for i in installs)
                line += f"{this / base:>15.2f}"
            print(line)
    this = installs[-1]
    slow = [c for c in TARGETED if this.median(c) > TARGET_S]
    print(f"\ntarget: each of {', '.join(TARGETED)} <= {TARGET_S:.1f} s wall (median)")
    print("met" if not slow else f"NOT met by: {', '.join(slow)}")
    return not slow


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--venv", type=Path, default=ROOT / ".venv")
    parser.add_argument("--baseline", type=Path, help="another install's venv, e.g. main's")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        installs = []
        if args.baseline:
            installs.append(Install("baseline", args.baseline, Path(tmp) / "baseline"))
        installs.append(Install("this", args.venv, Path(tmp) / "this"))
        for install in installs:
            stack.enter_context(hub_up(install))
        for _ in range(args.runs):
            for command in COMMANDS:
                for install in installs:
                    install.time_once(command)
        met = report(installs)
    print("\nlibraries alone (this install), median ms and x pass:")
    costs = library_costs(str(args.venv / "bin" / "python"), args.runs)
    for name, seconds in costs.items():
        print(f"  {name:20}{seconds * 1000:>8.0f}{seconds / costs['python -c pass']:>8.1f}x")
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
