"""A viewer that goes away while the hub is sending to it is a debug line, not an ASGI
traceback (issue #11, finding 8): the hub pushes megabytes to a viewer that stopped
reading, and the viewer then vanishes — its TCP connection aborted without a close
frame, or the hub closing it (a revoked device) mid-send. No traceback and no error is
logged (uvicorn's loggers included), and the viewer is gone from the session."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.support.hub import HubHandle, running_hub
from tests.support.timing import scaled
from tether.hub.live import LiveSession


async def test_a_viewer_dropping_mid_send_logs_no_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    # uvicorn's own loggers do not propagate: its "Exception in ASGI application" is what
    # a dropped viewer used to produce.
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session_id = (await client.start("demo"))["id"]
        live = await hub.broker.session(session_id)
        url = hub.url.replace("http://", "ws://") + f"/v1/sessions/{session_id}/stream"
        for attempt in range(ROUNDS):
            await drop_one(hub, live, url, abort=attempt % 2 == 0)
    uvicorn_log.removeHandler(caplog.handler)
    tracebacks = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []


ROUNDS = 6


async def drop_one(hub: HubHandle, live: LiveSession, url: str, *, abort: bool) -> None:
    """A viewer stops reading while frames pile up, then vanishes: its TCP connection
    aborted (no close frame), or closed by the hub itself (its device revoked) mid-send."""
    viewer_device = await hub.device(name="viewer")
    ws = await connect(
        url, additional_headers={"Authorization": f"Bearer {await viewer_device.token()}"}
    )
    for _ in range(2):
        await ws.recv()  # ready, role
    (viewer,) = [v for v in live.viewers.values() if v.principal.device_id == viewer_device.id]
    big = json.dumps({"v": 1, "type": "session", "payload": {"pad": "x" * (1 << 20)}})

    async def keep_pushing() -> None:
        while True:
            viewer.push_text(big)
            await asyncio.sleep(0.001)

    pusher = asyncio.create_task(keep_pushing())
    await asyncio.sleep(0.3)  # far more than the socket buffers hold: the hub is mid-send
    if abort:
        assert ws.transport is not None
        ws.transport.abort()  # gone, without a close frame
    else:
        await hub.auth.revoke_device(None, viewer_device.id)
    for _ in range(int(scaled(100))):
        if viewer.id not in live.viewers:
            break
        await asyncio.sleep(0.05)
    pusher.cancel()
    assert viewer.id not in live.viewers, "the hub still counts the dropped viewer"
    if ws.transport is not None:
        ws.transport.abort()
