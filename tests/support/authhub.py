"""The names the auth tests know the in-process hub by. There is one hub fixture
(tests/support/hub.py, real identities); these are that fixture under its older names."""

from __future__ import annotations

from tests.support.hub import Device, HubHandle, MovableClock, running_hub

SecureHub = HubHandle
secure_hub = running_hub

__all__ = ["Device", "MovableClock", "SecureHub", "secure_hub"]
