"""Every command that talks to a hub takes --hub, --ca and --insecure, and uses them."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tether.cli.app import app

HUB_COMMANDS = [
    ["teams"],
    ["sessions"],
    ["start", "demo"],
    ["send", "s_x", "hi"],
    ["interrupt", "s_x"],
    ["stop", "s_x"],
    ["resume", "s_x"],
    ["mode", "s_x", "plan"],
    ["attach", "s_x"],
    ["mcp"],
    ["token"],
    ["pair", "new", "--no-qr"],
    ["devices"],
    ["revoke", "d_x"],
    ["users", "add", "bob"],
    ["share", "s_x"],
    ["share", "list"],
    ["share", "revoke", "sh_x"],
    ["audit"],
    ["runner"],
    ["login", "--code", "ABCD-EFGH"],
]


def invoke(home: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(
        app, list(args), env={"TETHER_HOME": str(home), "COLUMNS": "300"}, input=""
    )
    return result.exit_code, result.output


@pytest.mark.parametrize("command", HUB_COMMANDS, ids=" ".join)
def test_ca_is_used(tmp_path: Path, command: list[str]) -> None:
    missing = tmp_path / "no-such-ca.pem"
    code, text = invoke(tmp_path, *command, "--hub", "https://127.0.0.1:9", "--ca", str(missing))
    assert code == 2 and f"CA file {missing} does not exist" in text, text


@pytest.mark.parametrize("command", HUB_COMMANDS, ids=" ".join)
def test_insecure_is_used(tmp_path: Path, command: list[str]) -> None:
    plain = "http://0.0.0.0:9"  # not loopback: plain text there needs --insecure
    code, text = invoke(tmp_path, *command, "--hub", plain)
    assert code == 2 and "refusing to talk to 0.0.0.0 over plain http://" in text, text
    code, text = invoke(tmp_path, *command, "--hub", plain, "--insecure")
    assert "refusing to talk" not in text, text
