"""Where an agent process runs: `local` (subprocess), `ssh`, `exec` prefix."""

from tether.transports.base import AgentProcess, Transport
from tether.transports.local import LocalTransport

__all__ = ["AgentProcess", "LocalTransport", "Transport"]
