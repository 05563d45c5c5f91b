"""The JSON shape of the teams config: an Iris `teams.json` loads as Iris users have it.

    {"settings": {"idleTimeout": 300000, "maxProcesses": 10},
     "teams": {"frontend": {"path": "/x", "skipPermissions": true, "color": "#61dafb",
                            "remote": "ssh -i ~/.ssh/key dev@host",
                            "remoteOptions": {"connectTimeout": 10000}}}}

camelCase keys become tether's snake_case settings. The keys Iris defines keep Iris's
units: `idleTimeout`, `sessionInitTimeout` and `remoteOptions.connectTimeout` are
milliseconds (an idle timeout under a minute, another one under a second, is refused:
that is seconds under Iris's key); `remoteOptions.serverAliveInterval` is seconds
(Iris's schema), read as milliseconds when it is 1000 or more (Iris's examples write
30000). snake_case keys
are tether's own, in seconds. The top-level `settings` block gives `max_processes` and
the defaults for teams that do not set their own timeouts.

Nothing here fails on a key it does not use: Iris's own settings that mean nothing to
tether (its dashboard, reverse MCP tunnel …) and unknown keys become notes, which the
loader logs and `tether teams check` shows, next to every unit it converted.

Pure: dicts in, dicts and notes out; the loader validates the result.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from tether.errors import ConfigError

# Iris key → tether field, for values Iris writes in milliseconds.
_MS_TEAM = {"idleTimeout": "idle_timeout", "sessionInitTimeout": "session_init_timeout"}
_MS_REMOTE = {"connectTimeout": "connect_timeout"}
# Below these a value is seconds written under Iris's key (an idle timeout under a
# minute, a start or connect timeout under a second): refused, with the fix.
_MIN_MS = {"idle_timeout": 60_000.0, "session_init_timeout": 1000.0, "connect_timeout": 1000.0}

_MCP = "tether serves MCP itself (`tether hub`, /mcp; see docs/mcp.md)"
_IRIS_TOP = {
    "dashboard": "tether's web UI is served by `tether hub`",
    "database": "tether keeps its store in its data dir (or `tether hub --store`)",
}
_IRIS_SETTINGS = {
    "spawnTimeout": "tether bounds a start with session_init_timeout",
    "responseTimeout": "a turn in tether runs until the agent ends it (interrupt it at will)",
    "healthCheckInterval": "tether notices an agent's end when its process ends",
    "httpPort": "set the hub's port with `tether hub --port`",
    "defaultTransport": _MCP,
    "wonderLoggerConfig": "tether logs through Python logging (-v for more)",
    "hotReloadConfig": "restart the runner to load a changed config",
    "sessionMcpEnabled": _MCP,
    "sessionMcpPath": _MCP,
}
_IRIS_TEAM = {
    "ssh2": "tether always uses the OpenSSH client (your ~/.ssh/config applies)",
    "enableReverseMcp": _MCP,
    "reverseMcpPort": _MCP,
    "allowHttp": _MCP,
    "sessionMcpEnabled": _MCP,
    "sessionMcpPath": _MCP,
    "mcpConfigScript": _MCP,
    "grantPermission": "tether asks the session's owner; skipPermissions approves everything",
    "allowedTools": "not passed on by tether yet",
    "disallowedTools": "not passed on by tether yet",
    "appendSystemPrompt": "not passed on by tether yet",
    "project": "tether uses `path` as written",
}
_IRIS_REMOTE = {
    "passphrase": "tether never types a passphrase: load the key into ssh-agent, and take the"
    " passphrase out of this file",
}


@dataclass(frozen=True)
class ConfigNote:
    """Something the loader did with a key: converted its unit, or left it out (and why)."""

    team: str | None  # None: the top level or `settings`
    text: str


@dataclass(frozen=True)
class Fields:
    """The setting names tether knows, per level (the loader passes its models' fields)."""

    top: Collection[str]
    team: Collection[str]
    remote: Collection[str]


class _Notes(list[ConfigNote]):
    """The notes on one file (`source`, named in its errors)."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source

    def seconds(
        self, team: str | None, where: str, key: str, value: Any, *, at: str, to: str = "{:g} s"
    ) -> Any:
        """Iris's millisecond `value` of `key` (at `at`) as seconds, noted when converted
        (`to` says what it became)."""
        snake = _MS_TEAM.get(key) or _MS_REMOTE[key]
        seconds = _seconds_from_ms(value, at, snake, self.source)
        if isinstance(seconds, float):
            self.converted(team, where, key, seconds * 1000, to.format(seconds))
        return seconds

    def converted(self, team: str | None, where: str, key: str, value: float, to: str) -> None:
        self.append(
            ConfigNote(team, f"{where}: {key} = {value:g} ms read as {to} (Iris writes ms)")
        )

    def unused(self, team: str | None, where: str, key: str, why: str) -> None:
        self.append(ConfigNote(team, f"{where}: {key} is not used by tether ({why})"))

    def unknown(self, team: str | None, where: str, key: str, known: Collection[str]) -> None:
        close = difflib.get_close_matches(_snake(key), list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        self.append(ConfigNote(team, f"{where}: unknown setting {key!r} left out{hint}"))


def from_json(
    data: dict[str, Any], fields: Fields, source: str
) -> tuple[dict[str, Any], list[ConfigNote]]:
    """Tether's settings from a parsed JSON teams file, and the notes on what was done."""
    notes = _Notes(source)
    out: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    for key, value in data.items():
        if key == "teams":
            continue
        if key == "settings" and isinstance(value, dict):
            _settings(value, out, defaults, notes)
        elif key in _IRIS_TOP:
            notes.unused(None, "top level", key, _IRIS_TOP[key])
        elif _snake(key) in fields.top:
            out[_snake(key)] = value
        else:
            notes.unknown(None, "top level", key, fields.top)
    teams = data.get("teams")
    if isinstance(teams, dict):
        out["teams"] = {
            name: _team(str(name), team, defaults, fields, notes)
            if isinstance(team, dict)
            else team
            for name, team in teams.items()
        }
    elif teams is not None:
        out["teams"] = teams
    return out, list(notes)


def _settings(
    block: dict[str, Any],
    out: dict[str, Any],
    defaults: dict[str, Any],
    notes: _Notes,
) -> None:
    """Iris's `settings`: max_processes, and timeouts that teams without their own inherit."""
    for key, value in block.items():
        if key in _MS_TEAM:
            to = f"{_MS_TEAM[key]} = {{:g}} s for teams that do not set their own"
            at = f"settings.{key}"
            defaults[_MS_TEAM[key]] = notes.seconds(None, "settings", key, value, at=at, to=to)
        elif _snake(key) == "max_processes":
            out.setdefault("max_processes", value)
        elif key in _IRIS_SETTINGS:
            notes.unused(None, "settings", key, _IRIS_SETTINGS[key])
        else:
            notes.unknown(None, "settings", key, ("max_processes", *_MS_TEAM.values()))


def _team(
    name: str,
    team: dict[str, Any],
    defaults: dict[str, Any],
    fields: Fields,
    notes: _Notes,
) -> dict[str, Any]:
    where = f"team {name!r}"
    out: dict[str, Any] = {}
    for key, value in team.items():
        if key in _MS_TEAM:
            out[_MS_TEAM[key]] = notes.seconds(name, where, key, value, at=f"{where}, {key}")
        elif key in ("remoteOptions", "remote_options") and isinstance(value, dict):
            out["remote_options"] = _remote_options(name, value, fields, notes)
        elif key == "claudePath":
            out.setdefault("command", [value])
        elif key in _IRIS_TEAM:
            notes.unused(name, where, key, _IRIS_TEAM[key])
        elif key == "env" or _snake(key) in fields.team:
            out["env" if key == "env" else _snake(key)] = value
        else:
            notes.unknown(name, where, key, fields.team)
    for key, value in defaults.items():
        out.setdefault(key, value)
    return out


def _remote_options(
    name: str, block: dict[str, Any], fields: Fields, notes: _Notes
) -> dict[str, Any]:
    where = f"team {name!r}, remoteOptions"
    out: dict[str, Any] = {}
    extra: list[str] = []
    for key, value in block.items():
        if key in _MS_REMOTE:
            out[_MS_REMOTE[key]] = notes.seconds(name, where, key, value, at=f"{where}.{key}")
        elif key == "serverAliveInterval" and _number(value) is not None:
            out["server_alive_interval"] = _keepalive(name, where, _number(value) or 0, notes)
        elif key in ("compression", "forwardAgent") and isinstance(value, bool):
            option = "Compression" if key == "compression" else "ForwardAgent"
            extra.append(f"{option}={'yes' if value else 'no'}")
        elif key == "extraSshArgs":
            out["extra_args"] = value
        elif key in _IRIS_REMOTE:
            notes.unused(name, where, key, _IRIS_REMOTE[key])
        elif _snake(key) in fields.remote:
            out[_snake(key)] = value
        else:
            notes.unknown(name, where, key, fields.remote)
    if extra:
        given = out.get("extra_options", [])
        out["extra_options"] = [*given, *extra] if isinstance(given, list) else given
    return out


def _keepalive(name: str, where: str, value: float, notes: _Notes) -> int:
    """Seconds, as Iris's schema says; 1000 and more are Iris's examples' milliseconds."""
    if value < 1000:
        return round(value)
    seconds = max(1, round(value / 1000))
    notes.converted(name, where, "serverAliveInterval", value, f"{seconds} s")
    return seconds


def _seconds_from_ms(value: Any, where: str, snake: str, source: str) -> Any:
    """A millisecond value as seconds (a float); anything else is left for validation.

    Too small a value is refused (`_MIN_MS`): it is seconds written under Iris's key.
    """
    ms = _number(value)
    if ms is None:
        return value
    if 0 < ms < _MIN_MS[snake]:
        raise ConfigError(
            f"{source}: {where} = {value} is in milliseconds in a .json file (as in Iris),"
            f" which would be {ms / 1000:g} s",
            hint=f'write {ms * 1000:.0f} for {ms:g} s, or "{snake}": {value} (snake_case keys'
            " are in seconds)",
        )
    return ms / 1000


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"\s*\d+(\.\d*)?\s*", value):
        return float(value)  # after ${VAR} substitution a number can arrive as text
    return None


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
