"""The one exception root of tether, and its tree.

    TetherError                      every error tether raises on purpose
    ├── ProtocolError                a frame that cannot be decoded or is not allowed
    │   ├── FrameTooLarge
    │   ├── UnsupportedVersion
    │   └── UnknownMessageType
    ├── ConfigError                  a config file or setting that is wrong
    ├── AuthError                    missing, wrong, expired or revoked credentials
    │   └── Forbidden                authenticated, but not allowed to do this
    ├── NotFound                     no such session / team / runner
    ├── Conflict                     the request clashes with the current state
    ├── HubUnreachable               a client could not reach the hub
    ├── StoreError                   the event store failed (disk full, corrupt file …)
    ├── AgentError                   an agent could not be started or misbehaved
    └── TransportError               a process could not be spawned or reached
        ├── SshError                 classified OpenSSH failures (tree in transports.failures)
        ├── RemotePathNotFound       the team path is missing on the host/container
        └── RemoteCommandNotFound    the agent program is missing there

Every message says what happened and, where there is one, what to do next.
"""

from __future__ import annotations


class TetherError(Exception):
    """Root of every error tether raises on purpose."""

    code: str = "error"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ProtocolError(TetherError):
    """A frame that cannot be decoded, or a message that is not allowed here."""

    code = "bad_frame"


class FrameTooLarge(ProtocolError):
    """A frame over the negotiated size limit."""

    code = "frame_too_large"


class UnsupportedVersion(ProtocolError):
    """A frame whose protocol version this side does not speak."""

    code = "unsupported_version"


class UnknownMessageType(ProtocolError):
    """A frame of a type this side does not know (ignored; the connection carries on)."""

    code = "unknown_type"


class ConfigError(TetherError):
    """A configuration file or setting that is wrong."""

    code = "config"


class AuthError(TetherError):
    """Missing, wrong, expired or revoked credentials."""

    code = "unauthorized"


class Forbidden(AuthError):
    """The caller is known but may not do this."""

    code = "forbidden"


class NotFound(TetherError):
    """No such session, team or runner."""

    code = "not_found"


class Conflict(TetherError):
    """The request clashes with the current state (e.g. the session has exited)."""

    code = "conflict"


class HubUnreachable(TetherError):
    """A client could not reach the hub."""

    code = "hub_unreachable"


class StoreError(TetherError):
    """The event store failed."""

    code = "store"

    def __init__(self, message: str, *, hint: str | None = None, refused: bool = False) -> None:
        super().__init__(message, hint=hint)
        self.refused = refused
        """The store itself refuses (full disk, database down or read-only), not this
        write: every write fails until the store is put right (`/readyz` says so)."""


class AgentError(TetherError):
    """An agent could not be started or misbehaved."""

    code = "agent"


class TransportError(TetherError):
    """A process could not be spawned or reached."""

    code = "transport"
