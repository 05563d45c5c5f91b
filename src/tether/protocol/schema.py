"""The JSON Schema of the v1 protocol, generated from the models (`tether protocol schema`)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from tether.protocol.codec import PROTOCOL_VERSION, Envelope
from tether.protocol.events import Event
from tether.protocol.messages import MESSAGE_TYPES


def protocol_schema() -> dict[str, Any]:
    """One JSON Schema document: the envelope, every message payload and every event kind."""
    defs: dict[str, Any] = {}
    payloads: dict[str, Any] = {}
    for name, (direction, model) in MESSAGE_TYPES.items():
        if model is None:
            schema = TypeAdapter(Event).json_schema(ref_template="#/$defs/{model}")
        else:
            schema = TypeAdapter(model).json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        schema["description"] = f"{direction}. " + str(schema.get("description", ""))
        payloads[name] = schema
    envelope = Envelope.model_json_schema(ref_template="#/$defs/{model}")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"tether wire protocol v{PROTOCOL_VERSION}",
        "envelope": envelope,
        "payloads": payloads,
        "$defs": defs,
    }
