"""SessionSupervisor: sessions the hub believes run here after a runner restart
(adopt_orphans), and how an adapter's event models become the outbox's payloads."""

from __future__ import annotations

import json
from pathlib import Path

from tether.config import TetherConfig
from tether.protocol.events import Exited, ToolCall
from tether.runner.outbox import Outbox
from tether.runner.supervisor import SessionSupervisor, event_payload


def payloads(box: Outbox) -> list[tuple[int, dict[str, object]]]:
    return [(json.loads(f)["seq"], json.loads(f)["payload"]) for f in box.take_unsent(limit=10**6)]


def test_orphan_gets_an_exited_event_right_after_the_durable_seq(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "spill")
    supervisor = SessionSupervisor(TetherConfig(), box, tmp_path)
    supervisor.adopt_orphans({"s_1": 17})
    box.rewind({"s_1": 17})
    [(seq, payload)] = payloads(box)
    assert seq == 18 and payload["kind"] == "exited"
    assert "runner restarted" in str(payload["reason"])
    # A second reconnect does not announce it again.
    supervisor.adopt_orphans({"s_1": 18})
    box.rewind({"s_1": 18})
    assert payloads(box) == []


def test_orphan_with_spilled_events_still_owed_exits_after_them(tmp_path: Path) -> None:
    spill = tmp_path / "spill"
    before = Outbox(spill, memory_limit=2)
    for n in range(10):
        before.append("s_1", {"kind": "agent_message", "text": str(n)})
    spilled = before.last_seqs()["s_1"] - 2  # roughly: the newest ones stayed in memory
    del before  # kill -9: memory is gone, the spill file stays
    box = Outbox(spill, memory_limit=2)
    recovered = box.last_seqs()["s_1"]
    assert recovered >= spilled
    supervisor = SessionSupervisor(TetherConfig(), box, tmp_path)
    supervisor.adopt_orphans({"s_1": 3})
    box.rewind({"s_1": 3})
    events = payloads(box)
    assert [seq for seq, _ in events] == list(range(4, recovered + 2))
    assert events[-1][1]["kind"] == "exited"
    assert all(p["kind"] == "agent_message" for _, p in events[:-1])


def test_an_event_model_becomes_a_payload_with_kind_first_and_raw_last() -> None:
    call = ToolCall(tool_use_id="t1", tool="Bash", input={"command": None}, raw={"id": None})
    payload = event_payload(call)
    assert list(payload) == ["kind", "tool_use_id", "tool", "input", "raw"]
    # Unset fields are left out; what the agent sent (even its nulls) is kept as it was.
    assert payload["input"] == {"command": None} and payload["raw"] == {"id": None}
    assert "title" not in payload
    # An exit without a code says so (killed by a signal, or never ran).
    assert event_payload(Exited(signal=9)) == {"kind": "exited", "code": None, "signal": 9}


async def test_a_message_the_hub_sends_right_after_the_start_reaches_the_agent(
    tmp_path: Path,
) -> None:
    import asyncio
    import sys

    from tether.config import TeamConfig
    from tether.protocol.messages import ControlStart, ControlUserMessage
    from tether.runner.availability import TeamProbes

    script = tmp_path / "echo.py"
    script.write_text(
        "import sys\nfor line in sys.stdin:\n    print('got', line.strip(), flush=True)\n"
    )
    team = TeamConfig(
        name="echo",
        path=str(tmp_path),
        agent="command",
        command=[sys.executable, str(script)],
        mode="stdin",
    )
    config = TetherConfig(teams={"echo": team})
    box = Outbox()
    # The real probe of the team before the start: an await the message must not overtake.
    supervisor = SessionSupervisor(config, box, tmp_path, probes=TeamProbes(config.teams, tmp_path))
    # Both controls arrive together, each handled in its own task (as the runner does).
    await asyncio.gather(
        supervisor.handle("s_1", ControlStart(team="echo")),
        supervisor.handle("s_1", ControlUserMessage(text="hi")),
    )
    seen: list[dict[str, object]] = []
    async with asyncio.timeout(30):
        while not any(p.get("text") == "got hi" for p in seen):
            await asyncio.sleep(0.05)
            seen.extend(payload for _seq, payload in payloads(box))
    assert not [p for p in seen if p["kind"] == "error"]
    await supervisor.stop("s_1")
