"""Parse a team's `remote` setting into where its agent runs.

remote = "ssh dev@build-box"            → SshTarget (also `ssh -p 2222 -l dev host`,
                                          `ssh://dev@host:2222`)
remote = "docker exec -i backend"       → ExecPrefix (any argv: kubectl, wsl, podman …)
remote = "kubectl exec -i pod-0 --"
remote = "local" (or unset)             → None: run here
"""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass

from tether.errors import ConfigError


@dataclass(frozen=True)
class SshTarget:
    """An SSH destination: the host (or a ~/.ssh/config alias), maybe a user and port."""

    host: str
    user: str | None = None
    port: int | None = None


@dataclass(frozen=True)
class ExecPrefix:
    """A command that runs its trailing argv somewhere else (`docker exec -i c`, `wsl`)."""

    argv: tuple[str, ...]


RemoteSpec = SshTarget | ExecPrefix


def parse_remote(spec: str | None, team: str = "?") -> RemoteSpec | None:
    """Parse `remote`; raise ConfigError naming the team when it makes no sense."""
    if spec is None or spec.strip() in ("", "local"):
        return None
    try:
        words = shlex.split(spec)
    except ValueError as exc:
        raise ConfigError(f"team {team!r}, field 'remote': cannot parse {spec!r}: {exc}") from None
    if words[0].startswith("ssh://"):
        return _ssh_url(words, spec, team)
    if words[0] == "ssh":
        return _ssh_words(words[1:], spec, team)
    _check_exec(words, spec, team)
    return ExecPrefix(tuple(words))


def _ssh_url(words: list[str], spec: str, team: str) -> SshTarget:
    if len(words) != 1:
        raise ConfigError(f"team {team!r}, field 'remote': {spec!r} has words after the URL")
    rest = words[0][len("ssh://") :].rstrip("/")
    user, _, hostport = rest.rpartition("@")
    host, port = hostport, None
    if hostport.count(":") == 1:
        host, _, port_text = hostport.partition(":")
        port = _port(port_text, spec, team)
    return _target(host, user or None, port, spec, team)


def _ssh_words(words: list[str], spec: str, team: str) -> SshTarget:
    user: str | None = None
    port: int | None = None
    hosts: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("-p", "-l") and i + 1 < len(words):
            if word == "-p":
                port = _port(words[i + 1], spec, team)
            else:
                user = words[i + 1]
            i += 2
            continue
        if word.startswith("-"):
            raise ConfigError(
                f"team {team!r}, field 'remote': ssh option {word!r} is not accepted in `remote`",
                hint="put ssh options in [teams.NAME.remote_options] (extra_options = [...])"
                " or in ~/.ssh/config",
            )
        hosts.append(word)
        i += 1
    if len(hosts) != 1:
        raise ConfigError(
            f"team {team!r}, field 'remote': {spec!r} must name exactly one host",
            hint='write remote = "ssh user@host"',
        )
    at_user, _, host = hosts[0].rpartition("@")
    return _target(host, at_user or user, port, spec, team)


def _target(host: str, user: str | None, port: int | None, spec: str, team: str) -> SshTarget:
    if not host or host.startswith("-") or any(c.isspace() for c in host):
        raise ConfigError(f"team {team!r}, field 'remote': no usable host in {spec!r}")
    return SshTarget(host=host, user=user, port=port)


def _port(text: str, spec: str, team: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ConfigError(f"team {team!r}, field 'remote': bad port {text!r} in {spec!r}")
    return int(text)


_INTERACTIVE = {"-i", "--interactive", "-it", "-ti", "--stdin"}


def _check_exec(words: list[str], spec: str, team: str) -> None:
    """`docker exec c` without -i would start the agent with no stdin: refuse it early."""
    program = os.path.basename(words[0])
    if program in ("docker", "podman", "kubectl", "oc") and "exec" in words[1:3]:
        if not _INTERACTIVE.intersection(words):
            raise ConfigError(
                f"team {team!r}, field 'remote': {spec!r} has no -i, so the agent would get no"
                " input",
                hint=f'write remote = "{program} exec -i ..." (no -t: a tty mangles the stream)',
            )
        if any(w in ("-t", "--tty", "-it", "-ti") for w in words):
            raise ConfigError(
                f"team {team!r}, field 'remote': {spec!r} asks for a tty (-t), which mangles the"
                " agent's byte stream",
                hint="drop -t; keep -i",
            )
