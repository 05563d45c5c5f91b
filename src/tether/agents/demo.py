"""The `demo` agent: the Claude adapter driving tether's built-in stream-json demo program."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import tether
from tether.agents.claude import ClaudeAdapter


class DemoAdapter(ClaudeAdapter):
    """Exercises the real stream-json adapter path with no network and no API key."""

    agent_name = "demo"
    default_command = (sys.executable, "-m", "tether.agents.demo_agent")

    def env(self) -> dict[str, str]:
        """The team's env; on a remote team also PYTHONPATH, since ssh forwards no env.

        The demo runs with this runner's Python (an absolute path), which is right on
        a loopback host or a container sharing this filesystem: enough for tests and demos.
        """
        env = dict(self.ctx.team.env)
        if self.ctx.team.remote and "PYTHONPATH" not in env:
            source = str(Path(tether.__file__).resolve().parents[1])
            inherited = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
            env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys([source, *inherited]))
        return env
