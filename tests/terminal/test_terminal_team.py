"""`agent = "terminal"` teams: a full-screen program on a PTY on the runner — here, behind
an exec prefix (`-t`), and over the loopback sshd (`ssh -tt`) — mirrored intact."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import pyte
import pytest

from tests.support.hub import running_hub, wait_for_event
from tests.support.ssh_teams import ssh_team, sshd
from tests.support.sshd import SshServer
from tether.client import RemoteSession
from tether.config import TeamConfig, TetherConfig
from tether.terminal.chunks import chunk_bytes

REDRAW = str(Path(__file__).with_name("redraw.py"))
FRAMES = 25


def terminal_team(path: Path, name: str, **kwargs: Any) -> TeamConfig:
    return TeamConfig(name=name, path=str(path), agent="terminal", **kwargs)


async def collect_until(remote: RemoteSession, needle: bytes) -> list[dict[str, Any]]:
    """Events until the mirrored output contains `needle`."""
    events: list[dict[str, Any]] = []
    seen = b""
    async for event in remote:
        events.append(event.payload)
        if event.kind == "terminal_output":
            seen += chunk_bytes(event.payload)
            if needle in seen:
                return events
        assert event.kind != "exited", f"the program ended early: {event.payload}"
    raise AssertionError("the stream ended")


def output_bytes(events: list[dict[str, Any]]) -> bytes:
    return b"".join(chunk_bytes(e) for e in events if e["kind"] == "terminal_output")


def written_frames(log: Path) -> list[bytes]:
    return [base64.b64decode(line) for line in log.read_text().splitlines()]


async def check_redraws(hub: Any, team: str, log: Path) -> None:
    async with hub.client() as client:
        session = (await client.start(team))["id"]
        async with hub.session(session) as remote:
            events = await collect_until(remote, f"done {FRAMES} tty=True".encode())
            received = output_bytes(events)
            frames = written_frames(log)
            assert len(frames) == FRAMES
            at = 0
            for data in frames:  # every frame arrived whole, in order, byte for byte
                found = received.find(data, at)
                assert found >= 0, f"frame {frames.index(data) + 1} did not arrive intact"
                at = found + len(data)
            viewer = pyte.Screen(100, 30)
            pyte.ByteStream(viewer).feed(received)
            assert f"frame {FRAMES:04d}  size 100x30" in viewer.display[0]
            assert viewer.display[28].startswith(f"done {FRAMES} tty=True")
            await remote.terminal_input({"text": "\r"})
            exited = await wait_for_event(remote, "exited")
            assert exited["code"] == 0


async def test_a_terminal_team_behind_an_exec_prefix(tmp_path: Path) -> None:
    log = tmp_path / "frames.log"
    team = terminal_team(
        tmp_path,
        "redraw",
        command=[sys.executable, REDRAW, str(FRAMES)],
        remote="env",
        env={"REDRAW_LOG": str(log), "SECRET_TOKEN": "s3cret-never-on-screen"},
    )
    async with running_hub(tmp_path, TetherConfig(teams={"redraw": team})) as hub:
        await check_redraws(hub, "redraw", log)
        async with hub.client() as client:
            sessions = await client.sessions()
            events = (await client.events(sessions[0]["id"]))["events"]
    assert "s3cret-never-on-screen" not in str(events)  # the env never reaches the screen


server = sshd


@pytest.mark.ssh
async def test_htop_style_redraws_over_ssh_arrive_intact(server: SshServer, tmp_path: Path) -> None:
    log = tmp_path / "frames.log"
    team = ssh_team(
        server,
        tmp_path,
        "top",
        agent="terminal",
        command=[sys.executable, REDRAW, str(FRAMES)],
        env={"REDRAW_LOG": str(log), "PYTHONPATH": ""},
    )
    async with running_hub(tmp_path, TetherConfig(teams={"top": team})) as hub:
        await check_redraws(hub, "top", log)


async def test_owner_types_and_resizes_followers_are_refused(tmp_path: Path) -> None:
    from tether.errors import Conflict, Forbidden, ProtocolError

    bash = terminal_team(
        tmp_path,
        "shell",
        command=["bash", "--norc", "-i"],
        env={"PS1": "$ ", "HISTFILE": "/dev/null"},
    )
    config = TetherConfig(
        teams={"shell": bash, "demo": TeamConfig(name="demo", path=str(tmp_path), agent="demo")}
    )
    async with running_hub(tmp_path, config) as hub, hub.client() as client:
        session = (await client.start("shell"))["id"]
        async with hub.session(session) as owner, hub.session(session, follow=True) as follower:
            assert owner.role == "owner" and follower.role == "follower"
            await owner.terminal_resize(123, 41)
            await owner.terminal_input({"text": "stty size; echo typed-$((40+2))\r"})
            events = await collect_until(owner, b"typed-42")
            assert b"41 123" in output_bytes(events)
            with pytest.raises(Forbidden):
                await follower.terminal_input({"text": "echo sneaky\r"})
            with pytest.raises(Forbidden):
                await follower.terminal_resize(10, 10)
            with pytest.raises(ProtocolError):  # 2**63 columns: refused before the runner
                await owner.terminal_resize(2**63, 10)
            with pytest.raises(ProtocolError):
                await owner.terminal_input({"text": "x", "data": "eA=="})
            await client.send(session, "exit 3")  # `tether send`: the text, then Enter
            exited = await wait_for_event(owner, "exited")
            assert exited["code"] == 3
        all_events = (await client.events(session))["events"]
        assert b"sneaky" not in output_bytes([e["payload"] for e in all_events])
        demo = (await client.start("demo"))["id"]
        async with hub.session(demo) as other:
            with pytest.raises(Conflict):  # keystrokes are for terminal sessions only
                await other.terminal_input({"text": "hi"})
