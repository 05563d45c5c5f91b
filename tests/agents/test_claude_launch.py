"""How the Claude adapter builds argv and env, and how failures become events — no real CLI
needed (the stream-json demo agent stands in where a process is wanted)."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from tests.support.hub import serving_teams, team_session, wait_for_event
from tether.agents.claude_launch import (
    claude_argv,
    claude_env,
    is_valid_agent_session_id,
)
from tether.agents.redaction import redact, secret_values
from tether.config import TeamConfig
from tether.errors import Conflict

CLAUDE = ("claude",)


def test_new_session_gets_its_id_up_front() -> None:
    sid = str(uuid.uuid4())
    argv = claude_argv(TeamConfig(name="t"), CLAUDE, agent_session_id=sid, resume=False)
    assert argv[0] == "claude"
    assert "--permission-prompt-tool" in argv and "stdio" in argv
    assert f"--session-id={sid}" in argv
    assert not any(a.startswith("--resume") for a in argv)


def test_resume_uses_the_equals_form() -> None:
    argv = claude_argv(TeamConfig(name="t"), CLAUDE, agent_session_id="abc-1", resume=True)
    assert "--resume=abc-1" in argv
    assert not any(a.startswith("--session-id") for a in argv)


def test_skip_permissions_means_bypass_mode_and_command_override() -> None:
    team = TeamConfig(
        name="t", skip_permissions=True, permission_mode="plan", model="m", command=["/opt/c"]
    )
    argv = claude_argv(team, CLAUDE, agent_session_id="x", resume=False)
    assert argv[0] == "/opt/c"
    assert argv[argv.index("--permission-mode") + 1] == "bypassPermissions"
    assert argv[argv.index("--model") + 1] == "m"


def test_is_sandbox_only_for_bypass_as_root_and_team_env_wins() -> None:
    bypass = TeamConfig(name="t", skip_permissions=True)
    assert claude_env(bypass, running_as_root=True)["IS_SANDBOX"] == "1"
    assert "IS_SANDBOX" not in claude_env(bypass, running_as_root=False)
    assert "IS_SANDBOX" not in claude_env(TeamConfig(name="t"), running_as_root=True)
    team = TeamConfig(name="t", env={"CLAUDE_CODE_ENTRYPOINT": "mine", "X": "1"})
    assert claude_env(team, running_as_root=False) == {"CLAUDE_CODE_ENTRYPOINT": "mine", "X": "1"}


def test_agent_session_ids_that_could_pass_for_flags_are_refused() -> None:
    assert is_valid_agent_session_id(str(uuid.uuid4()))
    for bad in ("", "-rf", "--help", "a b", "a;b", "x" * 200, "a/b"):
        assert not is_valid_agent_session_id(bad)


def test_secrets_are_redacted_from_agent_output() -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant-api03-secret-value", "PATH": "/usr/bin", "MY_TOKEN": "t"}
    secrets = secret_values(env)
    assert secrets == ["sk-ant-api03-secret-value"]  # short values and non-secrets left alone
    assert redact("bad key sk-ant-api03-secret-value!", secrets) == "bad key ***!"


async def test_missing_binary_refuses_the_start_with_the_reason(tmp_path: Path) -> None:
    team = TeamConfig(name="c", path=str(tmp_path), agent="claude", command=["no-such-claude-xyz"])
    async with serving_teams(tmp_path, team) as (_hub, client):
        # The runner's probe found it missing: the hub refuses at once, no session.
        with pytest.raises(Conflict) as refused:
            await client.start("c")
        assert await client.sessions() == []
    assert "no-such-claude-xyz" in str(refused.value) and "not found" in str(refused.value)


async def test_a_line_that_is_not_json_is_reported_and_the_session_goes_on(
    tmp_path: Path,
) -> None:
    banner = (
        "print('Welcome to the agent!', flush=True); import runpy;"
        " runpy.run_module('tether.agents.demo_agent', run_name='__main__')"
    )
    team = TeamConfig(
        name="c", path=str(tmp_path), agent="claude", command=[sys.executable, "-c", banner]
    )
    async with team_session(tmp_path, team) as session:
        error = await wait_for_event(session.remote, "error")
        await session.remote.send_message("hello")
        finished = await wait_for_event(session.remote, "turn_finished")
    assert "not a JSON object" in str(error["message"])
    assert "Welcome to the agent!" in str(error["message"])
    assert finished["status"] == "success"


async def test_a_crash_mid_session_is_exited_with_its_code(tmp_path: Path) -> None:
    team = TeamConfig(
        name="c",
        path=str(tmp_path),
        agent="claude",
        command=[sys.executable, "-m", "tether.agents.demo_agent"],
    )
    async with team_session(tmp_path, team) as session:
        await session.remote.send_message("exit 7")
        exited = await wait_for_event(session.remote, "exited")
        info = await session.client.session(session.id)
    assert exited["code"] == 7 and "reason" in exited
    assert info["state"] == "exited" and info["exit_code"] == 7
