"""Which agent CLIs this machine has, where they are, and their versions.

A binary is looked up, in order, in `$TETHER_<NAME>_BIN` (e.g. `TETHER_CODEX_BIN`), on
`PATH`, then in `node_modules/.bin` of the current directory and of the tether checkout
(where `npm ci` puts the pinned CLIs). Versions come from the npm `package.json` next to
the binary when there is one (instant; `gemini --version` takes seconds to start Node),
else from `<binary> --version`.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from tether.errors import AgentError

#: The agent CLIs tether knows by name, and how to install each one.
KNOWN_AGENTS: dict[str, str] = {
    "claude": "npm install -g @anthropic-ai/claude-code",
    "codex": "npm install -g @openai/codex",
    "gemini": "npm install -g @google/gemini-cli",
    "claude-code-acp": "npm install -g @zed-industries/claude-code-acp",
}
#: What `detect_agents()` reports (the runner's `hello`, `tether teams check`).
DETECTED = ("claude", "codex", "gemini")

_VERSION = re.compile(r"\d+\.\d+(?:\.\d+)?(?:[-+][0-9A-Za-z.\-]+)?")


@dataclass(frozen=True)
class AgentBinary:
    """One agent CLI found on this machine."""

    name: str
    path: str
    version: str | None


def _env_var(name: str) -> str:
    return "TETHER_" + re.sub(r"[^A-Z0-9]", "_", name.upper()) + "_BIN"


def _search_dirs() -> list[Path]:
    checkout = Path(__file__).resolve().parents[3]
    return [Path.cwd() / "node_modules" / ".bin", checkout / "node_modules" / ".bin"]


def find_agent_binary(name: str, path: str | None = None) -> str | None:
    """The full path of agent CLI `name`, or None when it is not installed."""
    override = os.environ.get(_env_var(name))
    if override:
        found = override if os.path.isfile(override) else shutil.which(override, path=path)
        if found:
            return found
    on_path = shutil.which(name, path=path)
    if on_path:
        return on_path
    for directory in _search_dirs():
        candidate = directory / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_agent_binary(name: str, path: str | None = None) -> str:
    """Like `find_agent_binary`, but a missing CLI is an `AgentError` saying how to install it."""
    found = find_agent_binary(name, path)
    if found is None:
        install = KNOWN_AGENTS.get(name, f"install {name}")
        raise AgentError(
            f"the {name!r} agent CLI was not found (looked in ${_env_var(name)}, PATH and"
            " node_modules/.bin)",
            hint=f"install it (`{install}`), put it on PATH, or set"
            f' `command = ["/full/path/to/{name}"]` for the team',
        )
    return found


def package_version(binary: str) -> str | None:
    """The version in the npm `package.json` that owns `binary` (following the .bin symlink)."""
    try:
        here = Path(binary).resolve().parent
    except OSError:
        return None
    for directory in (here, *here.parents):
        manifest = directory / "package.json"
        if manifest.is_file():
            try:
                version = json.loads(manifest.read_text(encoding="utf-8")).get("version")
            except (OSError, ValueError):
                return None
            return str(version) if version else None
        if directory.name == "node_modules":
            break
    return None


async def command_version(binary: str, timeout: float = 10.0) -> str | None:
    """The version `<binary> --version` prints, or None if it fails or takes too long."""
    try:
        proc = await asyncio.create_subprocess_exec(
            binary,
            "--version",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError:
        return None
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None
    match = _VERSION.search(out.decode("utf-8", "replace"))
    return match.group(0) if match else None


async def describe_agent(name: str) -> AgentBinary | None:
    """Where agent CLI `name` is and its version, or None when it is not installed."""
    path = find_agent_binary(name)
    if path is None:
        return None
    version = package_version(path) or await command_version(path)
    return AgentBinary(name=name, path=path, version=version)


async def detect_agents(names: tuple[str, ...] = DETECTED) -> dict[str, str | None]:
    """`{name: version}` for each of `names`: None when that CLI is not installed here,
    `"unknown"` when it is but its version could not be read."""
    found = await asyncio.gather(*(describe_agent(name) for name in names))
    return {
        name: None if binary is None else (binary.version or "unknown")
        for name, binary in zip(names, found, strict=True)
    }
