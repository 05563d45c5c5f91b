"""Finding agent CLIs and their versions; a missing CLI is a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.hub import demo_team, running_hub
from tests.support.openai_responses import codex_bin
from tether.agents import detect
from tether.agents.detect import (
    detect_agents,
    find_agent_binary,
    package_version,
    require_agent_binary,
)
from tether.config import TeamConfig, TetherConfig
from tether.errors import AgentError


@pytest.fixture
def codex(monkeypatch: pytest.MonkeyPatch) -> str:
    """The installed codex CLI, named by TETHER_CODEX_BIN (the test is skipped without one)."""
    binary = codex_bin()
    if binary is None:
        pytest.skip("the codex CLI is not installed")
    monkeypatch.setenv("TETHER_CODEX_BIN", str(binary))
    return str(binary)


def test_missing_binary_names_it_and_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TETHER_CODEX_BIN", raising=False)
    # Not even a checkout's node_modules/.bin (CI installs the real CLIs there).
    monkeypatch.setattr(detect, "_search_dirs", list)
    with pytest.raises(AgentError) as caught:
        require_agent_binary("codex", path="/nonexistent")
    message = str(caught.value)
    assert "'codex'" in message and "npm install -g @openai/codex" in message


def test_env_override_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "my-gemini"
    fake.write_text("#!/bin/sh\necho 'gemini 9.8.7'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("TETHER_GEMINI_BIN", str(fake))
    assert find_agent_binary("gemini", path="/nonexistent") == str(fake)


async def test_version_from_the_command_when_there_is_no_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = tmp_path / "claude"
    fake.write_text("#!/bin/sh\necho '3.2.1 (Claude Code)'\n")
    fake.chmod(0o755)
    monkeypatch.setenv("TETHER_CLAUDE_BIN", str(fake))
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.chdir(tmp_path)
    agents = await detect_agents(("claude", "no-such-agent"))
    assert agents == {"claude": "3.2.1", "no-such-agent": None}


async def test_runner_hello_reports_installed_agents(tmp_path: Path, codex: str) -> None:
    expected = package_version(codex)
    assert expected and expected[0].isdigit()
    async with running_hub(tmp_path) as hub:
        assert hub.runner is not None
        hello = hub.runner.hello()
    assert hello.agents["codex"] == expected
    assert set(hello.agents) == {"claude", "codex", "gemini"}


async def test_teams_show_whether_the_runner_has_each_agent_cli(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, codex: str
) -> None:
    monkeypatch.delenv("TETHER_GEMINI_BIN", raising=False)
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no gemini anywhere
    monkeypatch.setattr(detect, "_search_dirs", list)
    config = TetherConfig(
        teams={
            "api": TeamConfig(name="api", path=str(tmp_path), agent="codex"),
            "docs": TeamConfig(name="docs", path=str(tmp_path), agent="gemini"),
            "toy": demo_team(tmp_path, name="toy"),
        }
    )
    async with running_hub(tmp_path, config) as hub, hub.client() as client:
        teams = {t["name"]: t for t in await client.teams()}
    assert teams["api"]["agent_version"] == package_version(codex)
    assert teams["api"]["agent_installed"] is True
    assert teams["docs"]["agent_installed"] is False
    assert "agent_installed" not in teams["toy"]  # nothing to look for
