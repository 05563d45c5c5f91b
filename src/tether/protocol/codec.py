"""The v1 envelope and its encode/decode, with errors that say what is wrong."""

from __future__ import annotations

import json
import time
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, StrictInt, ValidationError

from tether.errors import FrameTooLarge, ProtocolError, UnsupportedVersion

PROTOCOL_VERSION = 1
DEFAULT_MAX_FRAME_BYTES = 1024 * 1024

M = TypeVar("M", bound=BaseModel)


class Envelope(BaseModel):
    """Every frame on every tether socket.

    `{"v":1,"type":…,"session":…,"seq":…,"ts":…,"payload":{…}}`.

    `id` is an optional correlation id chosen by the sender of a request; the
    answering `ack` or `error` carries it back as `payload.ref`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    v: int = PROTOCOL_VERSION
    type: str
    session: str | None = None
    seq: StrictInt | None = None
    id: str | None = None
    ts: float = 0.0
    payload: dict[str, Any] = {}


def make(
    type: str,
    payload: dict[str, Any] | BaseModel | None = None,
    *,
    session: str | None = None,
    seq: int | None = None,
    id: str | None = None,
    ts: float | None = None,
) -> Envelope:
    """Build an envelope; a pydantic payload is dumped to JSON-ready data."""
    if isinstance(payload, BaseModel):
        body = payload.model_dump(mode="json", exclude_none=True)
    else:
        body = payload or {}
    return Envelope(
        type=type,
        session=session,
        seq=seq,
        id=id,
        ts=time.time() if ts is None else ts,
        payload=body,
    )


def encode(envelope: Envelope) -> str:
    """Serialize an envelope to one compact JSON text frame (unset optionals omitted)."""
    frame: dict[str, Any] = {"v": envelope.v, "type": envelope.type}
    if envelope.session is not None:
        frame["session"] = envelope.session
    if envelope.seq is not None:
        frame["seq"] = envelope.seq
    if envelope.id is not None:
        frame["id"] = envelope.id
    frame["ts"] = envelope.ts
    frame["payload"] = envelope.payload
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def decode(frame: str | bytes, *, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> Envelope:
    """Parse one text frame into an envelope.

    Raises `FrameTooLarge`, `UnsupportedVersion` or `ProtocolError`, each with a
    message fit to send back to the peer.
    """
    size = len(frame) if isinstance(frame, bytes) else len(frame.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise FrameTooLarge(
            f"frame of {size} bytes is over the {max_bytes}-byte limit",
            hint="split the message or raise max_frame_bytes on both sides",
        )
    try:
        data = _DECODER.decode(frame.decode("utf-8") if isinstance(frame, bytes) else frame)
    except RecursionError:
        raise ProtocolError("frame is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, an integer of 4300+ digits
        raise ProtocolError(f"frame is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError("frame must be a JSON object (an envelope)")
    version = data.get("v")
    if version is None:
        raise ProtocolError("frame has no 'v' (protocol version) field")
    if not isinstance(version, int) or isinstance(version, bool):
        raise ProtocolError(f"'v' (protocol version) must be an integer, not {version!r}")
    if version != PROTOCOL_VERSION:
        raise UnsupportedVersion(
            f"protocol version {version!r} is not supported; this side speaks v{PROTOCOL_VERSION}",
            hint="upgrade tether on the older side",
        )
    if not isinstance(data.get("type"), str):
        raise ProtocolError("frame has no 'type' string field")
    if "payload" in data and not isinstance(data["payload"], dict):
        raise ProtocolError("'payload' must be a JSON object")
    try:
        return Envelope.model_validate(data)
    except ValidationError as exc:
        raise ProtocolError(f"bad envelope: {_first_problem(exc)}") from None


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: a browser's JSON.parse would choke on them downstream.
    raise ValueError(f"{name} is not a JSON number")


# Built once: json.loads(…, parse_constant=…) would build a decoder for every frame.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def parse_payload(envelope: Envelope, model: type[M]) -> M:
    """Validate an envelope's payload as `model`, or raise `ProtocolError` naming the field."""
    try:
        return model.model_validate(envelope.payload)
    except ValidationError as exc:
        raise ProtocolError(f"bad '{envelope.type}' payload: {_first_problem(exc)}") from None


def _first_problem(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err.get("loc", ())) or "(root)"
    return f"{where}: {err.get('msg', 'invalid')}"
