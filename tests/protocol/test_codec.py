"""The v1 codec: plain data in, data out, no event loop."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.errors import FrameTooLarge, ProtocolError, UnsupportedVersion
from tether.protocol import PROTOCOL_VERSION, Envelope, decode, encode, make, parse_payload
from tether.protocol.codec import dumps, encode_frame, event_frame
from tether.protocol.messages import Hello, Resume


def frame(**fields: Any) -> str:
    return json.dumps({"v": 1, "type": "event", **fields})


def test_make_encode_decode_keeps_every_field() -> None:
    env = make("event", {"kind": "agent_message", "text": "hé"}, session="s_1", seq=7, id="r1")
    text = encode(env)
    assert '"v":1' in text and "hé" in text  # compact, UTF-8 kept
    assert decode(text) == env
    assert decode(text.encode("utf-8")) == env


def test_encode_leaves_out_unset_optionals() -> None:
    data = json.loads(encode(make("ping", ts=1.0)))
    assert data == {"v": 1, "type": "ping", "ts": 1.0, "payload": {}}


def test_pydantic_payload_is_dumped_without_nones() -> None:
    env = make("resume", Resume(after=3))
    assert env.payload == {"after": 3}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ("", "not valid JSON"),
        ("[" * 100_000, "nested too deeply"),
        ('{"v":1,"type":"x","seq":' + "1" * 5000 + "}", "not valid JSON"),
        ('{"v":1,"type":"x","ts":NaN}', "NaN is not a JSON number"),
        ("[1, 2]", "must be a JSON object"),
        ('"just a string"', "must be a JSON object"),
        ('{"type":"event"}', "no 'v'"),
        ('{"v":true,"type":"x"}', "must be an integer"),
        ('{"v":"1","type":"x"}', "must be an integer"),
        ('{"v":1}', "no 'type'"),
        ('{"v":1,"type":7}', "no 'type'"),
        ('{"v":1,"type":"x","payload":[1]}', "'payload' must be a JSON object"),
        ('{"v":1,"type":"x","payload":"text"}', "'payload' must be a JSON object"),
        ('{"v":1,"type":"x","seq":1.5}', "seq"),
        ('{"v":1,"type":"x","seq":true}', "seq"),
        ('{"v":1,"type":"x","session":5}', "session"),
    ],
)
def test_bad_frames_are_protocol_errors_that_say_why(text: str, message: str) -> None:
    with pytest.raises(ProtocolError) as info:
        decode(text)
    assert message in str(info.value)
    assert type(info.value) is ProtocolError
    assert info.value.code == "bad_frame"


def test_invalid_utf8_bytes_are_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="not valid JSON"):
        decode(b'{"v":1,"type":"x","payload":{"t":"\xff"}}')


def test_unknown_version_is_refused_with_a_hint() -> None:
    with pytest.raises(UnsupportedVersion) as info:
        decode(frame(v=2))
    assert "version 2 is not supported" in str(info.value)
    assert info.value.hint and "upgrade" in info.value.hint
    assert info.value.code == "unsupported_version"


def test_oversized_frame_is_refused_before_parsing() -> None:
    big = frame(payload={"text": "x" * 2000})
    with pytest.raises(FrameTooLarge) as info:
        decode(big, max_bytes=1000)
    assert f"frame of {len(big)} bytes is over the 1000-byte limit" in str(info.value)
    assert info.value.code == "frame_too_large"
    # The limit counts UTF-8 bytes, not characters.
    with pytest.raises(FrameTooLarge):
        decode(frame(payload={"text": "é" * 400}), max_bytes=820)
    assert decode(big, max_bytes=len(big)).payload == {"text": "x" * 2000}


def test_unknown_envelope_fields_are_ignored() -> None:
    assert decode(frame(seq=1, future="yes")).seq == 1


def test_parse_payload_names_the_missing_field() -> None:
    env = make("hello", {"version": "1"})
    with pytest.raises(ProtocolError, match=r"bad 'hello' payload: runner_id: Field required"):
        parse_payload(env, Hello)
    ok = parse_payload(make("hello", {"runner_id": "r", "version": "1"}), Hello)
    assert ok.runner_id == "r" and ok.teams == []


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)

envelopes = st.builds(
    Envelope,
    v=st.just(PROTOCOL_VERSION),
    type=st.text(min_size=1, max_size=20),
    session=st.none() | st.text(max_size=30),
    seq=st.none() | st.integers(min_value=0, max_value=2**53),
    id=st.none() | st.text(max_size=10),
    ts=st.floats(allow_nan=False, allow_infinity=False),
    payload=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
)


@given(envelopes)
@settings(max_examples=300, deadline=None)
def test_encode_then_decode_round_trips(env: Envelope) -> None:
    assert decode(encode(env), max_bytes=10**9) == env


@given(st.text() | st.binary())
@settings(max_examples=500, deadline=None)
def test_decode_of_arbitrary_input_raises_only_protocol_errors(data: str | bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode(data, max_bytes=10_000)


@given(
    st.dictionaries(
        st.sampled_from(["v", "type", "session", "seq", "id", "ts", "payload", "x"]),
        json_values,
    )
)
@settings(max_examples=200, deadline=None)
def test_decode_of_arbitrary_objects_raises_only_protocol_errors(data: dict[str, Any]) -> None:
    try:
        env = decode(json.dumps(data))
    except ProtocolError:
        return
    assert env.v == PROTOCOL_VERSION and isinstance(env.type, str)


def _reference(env: Envelope) -> str:
    """The v1 layout written out longhand: what every encoder must produce, byte for byte."""
    fields: dict[str, Any] = {"v": env.v, "type": env.type}
    for name in ("session", "seq", "id"):
        if getattr(env, name) is not None:
            fields[name] = getattr(env, name)
    fields["ts"], fields["payload"] = env.ts, env.payload
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


@given(envelopes)
@settings(max_examples=150, deadline=None)
def test_every_encoder_writes_the_same_bytes(env: Envelope) -> None:
    expected = _reference(env)
    assert encode(env) == expected
    built = encode_frame(
        env.type, env.payload, session=env.session, seq=env.seq, id=env.id, ts=env.ts
    )
    assert built == expected
    if env.session is not None and env.seq is not None and env.id is None:
        as_event = _reference(env.model_copy(update={"type": "event"}))
        assert event_frame(env.session, env.seq, env.ts, dumps(env.payload)) == as_event


@given(
    st.text(max_size=30),
    st.integers(min_value=1, max_value=2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dictionaries(st.text(max_size=10), json_values, max_size=5),
)
@settings(max_examples=150, deadline=None)
def test_an_event_frame_around_stored_text_is_the_event_as_sent(
    session: str, seq: int, ts: float, payload: dict[str, Any]
) -> None:
    # The runner writes the frame; the hub keeps the payload's text and re-wraps it for
    # viewers without parsing it: the viewer gets the runner's bytes.
    sent = event_frame(session, seq, ts, dumps(payload))
    assert sent == _reference(make("event", payload, session=session, seq=seq, ts=ts))
    assert decode(sent, max_bytes=10**9) == make("event", payload, session=session, seq=seq, ts=ts)


def test_an_event_keeps_its_payload_text_as_sent_for_the_store() -> None:
    from tether.protocol.codec import payload_json

    text = event_frame("s_1", 3, 1.5, '{"kind":"output","text":"a\\nb \\u00e9 \\ud83d\\ude00"}')
    env = decode(text)
    assert payload_json(env) == '{"kind":"output","text":"a\\nb \\u00e9 \\ud83d\\ude00"}'
    assert env.payload == {"kind": "output", "text": "a\nb é 😀"}
    assert env == make("event", env.payload, session="s_1", seq=3, ts=1.5)  # not a field
    assert payload_json(make("ping", {"a": 1})) == '{"a":1}'  # built here: encoded


@pytest.mark.parametrize(
    "text",
    [
        # A nested "payload" first: the cut there leaves the head unclosed.
        '{"v":1,"type":"event","x":{"a":1,"payload":{"kind":"fake"}},"payload":{"kind":"real"}}',
        # Inside a string, the quote is escaped: not a cut.
        '{"v":1,"type":"event","x":"a\\",\\"payload\\":{}","payload":{"kind":"real"}}',
        # Not last: parsed whole.
        '{"v":1,"type":"event","payload":{"kind":"real"},"seq":2}',
        # Twice at the top: the last one wins, as in any JSON parse.
        '{"v":1,"type":"event","payload":{"kind":"fake"},"payload":{"kind":"real"}}',
        # Whitespace around.
        '{"v":1,"type":"event", "payload" : {"kind":"real"} }',
        '{"v":1,"type":"event","payload":{"kind":"real"}} ',
    ],
)
def test_the_payload_text_is_always_the_payload_that_was_parsed(text: str) -> None:
    from tether.protocol.codec import payload_json

    env = decode(text)
    assert env.payload == json.loads(text)["payload"] == {"kind": "real"}
    assert json.loads(payload_json(env)) == env.payload


@pytest.mark.parametrize(
    "text",
    [
        '{"v":1,"type":"event","payload":{"kind":"x"}',  # unclosed
        '{"v":1,"type":"event","payload":{"kind":"x"}}}',  # one brace too many
        '{"v":1,"type":"event","payload":{"kind":NaN}}',
        '{"v":1,"type":"event","payload":[1]}',
    ],
)
def test_a_broken_frame_is_refused_whichever_way_it_is_cut(text: str) -> None:
    with pytest.raises(ProtocolError):
        decode(text)


@given(
    st.dictionaries(
        st.sampled_from(["x", "y", "payload", 'z,"payload":']),
        json_values,
    ),
    st.dictionaries(st.text(max_size=5), json_values),
)
@settings(max_examples=300, deadline=None)
def test_the_payload_text_parses_to_the_payload_whatever_precedes_it(
    head: dict[str, Any], payload: dict[str, Any]
) -> None:
    from tether.protocol.codec import payload_json

    data = {**head, "v": 1, "type": "event"}
    data.pop("payload", None)
    text = json.dumps({**data, "payload": payload}, separators=(",", ":"))
    env = decode(text, max_bytes=10**9)
    assert env.payload == payload
    assert json.loads(payload_json(env)) == payload
