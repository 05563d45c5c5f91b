"""About tether itself: `tether version` and `tether protocol schema`."""

from __future__ import annotations

import sys

import typer

import tether
from tether.cli.group import sub_app

commands = typer.Typer()
protocol_app = sub_app("The wire protocol.")
commands.add_typer(protocol_app, name="protocol", rich_help_panel="About")


@commands.command(rich_help_panel="About")
def version() -> None:
    """Print the version."""
    sys.stdout.write(tether.__version__ + "\n")


@protocol_app.command("schema")
def protocol_schema() -> None:
    """Print the JSON Schema of the wire protocol."""
    import json

    from tether.protocol.schema import protocol_schema as schema

    sys.stdout.write(json.dumps(schema(), indent=2) + "\n")
