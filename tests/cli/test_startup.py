"""The CLI loads only what a command needs (the timings are in bench/cli_startup.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.timing import scaled

# Never loaded by `import tether.cli`: the server side and the big SDKs.
SERVER_SIDE = (
    "tether.hub",
    "tether.serve",
    "tether.runner",
    "tether.store",
    "tether.mcp",
    "tether.agents",
    "tether.transports",
    "uvicorn",
    "fastapi",
    "starlette",
    "mcp",
)
# Not even loaded by `tether version` / `tether --help`.
NOT_FOR_QUICK_COMMANDS = (
    *SERVER_SIDE,
    "pydantic",
    "httpx",
    "websockets",
    "keyring",
    "tether.config",
)

_DUMP = (
    "import atexit, sys\n"
    "atexit.register(lambda: sys.stderr.write('\\nMODULES ' + ' '.join(sorted(sys.modules))))\n"
)


RUN_CLI = "import sys; sys.argv = ['tether', *sys.argv[1:]]\nfrom tether.cli import main; main()"


def loaded(code: str, home: Path, *args: str, **env: str) -> set[str]:
    """The modules a Python process running `code` (with `args`) had loaded at exit."""
    done = subprocess.run(
        [sys.executable, "-c", _DUMP + code, *args],
        capture_output=True,
        text=True,
        timeout=scaled(60),
        env={"PATH": "/usr/bin:/bin", "TETHER_HOME": str(home), "COLUMNS": "100", **env},
    )
    line = done.stderr.rsplit("MODULES ", 1)[-1]
    return set(line.split())


def offenders(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_importing_the_cli_loads_no_hub_uvicorn_starlette_or_mcp(tmp_path: Path) -> None:
    modules = loaded("import tether.cli", tmp_path)
    assert "tether.cli" in modules
    assert offenders(modules, SERVER_SIDE) == []


@pytest.mark.parametrize(
    "argv", [["version"], ["--help"], ["attach", "--help"], ["teams", "--help"]]
)
def test_quick_commands_load_neither_pydantic_nor_the_client(
    tmp_path: Path, argv: list[str]
) -> None:
    # pydantic would come in through Typer's own coercion (see tether.cli.coercion).
    modules = loaded(RUN_CLI, tmp_path, *argv)
    assert "tether.cli.app" in modules
    assert offenders(modules, NOT_FOR_QUICK_COMMANDS) == []
