"""The `demo` agent: the Claude adapter driving tether's built-in stream-json demo program."""

from __future__ import annotations

import sys

from tether.agents.claude import ClaudeAdapter


class DemoAdapter(ClaudeAdapter):
    """Exercises the real stream-json adapter path with no network and no API key."""

    agent_name = "demo"
    default_command = (sys.executable, "-m", "tether.agents.demo_agent")

    def env(self) -> dict[str, str]:
        """The demo needs nothing beyond the team's own env."""
        return dict(self.ctx.team.env)
