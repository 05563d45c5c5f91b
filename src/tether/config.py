"""Settings and the teams config (`tether.toml`, or an Iris-style `teams.json`).

One place that knows where tether keeps its files, and one loader for the teams
file that names the file, the team and the field when something is wrong. The JSON
shape (Iris's keys and units) is translated by `config_json` first.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tether.config_json import ConfigNote, Fields, from_json
from tether.errors import ConfigError
from tether.remote.spec import ExecPrefix, parse_remote
from tether.remote.ssh_args import extra_ssh_args

log = logging.getLogger("tether.config")

AgentKind = Literal["claude", "codex", "gemini", "acp", "command", "demo", "terminal"]
# Agent kinds that run in a terminal, and so may ask ssh / docker exec for a tty (-t).
TTY_AGENTS: frozenset[str] = frozenset({"terminal"})
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def tether_home() -> Path:
    """The data dir: `$TETHER_HOME`, else `~/.tether`."""
    return Path(os.environ.get("TETHER_HOME") or Path.home() / ".tether").expanduser()


class RemoteOptions(BaseModel):
    """How to reach a remote team (ssh options; ignored for local teams)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    identity: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    user: str | None = None
    strict_host_key_checking: bool = True
    known_hosts: str | None = None
    connect_timeout: float = Field(default=10, gt=0)
    server_alive_interval: int = Field(default=30, ge=0)
    server_alive_count_max: int = Field(default=3, ge=1)
    control_persist: int = Field(default=600, ge=0)
    ssh_config: str | None = None
    extra_options: list[str] = []
    extra_args: list[str] = []

    @model_validator(mode="after")
    def _ssh_options_usable(self) -> RemoteOptions:
        try:
            extra_ssh_args(self.extra_args, self.extra_options, "extra_args / extra_options")
        except ConfigError as exc:
            raise ValueError(str(exc)) from None
        return self


class TeamConfig(BaseModel):
    """One team: a named workspace with an agent (the Iris model)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = ""
    path: str = "."
    description: str = ""
    agent: AgentKind = "claude"
    command: list[str] | None = None
    mode: Literal["stdin", "args"] = "stdin"
    remote: str | None = None
    remote_options: RemoteOptions = RemoteOptions()
    idle_timeout: float | None = Field(default=None, ge=0)
    session_init_timeout: float = Field(default=60, gt=0)
    skip_permissions: bool = False
    permission_mode: str | None = None
    model: str | None = None
    approval_policy: str | None = None
    sandbox: str | None = None
    sync: Literal["none", "push"] = "none"
    sync_from: str | None = None
    env: dict[str, str] = {}
    turn_quiet_s: float = Field(default=1.0, gt=0)
    color: str | None = None

    @field_validator("color")
    @classmethod
    def _color_is_hex(cls, value: str | None) -> str | None:
        if value is not None and not _COLOR.match(value):
            raise ValueError(f'color {value!r} is not a hex color; write it like "#61dafb"')
        return value

    @field_validator("command")
    @classmethod
    def _command_not_empty(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and not value:
            raise ValueError("command must name a program (a non-empty list)")
        return value

    @model_validator(mode="after")
    def _remote_settings_fit(self) -> TeamConfig:
        if self.sync == "push" and not self.sync_from:
            raise ValueError('sync = "push" needs sync_from (the local directory to copy)')
        if self.remote:
            try:
                spec = parse_remote(self.remote, self.name or "?", allow_tty=self.allows_tty)
            except ConfigError as exc:
                # The loader names the team itself; keep the field and the reason.
                raise ValueError(str(exc).removeprefix(f"team {self.name or '?'!r}, ")) from None
            if self.sync == "push" and (spec is None or isinstance(spec, ExecPrefix)):
                raise ValueError('sync = "push" works only with remote = "ssh ..."')
        return self

    @property
    def host(self) -> str:
        """Where the agent runs, for display: `local` or the remote spec."""
        return self.remote or "local"

    @property
    def allows_tty(self) -> bool:
        """May this team's `remote` ask for a tty (`ssh -t`)? Only terminal teams may."""
        return self.agent in TTY_AGENTS


