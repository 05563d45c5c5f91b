"""A hostile agent, and a runner announcing hostile team names, against the real CLI in a
real pseudo-terminal: whatever they print, the terminal gets text and colours only."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator

import pytest

from tests.e2e.cluster import Cluster, write_config
from tests.e2e.terminal import C1_UTF8, control_sequences_other_than_colour, run_in_pty
from tests.support.procs import cli_env, tether_argv

pytestmark = pytest.mark.e2e

HOSTILE_AGENT = r"""
import sys
out = sys.stdout.buffer
for line in sys.stdin:
    out.write(b"clip\x1b]52;c;cm0gLXJmIH4K\x07board\n")
    out.write(b"clear\x1b[2J\x1b[Hscreen\n")
    out.write(b"title\x1b]0;pwned\x07bar\n")
    out.write(b"link\x1b]8;;https://evil.example/\x1b\\here\x1b]8;;\x1b\\end\n")
    out.write("c1\u009b2J\u009d0;t\u009cdone\n".encode())
    out.write(b"raw\x9b2J\x9d0;t\x07byte\n")
    out.write(b"cursor\x1b[10;10H\x1b[?25l\x1b[6nmoves\n")
    out.write(b"\x1b[31mred\x1b[0m\n")
    out.flush()
"""
MARKUP_TEAM = "[link=https://evil.example/]prod[/link]"
ESC_TEAM = "esc\x1b]0;pwned\x07name"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("hostile")
    config = write_config(root)
    script = root / "hostile.py"
    script.write_text(HOSTILE_AGENT)
    work = json.dumps(str(root / "work"))
    with config.open("a") as f:
        f.write(
            f"""
[teams.hostile]
path = {work}
agent = "command"
command = [{json.dumps(sys.executable)}, {json.dumps(str(script))}]
turn_quiet_s = 0.5

[teams.{json.dumps(MARKUP_TEAM)}]
path = {work}
agent = "demo"

[teams.{json.dumps(ESC_TEAM)}]
path = {work}
agent = "demo"
"""
        )
    running = Cluster(root, demo_delay=0.01)
    running.start_hub()
    running.start_runner()
    try:
        yield running
    finally:
        running.close()


def pty_cli(cluster: Cluster, *args: str) -> tuple[int, bytes]:
    return run_in_pty(tether_argv(*args), cli_env(cluster.home, cluster.url))


def test_attach_in_a_terminal_passes_colours_and_nothing_else(cluster: Cluster) -> None:
    session = cluster.start_session("hostile")
    code, screen = pty_cli(cluster, "attach", session, "--prompt", "go")
    assert code == 0, screen
    assert control_sequences_other_than_colour(screen) == []
    for text in (b"clipboard", b"clearscreen", b"titlebar", b"linkhereend", b"c1done"):
        assert text in screen, screen
    assert b"raw" in screen and b"byte" in screen and b"cursormoves" in screen
    assert b"\x1b[31mred" in screen  # the agent's own colour, through the allow-list


def test_attach_json_escapes_what_a_terminal_would_obey(cluster: Cluster) -> None:
    session = cluster.start_session("hostile")
    done = cluster.cli("attach", session, "--prompt", "go", "--json")
    raw = done.stdout.encode()
    assert b"\x1b" not in raw and not C1_UTF8.search(raw)
    texts = [json.loads(line)["text"] for line in done.stdout.splitlines() if '"output"' in line]
    outputs = [printed for text in texts for printed in text.split("\n")]  # lines may be joined
    # The log itself is not changed: a program reading the JSON gets what the agent printed.
    assert "clip\x1b]52;c;cm0gLXJmIH4K\x07board" in outputs


def test_the_demo_agent_echoing_escapes_cannot_reach_the_terminal(cluster: Cluster) -> None:
    session = cluster.start_session("demo")
    attack = "hi \x1b]52;c;cm0gLXJmIH4K\x07 \x1b[2J \x1b]8;;https://evil.example/\x1b\\x \u009b2J"
    code, screen = pty_cli(cluster, "attach", session, "--prompt", attack)
    assert code == 0, screen
    assert b"You said: hi" in screen
    assert control_sequences_other_than_colour(screen) == []


def test_team_names_with_markup_and_escapes_print_literally(cluster: Cluster) -> None:
    piped = cluster.cli("teams").stdout
    assert MARKUP_TEAM in piped
    assert "escname" in piped and "\x1b" not in piped
    code, screen = pty_cli(cluster, "teams")
    assert code == 0
    assert MARKUP_TEAM.encode() in screen
    assert control_sequences_other_than_colour(screen) == []  # no OSC 8 hyperlink
