"""Agent adapters: each speaks one agent's protocol and maps it to normalized events."""

from tether.agents.base import AgentAdapter, AgentContext
from tether.agents.registry import create_adapter

__all__ = ["AgentAdapter", "AgentContext", "create_adapter"]
