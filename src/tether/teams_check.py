"""`tether teams check`: validate the teams config and probe where each team would run.

For every team, in parallel: can its host be reached (ssh master / exec prefix), does
its `path` exist there, and is its agent program installed there. Nothing is started.
"""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tether.config import TeamConfig, TetherConfig
from tether.errors import TetherError
from tether.transports.exec_prefix import ExecTransport
from tether.transports.factory import transport_for
from tether.transports.ssh import SshTransport

OK = "ok"

# Prints two lines: `path ok|missing` and `agent ok|missing`; same `~/` rule as the wrapper.
PROBE = r"""d=$1
case $d in "~") d=$HOME;; "~/"*) d=$HOME/${d#"~/"};; esac
if cd "$d" 2>/dev/null; then echo "path ok"; else echo "path missing"; fi
if command -v "$2" >/dev/null 2>&1; then echo "agent ok"; else echo "agent missing"; fi
"""

DEFAULT_PROGRAMS = {"claude": "claude", "codex": "codex", "gemini": "gemini"}


@dataclass
class TeamCheck:
    """What `teams check` found for one team."""

    team: str
    transport: str
    where: str
    reachable: str = "-"
    path: str = "-"
    agent: str = "-"

    @property
    def ok(self) -> bool:
        """Every probe passed."""
        return self.reachable == OK and self.path == OK and self.agent == OK


def agent_program(team: TeamConfig) -> str | None:
    """The program a team's agent runs (first word of its argv), if known without starting it."""
    if team.command:
        return team.command[0]
    if team.agent == "demo":
        return sys.executable
    return DEFAULT_PROGRAMS.get(team.agent)


async def check_team(team: TeamConfig, data_dir: Path) -> TeamCheck:
    """Probe one team; problems become short texts in the result, never exceptions."""
    try:
        transport = transport_for(team, data_dir)
    except TetherError as exc:
        return TeamCheck(team.name, "?", team.host, reachable=exc.message)
    result = TeamCheck(team.name, transport.name, team.host)
    program = agent_program(team)
    try:
        if isinstance(transport, SshTransport):
            result.where = transport.where
            await transport.ensure_master()
            result.reachable = OK
            code, out, err = await transport.run(
                remote=shlex.join(["sh", "-c", PROBE, "tether-check", team.path, program or "sh"])
            )
        elif isinstance(transport, ExecTransport):
            code, out, err = await transport.run(
                ["sh", "-c", PROBE, "tether-check", team.path, program or "sh"]
            )
            if code != 0 and "path " not in out:
                result.reachable = (err.strip().splitlines() or [f"exit code {code}"])[-1]
                return result
            result.reachable = OK
        else:
            result.reachable = OK
            out = _probe_local(team.path, program or "sh")
    except TetherError as exc:
        result.reachable = exc.message
        return result
    except TimeoutError:
        result.reachable = "timed out"
        return result
    result.path = OK if "path ok" in out else f"missing: {team.path}"
    if program is None:
        result.agent = f"agent {team.agent!r} needs `command`"
    else:
        result.agent = OK if "agent ok" in out else f"not found: {program}"
    return result


def _probe_local(path: str, program: str) -> str:
    lines = ["path ok" if os.path.isdir(os.path.expanduser(path)) else "path missing"]
    found = os.access(program, os.X_OK) if os.sep in program else shutil.which(program)
    lines.append("agent ok" if found else "agent missing")
    return "\n".join(lines)


async def check_teams(config: TetherConfig, data_dir: Path) -> list[TeamCheck]:
    """Probe every team of `config` at once."""
    return list(await asyncio.gather(*(check_team(t, data_dir) for t in config.teams.values())))
