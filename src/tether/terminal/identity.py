"""Who a PTY host is to the hub: a runner of the user's own CLI device.

`tether run` publishes terminals through a background host that connects to the hub's
runner socket with the CLI's own credentials (no separate pairing). Its runner id is
derived from that device's id, so the rule "a runner id belongs to the device that
registered it" holds: no other device can serve as it, and it can serve as nothing else.
"""

from __future__ import annotations

PREFIX = "terminals-"


def terminal_runner_id(device_id: str) -> str:
    """The runner id of the PTY host of CLI device `device_id`."""
    return PREFIX + device_id


def is_terminal_runner_id(runner_id: str, device_id: str | None) -> bool:
    """Is `runner_id` the PTY host id of `device_id`?"""
    return device_id is not None and runner_id == terminal_runner_id(device_id)