class TetherConfig(BaseModel):
    """A runner's config: the teams it serves."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    runner_id: str | None = None
    max_processes: int = Field(default=32, ge=1)
    teams: dict[str, TeamConfig] = {}
    source: str | None = Field(default=None, exclude=True)
    # What the loader converted or left out (Iris units, unused keys), per team.
    notes: tuple[ConfigNote, ...] = Field(default=(), exclude=True)

    def notes_for(self, team: str | None) -> list[str]:
        """The loader's notes on one team (None: on the top level and `settings`)."""
        return [note.text for note in self.notes if note.team == team]


def demo_config() -> TetherConfig:
    """The zero-setup config of `tether up`: one `demo` team in the current directory."""
    team = TeamConfig(
        name="demo",
        path=str(Path.cwd()),
        agent="demo",
        description="built-in demo agent (no network needed)",
    )
    return TetherConfig(teams={"demo": team}, source="(built-in demo config)")


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def substitute_env(value: Any, where: str, environ: Mapping[str, str] | None = None) -> Any:
    """Replace `${VAR}` and `${VAR:-default}` in every string of a parsed config."""
    env = os.environ if environ is None else environ
    if isinstance(value, str):

        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise ConfigError(
                f"{where}: environment variable {name} is not set",
                hint=f"export {name}, or write ${{{name}:-default}}",
            )

        return _VAR.sub(repl, value)
    if isinstance(value, dict):
        return {k: substitute_env(v, f"{where}.{k}", env) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute_env(v, f"{where}[{i}]", env) for i, v in enumerate(value)]
    return value


def load_config(path: Path | str) -> TetherConfig:
    """Load a teams file (TOML, or Iris-style JSON) with clear errors."""
    file = Path(os.path.expanduser(path))
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {file} does not exist", hint="create it, or run without --config"
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {file}: {exc.strerror}") from None
    warn_if_readable_by_others(file)
    data = _parse(file, text)
    data = substitute_env(data, str(file))
    notes: list[ConfigNote] = []
    if file.suffix == ".json":
        data, notes = from_json(data, _FIELDS, str(file))
        for note in notes:
            log.warning("%s: %s", file, note.text)
    teams = data.get("teams", {})
    if not isinstance(teams, dict) or not teams:
        raise ConfigError(f"{file}: no teams defined", hint="add a [teams.NAME] table")
    for name, team in teams.items():
        if not isinstance(team, dict):
            raise ConfigError(f"{file}: team {name!r} must be a table")
        team["name"] = name
    try:
        config = TetherConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(file, exc)) from None
    return config.model_copy(update={"source": str(file), "notes": tuple(notes)})


_FIELDS = Fields(
    top=frozenset(TetherConfig.model_fields) - {"source", "notes"},
    team=frozenset(TeamConfig.model_fields) - {"name"},
    remote=frozenset(RemoteOptions.model_fields),
)


def _parse(file: Path, text: str) -> dict[str, Any]:
    if file.suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"{file}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
    else:
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{file}: the top level must be a table of settings")
    return data


def _describe(file: Path, exc: ValidationError) -> str:
    problems = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if len(loc) >= 2 and loc[0] == "teams":
            where = f"team {loc[1]!r}" + (f", field {'.'.join(loc[2:])!r}" if loc[2:] else "")
        else:
            where = f"field {'.'.join(loc)!r}" if loc else "(top level)"
        msg = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if err.get("type") == "extra_forbidden":
            msg = "unknown setting (check the spelling; see docs/config.md)"
        problems.append(f"{where}: {msg}")
    return f"{file}: " + "; ".join(problems)


def warn_if_readable_by_others(file: Path) -> bool:
    """Log a warning when a file that may hold secrets is readable by group or others."""
    try:
        mode = file.stat().st_mode
    except OSError:
        return False
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        log.warning(
            "%s is readable by other users (mode %o); run: chmod 600 %s",
            file,
            stat.S_IMODE(mode),
            file,
        )
        return True
    return False
