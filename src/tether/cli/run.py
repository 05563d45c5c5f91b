"""`tether run -- CMD …`: parse, then `tether.ptyhost.run.run_terminal` (docs/terminal.md)."""

# No `from __future__ import annotations`: typer reads the annotations at runtime.

from typing import Annotated

import typer

from tether.cli.common import data_dir_of, fail, hub_url_of, run
from tether.errors import TetherError

commands = typer.Typer()


@commands.command("run", context_settings={"allow_interspersed_args": False})
def run_command(
    command: Annotated[list[str], typer.Argument(help="The program and its arguments.")],
    name: Annotated[
        str | None, typer.Option("--name", "-n", help="Session name (default: the program).")
    ] = None,
    hub: Annotated[
        str | None,
        typer.Option("--hub", envvar="TETHER_HUB", help="Hub URL (default: this machine's)."),
    ] = None,
    no_agent_hooks: Annotated[
        bool,
        typer.Option(
            "--no-agent-hooks", help="Do not bridge Claude Code's permission prompts to viewers."
        ),
    ] = False,
) -> None:
    """Run a program in this terminal, published as a session: `tether run -- claude`.

    The program outlives this terminal: detach with Ctrl+] d (or just close it) and pick it
    up anywhere with `tether attach SESSION`. Exits with the program's status."""
    from tether.client.access import hub_access
    from tether.ptyhost.run import run_terminal

    home = data_dir_of(None)
    try:
        access = hub_access(hub_url_of(hub), home)
    except TetherError as exc:
        fail(exc)
    code = run(run_terminal(access, home, list(command), name=name, agent_hooks=not no_agent_hooks))
    raise typer.Exit(code)
