"""A full disk under the runner's spill dir (a real tmpfs, filled): the events it cannot
spill stay in memory — none is dropped, the spill file never ends in half a line — and
the session gets one `error` event saying so, which goes to the hub like any other."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.tmpfs import fill, small_tmpfs
from tether.runner.outbox import Outbox


def seqs_and_kinds(frames: list[str]) -> list[tuple[int, str]]:
    return [(json.loads(f)["seq"], json.loads(f)["payload"]["kind"]) for f in frames]


def test_a_full_spill_dir_holds_events_in_memory_and_says_so_once(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "spill", "1m") as spill:
        outbox = Outbox(spill, memory_limit=10)
        for n in range(1, 21):  # some spill while there is room
            outbox.append("s_1", {"kind": "output", "stream": "stdout", "text": f"line {n}"})
        filler = fill(spill)
        for n in range(21, 301):
            outbox.append("s_1", {"kind": "output", "stream": "stdout", "text": f"line {n}"})
        # The file is whole: every line a complete frame (the tail of its last page still
        # took a few), none cut short by the full disk.
        text = (spill / "s_1.jsonl").read_text()
        assert text.endswith("\n")
        in_file = [json.loads(line)["seq"] for line in text.splitlines()]
        assert in_file == list(range(1, len(in_file) + 1))
        frames = outbox.take_unsent(limit=10_000)
        got = seqs_and_kinds(frames)
        assert [seq for seq, _kind in got] == list(range(1, len(got) + 1))
        errors = [json.loads(f)["payload"] for f in frames if '"kind":"error"' in f]
        assert len(errors) == 1, errors  # once for the outage, not once per event
        assert errors[0]["code"] == "spill_failed"
        assert str(spill) in errors[0]["message"] and "memory" in errors[0]["message"]
        texts = [json.loads(f)["payload"].get("text") for f in frames]
        assert [t for t in texts if t] == [f"line {n}" for n in range(1, 301)]
        # Room again: spilling resumes, and what was held still goes out, in order.
        filler.unlink()
        outbox.rewind({"s_1": 0})
        for n in range(301, 331):
            outbox.append("s_1", {"kind": "output", "stream": "stdout", "text": f"line {n}"})
        again = outbox.take_unsent(limit=10_000)
        texts = [json.loads(f)["payload"].get("text") for f in again]
        assert [t for t in texts if t] == [f"line {n}" for n in range(1, 331)]
        assert sum('"kind":"error"' in f for f in again) == 1
