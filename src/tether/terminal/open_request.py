"""What `tether run` asks the PTY host for: a program, where, with what, at which size."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

from tether.terminal.local_socket import LocalSocketError
from tether.terminal.screen import clamp_size


@dataclass(frozen=True)
class OpenRequest:
    """Start `argv` in `cwd` with `env` on a PTY of `cols` × `rows`, published as `name`."""

    argv: list[str]
    cwd: str
    env: dict[str, str]
    cols: int = 80
    rows: int = 24
    name: str = ""
    agent_hooks: bool = True
    """Install tether's permission hook when the program is Claude Code."""

    def message(self) -> dict[str, Any]:
        """The `open` request as sent on the socket."""
        return {"op": "open", **asdict(self)}

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> OpenRequest:
        """Validate an `open` request."""
        argv, env = message.get("argv"), message.get("env")
        if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
            raise LocalSocketError("`open` needs argv: a non-empty list of strings")
        if not isinstance(env, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in env.items()
        ):
            raise LocalSocketError("`open` needs env: an object of strings")
        cols, rows = message.get("cols", 80), message.get("rows", 24)
        if not isinstance(cols, int) or not isinstance(rows, int):
            raise LocalSocketError("`open` needs integer cols and rows")
        cols, rows = clamp_size(cols, rows)
        name = str(message.get("name") or os.path.basename(argv[0]))[:80]
        return cls(
            argv=list(argv),
            cwd=str(message.get("cwd") or os.getcwd()),
            env=dict(env),
            cols=cols,
            rows=rows,
            name="".join(c for c in name if c.isprintable()) or "terminal",
            agent_hooks=bool(message.get("agent_hooks", True)),
        )
