"""Remote failures, classified: what went wrong reaching a team's host, and what to do.

OpenSSH reports every one of its own failures as exit code 255 and a line on stderr,
so the class comes from the stderr text (checked in a fixed order: a changed host key
also says "verification failed"), never from the code alone. See
docs/config.md ("When a remote team fails") for the user-facing table.

    TransportError
    ├── SshError                    classified OpenSSH failures
    │   ├── SshNetworkError         retried with backoff (1 s, 5 s, 10 s)
    │   │   ├── SshConnectionRefused
    │   │   ├── SshTimeout
    │   │   ├── SshHostNotFound
    │   │   └── SshConnectionDropped
    │   ├── SshAuthFailed           never retried
    │   ├── SshHostKeyFailed        never retried
    │   └── SshConfigError          never retried
    ├── PathNotFound                the team path does not exist where the agent runs
    │   └── RemotePathNotFound      … on the ssh host / in the container
    └── CommandNotFound             the agent program is not installed there
        └── RemoteCommandNotFound   … on the ssh host / in the container

Every transport raises PathNotFound / CommandNotFound for the same mistakes (the
contract tests check it), so a caller needs no transport-specific handling.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from tether.errors import TransportError


class SshError(TransportError):
    """An OpenSSH failure, with the ssh lines that explain it."""

    code = "ssh"
    retryable = False

    def __init__(self, message: str, *, hint: str | None = None, detail: str = "") -> None:
        super().__init__(message, hint=hint)
        self.detail = detail


class SshNetworkError(SshError):
    """The network or the server did not cooperate; worth another try."""

    retryable = True


class SshConnectionRefused(SshNetworkError):
    """Nothing listens on the SSH port (sshd down, wrong port)."""

    code = "ssh_refused"


class SshTimeout(SshNetworkError):
    """The host did not answer in time (down, firewalled, hung)."""

    code = "ssh_timeout"


class SshHostNotFound(SshNetworkError):
    """The host name does not resolve."""

    code = "ssh_dns"


class SshConnectionDropped(SshNetworkError):
    """The connection was closed or reset, during the handshake or mid-session."""

    code = "ssh_dropped"


class SshAuthFailed(SshError):
    """The server refused every key offered."""

    code = "ssh_auth"


class SshHostKeyFailed(SshError):
    """The host key is unknown or has changed: tether will not connect."""

    code = "ssh_host_key"


class SshConfigError(SshError):
    """ssh rejected its own options (bad option, ControlPath too long)."""

    code = "ssh_config"


class PathNotFound(TransportError):
    """The team's `path` does not exist where its agent runs."""

    code = "path_not_found"


class RemotePathNotFound(PathNotFound):
    """The team's `path` does not exist on the host/container."""

    code = "remote_path"


class CommandNotFound(TransportError):
    """The agent program is not installed (or not on PATH) where the agent runs."""

    code = "command_not_found"


class RemoteCommandNotFound(CommandNotFound):
    """The agent program is not installed (or not on PATH) on the host/container."""

    code = "remote_command"


def remote_path_missing(path: str, where: str) -> RemotePathNotFound:
    """The error for a team path that is missing on `where` (spawn and probe say the same)."""
    return RemotePathNotFound(
        f"the team path {path!r} does not exist on {where}",
        hint="fix the team's `path` (it is a path on that host)",
    )


def remote_command_missing(program: str, where: str) -> RemoteCommandNotFound:
    """The error for an agent program that is missing on `where`."""
    return RemoteCommandNotFound(
        f"the agent program {program!r} was not found on {where}",
        hint="install it there, or set the team's `command` to its full path",
    )


def _lines(stderr: str) -> list[str]:
    return [line.strip() for line in stderr.replace("\r", "").splitlines() if line.strip()]


def _first(lines: Sequence[str], *needles: str) -> str:
    for line in lines:
        if any(n in line for n in needles):
            return line
    return lines[-1] if lines else ""


def _auth_failed(lines: list[str], where: str) -> SshError:
    reasons = [ln for ln in lines if "no such identity" in ln or "Load key" in ln]
    why = f" ({'; '.join(reasons)})" if reasons else ""
    return SshAuthFailed(
        f"SSH authentication to {where} failed: the server accepted none of the keys offered{why}",
        hint="check the key (-i in `remote`, remote_options.identity, your ssh-agent or"
        " ~/.ssh/config), that it has no passphrase or is loaded in the agent (tether never"
        " prompts), and that its public half is in the remote ~/.ssh/authorized_keys",
    )


