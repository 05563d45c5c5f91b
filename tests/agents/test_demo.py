"""The demo agent shows a new user what a Claude session looks like in tether — a diff, tool
output, a cost per turn — and never writes a file or runs a command."""

from __future__ import annotations

from pathlib import Path

from tests.agents.flow import of_kind, run_turn, texts
from tests.support.hub import demo_team, running_hub
from tether.config import TetherConfig


async def test_an_edit_turn_reads_asks_with_old_and_new_strings_and_costs(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    config = TetherConfig(teams={"demo": demo_team(work)})
    async with running_hub(tmp_path / "hub", config) as hub, hub.client() as client:
        session = (await client.start("demo"))["id"]
        async with hub.session(session) as remote:
            events = await run_turn(remote, "edit hello.py", answer="allow")
            denied = await run_turn(remote, "edit ../../etc/passwd", answer="deny")
    read, edit = of_kind(events, "tool_call")
    assert read["tool"] == "Read" and read["input"]["file_path"] == str(work / "hello.py")
    output = of_kind(events, "tool_result")[0]
    assert output["tool_use_id"] == read["tool_use_id"] and "print(" in output["output"]
    assert edit["tool"] == "Edit"
    assert edit["input"]["old_string"] != edit["input"]["new_string"]
    assert edit["input"]["old_string"] in output["output"]
    [request] = of_kind(events, "permission_request")
    assert request["tool"] == "Edit" and request["tool_use_id"] == edit["tool_use_id"]
    assert request["input"]["new_string"] == edit["input"]["new_string"]
    updated = of_kind(events, "tool_result")[-1]
    assert "updated successfully" in updated["output"] and updated["is_error"] is False
    finished = of_kind(events, "turn_finished")[0]
    assert finished["status"] == "success" and finished["result"] == "edited hello.py"
    assert 0 < finished["cost"] < 0.1
    assert finished["usage"]["input_tokens"] > finished["usage"]["cache_read_tokens"] > 0
    assert "left ../../etc/passwd as it was" in texts(denied)[-1]
    assert of_kind(denied, "tool_result")[-1]["is_error"] is True
    assert list(work.iterdir()) == []  # nothing was written, anywhere it was pointed


async def test_each_turn_reports_its_own_cost_not_the_running_total(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub, hub.client() as client:
        session = (await client.start("demo"))["id"]
        async with hub.session(session) as remote:
            first = of_kind(await run_turn(remote, "hello"), "turn_finished")[0]
            second = of_kind(await run_turn(remote, "hello"), "turn_finished")[0]
    assert first["cost"] == second["cost"] > 0
    assert first["raw"]["total_cost_usd"] < second["raw"]["total_cost_usd"]


async def test_accept_edits_mode_edits_without_asking_but_commands_still_ask(
    tmp_path: Path,
) -> None:
    config = TetherConfig(teams={"demo": demo_team(tmp_path, permission_mode="acceptEdits")})
    async with running_hub(tmp_path / "hub", config) as hub, hub.client() as client:
        session = (await client.start("demo"))["id"]
        async with hub.session(session) as remote:
            edited = await run_turn(remote, "edit")
            ran = await run_turn(remote, "run rm -rf /", answer="deny")
    assert of_kind(edited, "permission_request") == []
    assert of_kind(edited, "turn_finished")[0]["result"] == "edited hello.py"
    assert of_kind(ran, "permission_request")[0]["input"]["command"] == "rm -rf /"
    assert texts(ran)[-1] == "OK, I did not run `rm -rf /`."
