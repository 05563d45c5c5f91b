"""Child processes of the end-to-end benchmark: started in their own process group, read,
measured (/proc RSS), profiled (py-spy) and always stopped — on failure and on Ctrl+C too."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent


class BenchError(Exception):
    """A scenario could not be measured; the message says what happened and where to look."""


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def python_argv(script: str, *args: str) -> list[str]:
    """Run one of the bench scripts with this interpreter."""
    return [sys.executable, str(BENCH / script), *args]


def tether_argv(*args: str) -> list[str]:
    """`tether ARGS` as a user types it: the venv's console script (else `python -m tether`)."""
    script = Path(sys.executable).parent / "tether"
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "tether", *args]


def memory_mb(pid: int) -> dict[str, float]:
    """Resident memory of a process from /proc/PID/status: now (`rss`) and peak (`hwm`)."""
    fields: dict[str, float] = {}
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {"rss": float("nan"), "hwm": float("nan")}
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) / 1024  # kB → MB
    return {"rss": fields.get("VmRSS", float("nan")), "hwm": fields.get("VmHWM", float("nan"))}


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc/PID/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return float("nan")
    fields = text.rsplit(")", 1)[1].split()  # after "(comm)", which may contain spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Proc:
    """One child: stdout read line by line (JSON objects, or plain words like `ready`) unless
    it goes to the log with stderr; stdin a pipe only when asked for."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        env: dict[str, str],
        log_dir: Path,
        *,
        stdout_to_log: bool = False,
        stdin: bool = False,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_dir / f"{name}.log"
        self.stdout_to_log = stdout_to_log
        self.want_stdin = stdin
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        """The child's pid (it leads its process group)."""
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> Proc:
        """Start it in a new session (Ctrl+C reaches only us; we stop it)."""
        log = self.log_path.open("ab")
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.argv,
                env=self.env,
                stdin=asyncio.subprocess.PIPE if self.want_stdin else asyncio.subprocess.DEVNULL,
                stdout=log if self.stdout_to_log else asyncio.subprocess.PIPE,
                stderr=log,
                start_new_session=True,
                limit=16 * 1024 * 1024,
            )
        finally:
            log.close()
        return self

    async def next_event(self, timeout: float) -> dict[str, Any]:
        """The next line on its stdout as a dict (`{"event": WORD}` for a plain word)."""
        assert self.proc is not None and self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except TimeoutError:
            raise BenchError(f"{self.name} said nothing for {timeout:.0f} s{self.tail()}") from None
        if not line:
            code = await self.proc.wait()
            raise BenchError(f"{self.name} exited with status {code}{self.tail()}")
        text = line.decode("utf-8", "replace").strip()
        try:
            value = json.loads(text)
        except ValueError:
            return {"event": text}
        return value if isinstance(value, dict) else {"event": text}

    async def expect(self, event: str, timeout: float) -> dict[str, Any]:
        """Read until `event` arrives."""
        while True:
            got = await self.next_event(timeout)
            if got.get("event") == event:
                return got

    def exited(self) -> int | None:
        """Its exit status once it has ended."""
        return None if self.proc is None else self.proc.returncode

    async def close_stdin(self) -> None:
        """EOF on its stdin (how an idle viewer process is told to finish)."""
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await self.proc.stdin.wait_closed()

    async def stop(self, grace_s: float = 20.0) -> None:
        """TERM its process group, KILL it after `grace_s`; never raises."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), grace_s)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    def tail(self, lines: int = 15) -> str:
        """The end of its log, for an error message."""
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            return ""
        if not text:
            return f" (log {self.log_path} is empty)"
        shown = "\n    ".join(text)
        return f"; the end of {self.log_path}:\n    {shown}"


class Profiler:
    """py-spy sampling some processes while a phase runs; raw (collapsed) stacks to a dir."""

    def __init__(self, out_dir: Path, native: bool, rate_hz: int = 200) -> None:
        found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
        if not Path(found).exists():
            raise BenchError("--profile needs py-spy: pip install py-spy (in the test extra)")
        self.py_spy = found
        self.out_dir = out_dir
        self.native = native
        self.rate_hz = rate_hz
        self.running: list[tuple[str, asyncio.subprocess.Process]] = []
        self.label, self.started = "", 0.0

    async def start(self, label: str, pids: dict[str, int]) -> None:
        """Start sampling each named pid."""
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name, pid in pids.items():
            out = self.out_dir / f"{label}-{name}.txt"
            argv = [self.py_spy, "record", "--pid", str(pid), "--rate", str(self.rate_hz)]
            argv += ["--format", "raw", "--output", str(out), "--threads"]
            # Native stacks need the target paused per sample; Python-only ones do not.
            argv += ["--native"] if self.native else ["--nonblocking"]
            log = (self.out_dir / f"{label}-{name}.py-spy.log").open("wb")
            proc = await asyncio.create_subprocess_exec(
                *argv, stdout=log, stderr=log, start_new_session=True
            )
            log.close()
            self.running.append((name, proc))
        await asyncio.sleep(1.0)  # py-spy needs a moment to attach
        self.label, self.started = label, time.monotonic()

    async def stop(self) -> None:
        """Stop sampling (SIGINT: py-spy writes its file and exits); note how long it ran."""
        if self.running:
            meta = {"seconds": time.monotonic() - self.started, "rate_hz": self.rate_hz}
            (self.out_dir / f"{self.label}-meta.json").write_text(json.dumps(meta))
        for _name, proc in self.running:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGINT)
        for _name, proc in self.running:
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        self.running.clear()
