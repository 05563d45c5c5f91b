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
    ├── RemotePathNotFound          the team path does not exist where the agent runs
    └── RemoteCommandNotFound       the agent program is not installed there
"""

from __future__ import annotations

from collections.abc import Sequence

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


class RemotePathNotFound(TransportError):
    """The team's `path` does not exist on the host/container."""

    code = "remote_path"


class RemoteCommandNotFound(TransportError):
    """The agent program is not installed (or not on PATH) on the host/container."""

    code = "remote_command"


def _lines(stderr: str) -> list[str]:
    return [line.strip() for line in stderr.replace("\r", "").splitlines() if line.strip()]


def _first(lines: Sequence[str], *needles: str) -> str:
    for line in lines:
        if any(n in line for n in needles):
            return line
    return lines[-1] if lines else ""


def classify_ssh(returncode: int, stderr: str, where: str) -> SshError | None:
    """The SshError that an ssh exit code and stderr stand for, or None if ssh itself was fine.

    `where` names the connection for messages (e.g. "root@build-box:22").
    """
    if returncode != 255:
        return None
    lines = _lines(stderr)
    text = "\n".join(lines)
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in text:
        return SshHostKeyFailed(
            f"the host key of {where} has CHANGED since it was recorded in known_hosts;"
            " tether refuses to connect (this can be a man-in-the-middle attack)",
            hint="if the host was really reinstalled, verify its new fingerprint out of band,"
            " then remove the old key with `ssh-keygen -R HOST` and connect once by hand",
            detail=text,
        )
    if "Host key verification failed" in text:
        return SshHostKeyFailed(
            f"the host key of {where} is not known, and strict host key checking is on",
            hint="run `ssh HOST` once to check and record the key, or point"
            " remote_options.known_hosts at a file that has it (strict_host_key_checking ="
            " false accepts a NEW key on first use, never a changed one)",
            detail=text,
        )
    if "Permission denied (" in text:
        reasons = [ln for ln in lines if "no such identity" in ln or "Load key" in ln]
        why = f" ({'; '.join(reasons)})" if reasons else ""
        return SshAuthFailed(
            f"SSH authentication to {where} failed: the server accepted none of the keys"
            f" offered{why}",
            hint="check remote_options.identity (or your ssh-agent / ~/.ssh/config), that the"
            " key has no passphrase or is loaded in the agent (tether never prompts), and that"
            " its public half is in the remote ~/.ssh/authorized_keys",
            detail=text,
        )
    if (
        "Bad configuration option" in text
        or "too long for Unix domain socket" in text
        or ("command-line: line" in text)
    ):
        return SshConfigError(
            f"ssh rejected its options for {where}: "
            + _first(lines, "command-line", "unix_listener"),
            hint="fix remote_options.extra_options / ssh_config, or shorten the data dir path",
            detail=text,
        )
    if "Could not resolve hostname" in text:
        return SshHostNotFound(
            f"the host name in {where} does not resolve",
            hint="check the spelling in `remote`, your DNS, and any Host alias in ~/.ssh/config",
            detail=text,
        )
    if "Connection refused" in text:
        return SshConnectionRefused(
            f"nothing accepts SSH connections at {where} (connection refused)",
            hint="is sshd running on that host, and is the port right (remote_options.port)?",
            detail=text,
        )
    if "Timeout, server" in text and "not responding" in text:
        return SshConnectionDropped(
            f"the SSH connection to {where} was lost: the server stopped answering keepalives",
            hint="the host hung or the network dropped; tether reconnects for new sessions",
            detail=text,
        )
    if "timed out" in text or "Connection timed out" in text:
        return SshTimeout(
            f"{where} did not answer within the connect timeout",
            hint="check the host is up and reachable (VPN, firewall); for slow links raise"
            " remote_options.connect_timeout",
            detail=text,
        )
    dropped = (
        "closed by remote host",
        "Connection closed by",
        "kex_exchange_identification",
        "Connection reset",
        "Broken pipe",
        "send disconnect",
    )
    if any(needle in text for needle in dropped):
        return SshConnectionDropped(
            f"the SSH connection to {where} was closed: {_first(lines, *dropped)}",
            hint="the host went away, restarted sshd, or is overloaded (MaxStartups);"
            " tether retries new connections",
            detail=text,
        )
    return None
