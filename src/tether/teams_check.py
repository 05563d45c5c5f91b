"""Probe where each team would run: can its host be reached, does its `path` exist there,
is its agent program installed there. Nothing is started.

`tether teams check` probes every team of a config and prints a table; the runner
probes its teams when it starts and before each start (`tether.runner.availability`) and
announces the result in `hello`. The reasons are the errors a start would raise (the
same classes and messages), so "unavailable" and a failed start say the same thing.

A probe never blocks the event loop and never hangs: local checks (a stat and a PATH
search, which can hang on a dead network mount) run in a worker thread, remote ones
are subprocesses, and the whole probe has a deadline (`probe_timeout`).
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tether.agents.detect import require_agent_binary
from tether.config import TeamConfig, TetherConfig
from tether.errors import AgentError, ConfigError, TetherError, TransportError
from tether.transports.base import Transport
from tether.transports.exec_prefix import ExecTransport
from tether.transports.factory import transport_for
from tether.transports.failures import classify_ssh, remote_command_missing, remote_path_missing
from tether.transports.local import missing_path, missing_program
from tether.transports.ssh import SshTransport

OK = "ok"
NOT_CHECKED = "not checked"
LOCAL_PROBE_S = 10.0
EXEC_PROBE_S = 30.0
REMOTE_SLACK_S = 10.0

# Prints two lines: `path ok|missing` and `agent ok|missing`; same `~/` rule as the wrapper.
PROBE = r"""d=$1
p=$2
case $d in "~") d=$HOME;; "~/"*) d=$HOME/${d#"~/"};; esac
case $p in "~/"*) p=$HOME/${p#"~/"};; esac
if cd "$d" 2>/dev/null; then echo "path ok"; else echo "path missing"; fi
if command -v "$p" >/dev/null 2>&1; then echo "agent ok"; else echo "agent missing"; fi
"""

DEFAULT_PROGRAMS = {"claude": "claude", "codex": "codex", "gemini": "gemini"}
NEEDS_COMMAND = frozenset({"acp", "command"})


@dataclass
class TeamCheck:
    """What a probe found for one team: a short text per column, and why it cannot start."""

    team: str
    transport: str
    where: str
    reachable: str = "-"
    path: str = "-"
    agent: str = "-"
    reason: str | None = None  # why the team cannot start (None: nothing found wrong)
    code: str | None = None  # the error code of the first problem
    notes: list[str] = field(default_factory=list)  # what the config loader converted

    @property
    def ok(self) -> bool:
        """Every probe passed."""
        return self.reason is None

    def fail(self, column: str, shown: str, error: TetherError) -> None:
        """Record a problem: `shown` in its column, the error's text in `reason`."""
        setattr(self, column, shown)
        self.reason = str(error) if self.reason is None else f"{self.reason}; {error}"
        self.code = self.code or error.code


def agent_program(team: TeamConfig) -> tuple[str | None, TetherError | None]:
    """The program a team's agent runs (its argv[0]), or why none can be named.

    (None, None) for an agent kind the probe does not know: nothing to check.
    """
    if team.command:
        return team.command[0], None
    if team.agent == "demo":
        return sys.executable, None
    if team.agent in DEFAULT_PROGRAMS:
        return DEFAULT_PROGRAMS[team.agent], None
    if team.agent in NEEDS_COMMAND:
        return None, ConfigError(
            f"team {team.name!r}: agent {team.agent!r} needs `command` (the agent's argv)",
            hint='add e.g. command = ["your-agent", "--flag"] to the team',
        )
    return None, None


def probe_timeout(team: TeamConfig) -> float:
    """How long a probe of `team` may take before it counts as "no answer"."""
    if team.remote is None or team.remote.strip() in ("", "local"):
        return LOCAL_PROBE_S
    if team.remote.lstrip().startswith("ssh"):
        return team.remote_options.connect_timeout + REMOTE_SLACK_S
    return EXEC_PROBE_S


async def check_team(
    team: TeamConfig, data_dir: Path, *, timeout: float | None = None
) -> TeamCheck:
    """Probe one team; problems become texts in the result, never exceptions."""
    try:
        transport = transport_for(team, data_dir)
    except TetherError as exc:
        result = TeamCheck(team.name, "?", team.host)
        result.fail("reachable", exc.message, exc)
        return result
    where = transport.where if isinstance(transport, SshTransport | ExecTransport) else "local"
    result = TeamCheck(team.name, transport.name, where)
    limit = probe_timeout(team) if timeout is None else timeout
    try:
        async with asyncio.timeout(limit):
            await _probe(transport, team, result)
    except TimeoutError:
        error = TransportError(
            f"{where} did not answer the probe within {limit:g} s",
            hint="check that the host, container or disk is up; a start would wait as long",
        )
        result.fail("reachable", f"no answer in {limit:g} s", error)
    except TetherError as exc:
        result.fail("reachable", exc.message, exc)
    return result


async def _probe(transport: Transport, team: TeamConfig, result: TeamCheck) -> None:
    program, problem = agent_program(team)
    if isinstance(transport, SshTransport | ExecTransport):
        out = await _probe_remote(transport, team, program)
        result.reachable = OK
        if "path ok" not in out:
            missing = remote_path_missing(team.path, result.where)
            result.fail("path", f"missing: {team.path}", missing)
        if problem is not None:
            result.fail("agent", problem.message, problem)
        elif program is None:
            result.agent = NOT_CHECKED
        elif "agent ok" in out:
            result.agent = OK
        else:
            error = remote_command_missing(program, result.where)
            result.fail("agent", f"not found: {program}", error)
        return
    result.reachable = OK
    # A stat and a PATH search: in a thread, since a dead network mount can hang them.
    for column, shown, why in await asyncio.to_thread(_probe_local, team, program, problem):
        result.fail(column, shown, why)
    if result.agent == "-":
        result.agent = OK if program is not None else NOT_CHECKED
    if result.path == "-":
        result.path = OK


async def _probe_remote(
    transport: SshTransport | ExecTransport, team: TeamConfig, program: str | None
) -> str:
    """Run PROBE where the team runs; its stdout, or the classified failure of the carrier."""
    argv = ["sh", "-c", PROBE, "tether-check", team.path, program or "sh"]
    if isinstance(transport, SshTransport):
        await transport.ensure_master()
        code, out, err = await transport.run(remote=shlex.join(argv))
        if "path " not in out:
            failure = classify_ssh(code, err, transport.where)
            raise failure or TransportError(
                f"the probe on {transport.where} failed (exit code {code}): {_last(err)}"
            )
        return out
    code, out, err = await transport.run(argv)
    if "path " not in out:
        raise TransportError(
            f"`{transport.where}` failed (exit code {code}): {_last(err)}",
            hint="is the container/pod running and the name right?",
        )
    return out


def _probe_local(
    team: TeamConfig, program: str | None, problem: TetherError | None
) -> list[tuple[str, str, TetherError]]:
    found: list[tuple[str, str, TetherError]] = []
    missing = missing_path(team.path)
    if missing is not None:
        found.append(("path", f"missing: {team.path}", missing))
    if problem is not None:
        found.append(("agent", problem.message, problem))
    elif program is not None and team.command is None and team.agent in DEFAULT_PROGRAMS:
        try:  # found where the adapter looks: $TETHER_<NAME>_BIN, PATH, node_modules/.bin
            require_agent_binary(program, team.env.get("PATH"))
        except AgentError as exc:
            found.append(("agent", f"not found: {program}", exc))
    elif program is not None:
        absent = missing_program(program, team.env)
        if absent is not None:
            found.append(("agent", f"not found: {program}", absent))
    return found


def _last(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


async def check_teams(config: TetherConfig, data_dir: Path) -> list[TeamCheck]:
    """Probe every team of `config` at once (a slow host delays only its own row)."""
    results = await asyncio.gather(*(check_team(t, data_dir) for t in config.teams.values()))
    for result in results:
        result.notes = config.notes_for(result.team)
    return list(results)
