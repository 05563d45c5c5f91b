"""`tether mcp` as a user starts it: without a token it says how to get one."""

from __future__ import annotations

from pathlib import Path

from tests.support.procs import run_cli


def test_tether_mcp_without_a_token_explains(tmp_path: Path) -> None:
    proc = run_cli(tmp_path / "empty-home", "http://127.0.0.1:9", "mcp", check=False, input="")
    assert proc.returncode == 2
    assert "no cli credentials" in proc.stderr
    assert "tether login" in proc.stderr
