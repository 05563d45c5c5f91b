"""Where the local hub listens (`hub.json` in the data dir), for the CLI's default --hub.

Kept apart from `tether.serve` so that client commands need not import the server.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tether.private import private_dir, write_private

HUB_FILE = "hub.json"


def write_hub_file(data_dir: Path, url: str) -> None:
    """Remember where the local hub listens, for the CLI's default --hub."""
    private_dir(data_dir)
    write_private(data_dir / HUB_FILE, json.dumps({"url": url, "pid": os.getpid()}) + "\n")


def read_hub_url(data_dir: Path) -> str | None:
    """The URL `tether up`/`tether hub` last wrote, if any."""
    try:
        return str(json.loads((data_dir / HUB_FILE).read_text())["url"])
    except (OSError, ValueError, KeyError):
        return None
