"""A demo `run touch x` permission request reaches a webhook, signed; its allow_url lets the
turn finish once; turn_finished follows."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import httpx

from tests.notify.receiver import receiver
from tests.support.authhub import secure_hub

SECRET = "a-webhook-secret-of-some-length"


def valid_signature(body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


async def test_request_allow_link_and_turn_finished(tmp_path: Path) -> None:
    async with receiver() as rx, secure_hub(tmp_path) as hub:
        dev = await hub.device()
        async with hub.client(dev.token) as c:
            sink = await c.request(
                "POST",
                "/v1/notify/sinks",
                json={"kind": "webhook", "url": f"{rx.url}/hook", "secret": SECRET},
            )
            assert "secret" not in (await c.request("GET", "/v1/notify/sinks"))[0]
            session = await c.start("demo", prompt="run touch x")

        got = await rx.next_event("permission_request")
        assert valid_signature(got.body, got.headers["x-tether-signature"])
        note = got.json()
        assert note["session"] == session["id"]
        assert note["team"] == "demo"
        assert note["tool"] == "Bash"
        assert note["input"]["command"] == "touch x"
        assert note["url"] == f"{hub.url}/sessions/{session['id']}"
        assert note["request_id"]

        async with httpx.AsyncClient() as http:
            first = await http.post(note["allow_url"])
            assert first.status_code == 200, first.text
            again = await http.post(note["allow_url"])
            assert again.status_code == 409
            deny = await http.post(note["deny_url"])
            assert deny.status_code == 409

        answered = (await rx.next_event("permission_answered")).json()
        assert answered["request_id"] == note["request_id"]
        assert answered["behavior"] == "allow"
        assert answered["answered_by"] == "admin via webhook"
        finished = (await rx.next_event("turn_finished")).json()
        assert finished["status"] == "success"
        assert "ran touch x" in finished["summary"]
        assert sink["id"]
