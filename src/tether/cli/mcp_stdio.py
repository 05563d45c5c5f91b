"""`tether mcp`: tether's MCP tools on stdio, for Claude Code, Codex and other MCP clients."""

from __future__ import annotations

from typing import Annotated

import typer

from tether.cli.common import CaOpt, DataDirOpt, Hub, HubOpt, InsecureOpt, VerboseOpt, run
from tether.cli.logs import setup_logging

commands = typer.Typer()


@commands.command("mcp", rich_help_panel="Agents asking agents")
def mcp_stdio(
    idle_timeout: Annotated[
        float,
        typer.Option(
            metavar="SECONDS", help="Stop a pooled conversation idle this long (0: never)."
        ),
    ] = 1800.0,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
    data_dir: DataDirOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Serve tether's MCP tools on stdio (add to Claude Code, Codex …; see docs/mcp.md)."""
    from tether.mcp.stdio import serve_stdio

    setup_logging(verbose)()  # stdout is the MCP channel: logs go to stderr, at once
    access = Hub(hub, ca, insecure, data_dir).access()
    run(
        serve_stdio(
            access.url,
            access.token,
            idle_timeout=idle_timeout or None,
            verify=access.ssl or True,
            insecure=access.insecure,
        )
    )
