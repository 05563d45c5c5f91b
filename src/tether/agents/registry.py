"""Which adapter serves which `agent = …` kind: one table, one row a kind.

A row names where its factory lives (`module:attribute`, imported on first use, so a
runner that only runs Claude never imports the ACP package) and says in one line what
the kind runs. The error for a kind the table lacks lists the table's kinds.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

from tether.agents.base import AgentAdapter, AgentContext
from tether.errors import ConfigError

AdapterFactory = Callable[[AgentContext], AgentAdapter]


@dataclass(frozen=True)
class AdapterSpec:
    """One `agent = …` value: where its adapter comes from, and what it runs."""

    factory: str
    """`module:attribute` of a callable taking an `AgentContext`, returning the adapter
    (a module name starting with `.` is one of `tether.agents`)."""
    description: str

    def load(self) -> AdapterFactory:
        """Import the factory."""
        module, _, attribute = self.factory.partition(":")
        loaded = importlib.import_module(module, package="tether.agents")
        return cast(AdapterFactory, getattr(loaded, attribute))


ADAPTERS: dict[str, AdapterSpec] = {
    "claude": AdapterSpec(".claude:ClaudeAdapter", "Claude Code, stream-json on stdio"),
    "codex": AdapterSpec(".codex:CodexAdapter", "Codex CLI, `codex app-server`"),
    "gemini": AdapterSpec(".gemini:create_gemini_adapter", "Gemini CLI, over ACP or headless"),
    "acp": AdapterSpec(".acp:AcpAdapter", "any Agent Client Protocol agent"),
    "command": AdapterSpec(".command:CommandAdapter", "any command; its output lines"),
    "demo": AdapterSpec(".demo:DemoAdapter", "the built-in demo agent (no network)"),
    "terminal": AdapterSpec(".terminal:TerminalAdapter", "any TUI in a PTY, mirrored"),
}


def create_adapter(ctx: AgentContext) -> AgentAdapter:
    """The adapter for the team's agent kind."""
    kind = ADAPTERS.get(ctx.team.agent)
    if kind is None:
        raise ConfigError(
            f"team {ctx.team.name!r}: agent {ctx.team.agent!r} is not supported by this runner",
            hint="use one of: " + ", ".join(ADAPTERS),
        )
    return kind.load()(ctx)
