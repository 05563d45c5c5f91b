"""The detach key: Ctrl+] then d leaves a terminal running and returns to the shell.

Everything else is passed through untouched; Ctrl+] twice types one Ctrl+] (for programs
that use it, such as vim's tag jump), and Ctrl+] followed by any other key types both.
"""

from __future__ import annotations

PREFIX = b"\x1d"  # Ctrl+]
DETACH = b"d"
DETACH_HELP = "Ctrl+] d"


class DetachKey:
    """Splits keystrokes into what to type and whether the user asked to detach."""

    def __init__(self) -> None:
        self._armed = False

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        """(bytes to type, detach?) — bytes after the detach key are dropped."""
        out = bytearray()
        for byte in data:
            key = bytes([byte])
            if self._armed:
                self._armed = False
                if key == DETACH:
                    return bytes(out), True
                out += PREFIX if key == PREFIX else PREFIX + key
            elif key == PREFIX:
                self._armed = True
            else:
                out += key
        return bytes(out), False
