"""The runner's Outbox: seqs, cumulative acks, resend after reconnect, spill to disk, recovery."""

from __future__ import annotations

import json
from pathlib import Path

from tether.runner.outbox import Outbox


def seqs(frames: list[str]) -> list[int]:
    return [json.loads(f)["seq"] for f in frames]


def fill(box: Outbox, session: str, count: int) -> None:
    for n in range(count):
        box.append(session, {"kind": "agent_message", "text": f"{session} {n + 1}"})


def test_each_session_numbers_its_events_from_one() -> None:
    box = Outbox()
    assert [box.append("a", {"kind": "status", "state": "idle"}) for _ in range(3)] == [1, 2, 3]
    assert box.append("b", {"kind": "status", "state": "idle"}) == 1
    assert box.last_seqs() == {"a": 3, "b": 1}
    frame = json.loads(box.take_unsent()[0])
    assert frame["v"] == 1 and frame["type"] == "event" and frame["session"] == "a"
    assert frame["payload"] == {"kind": "status", "state": "idle"}


def test_take_unsent_hands_out_each_frame_once_in_order() -> None:
    box = Outbox()
    fill(box, "a", 5)
    assert seqs(box.take_unsent()) == [1, 2, 3, 4, 5]
    assert box.take_unsent() == []
    fill(box, "a", 2)
    assert seqs(box.take_unsent()) == [6, 7]


def test_take_unsent_respects_its_limit_and_continues() -> None:
    box = Outbox()
    fill(box, "a", 12)
    first = box.take_unsent(limit=5)
    assert seqs(first) == [1, 2, 3, 4, 5]
    assert seqs(box.take_unsent(limit=5)) == [6, 7, 8, 9, 10]
    assert seqs(box.take_unsent(limit=5)) == [11, 12]


def test_acks_are_cumulative_and_release_memory() -> None:
    box = Outbox()
    fill(box, "a", 10)
    box.take_unsent()
    box.ack("a", 4)
    assert box.unacked_count() == 6
    box.ack("a", 2)  # an older ack changes nothing
    assert box.unacked_count() == 6
    box.ack("a", 99)  # never beyond what exists
    assert box.unacked_count() == 0
    box.ack("nobody", 3)
    box.forget("a")
    assert box.last_seqs() == {}


def test_rewind_after_reconnect_resends_what_the_hub_does_not_hold() -> None:
    box = Outbox()
    fill(box, "a", 10)
    fill(box, "b", 3)
    box.take_unsent()
    box.ack("a", 2)
    # The connection dropped; the new hub connection says it holds a:6 and nothing of b.
    box.rewind({"a": 6})
    again = box.take_unsent()
    by_session = {
        s: [json.loads(f)["seq"] for f in again if json.loads(f)["session"] == s] for s in "ab"
    }
    assert by_session == {"a": [7, 8, 9, 10], "b": [1, 2, 3]}
    assert box.unacked_count() == 4 + 3


def test_rewind_to_more_than_we_remember_continues_after_it() -> None:
    box = Outbox()
    fill(box, "a", 2)
    box.rewind({"a": 40})
    assert box.append("a", {"kind": "error", "message": "x"}) == 41
    assert seqs(box.take_unsent()) == [41]


def test_beyond_the_memory_bound_events_spill_to_disk_and_resend_in_order(tmp_path: Path) -> None:
    box = Outbox(tmp_path, memory_limit=10)
    fill(box, "a", 35)
    fill(box, "b", 5)
    spill = tmp_path / "a.jsonl"
    assert spill.exists()
    assert box._in_memory <= 11  # the bound holds (plus the one that tipped it)
    frames = box.take_unsent(limit=1000)
    a = [json.loads(f)["seq"] for f in frames if json.loads(f)["session"] == "a"]
    assert a == list(range(1, 36))
    assert [json.loads(f)["payload"]["text"] for f in frames][:2] == ["a 1", "a 2"]
    # Reconnect with nothing held: everything again, still in order, no duplicates.
    box.rewind({"a": 3, "b": 0})
    frames = box.take_unsent(limit=1000)
    assert [json.loads(f)["seq"] for f in frames if json.loads(f)["session"] == "a"] == list(
        range(4, 36)
    )
    box.ack("a", 35)
    assert not spill.exists()  # fully acknowledged: the spill file goes


def test_spilled_events_survive_a_runner_restart(tmp_path: Path) -> None:
    box = Outbox(tmp_path, memory_limit=4)
    fill(box, "s_x", 20)
    spilled = max(json.loads(line)["seq"] for line in (tmp_path / "s_x.jsonl").open())
    del box  # the runner process dies; only the spill file remains
    again = Outbox(tmp_path, memory_limit=4)
    assert again.last_seqs() == {"s_x": spilled}
    again.rewind({"s_x": 5})  # what the hub had stored before the crash
    assert seqs(again.take_unsent(limit=1000)) == list(range(6, spilled + 1))
    # New events continue the numbering after the recovered ones.
    assert again.append("s_x", {"kind": "exited", "code": None}) == spilled + 1


def test_a_damaged_spill_file_is_set_aside(tmp_path: Path) -> None:
    (tmp_path / "s_bad.jsonl").write_text('{"seq": 1}\nnot json\n')
    box = Outbox(tmp_path)
    assert box.last_seqs() == {}
    assert (tmp_path / "s_bad.damaged").exists()


def test_a_long_spilled_backlog_goes_out_in_chunks_once_each_and_again_after_a_rewind(
    tmp_path: Path,
) -> None:
    box = Outbox(tmp_path, memory_limit=50)
    for n in range(1, 1001):
        # Text that looks like an envelope's seq must not be taken for one.
        box.append("s_a", {"kind": "output", "stream": "stdout", "text": f'x","seq":7,"é {n}'})
    assert (tmp_path / "s_a.jsonl").exists()
    taken: list[int] = []
    while chunk := box.take_unsent(limit=64):
        taken.extend(seqs(chunk))
    assert taken == list(range(1, 1001))
    # The hub stored up to 300 before the connection dropped: 301… again, in order.
    box.rewind({"s_a": 300})
    again: list[int] = []
    while chunk := box.take_unsent(limit=97):
        again.extend(seqs(chunk))
    assert again == list(range(301, 1001))
    frames = box.take_unsent()
    assert frames == []
    box.append("s_a", {"kind": "exited", "code": 0})
    assert seqs(box.take_unsent()) == [1001]
