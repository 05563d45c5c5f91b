"""An ACP agent's file requests stay inside the team's path (symlinks included)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tether.agents.acp_client import TetherAcpClient
from tether.agents.workspace import Workspace
from tether.errors import Forbidden


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "team"
    (root / "src").mkdir(parents=True)
    (root / "src" / "a.txt").write_text("one\ntwo\nthree\n")
    (tmp_path / "secret.txt").write_text("outside")
    os.symlink(tmp_path / "secret.txt", root / "link-out")
    os.symlink(tmp_path, root / "dir-out")
    os.symlink(root / "src" / "a.txt", root / "link-in")
    return root


def test_reads_inside_and_line_ranges(tree: Path) -> None:
    ws = Workspace(tree)
    assert ws.read_text("src/a.txt") == "one\ntwo\nthree\n"
    assert ws.read_text(str(tree / "src" / "a.txt"), line=2, limit=1) == "two\n"
    assert ws.read_text("link-in") == "one\ntwo\nthree\n"


@pytest.mark.parametrize(
    "path", ["../secret.txt", "link-out", "dir-out/secret.txt", "/etc/passwd", "src/../../x"]
)
def test_refuses_everything_outside(tree: Path, path: str) -> None:
    ws = Workspace(tree)
    with pytest.raises(Forbidden):
        ws.read_text(path)
    with pytest.raises(Forbidden):
        ws.write_text(path, "pwned")
    assert (tree.parent / "secret.txt").read_text() == "outside"


def test_writes_inside_creating_directories(tree: Path) -> None:
    Workspace(tree).write_text("new/dir/b.txt", "hello")
    assert (tree / "new" / "dir" / "b.txt").read_text() == "hello"


async def test_acp_client_answers_file_requests_inside_only(tree: Path) -> None:
    from acp import RequestError

    events: list[dict[str, object]] = []
    client = TetherAcpClient(events.append, "acp", Workspace(tree))
    read = await client.read_text_file("s", str(tree / "src" / "a.txt"))
    assert read.content.startswith("one")
    await client.write_text_file("s", str(tree / "out.txt"), "written")
    assert (tree / "out.txt").read_text() == "written"
    with pytest.raises(RequestError):
        await client.write_text_file("s", str(tree / "dir-out" / "evil.txt"), "x")
    assert not (tree.parent / "evil.txt").exists()
    with pytest.raises(RequestError):
        await client.create_terminal("s", "rm", ["-rf", "/"])
