"""What counts as "the connection to the hub went away": retry later, with backoff."""

from __future__ import annotations

from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tether.errors import ProtocolError

# Network failures, a socket the hub closed, a refused handshake, a frame we could not read:
# none is the caller's fault, and each clears up by connecting again.
RECONNECTABLE: tuple[type[BaseException], ...] = (
    OSError,
    ConnectionClosed,
    InvalidHandshake,
    TimeoutError,
    ProtocolError,
)
