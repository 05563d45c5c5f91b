"""The tether wire protocol, version 1: envelope, messages, event kinds, codec.

Pure data in, data out: nothing here touches a socket, a file or an event loop
(the sans-I/O style of python-websockets and h11).
"""

from tether.protocol.codec import (
    DEFAULT_MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    Envelope,
    decode,
    encode,
    make,
    parse_payload,
)
from tether.protocol.events import EVENT_KINDS, Event, parse_event
from tether.protocol.states import SessionState, SessionTracker

__all__ = [
    "DEFAULT_MAX_FRAME_BYTES",
    "EVENT_KINDS",
    "PROTOCOL_VERSION",
    "Envelope",
    "Event",
    "SessionState",
    "SessionTracker",
    "decode",
    "encode",
    "make",
    "parse_event",
    "parse_payload",
]
