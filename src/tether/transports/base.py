"""The one interface every transport offers: spawn, then write, read lines, wait, terminate.

The contract (tests/transports/test_contract.py runs the same cases over every
transport): argv is never parsed by a shell, `cwd` may hold spaces and `;`, env values
arrive byte for byte, a missing program raises CommandNotFound and a missing path
PathNotFound (transports.failures), and `terminate` leaves nothing running.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Literal, Protocol

Stream = Literal["stdout", "stderr"]


class AgentProcess(Protocol):
    """A running agent process, wherever it runs."""

    @property
    def pid(self) -> int | None:
        """Local pid of the process (or of the ssh client carrying it)."""

    @property
    def returncode(self) -> int | None:
        """Exit code once it has ended (negative: killed by that signal)."""

    async def write(self, data: bytes) -> None:
        """Write to its stdin (raises TransportError when stdin is gone)."""

    async def close_stdin(self) -> None:
        """Close its stdin (EOF)."""

    def lines(self, stream: Stream) -> AsyncIterator[bytes]:
        """Lines of stdout or stderr, without the newline, until EOF."""

    async def wait(self) -> int:
        """Wait for it to end; return the exit code."""

    async def terminate(self, grace_s: float = 5.0) -> int:
        """End it: TERM, then KILL after `grace_s`; return the exit code."""

    async def send_signal(self, sig: int) -> None:
        """Send `sig` to its process group, as Ctrl+C does (nothing once it has ended)."""


class Transport(Protocol):
    """Spawns agent processes somewhere."""

    name: str

    async def spawn(self, argv: Sequence[str], *, cwd: str, env: Mapping[str, str]) -> AgentProcess:
        """Start `argv` in `cwd` with extra `env`; raise a TransportError if it cannot."""
