"""The app's files agree with each other: the icons are what tether.web.icons draws, the
manifest names files that exist, and the service worker caches every file the shell
loads (a module missing there would break the app offline)."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

from tether.web.icons import ICONS, icons_dir, render
from tether.web.mount import static_dir

STATIC = static_dir()


def test_the_committed_icons_are_what_the_generator_draws() -> None:
    for name, (size, maskable) in ICONS.items():
        data = (icons_dir() / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        assert struct.unpack(">II", data[16:24]) == (size, size)
        if size <= 192:  # the big ones take seconds to draw; the code path is the same
            assert data == render(size, maskable=maskable), (
                f"{name}: run python -m tether.web.icons"
            )


def test_the_manifest_names_icons_that_exist() -> None:
    manifest = json.loads((STATIC / "manifest.webmanifest").read_text())
    for icon in manifest["icons"]:
        assert (STATIC / icon["src"].removeprefix("/static/")).is_file(), icon["src"]
    assert {"name", "short_name", "start_url", "display", "icons"} <= manifest.keys()


def test_the_service_worker_caches_the_whole_shell() -> None:
    worker = (STATIC / "sw.js").read_text()
    listed = set(re.findall(r'"(/static/[^"]+)"', worker))
    modules = {f"/static/js/{p.name}" for p in (STATIC / "js").glob("*.js")}
    assert modules - listed == set()
    for path in listed:
        assert (STATIC / path.removeprefix("/static/")).is_file(), path
    html = (STATIC / "index.html").read_text()
    for ref in re.findall(r'(?:href|src)="(/static/[^"]+)"', html):
        assert ref in listed or ref.startswith("/static/icons/"), ref


def test_building_the_app_reads_or_writes_no_file(tmp_path: Path) -> None:
    from tether.app import create_app
    from tether.hub.settings import HubSettings

    create_app(HubSettings(data_dir=tmp_path / "nowhere"))
    assert not (tmp_path / "nowhere").exists()  # the keys are read when the hub starts
