"""The `tether` command line: parse arguments, call into the packages. Nothing else lives here.

One module per command group (`serving`, `sessions`, `attach`, `identity`, `shares`,
`audit`, `mcp_stdio`, `meta`), each a `commands` Typer merged into the root app in
`tether.cli.app`; commands of other packages are listed in `tether.cli.app.EXTENSIONS` and
imported only when used. Importing this package loads Typer and nothing heavy: the hub,
uvicorn, FastAPI/Starlette, the MCP SDK, pydantic models and Rich load in the commands
that need them (a test keeps it so).
"""

from tether.cli.app import app, main

__all__ = ["app", "main"]
