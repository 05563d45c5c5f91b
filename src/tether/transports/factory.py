"""Pick the transport for a team from its `remote` setting."""

from __future__ import annotations

from pathlib import Path

from tether.config import TeamConfig
from tether.remote.spec import ExecPrefix, parse_remote
from tether.transports.base import Transport
from tether.transports.exec_prefix import ExecTransport
from tether.transports.local import LocalTransport
from tether.transports.ssh import SshTransport

_local = LocalTransport()


def transport_for(team: TeamConfig, data_dir: Path) -> Transport:
    """`local` when the team has no `remote`; otherwise the matching remote transport."""
    spec = parse_remote(team.remote, team.name, allow_tty=team.allows_tty)
    if spec is None:
        return _local
    if isinstance(spec, ExecPrefix):
        return ExecTransport(team, spec)
    return SshTransport(team, data_dir, spec)
