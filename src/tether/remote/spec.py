"""Parse a team's `remote` setting into where its agent runs.

remote = "ssh dev@build-box"            → SshArgs (any ssh command line people write:
                                          `ssh -i KEY -p 2222 -J bastion dev@host`,
                                          `ssh://dev@host:2222`; see `ssh_args`)
remote = "docker exec -i backend"       → ExecPrefix (any argv: kubectl, wsl, podman …)
remote = "kubectl exec -i pod-0 --"
remote = "local" (or unset)             → None: run here
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

from tether.errors import ConfigError
from tether.remote.ssh_args import SshArgs, parse_ssh_args


@dataclass(frozen=True)
class ExecPrefix:
    """A command that runs its trailing argv somewhere else (`docker exec -i c`, `wsl`)."""

    argv: tuple[str, ...]


RemoteSpec = SshArgs | ExecPrefix
# The earlier name of SshArgs (bench/ssh_overhead.py imports it).
SshTarget = SshArgs


def parse_remote(
    spec: str | None, team: str = "?", *, allow_tty: bool = False
) -> RemoteSpec | None:
    """Parse `remote`; raise ConfigError naming the team when it makes no sense.

    `allow_tty` lets `ssh -t` through (terminal teams); every other team is refused a tty.
    """
    if spec is None or spec.strip() in ("", "local"):
        return None
    where = f"team {team!r}, field 'remote'"
    try:
        words = shlex.split(spec)
    except ValueError as exc:
        raise ConfigError(
            f"{where}: cannot parse {spec!r}: {exc}", hint="check the quotes in `remote`"
        ) from None
    if words[0].startswith("ssh://"):
        return parse_ssh_args(words, where=where, allow_tty=allow_tty)
    if words[0] == "ssh":
        return parse_ssh_args(words[1:], where=where, allow_tty=allow_tty)
    if not words[0]:
        raise ConfigError(f"{where}: {spec!r} names no program", hint='e.g. "docker exec -i C"')
    _check_exec(words, spec, team, allow_tty=allow_tty)
    return ExecPrefix(tuple(words))


_INTERACTIVE = {"-i", "--interactive", "-it", "-ti", "--stdin"}


def _check_exec(words: list[str], spec: str, team: str, *, allow_tty: bool) -> None:
    """`docker exec c` without -i would start the agent with no stdin: refuse it early."""
    program = os.path.basename(words[0])
    if program in ("docker", "podman", "kubectl", "oc") and "exec" in words[1:3]:
        if not _INTERACTIVE.intersection(words):
            raise ConfigError(
                f"team {team!r}, field 'remote': {spec!r} has no -i, so the agent would get no"
                " input",
                hint=f'write remote = "{program} exec -i ..." (no -t: a tty mangles the stream)',
            )
        if not allow_tty and any(w in ("-t", "--tty", "-it", "-ti") for w in words):
            raise ConfigError(
                f"team {team!r}, field 'remote': {spec!r} asks for a tty (-t), which mangles the"
                " agent's byte stream",
                hint="drop -t; keep -i",
            )
