"""The real Claude Code TUI (pinned 2.1.328) under `tether run`, against the scripted model
server: its permission prompt reaches `tether attach S --permissions allow|deny` on another
terminal as a structured request, whichever answer comes first wins, and the TUI shows it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.e2e.cluster import Cluster
from tests.support.anthropic_api import Reply, ScriptedAnthropicAPI
from tests.support.claude_env import TEST_API_KEY, claude_env, prepare_home, require_claude_binary
from tests.support.procs import tether_argv, wait_until
from tests.terminal.ptydrive import PtyUser, terminal_hub

pytestmark = [pytest.mark.e2e, pytest.mark.claude]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from terminal_hub(tmp_path_factory.mktemp("claude-tui-hub"))


def tui_env(api_url: str, home: Path, work: Path, hub: Cluster) -> dict[str, str]:
    prepare_home(home, [work])
    for config in (home / ".claude" / ".claude.json", home / ".claude.json"):
        seed = json.loads(config.read_text())
        # The interactive CLI asks once whether to use an API key from the environment.
        seed["customApiKeyResponses"] = {"approved": [TEST_API_KEY[-20:]], "rejected": []}
        config.write_text(json.dumps(seed))
    import os

    env = claude_env(api_url, home, prepare=False)
    env.update(
        TETHER_HOME=str(hub.home),
        TETHER_HUB=hub.url,
        PYTHONPATH=os.environ["PYTHONPATH"],
        TERM="xterm-256color",
    )
    env.pop("NO_COLOR", None)
    return env


@contextmanager
def claude_asked_to_touch(
    hub: Cluster, tmp_path: Path, name: str
) -> Iterator[tuple[ScriptedAnthropicAPI, PtyUser, str, Path]]:
    """The real Claude TUI under `tether run`, its model scripted to `touch work/NAME`:
    yields (api, the local user, the session id, the file) once the TUI is ready."""
    work = tmp_path / "work"
    work.mkdir()
    target = work / name
    with ScriptedAnthropicAPI() as api:
        api.script(
            Reply.tool_use("Bash", {"command": f"touch {target}", "description": "make a file"}),
            Reply.text("finished the turn"),
        )
        env = tui_env(api.url, tmp_path / "claude-home", work, hub)
        argv = tether_argv("run", "--", require_claude_binary(), "--permission-mode", "default")
        user = PtyUser(argv, env=env, cwd=work, cols=110, rows=35)
        try:
            banner = user.wait_for(re.compile(r"tether: (s_\S+)").search, timeout=30)
            found = re.search(r"tether: (s_\S+)", banner)
            assert found is not None
            user.wait_for("❯", timeout=60)
            yield api, user, found.group(1), target
        finally:
            user.kill()


def ask_for_the_file(user: PtyUser) -> None:
    user.type("please make the file")
    user.pump(0.5)
    user.type("\r")


@pytest.mark.parametrize("answer", ["allow", "deny"])
def test_a_remote_answer_to_the_tui_permission_prompt(
    hub: Cluster, tmp_path: Path, answer: str
) -> None:
    with claude_asked_to_touch(hub, tmp_path, "made-by-claude") as (api, user, session, target):
        approver = hub.attach("approver", session, "--json", "--permissions", answer)
        try:
            approver.wait_stderr(f"attached to {session} as owner")
            ask_for_the_file(user)
            request = approver.wait_for("permission_request", timeout=60)
            assert request["tool"] == "Bash"
            assert request["input"]["command"] == f"touch {target}"
            decision = approver.wait_for("permission_decision", timeout=30)
            assert decision["behavior"] == answer
            assert decision["request_id"] == request["request_id"]
            if answer == "allow":
                wait_until(target.exists, timeout=30, what="the file Claude was allowed to make")
                user.wait_for("Allowed by PermissionRequest hook", timeout=30)
            user.wait_for("finished the turn", timeout=60)
            assert target.exists() == (answer == "allow")  # a deny leaves no file
            tool_result = api.main_requests[-1].tool_results()[0]
            assert bool(tool_result.get("is_error")) == (answer == "deny")
        finally:
            approver.stop()


@pytest.mark.parametrize(("key", "behavior"), [("1", "allow"), ("4", "cancelled")])
def test_answered_in_the_terminal_first_the_card_goes_away(
    hub: Cluster, tmp_path: Path, key: str, behavior: str
) -> None:
    with claude_asked_to_touch(hub, tmp_path, "made-locally") as (_api, user, session, target):
        watcher = hub.attach("watcher", session, "--json", "--follow")
        try:
            watcher.wait_stderr("as follower")
            ask_for_the_file(user)
            request = watcher.wait_for("permission_request", timeout=60)
            user.wait_for("Do you want to proceed?", timeout=30)
            for _ in range(10):  # the local TUI answers first (it ignores keys for a moment)
                user.type(key)
                user.pump(1.5)
                if "Do you want to proceed?" not in user.text():
                    break
            decision = watcher.wait_for("permission_decision", timeout=30)
            assert decision["request_id"] == request["request_id"]
            assert (decision["behavior"], decision["by"]) == (behavior, "terminal")
            assert decision["message"] == "answered in the terminal"
            if behavior == "allow":
                wait_until(target.exists, timeout=30, what="the file allowed in the terminal")
            else:
                assert not target.exists()
            info = hub.get(f"/v1/sessions/{session}")
            assert info["pending_permissions"] == 0
        finally:
            watcher.stop()
