"""`tether prune`: remove exited sessions and their events, older than a cutoff (admins).
The hub does it (`POST /v1/admin/prune`), in one transaction, on either store."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tether.cli.common import CaOpt, Hub, HubOpt, InsecureOpt, JsonOpt, fail
from tether.cli.output import json_line, say
from tether.cli.sessions import PANEL
from tether.cli.spans import parse_since
from tether.errors import ConfigError

if TYPE_CHECKING:
    from tether.protocol.api_retention import PruneAnswer

commands = typer.Typer()


@commands.command(rich_help_panel=PANEL)
def prune(
    older_than: Annotated[
        str,
        typer.Option(
            "--older-than",
            metavar="WHEN",
            help="90d, 12h, an ISO date, or epoch seconds: sessions that exited and have"
            " not changed since then go.",
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go.")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask first.")] = False,
    as_json: JsonOpt = False,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Remove exited sessions, with their events, last updated before WHEN (admins)."""
    try:
        before = parse_since(older_than, option="--older-than")
    except ConfigError as exc:
        fail(exc)
    target = Hub(hub, ca, insecure)
    if not dry_run and not yes:
        counted = target.ask(lambda client: client.prune(before, dry_run=True))
        if not counted["sessions"]:
            _show(counted, as_json)
            return
        what = f"{len(counted['sessions'])} exited session(s) and their {counted['events']} events"
        if not sys.stdin.isatty():
            fail(
                ConfigError(
                    f"tether prune would remove {what}, and there is no terminal to ask",
                    hint="pass --yes to remove them without asking (--dry-run lists them)",
                )
            )
        typer.confirm(f"Remove {what}? This cannot be undone", abort=True)
    _show(target.ask(lambda client: client.prune(before, dry_run=dry_run)), as_json)


def _show(answer: PruneAnswer, as_json: bool) -> None:
    if as_json:
        typer.echo(json_line(answer))
        return
    count, events = len(answer["sessions"]), answer["events"]
    if not count:
        say("nothing to prune: no exited session is that old")
    elif answer["dry_run"]:
        say(f"would remove {count} exited session(s) and {events} events:")
        for session_id in answer["sessions"]:
            typer.echo(f"  {session_id}")
    else:
        say(f"removed {count} exited session(s) and {events} events")
