"""`tether run -- bash --norc -i` driven from a real PTY (the test is the user's terminal),
against a real `tether hub` process: listed, typed into from elsewhere, mirrored to
followers, outliving its terminal, and picked up again from another PTY."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.cluster import Attached, Cluster
from tests.support.procs import cli_env, tether_argv, wait_until
from tests.terminal.ptydrive import PtyUser, terminal_hub
from tether.terminal.chunks import chunk_bytes

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    yield from terminal_hub(tmp_path_factory.mktemp("terminal-hub"))


def bash_env(hub: Cluster) -> dict[str, str]:
    return cli_env(hub.home, hub.url, PS1="$ ", TERM="xterm-256color", HISTFILE="/dev/null")


def start_bash(hub: Cluster, tmp_path: Path, *args: str) -> tuple[PtyUser, str]:
    user = PtyUser(
        tether_argv("run", *args, "--", "bash", "--norc", "-i"), env=bash_env(hub), cwd=tmp_path
    )
    banner = user.wait_for(re.compile(r"tether: (s_\S+)").search)
    session = re.search(r"tether: (s_\S+)", banner)
    assert session is not None
    user.wait_for(lambda text: text.rstrip().endswith("$"))
    return user, session.group(1)


def screen_text(events: list[dict[str, Any]]) -> str:
    """Everything a JSON attach saw: snapshot lines and output bytes, as text."""
    parts: list[str] = []
    for event in events:
        if event["kind"] == "terminal_snapshot":
            parts.append("\n".join(event["lines"]))
        elif event["kind"] == "terminal_output":
            parts.append(chunk_bytes(event).decode("utf-8", "replace"))
    return "\n".join(parts)


def wait_for_text(attached: Attached, needle: str) -> str:
    return str(
        wait_until(
            lambda: needle in screen_text(attached.events()) and screen_text(attached.events()),
            timeout=30,
            what=needle,
        )
    )


def test_the_shell_is_a_session_typed_into_from_anywhere(hub: Cluster, tmp_path: Path) -> None:
    user, session = start_bash(hub, tmp_path, "--name", "my shell")
    follower: Attached | None = None
    try:
        listed = {s["id"]: s for s in hub.get("/v1/sessions")}
        assert listed[session]["agent"] == "terminal"
        assert listed[session]["team"] == "my shell"
        assert listed[session]["owner"] is None  # the console never takes the owner slot

        hub.cli("send", session, "echo remote-$((6*7))")
        user.wait_for("remote-42")
        follower = hub.attach("follower", session, "--json", "--follow")
        assert "remote-42" in wait_for_text(follower, "remote-42")

        user.type("echo typed-$((1+1))-locally\r")
        user.wait_for("typed-2-locally")
        wait_for_text(follower, "typed-2-locally")
    finally:
        if follower is not None:
            follower.stop()
        user.type("exit 5\r")
        assert user.wait_exit() == 5  # the program's exit status is passed through
        user.kill()


def test_closing_the_terminal_leaves_the_shell_running_to_pick_up(
    hub: Cluster, tmp_path: Path
) -> None:
    user, session = start_bash(hub, tmp_path)
    user.type("echo before-close\r")
    user.wait_for("before-close")
    user.close_terminal()  # the window is gone: SIGHUP to `tether run`, EOF on its PTY
    user.kill()
    info = hub.get(f"/v1/sessions/{session}")
    assert info["state"] != "exited"
    wait_until(lambda: not hub.get(f"/v1/sessions/{session}")["terminal"]["console"], timeout=30)

    again = PtyUser(tether_argv("attach", session), env=bash_env(hub), cols=100, rows=30)
    try:
        screen = again.wait_for("before-close")
        assert b"as owner" in again.raw  # (then the repaint of the screen wipes it)
        del screen
        again.type("echo picked-up-$((2+3))\r")
        again.wait_for("picked-up-5")
        again.type("exit\r")
        again.wait_for("the program exited")
        assert again.wait_exit() == 0
    finally:
        again.kill()
    wait_until(lambda: hub.get(f"/v1/sessions/{session}")["state"] == "exited", timeout=30)


def test_the_detach_key_leaves_it_running(hub: Cluster, tmp_path: Path) -> None:
    user, session = start_bash(hub, tmp_path)
    try:
        user.type(b"\x1dd")
        screen = user.wait_for("keeps running")
        assert f"tether attach {session}" in screen
        assert user.wait_exit() == 0
        hub.cli("send", session, "exit")
        wait_until(lambda: hub.get(f"/v1/sessions/{session}")["state"] == "exited", timeout=30)
    finally:
        user.kill()


def test_a_hostile_programs_clipboard_write_never_reaches_a_viewer(
    hub: Cluster, tmp_path: Path
) -> None:
    user, session = start_bash(hub, tmp_path)
    follower = hub.attach("hostile-follower", session, "--json", "--follow")
    mirror = PtyUser(tether_argv("attach", session, "--follow"), env=bash_env(hub))
    try:
        follower.wait_stderr("as follower")
        mirror.wait_for("$")
        attack = r"printf '\033]52;c;cm0gLXJmIH4=\007\033]0;pwned\007\033[6n%s\n' shown-$((3*3))"
        hub.cli("send", session, attack)
        user.wait_for("shown-9")  # the program's own terminal gets what it wrote
        assert b"\x1b]52;c;cm0gLXJmIH4=" in user.raw
        mirror.wait_for("shown-9")
        text = wait_for_text(follower, "shown-9")
        for seen in (text.encode(), bytes(mirror.raw)):
            assert b"\x1b]52" not in seen and b"\x1b]0;" not in seen and b"\x1b[6n" not in seen
    finally:
        follower.stop()
        mirror.kill()
        user.type("exit\r")
        user.wait_exit()
        user.kill()
