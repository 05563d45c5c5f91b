"""How terminal bytes travel in JSON: UTF-8 text when they are text, base64 when not.

A `terminal_output` event (and a `terminal_input` message) carries exactly one of
`text` (the bytes decode as UTF-8) or `data` (base64 of bytes that do not). Output is cut
only at character boundaries (`Utf8Cutter`), so a multi-byte character split across two
reads of the PTY still travels as text.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from tether.errors import ProtocolError


def chunk_payload(data: bytes) -> dict[str, str]:
    """`{"text": …}` for UTF-8 bytes, else `{"data": <base64>}`."""
    try:
        return {"text": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"data": base64.b64encode(data).decode("ascii")}


def chunk_bytes(payload: Mapping[str, object]) -> bytes:
    """The bytes of a payload made by `chunk_payload` (or a viewer's `terminal_input`)."""
    text = payload.get("text")
    if isinstance(text, str):
        return text.encode("utf-8", "surrogateescape")
    data = payload.get("data")
    if isinstance(data, str):
        try:
            return base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise ProtocolError("`data` is not valid base64") from None
    return b""


def _incomplete_tail(data: bytes) -> int:
    """How many bytes at the end of `data` start a UTF-8 character that is not complete."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 != 0x80:  # not a continuation byte: a lead byte or ASCII
            need = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4
            if byte & 0x80 and byte & 0xF8 != 0xF8 and need > back:
                return back
            return 0
    return 0


class Utf8Cutter:
    """Holds back a character cut in half at the end of a read until the rest arrives."""

    def __init__(self) -> None:
        self._held = b""

    def cut(self, data: bytes) -> bytes:
        """`data` (after what was held back), minus an incomplete character at its end."""
        data = self._held + data
        tail = _incomplete_tail(data)
        if tail:
            self._held, data = data[-tail:], data[:-tail]
        else:
            self._held = b""
        return data

    def flush(self) -> bytes:
        """Whatever is still held (the stream ended)."""
        held, self._held = self._held, b""
        return held
