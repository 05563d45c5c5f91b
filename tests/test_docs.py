"""Every setting is documented (Datasette's habit)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tether.hub.settings import HubSettings

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_every_hub_setting_is_documented() -> None:
    text = (DOCS / "operations.md").read_text()
    missing = [f.name for f in dataclasses.fields(HubSettings) if f"`{f.name}`" not in text]
    assert missing == []


def test_protocol_doc_names_every_message_type() -> None:
    from tether.protocol.messages import MESSAGE_TYPES

    text = (DOCS / "protocol.md").read_text()
    assert [t for t in MESSAGE_TYPES if f"`{t}`" not in text] == []


def test_protocol_doc_names_every_event_kind() -> None:
    from tether.protocol.events import EVENT_KINDS

    text = (DOCS / "protocol.md").read_text()
    assert sorted(k for k in EVENT_KINDS if f"`{k}`" not in text) == []
