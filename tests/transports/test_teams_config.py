"""The teams config: TOML, Iris-style camelCase JSON, ${VAR} substitution, clear errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tether.config import load_config
from tether.errors import ConfigError

TOML = """
max_processes = 4

[teams.backend]
path = "/home/dev/backend"
description = "API service"
agent = "claude"
remote = "ssh dev@build-box"
idle_timeout = 3600
env = { ANTHROPIC_BASE_URL = "${BASE_URL}", REGION = "${REGION:-eu-west-1}" }

[teams.backend.remote_options]
identity = "~/.ssh/build_key"
port = 2222
connect_timeout = 10
server_alive_interval = 30

[teams.api]
path = "/srv/api"
agent = "demo"
remote = "kubectl exec -i api-0 --"
"""


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_toml_with_substitution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BASE_URL", "https://llm.internal")
    monkeypatch.delenv("REGION", raising=False)
    config = load_config(_write(tmp_path / "tether.toml", TOML))
    backend = config.teams["backend"]
    assert config.max_processes == 4
    assert backend.name == "backend" and backend.remote == "ssh dev@build-box"
    assert backend.env == {"ANTHROPIC_BASE_URL": "https://llm.internal", "REGION": "eu-west-1"}
    assert backend.remote_options.port == 2222 and backend.idle_timeout == 3600
    assert config.teams["api"].remote == "kubectl exec -i api-0 --"


def test_iris_json_with_camel_case_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "gpu-box")
    data = {
        "maxProcesses": 3,
        "teams": {
            "ml": {
                "path": "~/ml",
                "agent": "claude",
                "remote": "ssh me@${HOST}",
                "idleTimeout": 600,
                "sessionInitTimeout": 90,
                "skipPermissions": True,
                "env": {"MY_VAR": "${HOST:-x}", "camelCaseName": "kept"},
                "remoteOptions": {
                    "strictHostKeyChecking": False,
                    "serverAliveCountMax": 5,
                    "knownHosts": "~/.ssh/kh",
                },
            }
        },
    }
    config = load_config(_write(tmp_path / "teams.json", json.dumps(data)))
    ml = config.teams["ml"]
    assert config.max_processes == 3
    assert ml.remote == "ssh me@gpu-box" and ml.idle_timeout == 600
    assert ml.session_init_timeout == 90 and ml.skip_permissions is True
    assert ml.env == {"MY_VAR": "gpu-box", "camelCaseName": "kept"}
    opts = ml.remote_options
    assert opts.strict_host_key_checking is False and opts.server_alive_count_max == 5
    assert opts.known_hosts == "~/.ssh/kh"


def test_errors_name_the_file_the_team_and_the_field(tmp_path: Path) -> None:
    bad = _write(
        tmp_path / "bad.toml",
        '[teams.web]\npath = "/w"\n[teams.web.remote_options]\nport = 99999\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    message = str(info.value)
    assert str(bad) in message and "team 'web'" in message and "remote_options.port" in message

    typo = _write(tmp_path / "typo.toml", '[teams.web]\npath = "/w"\nidle_timout = 5\n')
    with pytest.raises(ConfigError, match=r"team 'web', field 'idle_timout': unknown setting"):
        load_config(typo)

    remote = _write(tmp_path / "remote.toml", '[teams.db]\nremote = "docker exec db"\n')
    with pytest.raises(ConfigError, match=r"team 'db'.*field 'remote'.*no -i"):
        load_config(remote)

    sync = _write(tmp_path / "sync.toml", '[teams.s]\nremote = "ssh h"\nsync = "push"\n')
    with pytest.raises(ConfigError, match=r"team 's'.*sync_from"):
        load_config(sync)


def test_unset_variable_is_an_error_naming_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOPE_NOT_SET", raising=False)
    file = _write(tmp_path / "t.toml", '[teams.a]\nenv = { K = "${NOPE_NOT_SET}" }\n')
    with pytest.raises(ConfigError, match=r"teams\.a\.env\.K: environment variable NOPE_NOT_SET"):
        load_config(file)


def test_file_readable_by_others_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    file = _write(tmp_path / "open.toml", '[teams.a]\npath = "/"\n', mode=0o644)
    with caplog.at_level(logging.WARNING, logger="tether.config"):
        load_config(file)
    assert "readable by other users" in caplog.text and "chmod 600" in caplog.text
    caplog.clear()
    file.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="tether.config"):
        load_config(file)
    assert caplog.text == ""


def test_every_setting_is_documented() -> None:
    from tether.config import RemoteOptions, TeamConfig, TetherConfig

    doc = (Path(__file__).resolve().parents[2] / "docs" / "config.md").read_text()
    internal = {"name", "source"}
    for model in (TetherConfig, TeamConfig, RemoteOptions):
        for field in model.model_fields:
            if field not in internal:
                assert f"| `{field}` |" in doc, f"{model.__name__}.{field} is not in docs/config.md"
