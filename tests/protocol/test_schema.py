"""`tether protocol schema`: valid JSON Schema that names every message type and event kind."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import jsonschema
import pytest

from tests.support.procs import tether_argv
from tests.support.timing import scaled
from tether.protocol import EVENT_KINDS
from tether.protocol.messages import MESSAGE_TYPES
from tether.protocol.schema import protocol_schema


@pytest.fixture(scope="module")
def printed() -> dict[str, Any]:
    proc = subprocess.run(
        tether_argv("protocol", "schema"), capture_output=True, text=True, timeout=scaled(60)
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, Any] = json.loads(proc.stdout)
    return doc


def validator(doc: dict[str, Any], part: dict[str, Any]) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator({**part, "$defs": doc["$defs"]})


def test_cli_prints_the_generated_schema(printed: dict[str, Any]) -> None:
    assert printed == json.loads(json.dumps(protocol_schema()))
    jsonschema.Draft202012Validator.check_schema(printed)
    assert printed["title"] == "tether wire protocol v1"


def test_every_message_type_and_event_kind_is_named(printed: dict[str, Any]) -> None:
    assert set(printed["payloads"]) == set(MESSAGE_TYPES)
    text = json.dumps(printed)
    for kind in EVENT_KINDS:
        assert f'"{kind}"' in text


def test_examples_validate_and_bad_ones_do_not(printed: dict[str, Any]) -> None:
    envelope = validator(printed, printed["envelope"])
    envelope.validate({"v": 1, "type": "event", "session": "s_1", "seq": 1, "ts": 1.0})
    hello = validator(printed, printed["payloads"]["hello"])
    hello.validate(
        {"runner_id": "r1", "version": "0.1.0", "teams": [{"name": "a", "agent": "demo"}]}
    )
    with pytest.raises(jsonschema.ValidationError):
        hello.validate({"version": "0.1.0"})
    event = validator(printed, printed["payloads"]["event"])
    event.validate({"kind": "agent_message", "text": "hi"})
    with pytest.raises(jsonschema.ValidationError):
        event.validate({"kind": "turn_finished", "status": "great"})
    control = validator(printed, printed["payloads"]["control"])
    control.validate({"action": "user_message", "text": "hi"})
