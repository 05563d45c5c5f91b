"""The `ssh` transport: the agent runs on another host, reached with the OpenSSH client.

One master connection per (host, user, port, keys) carries every session
(ControlMaster/ControlPersist): the first spawn makes it (`ssh -N`, classified and
retried), later ones only open a channel on it. Each session is
`ssh HOST 'sh -c WRAPPER tether-wrap PATH ARGV…'` (see `wrapped`), every word quoted.
Network failures are retried after 1 s, 5 s and 10 s; authentication, host-key and
configuration failures never are.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from tether.config import TeamConfig
from tether.errors import AgentError, TransportError
from tether.remote.ssh_args import SshArgs
from tether.transports.failures import SshError, SshTimeout, classify_ssh
from tether.transports.ssh_options import SshCommand, build_ssh_command
from tether.transports.subprocesses import run_to_end, start_piped
from tether.transports.wrapped import RemoteProcess, wrapper_argv

log = logging.getLogger("tether.transports.ssh")

RETRY_DELAYS: tuple[float, ...] = (1.0, 5.0, 10.0)
T = TypeVar("T")

# One lock per (event loop, control socket): concurrent first spawns must not race to
# become the master (the losers would silently open their own connections).
_master_locks: dict[tuple[int, str], asyncio.Lock] = {}


def _master_lock(path: str) -> asyncio.Lock:
    key = (id(asyncio.get_running_loop()), path)
    lock = _master_locks.get(key)
    if lock is None:
        lock = _master_locks[key] = asyncio.Lock()
    return lock


class SshTransport:
    """Spawns a team's agents on an SSH host."""

    name = "ssh"

    def __init__(
        self,
        team: TeamConfig,
        data_dir: Path,
        target: SshArgs,
        *,
        retry_delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self.team = team
        self.ssh: SshCommand = build_ssh_command(target, team.remote_options, data_dir)
        self.retry_delays = tuple(retry_delays)
        # Counted for logs and tests: connections tried, and retries after network failures.
        self.attempts = 0
        self.retries = 0

    @property
    def where(self) -> str:
        """user@host:port, for messages."""
        return self.ssh.where

    # -- the master connection -----------------------------------------------------------------

    async def run(
        self,
        *words: str,
        remote: str | None = None,
        timeout: float = 30,
        stdin: bytes | None = None,
    ) -> tuple[int, str, str]:
        """Run one ssh command to completion: (exit code, stdout, stderr)."""
        return await run_to_end(self.ssh.argv(*words, remote=remote), timeout=timeout, stdin=stdin)

    async def master_alive(self) -> bool:
        """Is the shared connection up (`ssh -O check`)?"""
        if not self._socket_exists():
            return False
        code, _, _ = await self.run("-O", "check", timeout=10)
        return code == 0

    async def ensure_master(self) -> None:
        """Open the shared connection unless it is up; raise a classified SshError if not."""
        if self.ssh.control_path is None or self._socket_exists():
            # A stale socket is no problem: the session's own ssh (ControlMaster=auto)
            # replaces it, and its failures are classified like ours.
            return
        async with _master_lock(self.ssh.control_path):
            if await self.master_alive():
                return
            self.attempts += 1
            limit = self.team.remote_options.connect_timeout + 30
            try:
                code, _, err = await self.run("-N", timeout=limit)
            except TimeoutError:
                raise SshTimeout(
                    f"{self.where} did not finish the SSH handshake in {limit:g} s",
                    hint="check the host; raise remote_options.connect_timeout",
                ) from None
            failure = classify_ssh(code, err, self.where) if code else None
            if failure is not None:
                raise failure
            if code != 0:
                raise SshError(f"ssh to {self.where} failed (exit code {code}): {err.strip()}")
            log.info("ssh master connection to %s is up", self.where)

    async def close_master(self) -> None:
        """End the shared connection and every session on it (`ssh -O exit`)."""
        if self._socket_exists():
            with contextlib.suppress(TimeoutError):
                await self.run("-O", "exit", timeout=10)

    async def with_retries(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """Run `attempt`, retrying network failures after each of `retry_delays`."""
        for delay in (*self.retry_delays, None):
            try:
                return await attempt()
            except SshError as exc:
                if not exc.retryable or delay is None:
                    raise
                self.retries += 1
                log.warning("%s; retrying in %g s", exc.message, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    # -- Transport ---------------------------------------------------------------------------

    async def spawn(
        self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str]
    ) -> RemoteProcess:
        """Start `argv` in `cwd` on the host; returns once the remote wrapper is running it."""
        if not argv:
            raise AgentError("no command to run")

        async def attempt() -> RemoteProcess:
            await self.ensure_master()
            if self.team.sync == "push":
                await self.push(cwd)
            return await self._start(argv, cwd, env)

        return await self.with_retries(attempt)

    async def _start(self, argv: Sequence[str], cwd: str, env: Mapping[str, str]) -> RemoteProcess:
        self.attempts += 1 if self.ssh.control_path is None else 0
        remote = shlex.join(wrapper_argv(cwd, argv))
        proc = await start_piped(self.ssh.argv(remote=remote, tty=self.ssh.target.tty))
        process = RemoteProcess(
            proc, where=self.where, run_remote=self._run_remote, explain_exit=self._explain_exit
        )
        timeout = self.team.remote_options.connect_timeout + self.team.session_init_timeout
        try:
            await process.handshake(env, timeout)
        except TimeoutError:
            await process.terminate(grace_s=1)
            raise SshTimeout(
                f"the agent on {self.where} did not start within {timeout:g} s",
                hint="the host may be overloaded; raise session_init_timeout",
            ) from None
        if process.remote_pid is not None:
            return process
        code = await proc.wait()
        failure = process.wrapper_failure() or classify_ssh(code, process.early_stderr, self.where)
        if failure is not None:
            raise failure
        raise TransportError(
            f"the agent on {self.where} ended before it started (exit code"
            f" {code}): {process.early_stderr.strip() or 'no message'}"
        )

    async def _run_remote(self, words: Sequence[str]) -> int:
        code, _, _ = await self.run(remote=shlex.join(words), timeout=15)
        return code

    async def _explain_exit(self, code: int, stderr_tail: Sequence[str]) -> str | None:
        """A last stderr line saying the connection was lost, when that is why ssh ended."""
        if code != 255:
            return None
        failure = classify_ssh(code, "\n".join(stderr_tail), self.where)
        if failure is not None:
            return f"tether: {failure.message}"
        # A mux client whose master died exits 255 with nothing on stderr.
        if self.ssh.control_path is not None and not await self.master_alive():
            return f"tether: the SSH connection to {self.where} was lost"
        return None

    async def push(self, cwd: str) -> None:
        """rsync the team's `sync_from` directory to `cwd` on the host, over the master."""
        source = self.team.sync_from
        if not source:
            raise AgentError(
                f'team {self.team.name!r} has sync = "push" but no `sync_from`',
                hint="set sync_from to the local directory to copy",
            )
        src = _directory_arg(source)
        dest = f"{self.ssh.host}:{cwd.rstrip('/')}/"
        proc = await asyncio.create_subprocess_exec(
            "rsync",
            "-a",
            "--mkpath",
            "-e",
            shlex.join(["ssh", *self.ssh.options]),
            src,
            dest,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err_bytes = await proc.communicate()
        if proc.returncode:
            err = err_bytes.decode("utf-8", "replace")
            # rsync's own exit codes hide ssh's: classify by the ssh lines it passed on.
            failure = classify_ssh(255, err, self.where)
            if failure is not None:
                raise failure
            raise TransportError(
                f"sync of {src} to {self.where}:{cwd} failed: {err.strip()}",
                hint="check that rsync is installed on both sides",
            )
        log.info("pushed %s to %s:%s", src, self.where, cwd)

    def _socket_exists(self) -> bool:
        path = self.ssh.control_path
        return path is not None and os.path.exists(path)


def _directory_arg(path: str) -> str:
    """`path` as rsync's "contents of this directory" argument (trailing slash)."""
    return os.path.expanduser(path).rstrip("/") + "/"
