"""The `exec` transport: the agent runs behind a prefix command.

    remote = "docker exec -i backend"
    remote = "kubectl exec -i pod-0 --"
    remote = "wsl"

run `PREFIX sh -c WRAPPER tether-wrap PATH ARGV…` (see `wrapped`).

The prefix is run directly (no local shell); path and argv reach the far side as
separate arguments of the `wrapped` sh script, so nothing is re-parsed there either.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping, Sequence

from tether.config import TeamConfig
from tether.errors import AgentError, TransportError
from tether.remote.spec import ExecPrefix
from tether.transports.subprocesses import run_to_end, start_piped
from tether.transports.wrapped import RemoteProcess, wrapper_argv

log = logging.getLogger("tether.transports.exec")


class ExecTransport:
    """Spawns a team's agents through `docker exec -i`, `kubectl exec -i … --`, `wsl` …"""

    name = "exec"

    def __init__(self, team: TeamConfig, prefix: ExecPrefix) -> None:
        self.team = team
        self.prefix = list(prefix.argv)
        self.where = " ".join(self.prefix)

    async def run(self, words: Sequence[str], timeout: float = 30) -> tuple[int, str, str]:
        """Run `PREFIX WORDS` to completion: (exit code, stdout, stderr)."""
        self._check_prefix()
        return await run_to_end([*self.prefix, *words], timeout=timeout)

    def _check_prefix(self) -> None:
        if shutil.which(self.prefix[0]) is None:
            raise TransportError(
                f"the program {self.prefix[0]!r} of remote = {self.team.remote!r} is not on PATH",
                hint="install it (docker, kubectl, wsl …) or give its full path in `remote`",
            )

    async def spawn(
        self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str]
    ) -> RemoteProcess:
        """Start `argv` in `cwd` behind the prefix; returns once the wrapper runs it."""
        if not argv:
            raise AgentError("no command to run")
        self._check_prefix()
        proc = await start_piped([*self.prefix, *wrapper_argv(cwd, argv)])
        process = RemoteProcess(proc, where=self.where, run_remote=self._run_remote)
        timeout = self.team.session_init_timeout
        try:
            await process.handshake(env, timeout)
        except TimeoutError:
            await process.terminate(grace_s=1)
            raise TransportError(
                f"the agent behind {self.where!r} did not start within {timeout:g} s"
            ) from None
        if process.remote_pid is None:
            code = await proc.wait()
            failure = process.wrapper_failure()
            if failure is not None:
                raise failure
            raise TransportError(
                f"`{self.where}` failed (exit code {code}):"
                f" {process.early_stderr.strip() or 'no message'}",
                hint="is the container/pod running and the name right?",
            )
        return process

    async def _run_remote(self, words: Sequence[str]) -> int:
        code, _, _ = await self.run(words, timeout=15)
        return code
