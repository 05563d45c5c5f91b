"""Whole tether processes for end-to-end tests: `python -m tether …` as real subprocesses."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support.timing import scaled


def tether_argv(*args: str) -> list[str]:
    """argv running this checkout's CLI."""
    return [sys.executable, "-m", "tether", *args]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cli_env(home: Path, hub_url: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a CLI subprocess using data dir `home`."""
    env = {**os.environ, "TETHER_HOME": str(home), **extra}
    if hub_url:
        env["TETHER_HUB"] = hub_url
    return env


def run_cli(
    home: Path,
    hub_url: str,
    *args: str,
    timeout: float = 60,
    check: bool = True,
    input: str | None = None,
    env: dict[str, str] | None = None,
    stdin: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `tether ARGS` to completion (`env`: instead of `cli_env(home, hub_url)`)."""
    proc = subprocess.run(
        tether_argv(*args),
        env=env if env is not None else cli_env(home, hub_url),
        capture_output=True,
        text=True,
        timeout=scaled(timeout),
        input=input,
        stdin=stdin,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"tether {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
        )
    return proc


def spawn(
    home: Path, *args: str, log: Path | None = None, hub_url: str | None = None, **extra: str
) -> subprocess.Popen[str]:
    """Start `tether ARGS` in the background (stdout+stderr to `log`)."""
    out = open(log, "a") if log else subprocess.DEVNULL  # noqa: SIM115
    return subprocess.Popen(
        tether_argv(*args),
        env=cli_env(home, hub_url, **extra),
        stdout=out,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def wait_healthy(url: str, timeout: float = 30) -> dict[str, Any]:
    """Poll /healthz until it answers."""
    deadline = time.monotonic() + scaled(timeout)
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{url}/healthz", timeout=2)
            if response.status_code == 200:
                return dict(response.json())
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.1)
    raise AssertionError(f"hub at {url} did not become healthy: {last}")


def wait_until(predicate: Any, timeout: float = 30, interval: float = 0.1, what: str = "") -> Any:
    """Poll until predicate() is truthy; return its value."""
    deadline = time.monotonic() + scaled(timeout)
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what or predicate}")


def kill9(proc: subprocess.Popen[str]) -> None:
    """SIGKILL a process group started by `spawn`."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=scaled(10))


def stop(proc: subprocess.Popen[str]) -> None:
    """SIGTERM then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=scaled(10))
    except (subprocess.TimeoutExpired, ProcessLookupError):
        kill9(proc)


def json_lines(text: str) -> list[dict[str, Any]]:
    """Parse JSON-per-line output, skipping blank lines."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]
