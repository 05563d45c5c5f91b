"""Demo-agent sessions over SSH through a real hub and runner: turns, permissions, reuse, loss."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.support.hub import running_hub, team_session, wait_for_event
from tests.support.ssh_teams import NEEDS_SSHD, ssh_team, sshd
from tests.support.sshd import SshServer
from tests.support.timing import scaled
from tether.config import TetherConfig

pytestmark = NEEDS_SSHD
server = sshd


async def test_demo_session_over_ssh_end_to_end(server: SshServer, tmp_path: Path) -> None:
    workspace = tmp_path / "my project; rm -rf x"
    workspace.mkdir()
    offset = server.log_offset()
    async with team_session(tmp_path, ssh_team(server, workspace), allowing=True) as session:
        remote, client = session.remote, session.client
        await remote.send_message("hello over ssh")
        first = await wait_for_event(remote, "turn_finished")
        assert first["status"] == "success"
        await remote.send_message("run touch file")
        second = await wait_for_event(remote, "turn_finished")
        assert second["result"] == "ran touch file"
        # A second session on the same host rides the same master connection.
        other = await client.start("remote")
        async with session.hub.session(other["id"]) as remote2:
            await remote2.send_message("second session")
            assert (await wait_for_event(remote2, "turn_finished"))["status"] == "success"
        events = (await client.events(session.id))["events"]
        kinds = [e["payload"]["kind"] for e in events]
        assert "permission_request" in kinds and "permission_decision" in kinds
        texts = [e["payload"].get("text", "") for e in events]
        assert any("You said: hello over ssh" in str(t) for t in texts)
        starting = events[0]["payload"]
        assert starting["state"] == "starting" and "ssh" in starting["detail"]
        await client.stop(session.id)
        await client.stop(other["id"])
    assert server.count_logins(offset) == 1


async def test_twelve_teams_on_one_host_share_one_connection(
    server: SshServer, tmp_path: Path
) -> None:
    teams = {}
    for i in range(12):
        path = tmp_path / f"team {i}"
        path.mkdir()
        teams[f"t{i}"] = ssh_team(server, path, name=f"t{i}")
    offset = server.log_offset()
    async with running_hub(tmp_path, TetherConfig(teams=teams)) as hub, hub.client() as client:
        sessions = await asyncio.gather(*(client.start(name) for name in teams))

        async def one_turn(session_id: str, name: str) -> dict[str, object]:
            async with hub.session(session_id) as remote:
                await remote.send_message(f"hello from {name}")
                finished = await wait_for_event(remote, "turn_finished", timeout=60)
                await client.stop(session_id)
                await wait_for_event(remote, "exited", timeout=60)
                return finished

        results = await asyncio.gather(
            *(one_turn(s["id"], name) for s, name in zip(sessions, teams, strict=True))
        )
        assert [r["status"] for r in results] == ["success"] * 12
    assert server.count_logins(offset) == 1


async def test_sshd_stopped_mid_session_reports_exit(tmp_path: Path) -> None:
    with SshServer() as lonely:
        async with team_session(tmp_path, ssh_team(lonely, tmp_path)) as session:
            await session.remote.send_message("hello")
            await wait_for_event(session.remote, "turn_finished")
            lonely.stop()
            exited = await wait_for_event(session.remote, "exited", timeout=30)
            assert exited["code"] == 255
            assert "SSH connection to" in str(exited.get("reason")) and "lost" in str(
                exited.get("reason")
            )
            for _ in range(100):
                info = await session.client.session(session.id)
                if info["state"] == "exited":
                    break
                await asyncio.sleep(scaled(0.05))
            assert info["state"] == "exited"