def _bad_config(lines: list[str], where: str) -> SshError:
    return SshConfigError(
        f"ssh rejected its options for {where}: "
        + _first(lines, "command-line", "unix_listener", "Bad configuration option"),
        hint="fix the ssh options in `remote` / remote_options, or shorten the data dir path",
    )


_DROPPED = (
    "closed by remote host",
    "Connection closed by",
    "kex_exchange_identification",
    "Connection reset",
    "Broken pipe",
    "send disconnect",
)


def _dropped(lines: list[str], where: str) -> SshError:
    return SshConnectionDropped(
        f"the SSH connection to {where} was closed: {_first(lines, *_DROPPED)}",
        hint="the host went away, restarted sshd, or is overloaded (MaxStartups);"
        " tether retries new connections",
    )


Classifier = Callable[[list[str], str], SshError]


def _fixed(error: type[SshError], message: str, hint: str) -> Classifier:
    """A failure whose message says nothing but where (`{where}`): ssh's lines are its detail."""

    def make(lines: list[str], where: str) -> SshError:
        return error(message.format(where=where), hint=hint)

    return make


_HOST_KEY_CHANGED = _fixed(
    SshHostKeyFailed,
    "the host key of {where} has CHANGED since it was recorded in known_hosts;"
    " tether refuses to connect (this can be a man-in-the-middle attack)",
    "if the host was really reinstalled, verify its new fingerprint out of band,"
    " then remove the old key with `ssh-keygen -R HOST` and connect once by hand",
)
_HOST_KEY_UNKNOWN = _fixed(
    SshHostKeyFailed,
    "the host key of {where} is not known, and strict host key checking is on",
    "run `ssh HOST` once to check and record the key, or point"
    " remote_options.known_hosts at a file that has it (-o StrictHostKeyChecking=accept-new"
    " or strict_host_key_checking = false accepts a NEW key on first use, never a changed"
    " one)",
)
_NOT_RESOLVED = _fixed(
    SshHostNotFound,
    "the host name in {where} does not resolve",
    "check the spelling in `remote`, your DNS, and any Host alias in ~/.ssh/config",
)
_REFUSED = _fixed(
    SshConnectionRefused,
    "nothing accepts SSH connections at {where} (connection refused)",
    "is sshd running on that host, and is the port right (-p, remote_options.port)?",
)
_KEEPALIVE_LOST = _fixed(
    SshConnectionDropped,
    "the SSH connection to {where} was lost: the server stopped answering keepalives",
    "the host hung or the network dropped; tether reconnects for new sessions",
)
_TIMED_OUT = _fixed(
    SshTimeout,
    "{where} did not answer within the connect timeout",
    "check the host is up and reachable (VPN, firewall); for slow links raise"
    " remote_options.connect_timeout",
)

# What ssh's stderr says → which failure, tried in order: a changed host key also says
# "verification failed", and a lost keepalive also mentions a timeout.
_RULES: tuple[tuple[re.Pattern[str], Classifier], ...] = (
    (re.compile("REMOTE HOST IDENTIFICATION HAS CHANGED"), _HOST_KEY_CHANGED),
    (re.compile("Host key verification failed"), _HOST_KEY_UNKNOWN),
    (re.compile(r"Permission denied \("), _auth_failed),
    (re.compile("Bad configuration option|too long for Unix domain socket|command-line: line"),
     _bad_config),
    (re.compile("Could not resolve hostname"), _NOT_RESOLVED),
    (re.compile("Connection refused"), _REFUSED),
    (re.compile("Timeout, server .* not responding"), _KEEPALIVE_LOST),
    (re.compile("timed out"), _TIMED_OUT),
    (re.compile("|".join(re.escape(n) for n in _DROPPED)), _dropped),
)  # fmt: skip


def classify_ssh(returncode: int, stderr: str, where: str) -> SshError | None:
    """The SshError that an ssh exit code and stderr stand for, or None if ssh itself was fine.

    `where` names the connection for messages (e.g. "root@build-box:22").
    """
    if returncode != 255:
        return None
    lines = _lines(stderr)
    text = "\n".join(lines)
    for pattern, make in _RULES:
        if pattern.search(text):
            failure = make(lines, where)
            failure.detail = text
            return failure
    return None
