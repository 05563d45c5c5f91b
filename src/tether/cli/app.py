"""The `tether` command: the root group, the command modules, and the extensions table."""

from __future__ import annotations

import os

import typer

from tether.cli import (
    attach,
    audit,
    identity,
    mcp_stdio,
    meta,
    prune,
    run,
    serving,
    sessions,
    shares,
)
from tether.cli.common import fail
from tether.cli.group import TetherGroup
from tether.errors import TetherError

# Commands that live in other packages, loaded only when used (see tether.cli.group):
# name → "module:attribute", the attribute a typer.Typer or a function.
EXTENSIONS: dict[str, str] = {
    "notify": "tether.notify.cli:notify_app",
}


class RootGroup(TetherGroup):
    """`tether`: the built-in commands and the extensions."""

    extensions = EXTENSIONS


app = typer.Typer(
    name="tether",
    help="Run AI coding agents anywhere; watch and steer them from anywhere.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=RootGroup,
)
for module in (serving, sessions, attach, run, mcp_stdio, identity, shares, audit, prune, meta):
    app.add_typer(module.commands)


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        app()
    except TetherError as exc:
        fail(exc)
