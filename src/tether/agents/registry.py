"""Which adapter serves which `agent = …` kind."""

from __future__ import annotations

from tether.agents.base import AgentAdapter, AgentContext
from tether.errors import ConfigError


def create_adapter(ctx: AgentContext) -> AgentAdapter:
    """The adapter for the team's agent kind."""
    kind = ctx.team.agent
    if kind == "demo":
        from tether.agents.demo import DemoAdapter

        return DemoAdapter(ctx)
    if kind == "claude":
        from tether.agents.claude import ClaudeAdapter

        return ClaudeAdapter(ctx)
    if kind == "command":
        from tether.agents.command import CommandAdapter

        return CommandAdapter(ctx)
    if kind == "codex":
        from tether.agents.codex import CodexAdapter

        return CodexAdapter(ctx)
    if kind == "acp":
        from tether.agents.acp import AcpAdapter

        return AcpAdapter(ctx)
    if kind == "terminal":
        from tether.agents.terminal import TerminalAdapter

        return TerminalAdapter(ctx)
    if kind == "gemini":
        from tether.agents.gemini import create_gemini_adapter

        return create_gemini_adapter(ctx)
    raise ConfigError(
        f"team {ctx.team.name!r}: agent {kind!r} is not supported by this runner yet",
        hint="use one of: claude, command, demo",
    )
