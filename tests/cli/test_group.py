"""Help screens without `<bool>`; commands other packages add, loaded only when used; the
coercion shortcut changes no answer."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tether.cli.app import RootGroup, app

EXTENSION = '''
import typer

notify_app = typer.Typer(help="Notifications.")

@notify_app.command()
def test(channel: str = "ntfy") -> None:
    """Send a test notification."""
    print(f"notified via {channel}")

@notify_app.command()
def status() -> None:
    """Show sinks."""
    print("no sinks")

def run(command: list[str]) -> None:
    """Run a command in a terminal session."""
    print("would run", command)
'''


@pytest.fixture
def extensions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    (tmp_path / "tether_test_ext.py").write_text(EXTENSION)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(
        RootGroup,
        "extensions",
        {
            "notify": "tether_test_ext:notify_app",
            "shell": "tether_test_ext:run",
            "later": "tether_not_installed_yet.cli:app",
        },
    )
    yield
    sys.modules.pop("tether_test_ext", None)


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "120"})
    return result.exit_code, result.output


def test_extensions_are_listed_run_and_missing_ones_hidden(extensions: None) -> None:
    assert "tether_test_ext" not in sys.modules  # nothing loaded before it is needed
    code, text = invoke("--help")
    assert code == 0
    assert "notify" in text and "shell" in text and "later" not in text
    code, text = invoke("notify", "test", "--channel", "webhook")
    assert (code, text.strip()) == (0, "notified via webhook")
    code, text = invoke("shell", "ls", "x")
    assert code == 0 and "['ls', 'x']" in text
    code, text = invoke("later")
    assert code != 0 and "No such command" in text


def test_an_extension_with_a_real_import_error_is_not_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "tether_broken_ext.py").write_text("import tether_no_such_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(RootGroup, "extensions", {"broken": "tether_broken_ext:app"})
    result = CliRunner().invoke(app, ["broken"])
    assert isinstance(result.exception, ModuleNotFoundError)


def all_commands() -> list[list[str]]:
    import typer.main

    root = typer.main.get_command(app)
    paths: list[list[str]] = [[]]
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        paths.append([name])
        for sub in getattr(command, "commands", {}):
            paths.append([name, sub])
    return paths


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "tether")
def test_no_help_screen_shows_bool_noise(path: list[str]) -> None:
    code, text = invoke(*path, "--help")
    assert code == 0, text
    assert "<bool>" not in text


def test_a_value_that_needs_converting_is_still_checked() -> None:
    code, text = invoke("up", "--port", "eighty")
    assert code == 2 and "'--port'" in text and "valid integer" in text
    code, text = invoke("audit", "--limit", "0")
    assert code == 2 and "'--limit'" in text and "greater than or equal to 1" in text


def test_a_flag_from_the_environment_is_read_as_typer_reads_it(tmp_path: Path) -> None:
    # 0.0.0.0 is not loopback: plain http there needs --insecure (here: TETHER_INSECURE=1).
    env = {"TETHER_HOME": str(tmp_path), "COLUMNS": "200"}
    refused = CliRunner().invoke(app, ["sessions", "--hub", "http://0.0.0.0:9"], env=env)
    assert refused.exit_code == 2 and "refusing to talk" in refused.output
    allowed = CliRunner().invoke(
        app, ["sessions", "--hub", "http://0.0.0.0:9"], env={**env, "TETHER_INSECURE": "1"}
    )
    assert allowed.exit_code == 2 and "refusing to talk" not in allowed.output
