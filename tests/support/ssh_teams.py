"""Teams that reach the test sshd (tests/support/sshd.py) through tether's ssh transport."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.sshd import SshServer, sshd_available
from tether.config import RemoteOptions, TeamConfig


def remote_options(server: SshServer, **overrides: Any) -> RemoteOptions:
    """Options that reach `server` and nothing else (the user's ~/.ssh/config is left out)."""
    values: dict[str, Any] = {
        "identity": str(server.identity_file),
        "known_hosts": str(server.known_hosts_file),
        "port": server.port,
        "ssh_config": "none",
        "connect_timeout": 5,
        "server_alive_interval": 2,
        "server_alive_count_max": 2,
        "control_persist": 60,
    }
    values.update(overrides)
    return RemoteOptions(**values)


def ssh_team(
    server: SshServer,
    path: Path | str,
    name: str = "remote",
    *,
    agent: str = "demo",
    options: RemoteOptions | None = None,
    **kwargs: Any,
) -> TeamConfig:
    """A team running `agent` in `path` on the test server."""
    return TeamConfig(
        name=name,
        path=str(path),
        agent=agent,  # type: ignore[arg-type]
        remote=f"ssh {server.user}@{server.host}",
        remote_options=options or remote_options(server),
        **kwargs,
    )


# The marks of a module whose tests need a real sshd (`pytestmark = NEEDS_SSHD`).
NEEDS_SSHD = [
    pytest.mark.ssh,
    pytest.mark.skipif(not sshd_available(), reason="OpenSSH server not installed"),
]


@pytest.fixture(scope="module")
def sshd() -> Iterator[SshServer]:
    """One loopback sshd for the tests of a module (import it into the module or a conftest);
    a test that asks for it is skipped where no OpenSSH server is installed."""
    if not sshd_available():
        pytest.skip("OpenSSH server not installed")
    with SshServer() as server:
        yield server
