"""Events over the hub's frame limit are shrunk by the runner, never sent whole or skipped."""

from __future__ import annotations

import json
from typing import Any

from tether.runner.outbox import Outbox
from tether.runner.oversize import fit_payload, json_size


def test_small_payloads_are_left_alone() -> None:
    payload = {"kind": "agent_message", "text": "hi", "raw": {"x": 1}}
    assert fit_payload(payload, 1000, json_size) is payload


def test_raw_goes_first() -> None:
    payload = {"kind": "agent_message", "text": "short", "raw": {"blob": "r" * 5000}}
    fitted = fit_payload(payload, 1000, json_size)
    assert fitted == {"kind": "agent_message", "text": "short", "truncated": True}
    assert "raw" in payload  # the caller's payload is not changed


def test_the_longest_string_is_cut_and_says_so() -> None:
    payload: dict[str, Any] = {
        "kind": "tool_result",
        "tool_use_id": "t1",
        "output": "é" * 10_000,
        "meta": {"nested": ["n" * 3000]},
    }
    fitted = fit_payload(payload, 4000, json_size)
    assert json_size(fitted) <= 4000
    assert fitted["kind"] == "tool_result" and fitted["tool_use_id"] == "t1"
    assert fitted["truncated"] is True
    assert "characters truncated by tether]" in fitted["output"]
    assert fitted["output"].startswith("éé")
    assert payload["meta"]["nested"][0] == "n" * 3000


def test_what_cannot_be_shortened_becomes_an_error_event() -> None:
    payload = {"kind": "tool_call", "input": {"items": list(range(5000))}}
    fitted = fit_payload(payload, 1000, json_size)
    assert fitted["kind"] == "error" and fitted["code"] == "event_too_large"
    assert "tool_call event" in fitted["message"] and fitted["truncated"] is True


def test_the_outbox_keeps_every_frame_under_its_limit() -> None:
    box = Outbox(max_event_bytes=3000)
    box.append("s", {"kind": "output", "stream": "stdout", "text": "界" * 5000})
    box.append("s", {"kind": "output", "stream": "stdout", "text": "small"})
    frames = box.take_unsent()
    assert all(len(f.encode("utf-8")) <= 3000 for f in frames)
    first, second = (json.loads(f) for f in frames)
    assert (first["seq"], second["seq"]) == (1, 2)
    assert first["payload"]["truncated"] is True and second["payload"]["text"] == "small"
