"""A full disk under the hub's SQLite data dir, for real: the data dir is a small tmpfs
that the test fills while a session streams, then frees. The hub acks nothing it could not
store, says so on /readyz (and once in its log), the runner keeps the events and resends
them, and in the end every line is in the log exactly once, in order."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.hub.readiness_streams import all_lines_once, line_stream, until
from tests.support.hub import running_hub
from tests.support.tmpfs import fill, small_tmpfs


async def test_a_full_data_dir_holds_the_stream_back_and_loses_nothing(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with small_tmpfs(tmp_path / "data", "8m") as data:
        async with (
            running_hub(data, with_runner=False) as hub,
            line_stream(hub, tmp_path, total=3000, gate_at=500) as stream,
        ):
            filler = fill(data)
            stream.gate.touch()  # the rest of the lines come while the disk is full

            async def refused() -> bool:
                status, _reason = await stream.ready()
                return status == 503

            await until(refused, what="/readyz to say 503 while the disk is full")
            status, reason = await stream.ready()
            assert status == 503 and reason == "the store's disk is full"
            assert str(data) not in reason  # it needs no credentials: no paths in it
            # Held back, not lost: the runner holds what the hub could not store.
            assert stream.runner.outbox.unacked_count() > 0
            assert len(await stream.lines()) < 3000
            filler.unlink()
            await all_lines_once(stream)

            async def ready_again() -> bool:
                return (await stream.ready())[0] == 200

            await until(ready_again, what="/readyz to say 200 once the disk has room")
    said = [r.getMessage() for r in caplog.records if "refuses writes" in r.getMessage()]
    assert len(said) == 1, said  # once for the outage, not once per event
    assert any("takes writes again" in r.getMessage() for r in caplog.records)


async def test_a_full_spill_dir_on_the_runner_reaches_the_hub_as_a_session_error(
    tmp_path: Path,
) -> None:
    # Both disks full: the hub cannot store, so the runner holds more than its memory bound
    # and cannot spill either. It says so in the session; nothing is dropped.
    with (
        small_tmpfs(tmp_path / "data", "8m") as data,
        small_tmpfs(tmp_path / "runner", "2m") as runner_dir,
    ):
        async with (
            running_hub(data, with_runner=False) as hub,
            line_stream(
                hub, tmp_path, total=3000, gate_at=300, runner_dir=runner_dir, memory_limit=100
            ) as stream,
        ):
            hub_filler, _runner_filler = fill(data), fill(runner_dir)
            stream.gate.touch()

            async def over_the_bound() -> bool:
                return stream.runner.outbox.unacked_count() > 200

            await until(over_the_bound, what="the runner to hold more than it may in memory")
            hub_filler.unlink()  # the hub takes events again; the runner's disk stays full
            await all_lines_once(stream)
            errors = [e for e in await stream.stored() if e.kind == "error"]
            assert len(errors) == 1
            assert '"code":"spill_failed"' in errors[0].payload
            assert "cannot spill events" in errors[0].payload
