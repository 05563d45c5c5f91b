"""Tables that never cut an id, lines to copy that never wrap, times with their zone."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tether.cli import output
from tether.cli.output import Column, copyable, print_table

IDS = ["s_Ad2Mn7e1p99elc24", "s_zz9Mn7e1p99elc99"]


@pytest.fixture
def narrow(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Stdout is a pipe here (pytest captures it) and COLUMNS says 60."""
    monkeypatch.setenv("COLUMNS", "60")
    output.out.cache_clear()
    yield
    output.out.cache_clear()


def test_ids_stay_whole_in_a_narrow_table(narrow: None, capsys: pytest.CaptureFixture[str]) -> None:
    long_words = "a-team-name-much-longer-than-the-column-can-hold"
    print_table(
        [Column("session", whole=True), *(Column(h) for h in ("team", "state", "owner", "path"))],
        [(i, long_words, "waiting_permission", "admin", "/home/dev/" + long_words) for i in IDS],
    )
    printed = capsys.readouterr().out
    for session_id in IDS:
        assert session_id in printed
    assert "…" in printed  # the other columns gave way


def test_markup_and_escapes_in_cells_are_text(
    narrow: None, capsys: pytest.CaptureFixture[str]
) -> None:
    print_table(
        [Column("team", whole=True), Column("path")],
        [("[link=https://evil.example/]prod[/link]", "\x1b]52;c;AAAA\x07/srv\u202e")],
    )
    printed = capsys.readouterr().out
    assert "[link=https://evil.example/]prod[/link]" in printed
    assert "\x1b" not in printed and "/srv<U+202E>" in printed


def test_a_line_to_copy_is_never_wrapped(narrow: None, capsys: pytest.CaptureFixture[str]) -> None:
    command = "tether login --hub https://hub.example.org:8765 --code ABCD-EFGH" + " x" * 40
    copyable(f"  another machine: {command}")
    assert command in capsys.readouterr().out


def zone_of(tz: str) -> str:
    code = "from tether.cli.output import when; print(when(1767225600.0))"
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"TZ": tz, "PATH": "/usr/bin:/bin"},
        check=True,
    )
    return done.stdout.strip()


def test_times_carry_their_timezone() -> None:
    assert zone_of("UTC") == "2026-01-01 00:00:00 UTC"
    assert zone_of("Asia/Kolkata") == "2026-01-01 05:30:00 IST"
    assert zone_of("Etc/GMT-3") == "2026-01-01 03:00:00 +0300"  # a zone with no abbreviation


def test_missing_times_are_a_dash() -> None:
    assert output.when(None) == "-"
    assert output.when(time.time()).count(":") == 2
