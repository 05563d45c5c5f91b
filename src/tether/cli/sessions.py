"""Looking and steering: `teams`, `sessions`, `start`, `send`, `interrupt`, `stop`, `resume`,
`mode`. Each is one HTTP call (two when given an id prefix: see `tether.cli.ids`)."""

from __future__ import annotations

import functools
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import typer

from tether.cli.common import CaOpt, ConfigOpt, DataDirOpt, Hub, HubOpt, InsecureOpt, JsonOpt
from tether.cli.ids import with_session
from tether.cli.output import columns, copyable, print_rows, say
from tether.sanitize import terminal_name

if TYPE_CHECKING:
    from tether.client.api import HubApi
    from tether.protocol.api_shapes import SessionRow, Team

T = TypeVar("T")

PANEL = "Sessions"
commands = typer.Typer()

SessionArg = Annotated[
    str, typer.Argument(metavar="SESSION", help="Session id (or a unique start of one).")
]


def _on_session(hub: Hub, session: str, call: Callable[[HubApi, str], Awaitable[T]]) -> T:
    """Run `call(client, full session id)` for an id or a unique prefix."""
    return hub.ask(lambda client: with_session(client, session, lambda sid: call(client, sid)))


@commands.command(rich_help_panel=PANEL)
def teams(
    action: Annotated[
        str | None,
        typer.Argument(
            metavar="check",
            help="`check`: validate the config and probe each team's host, path and agent.",
        ),
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    data_dir: DataDirOpt = None,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """List the teams runners serve; `tether teams check -c tether.toml` probes a config."""
    if action is not None:
        from tether.cli.common import data_dir_of
        from tether.cli.teams_check import teams_check

        raise typer.Exit(teams_check(action, config, data_dir_of(data_dir), as_json))

    rows = Hub(hub, ca, insecure).ask(lambda client: client.teams())
    print_rows(rows, _TEAM_COLUMNS, _team_row, as_json=as_json)


_TEAM_COLUMNS = columns("team", "agent", "host", "path", "runner", "online", "available")


def _team_row(t: Team) -> tuple[object, ...]:
    return (
        t["name"],
        _agent_cell(t),
        t["host"],
        t["path"],
        t["runner_id"],
        _yes(t["runner_connected"]),
        _available_cell(t),
    )


def _agent_cell(team: Team) -> str:
    agent = str(team["agent"])
    if "agent_installed" in team:  # the runner looked for this agent's CLI
        agent += f" {team['agent_version']}" if team["agent_installed"] else " (CLI missing!)"
    return agent


def _available_cell(team: Team) -> str:
    if team.get("available", True):
        return "yes"
    return f"no: {team.get('unavailable_reason') or 'its probe failed'}"


def _yes(flag: object) -> str:
    return "yes" if flag else "no"


@commands.command(rich_help_panel=PANEL)
def sessions(
    as_json: JsonOpt = False, hub: HubOpt = None, ca: CaOpt = None, insecure: InsecureOpt = False
) -> None:
    """List sessions: team, state, owner, followers, runner last seen, last seq, exit code,
    pending requests, tokens and cost so far."""
    rows = Hub(hub, ca, insecure).ask(lambda client: client.sessions())
    # Replicas on PostgreSQL: which replica each runner is connected to.
    replicas = any(s.get("runner_replica") for s in rows)
    headers = [*_SESSION_HEADERS, "replica"] if replicas else _SESSION_HEADERS
    cells = functools.partial(_session_row, now=time.time(), replicas=replicas)
    print_rows(rows, columns(*headers), cells, as_json=as_json)


_SESSION_HEADERS = [
    "session",
    "team",
    "state",
    "owner",
    "followers",
    "runner seen",
    "last seq",
    "exit",
    "pending",
    "tokens in/out",
    "cost",
]


def _session_row(s: SessionRow, *, now: float, replicas: bool) -> tuple[object, ...]:
    seen = s.get("runner_last_seen")
    if s.get("runner_connected"):
        seen_text = "now"
    else:
        seen_text = f"{int(now - seen)} s ago" if seen else "never"
    row = (
        s["id"],
        s["team"],
        s["state"],
        s.get("owner") or "-",
        s["followers"],
        seen_text,
        s["last_seq"],
        "-" if s.get("exit_code") is None else s["exit_code"],
        s.get("pending_permissions", 0),
        _tokens_cell(s),
        "-" if not s.get("cost") else f"${s['cost']:.4f}",
    )
    return (*row, s.get("runner_replica") or "-") if replicas else row


def _tokens_cell(s: SessionRow) -> str:
    if s.get("input_tokens") is None:
        return "-"  # not loaded by this hub since it started: unknown, not zero
    return f"{s['input_tokens']:,}/{s.get('output_tokens') or 0:,}"


@commands.command(rich_help_panel=PANEL)
def start(
    team: Annotated[str, typer.Argument(metavar="TEAM", help="Team name.")],
    prompt: Annotated[
        str | None, typer.Option("--prompt", "-p", metavar="TEXT", help="First turn.")
    ] = None,
    adopt: Annotated[
        str | None,
        typer.Option(
            metavar="ID", help="Continue an agent session started outside tether (its session id)."
        ),
    ] = None,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Start a session of a team; prints the session id."""

    started = Hub(hub, ca, insecure).ask(lambda client: client.start(team, prompt, adopt=adopt))
    copyable(terminal_name(started["id"]))


TakeOpt = Annotated[
    bool,
    typer.Option(
        "--take",
        help="Take the owner slot from your other device (it stays connected as a follower).",
    ),
]


@commands.command(rich_help_panel=PANEL)
def send(
    session: SessionArg,
    text: Annotated[str, typer.Argument(metavar="TEXT", help="The message.")],
    take: TakeOpt = False,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Send a message to a session (as owner, when no owner is connected, or with --take);
    a session that went to sleep (idle_timeout) or ended cleanly is woken with its context."""
    accepted = _on_session(
        Hub(hub, ca, insecure), session, lambda c, sid: c.send(sid, text, take=take)
    )
    say("woke the session (resumed with its context) and sent" if accepted.get("woke") else "sent")


@commands.command(rich_help_panel=PANEL)
def interrupt(
    session: SessionArg, hub: HubOpt = None, ca: CaOpt = None, insecure: InsecureOpt = False
) -> None:
    """Interrupt the running turn (from any of the owner's devices, or when no owner is
    connected)."""
    _on_session(Hub(hub, ca, insecure), session, lambda c, sid: c.interrupt(sid))
    say("interrupting")


@commands.command(rich_help_panel=PANEL)
def stop(
    session: SessionArg,
    take: TakeOpt = False,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Stop a session's agent (as owner, when no owner is connected, or with --take); a
    message wakes it again with its context."""
    _on_session(Hub(hub, ca, insecure), session, lambda c, sid: c.stop(sid, take=take))
    say("stopping")


@commands.command(rich_help_panel=PANEL)
def resume(
    session: SessionArg,
    prompt: Annotated[
        str | None, typer.Option("--prompt", "-p", metavar="TEXT", help="First turn.")
    ] = None,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Start the agent of an exited session again: same session, the agent keeps its history."""
    _on_session(Hub(hub, ca, insecure), session, lambda c, sid: c.resume(sid, prompt))
    say("resuming")


@commands.command(rich_help_panel=PANEL)
def mode(
    session: SessionArg,
    permission_mode: Annotated[
        str, typer.Argument(metavar="MODE", help="Claude: default, acceptEdits, plan, …")
    ],
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Change the permission mode of a session's agent (as owner, or when no owner is connected)."""
    _on_session(
        Hub(hub, ca, insecure),
        session,
        lambda c, sid: c.set_permission_mode(sid, permission_mode),
    )
    say(f"asked for permission mode {terminal_name(permission_mode)}")
