"""`/metrics`: Prometheus text an admin can scrape, reflecting what the hub is doing."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.hub import running_hub, wait_for_event


def _value(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in /metrics:\n{text}")


async def test_metrics_count_events_sessions_and_viewers(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session = await client.start("demo")
        async with hub.session(session["id"]) as remote:
            await remote.send_message("hello")
            await wait_for_event(remote, "turn_finished")
            async with httpx.AsyncClient() as http:
                response = await http.get(
                    f"{hub.url}/metrics", headers={"Authorization": f"Bearer {hub.token}"}
                )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        text = response.text
        assert _value(text, "tether_events_stored_total") >= 6
        assert _value(text, "tether_runners_connected") == 1
        assert _value(text, "tether_viewers_connected") == 1
        assert 'tether_sessions{state="idle"} 1.0' in text


async def test_metrics_need_a_token(tmp_path: Path) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub, httpx.AsyncClient() as http:
        assert (await http.get(f"{hub.url}/metrics")).status_code == 401
