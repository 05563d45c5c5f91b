"""A full disk under the hub's SQLite data dir, for real: the data dir is a small tmpfs
that the test fills while a session streams, then frees. The hub acks nothing it could not
store, says so on /readyz (and once in its log), the runner keeps the events and resends
them, and in the end every line is in the log exactly once, in order."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hub.readiness_streams import all_lines_once, line_stream, until
from tests.support.hub import running_hub


@contextlib.contextmanager
def small_tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `where` for the block (root only), unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    where.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(where)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Write a file until the disk is full; the file (delete it to free the space)."""
    filler = disk / "filler"
    chunk = b"\0" * (64 * 1024)
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    # Whatever is left is smaller than a chunk: take it too, byte-sized bites.
    with open(filler, "ab", buffering=0) as f, contextlib.suppress(OSError):
        while True:
            f.write(b"\0" * 512)
    return filler


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
            assert status == 503 and reason and "full" in reason
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
