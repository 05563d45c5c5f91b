"""The transports and teams-config code stays readable: small modules, short functions.

(STYLE.md: a module under 400 lines, a function under 60.) The list is this part of the
project; a project-wide check can take it over.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    *sorted((ROOT / "src/tether/transports").glob("*.py")),
    *sorted((ROOT / "src/tether/remote").glob("*.py")),
    ROOT / "src/tether/config.py",
    ROOT / "src/tether/config_json.py",
    ROOT / "src/tether/teams_check.py",
    ROOT / "src/tether/runner/availability.py",
    *sorted((ROOT / "tests/transports").glob("*.py")),
    ROOT / "tests/e2e/test_teams_check.py",
    ROOT / "tests/support/sshd.py",
    ROOT / "tests/support/sshd_files.py",
    ROOT / "tests/support/ssh_teams.py",
]
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


def test_no_module_over_400_lines() -> None:
    long = {
        m.relative_to(ROOT).as_posix(): n for m in MODULES if (n := _lines(m)) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_over_60_lines() -> None:
    long = []
    for module in MODULES:
        for node in ast.walk(ast.parse(module.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long.append(f"{module.relative_to(ROOT)}:{node.lineno} {node.name} ({length})")
    assert long == []


def _lines(module: Path) -> int:
    return len(module.read_text().splitlines())
