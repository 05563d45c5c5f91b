"""The Gemini CLI: `gemini --acp` (Agent Client Protocol, so the owner answers its
permission prompts), or headless `gemini -p … --output-format stream-json --yolo` for
teams with `skip_permissions` (one process per turn, nothing asks)."""

from __future__ import annotations

from tether.agents.acp import AcpAdapter
from tether.agents.base import AgentAdapter, AgentContext
from tether.agents.process import program_argv


class GeminiAcpAdapter(AcpAdapter):
    """`gemini [-m MODEL] --acp`, driven as an ACP agent."""

    agent_name = "gemini"

    def argv(self) -> list[str]:
        """The gemini binary (or the team's `command`), the model, and `--acp`."""
        args = program_argv(self.ctx, "gemini")
        if self.ctx.team.model:
            args += ["-m", self.ctx.team.model]
        return [*args, "--acp"]


def create_gemini_adapter(ctx: AgentContext) -> AgentAdapter:
    """ACP mode, or headless stream-json when the team skips permissions."""
    if ctx.team.skip_permissions:
        from tether.agents.gemini_headless import GeminiHeadlessAdapter

        return GeminiHeadlessAdapter(ctx)
    return GeminiAcpAdapter(ctx)
