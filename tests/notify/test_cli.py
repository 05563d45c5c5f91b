"""`tether notify` as a user runs it (the real CLI, a subprocess) against a hub."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from tests.notify.receiver import receiver
from tests.support.authhub import secure_hub
from tests.support.procs import run_cli


async def tether(hub_dir: Path, url: str, *args: str, check: bool = True):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(run_cli, hub_dir, url, *args, check=check)


async def test_add_list_test_prefs_and_remove(tmp_path: Path) -> None:
    async with receiver() as rx, secure_hub(tmp_path, with_runner=False) as hub:
        added = await tether(
            hub.data_dir,
            hub.url,
            "notify",
            "add",
            "webhook",
            f"{rx.url}/hook",
            "--events",
            "permission_request,turn_finished",
            "--hub",
            hub.url,
        )
        assert "signing secret (shown once)" in added.stdout
        listed = json.loads(
            (await tether(hub.data_dir, hub.url, "notify", "list", "--json")).stdout
        )
        assert [(s["kind"], s["url"], s["events"]) for s in listed] == [
            ("webhook", f"{rx.url}/hook", ["permission_request", "turn_finished"])
        ]
        sink_id = listed[0]["id"]
        tested = await tether(hub.data_dir, hub.url, "notify", "test", sink_id)
        assert "delivered (HTTP 201)" in tested.stdout
        assert (await rx.next()).json()["event"] == "test"

        shown = await tether(
            hub.data_dir,
            hub.url,
            "notify",
            "prefs",
            "--reminder",
            "2",
            "--quiet",
            "22:00-07:00",
            "--tz",
            "Europe/Berlin",
        )
        prefs = json.loads(shown.stdout)
        assert prefs["reminder_minutes"] == 2
        assert prefs["quiet_hours"] == {"start": "22:00", "end": "07:00", "tz": "Europe/Berlin"}

        await tether(hub.data_dir, hub.url, "notify", "remove", sink_id)
        assert (
            json.loads((await tether(hub.data_dir, hub.url, "notify", "list", "--json")).stdout)
            == []
        )


async def test_mistakes_get_a_clear_error(tmp_path: Path) -> None:
    async with secure_hub(tmp_path, with_runner=False) as hub:
        cases = [
            (("notify", "add", "webhook", "ftp://example.com/x"), "https://"),
            (("notify", "add", "pager", "https://example.com/x"), "unknown sink kind"),
            (("notify", "add", "ntfy", "https://ntfy.sh/"), "names no topic"),
            (
                ("notify", "add", "webhook", "https://x.example/h", "--events", "all"),
                "unknown events",
            ),
            (("notify", "remove", "nk_nope"), "no notification sink"),
            (("notify", "prefs", "--quiet", "late"), "22:00-07:00"),
            (("notify", "prefs", "--reminder", "-1"), "reminder_minutes"),
        ]
        for args, message in cases:
            done = await tether(hub.data_dir, hub.url, *args, check=False)
            assert done.returncode == 2, (args, done.stdout, done.stderr)
            assert message in done.stderr, (args, done.stderr)
            assert "Traceback" not in done.stderr
