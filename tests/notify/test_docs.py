"""Every notification setting, route and event is documented (docs/notifications.md)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from tether.notify.contract import EVENTS
from tether.notify.settings import NotifySettings

DOC = (Path(__file__).resolve().parents[2] / "docs" / "notifications.md").read_text()


def test_every_setting_is_documented() -> None:
    missing = [f.name for f in dataclasses.fields(NotifySettings) if f"`{f.name}`" not in DOC]
    assert missing == []
    assert "`TETHER_PUBLIC_URL`" in DOC and "`TETHER_VAPID_SUBJECT`" in DOC


def test_every_event_and_route_is_documented() -> None:
    from fastapi.routing import APIRoute

    from tether.notify.routes import notify_router

    assert [e for e in EVENTS if f"`{e}`" not in DOC] == []
    paths = {
        r.path.replace("{sink_id}", "{id}") for r in notify_router.routes if isinstance(r, APIRoute)
    }
    assert sorted(p for p in paths if p not in DOC) == []
