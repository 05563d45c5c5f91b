"""The v1 envelope and its encode/decode, with errors that say what is wrong.

Every frame tether sends is written by `frame_text` (the envelope's layout, in one
place) with the JSON of `dumps`: the runner's events (`event_frame`), the hub's
acks, controls and viewer frames (`frame`, `encode`), and stored events re-sent to
viewers (`event_frame` around the payload text the store kept, without parsing it).
"""

from __future__ import annotations

import json
import time
from typing import Any, TypedDict, TypeVar, Unpack

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

    # Not a field: the payload's JSON text as it arrived, when `decode` could cut it out of
    # the frame (read it with `payload_json`). A slot, so nothing a peer sends can set it,
    # and equality, dumps and schemas never see it.
    __slots__ = ("_payload_json",)

    model_config = ConfigDict(frozen=True, extra="ignore")

    v: int = PROTOCOL_VERSION
    type: str
    session: str | None = None
    seq: StrictInt | None = None
    id: str | None = None
    ts: float = 0.0
    payload: dict[str, Any] = {}


Payload = dict[str, Any] | BaseModel | None
"""A frame's payload as callers give it: JSON-ready data, a model, or nothing."""


class Fields(TypedDict, total=False):
    """The envelope's other fields, each optional (`ts` defaults to now)."""

    session: str | None
    seq: int | None
    id: str | None
    ts: float | None


def make(type: str, payload: Payload = None, **fields: Unpack[Fields]) -> Envelope:
    """Build an envelope; a pydantic payload is dumped to JSON-ready data."""
    return Envelope(type=type, payload=_body(payload), **_stamped(fields))


def _stamped(fields: Fields) -> _Stamped:
    ts = fields.get("ts")
    return {
        "session": fields.get("session"),
        "seq": fields.get("seq"),
        "id": fields.get("id"),
        "ts": time.time() if ts is None else ts,
    }


class _Stamped(TypedDict):
    session: str | None
    seq: int | None
    id: str | None
    ts: float


def _body(payload: Payload) -> dict[str, Any]:
    if isinstance(payload, BaseModel):
        return payload.model_dump(mode="json", exclude_none=True)
    return payload or {}


# One encoder for every frame: compact, UTF-8 as it is (json.dumps with options would
# build a new encoder for each call, on the hot path).
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """JSON as frames carry it: compact, non-ASCII kept as it is."""
    return _ENCODER.encode(value)


def frame_text(
    type: str,
    payload_json: str,
    *,
    session: str | None = None,
    seq: int | None = None,
    id: str | None = None,
    ts: float,
) -> str:
    """One text frame around a payload already in JSON:
    `{"v":1,"type":…,"session":…,"seq":…,"id":…,"ts":…,"payload":…}`, unset optionals left out."""
    head = _HEADS.get(type) or _head(type)
    at = "" if session is None else f',"session":{_string(session)}'
    number = "" if seq is None else f',"seq":{seq:d}'
    ref = "" if id is None else f',"id":{_string(id)}'
    return f'{head}{at}{number}{ref},"ts":{float(ts)!r},"payload":{payload_json}}}'


# What `_ENCODER` does with a string (ints and floats above are written as json writes them).
_string = json.encoder.encode_basestring
_HEADS: dict[str, str] = {}


def _head(type: str) -> str:
    head = f'{{"v":{PROTOCOL_VERSION},"type":{_string(type)}'
    if len(_HEADS) < 64:  # the types this side sends; anything else is not kept
        _HEADS[type] = head
    return head


def encode(envelope: Envelope) -> str:
    """Serialize an envelope to one compact JSON text frame (unset optionals omitted)."""
    return frame_text(
        envelope.type,
        dumps(envelope.payload),
        session=envelope.session,
        seq=envelope.seq,
        id=envelope.id,
        ts=envelope.ts,
    )


def encode_frame(type: str, payload: Payload = None, **fields: Unpack[Fields]) -> str:
    """`encode(make(…))` without building the envelope model (acks, pings, controls)."""
    return frame_text(type, dumps(_body(payload)), **_stamped(fields))


def event_frame(session: str, seq: int, ts: float, payload_json: str) -> str:
    """An `event` frame around a payload already in JSON (as the store keeps it)."""
    return frame_text("event", payload_json, session=session, seq=seq, ts=ts)


def decode(frame: str | bytes, *, max_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> Envelope:
    """Parse one text frame into an envelope.

    Raises `FrameTooLarge`, `UnsupportedVersion` or `ProtocolError`, each with a
    message fit to send back to the peer.
    """
    _check_size(frame, max_bytes)
    try:
        text = frame.decode("utf-8") if isinstance(frame, bytes) else frame
        data, payload_text = _parse(text)
    except RecursionError:
        raise ProtocolError("frame is not valid JSON: nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, an integer of 4300+ digits
        raise ProtocolError(f"frame is not valid JSON: {exc}") from None
    envelope = _validated(data)
    if payload_text is not None:
        object.__setattr__(envelope, "_payload_json", payload_text)
    return envelope


def payload_json(envelope: Envelope) -> str:
    """The envelope's payload as JSON text: as it arrived when `decode` cut it out of the
    frame (stored and forwarded as it is, never encoded again), else encoded now."""
    text: str | None = getattr(envelope, "_payload_json", None)
    return dumps(envelope.payload) if text is None else text


def _check_size(frame: str | bytes, max_bytes: int) -> None:
    # A character is at most 4 bytes of UTF-8: only count the bytes when it may matter.
    if isinstance(frame, str) and len(frame) * 4 <= max_bytes:
        return
    size = len(frame) if isinstance(frame, bytes) else len(frame.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise FrameTooLarge(
            f"frame of {size} bytes is over the {max_bytes}-byte limit",
            hint="split the message or raise max_frame_bytes on both sides",
        )


_CUT = ',"payload":'


def _parse(text: str) -> tuple[Any, str | None]:
    """The frame's JSON, and its payload's text when it is the last member (as every
    tether sender writes it) — parsed in two parts, head and payload, at the same cost
    as one. The cut is right only if the head closed by `}` is an object: a `,"payload":`
    inside a string is impossible (its quote would be escaped) and one in a nested
    object would leave the head unclosed. Anything else is parsed whole."""
    cut = text.find(_CUT)
    if cut > 0 and text.endswith("}"):
        try:
            head = _DECODER.decode(text[:cut] + "}")
            payload_text = text[cut + len(_CUT) : -1]
            payload = _DECODER.decode(payload_text)
        except ValueError:
            pass
        else:
            if isinstance(head, dict) and isinstance(payload, dict):
                head["payload"] = payload  # the last "payload" wins, as in a whole parse
                return head, payload_text
    return _DECODER.decode(text), None


def _validated(data: Any) -> Envelope:
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
