"""`/static/vendor/…`: the web UI's one third-party library, xterm.js, from node_modules.

xterm.js is a pinned npm dependency (package.json) that the install step puts in
`node_modules/`; it is never copied into this repository. The hub serves exactly the
files below from there, with the UI's security headers. Without them (npm was missing at
install) the routes answer 404 and the terminal view falls back to the screen's text.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

import tether
from tether.web.headers import SECURITY_HEADERS

vendor_router = APIRouter(include_in_schema=False)

# URL name → (package directory, file inside it, media type)
VENDOR_FILES = {
    "xterm/xterm.mjs": ("@xterm/xterm", "lib/xterm.mjs", "text/javascript"),
    "xterm/xterm.css": ("@xterm/xterm", "css/xterm.css", "text/css"),
    "xterm/addon-fit.mjs": ("@xterm/addon-fit", "lib/addon-fit.mjs", "text/javascript"),
}


def node_modules_dirs() -> list[Path]:
    """Where to look: $TETHER_NODE_MODULES, the checkout tether runs from, the cwd."""
    found = []
    if os.environ.get("TETHER_NODE_MODULES"):
        found.append(Path(os.environ["TETHER_NODE_MODULES"]))
    found.append(Path(tether.__file__).resolve().parents[2] / "node_modules")
    found.append(Path.cwd() / "node_modules")
    return found


def vendor_file(name: str) -> Path | None:
    """The file behind a vendor URL name, if installed."""
    entry = VENDOR_FILES.get(name)
    if entry is None:
        return None
    package, inside = entry[0], entry[1]
    for directory in node_modules_dirs():
        candidate = directory / package / inside
        if candidate.is_file():
            return candidate
    return None


@vendor_router.get("/static/vendor/{name:path}")
async def vendor(name: str) -> FileResponse:
    """One of the allow-listed library files."""
    path = vendor_file(name)
    if path is None:
        raise HTTPException(404, "not installed (run scripts/install with npm available)")
    headers = {**SECURITY_HEADERS, "Cache-Control": "no-cache"}
    return FileResponse(path, media_type=VENDOR_FILES[name][2], headers=headers)
