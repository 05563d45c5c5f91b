"""Run the real Claude Code CLI offline against :mod:`tests.support.anthropic_api`.

Typical use::

    with ScriptedAnthropicAPI() as api:
        api.script(Reply.text("hi"))
        env = claude_env(api.url, tmp_path / "home")
        argv = claude_argv()          # stream-json + --permission-prompt-tool stdio
        proc = subprocess.Popen(argv, env=env, cwd=project_dir, stdin=PIPE, stdout=PIPE)

The environment is built from scratch (only ``PATH`` and locale variables are
inherited) so a developer's own ``ANTHROPIC_*`` / ``CLAUDE_*`` / Bedrock / Vertex
settings or ``~/.claude`` can never leak into a test.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from tether.agents.claude_launch import STREAM_JSON_FLAGS
from tether.agents.detect import find_agent_binary

__all__ = [
    "CLAUDE_BIN_ENV",
    "TEST_API_KEY",
    "claude_argv",
    "claude_env",
    "find_claude_binary",
    "prepare_home",
    "require_claude_binary",
]

CLAUDE_BIN_ENV = "TETHER_CLAUDE_BIN"
"""Environment variable that overrides where the ``claude`` binary is found."""

TEST_API_KEY = "sk-ant-api03-tether-test-key"
"""Dummy API key; the scripted server accepts anything."""

_INHERITED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT")


def find_claude_binary() -> str | None:
    """The Claude Code CLI: ``$TETHER_CLAUDE_BIN``, ``PATH``, then ``node_modules/.bin``
    (where ``npm ci`` puts the pinned version), as tether itself looks; or ``None``."""
    return find_agent_binary("claude")


def require_claude_binary() -> str:
    """Return the CLI path, or skip the calling pytest test when it is missing."""
    path = find_claude_binary()
    if path is None:
        import pytest

        pytest.skip("Claude Code CLI not found (set TETHER_CLAUDE_BIN)")
    return path


def prepare_home(home: Path, trusted_dirs: Sequence[Path | str] = ()) -> Path:
    """Create a fresh HOME with onboarding done and ``trusted_dirs`` trusted.

    ``-p`` mode skips the onboarding and workspace-trust dialogs anyway; the
    pre-seeded ``~/.claude.json`` only makes that explicit and stable across
    CLI versions. Existing files are left untouched (so a resumed run keeps the
    first run's sessions).

    Returns:
        ``home`` (created if missing).
    """
    home.mkdir(parents=True, exist_ok=True)
    (home / ".claude").mkdir(exist_ok=True)
    projects = {
        str(Path(d).resolve()): {
            "hasTrustDialogAccepted": True,
            "hasCompletedProjectOnboarding": True,
            "allowedTools": [],
        }
        for d in trusted_dirs
    }
    seed = json.dumps(
        {
            "hasCompletedOnboarding": True,
            "lastOnboardingVersion": "2.1.328",
            "bypassPermissionsModeAccepted": True,
            "projects": projects,
        },
        indent=2,
    )
    # $CLAUDE_CONFIG_DIR/.claude.json is used when CLAUDE_CONFIG_DIR is set (as
    # claude_env does); ~/.claude.json otherwise.
    for cfg in (home / ".claude" / ".claude.json", home / ".claude.json"):
        if not cfg.exists():
            cfg.write_text(seed)
    return home


def claude_env(
    base_url: str,
    home: Path | str,
    *,
    api_key: str = TEST_API_KEY,
    extra: Mapping[str, str] | None = None,
    prepare: bool = True,
    sandbox: bool | None = None,
) -> dict[str, str]:
    """A complete environment for running ``claude`` offline against ``base_url``
    (``ScriptedAnthropicAPI.url``) with ``home`` as its HOME.

    The CLI keeps its config in ``home/.claude`` (``CLAUDE_CONFIG_DIR``) and its
    transcripts, what ``--resume`` reads, in ``.claude/projects/<cwd-slug>/<id>.jsonl``.
    ``extra`` is added last; ``prepare`` calls :func:`prepare_home` first. ``sandbox``
    sets ``IS_SANDBOX=1``, without which the CLI refuses bypass mode as root (``None``:
    only when running as root).
    """
    home = Path(home)
    if prepare:
        prepare_home(home)
    tmpdir = home / "tmp"
    tmpdir.mkdir(parents=True, exist_ok=True)
    env = {k: os.environ[k] for k in _INHERITED if k in os.environ}
    env.setdefault("PATH", os.defpath)
    env.update({f"XDG_{kind}_HOME": str(home / sub) for kind, sub in _XDG.items()})
    env.update(
        HOME=str(home),
        USERPROFILE=str(home),
        CLAUDE_CONFIG_DIR=str(home / ".claude"),
        SHELL="/bin/bash",
        # Bash-tool scratch dirs and the CLI's messaging socket go here, not in /tmp.
        CLAUDE_CODE_TMPDIR=str(tmpdir),
        ANTHROPIC_BASE_URL=base_url,
        ANTHROPIC_API_KEY=api_key,
        CLAUDE_CODE_ENTRYPOINT="sdk-py",
        # Fail fast instead of retrying for minutes if the server misbehaves.
        CLAUDE_CODE_MAX_RETRIES="0",
        API_TIMEOUT_MS="60000",
        NO_COLOR="1",
    )
    # No telemetry, auto-update, error reporting, feedback surveys.
    env.update(dict.fromkeys(_QUIET, "1"))
    if sandbox is None:
        sandbox = hasattr(os, "getuid") and os.getuid() == 0
    if sandbox:
        env["IS_SANDBOX"] = "1"
    env.update(extra or {})
    return env


_XDG = {"CONFIG": ".config", "CACHE": ".cache", "DATA": ".local/share", "STATE": ".local/state"}
_QUIET = (
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
    "DISABLE_AUTOUPDATER",
    "DISABLE_TELEMETRY",
    "DISABLE_ERROR_REPORTING",
    "DISABLE_BUG_COMMAND",
)


def claude_argv(
    binary: str | None = None,
    *,
    resume: str | None = None,
    permission_mode: str | None = None,
    model: str | None = None,
    permission_prompt_tool: str | None = "stdio",
    extra_args: Sequence[str] = (),
) -> list[str]:
    """argv for a long-lived stream-json session (the tether adapter's shape).

    Args:
        binary: CLI path; :func:`require_claude_binary` when ``None``.
        resume: Session id to resume (written as ``--resume=<id>``).
        permission_mode: ``default``/``acceptEdits``/``plan``/``bypassPermissions``.
        model: ``--model`` value (any string; the scripted server echoes it).
        permission_prompt_tool: ``stdio`` routes permission prompts to
            ``control_request`` ``can_use_tool`` on stdout; ``None`` omits it.
        extra_args: Appended verbatim.
    """
    argv = [binary or require_claude_binary(), *STREAM_JSON_FLAGS]
    if permission_prompt_tool:
        argv += ["--permission-prompt-tool", permission_prompt_tool]
    if resume:
        argv.append(f"--resume={resume}")
    if permission_mode:
        argv += ["--permission-mode", permission_mode]
    if model:
        argv += ["--model", model]
    argv.extend(extra_args)
    return argv
