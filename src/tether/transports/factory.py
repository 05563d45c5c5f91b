"""Pick the transport for a team from its `remote` setting."""

from __future__ import annotations

from pathlib import Path

from tether.config import TeamConfig
from tether.errors import ConfigError
from tether.transports.base import Transport
from tether.transports.local import LocalTransport

_local = LocalTransport()


def transport_for(team: TeamConfig, data_dir: Path) -> Transport:
    """`local` when the team has no `remote`; otherwise the matching remote transport."""
    if not team.remote:
        return _local
    raise ConfigError(
        f"team {team.name!r}: remote {team.remote!r} needs the ssh/exec transport,"
        " which this build does not have yet",
    )
