"""The teams config: TOML, an Iris `teams.json` as is, ${VAR} substitution, clear errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from tether.config import load_config
from tether.errors import ConfigError
from tether.transports.factory import transport_for
from tether.transports.ssh import SshTransport

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


IRIS_TEAMS = Path(__file__).parent / "data" / "iris-teams.json"


def test_an_iris_teams_json_loads_as_is(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Shaped like Iris's README and REMOTE.md examples: `settings`, `color`, ms timeouts,
    `claudePath`, `remoteOptions` with Iris's keys and ssh in `remote` as people write it."""
    file = _write(tmp_path / "teams.json", IRIS_TEAMS.read_text())
    with caplog.at_level(logging.WARNING, logger="tether.config"):
        config = load_config(file)
    assert config.max_processes == 6
    frontend, backend = config.teams["frontend"], config.teams["backend"]
    assert frontend.idle_timeout == 900 and frontend.session_init_timeout == 45
    assert frontend.skip_permissions is True and frontend.color == "#3b82f6"
    # The `settings` block is the default for a team that does not set its own.
    assert backend.idle_timeout == 300 and backend.session_init_timeout == 45
    codespace = config.teams["codespace"]
    assert codespace.command == ["~/.local/bin/claude"]
    assert codespace.session_init_timeout == 120
    opts = codespace.remote_options
    assert opts.connect_timeout == 15 and opts.server_alive_interval == 30
    assert opts.server_alive_count_max == 4
    assert opts.extra_options == ["Compression=yes", "ForwardAgent=no"]
    assert opts.extra_args == ["-J", "bastion.example.dev", "-4"]
    gpu = config.teams["gpu"].remote_options
    assert gpu.port == 2222 and gpu.server_alive_interval == 20 and gpu.identity == "~/.ssh/gpu_key"

    assert any("idleTimeout = 900000 ms read as 900 s" in n for n in config.notes_for("frontend"))
    top = " | ".join(config.notes_for(None))
    assert "settings: idleTimeout = 300000 ms read as idle_timeout = 300 s" in top
    assert "healthCheckInterval is not used" in top and "dashboard is not used" in top
    assert "grantPermission is not used" in " ".join(config.notes_for("backend"))
    remote_notes = " | ".join(config.notes_for("codespace"))
    assert "enableReverseMcp is not used" in remote_notes
    assert "connectTimeout = 15000 ms read as 15 s" in remote_notes
    assert "serverAliveInterval = 30000 ms read as 30 s" in remote_notes
    assert "enableReverseMcp" in caplog.text and "900000 ms" in caplog.text


def test_iris_teams_become_the_ssh_commands_they_describe(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path / "teams.json", IRIS_TEAMS.read_text()))
    codespace = transport_for(config.teams["codespace"], tmp_path)
    assert isinstance(codespace, SshTransport)
    argv = codespace.ssh.argv(remote="true")
    key = str(Path("~/.ssh/codespace_key").expanduser())
    for word in (f"IdentityFile={key}", "User=dev", "ProxyJump=bastion.example.dev",
                 "AddressFamily=inet", "Compression=yes", "ConnectTimeout=15",
                 "StrictHostKeyChecking=yes"):  # fmt: skip
        assert word in argv, word
    assert argv[-2:] == ["codespace-xyz.example.dev", "true"]
    gpu = transport_for(config.teams["gpu"], tmp_path)
    assert isinstance(gpu, SshTransport)
    argv = gpu.ssh.argv()
    assert "StrictHostKeyChecking=accept-new" in argv and "Port=2222" in argv
    assert f"IdentityFile={Path('~/.ssh/gpu_key').expanduser()}" in argv


def test_json_keys_tether_does_not_know_are_notes_not_failures(tmp_path: Path) -> None:
    data = {
        "teams": {
            "a": {"path": "/a", "idelTimeout": 600000, "agent": "demo"},
            "b": {"path": "/b", "idle_timeout": 600, "agent": "demo"},  # snake_case: seconds
        },
        "bogus": 1,
    }
    config = load_config(_write(tmp_path / "t.json", json.dumps(data)))
    assert config.teams["a"].idle_timeout is None
    assert config.teams["b"].idle_timeout == 600
    assert config.notes_for("a") == [
        "team 'a': unknown setting 'idelTimeout' left out (did you mean 'idle_timeout'?)"
    ]
    assert config.notes_for(None) == ["top level: unknown setting 'bogus' left out"]


def test_seconds_written_under_an_iris_millisecond_key_are_refused(tmp_path: Path) -> None:
    """An older tether JSON said `"idleTimeout": 3600` meaning an hour: never 3.6 s."""
    file = _write(tmp_path / "t.json", json.dumps({"teams": {"a": {"idleTimeout": 3600}}}))
    with pytest.raises(ConfigError) as info:
        load_config(file)
    assert "is in milliseconds" in info.value.message and "3.6 s" in info.value.message
    assert "3600000" in str(info.value) and '"idle_timeout": 3600' in str(info.value)
    zero = _write(tmp_path / "z.json", json.dumps({"teams": {"a": {"idleTimeout": 0}}}))
    assert load_config(zero).teams["a"].idle_timeout == 0  # 0 still means never


def test_iris_values_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOST", "gpu-box")
    monkeypatch.delenv("IRIS_IDLE", raising=False)
    data = {
        "teams": {
            "ml": {
                "remote": "ssh me@${HOST}",
                "idleTimeout": "${IRIS_IDLE:-600000}",
                "env": {"MY_VAR": "${HOST:-x}", "camelCaseName": "kept"},
            }
        }
    }
    ml = load_config(_write(tmp_path / "teams.json", json.dumps(data))).teams["ml"]
    assert ml.remote == "ssh me@gpu-box" and ml.idle_timeout == 600
    assert ml.env == {"MY_VAR": "gpu-box", "camelCaseName": "kept"}


def test_a_passphrase_in_the_file_is_never_repeated(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = {"teams": {"a": {"remote": "ssh h", "remoteOptions": {"passphrase": "hunter2-xyz"}}}}
    with caplog.at_level(logging.DEBUG):
        config = load_config(_write(tmp_path / "t.json", json.dumps(data)))
    assert "ssh-agent" in config.notes_for("a")[0]
    assert "hunter2-xyz" not in caplog.text and "hunter2-xyz" not in repr(config)


def test_color_is_a_hex_color_not_markup(tmp_path: Path) -> None:
    data = {"teams": {"a": {"color": "<script>alert(1)</script>"}}}
    with pytest.raises(ConfigError, match=r"team 'a', field 'color': .*not a hex color"):
        load_config(_write(tmp_path / "t.json", json.dumps(data)))


def test_errors_name_the_file_the_team_and_the_field(tmp_path: Path) -> None:
    bad = _write(
        tmp_path / "bad.toml",
        '[teams.web]\npath = "/w"\n[teams.web.remote_options]\nport = 99999\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(bad)
    message = str(info.value)
    assert str(bad) in message and "team 'web'" in message and "remote_options.port" in message


@pytest.mark.parametrize(
    ("toml", "names_it"),
    [
        pytest.param(
            '[teams.web]\npath = "/w"\nidle_timout = 5\n',
            r"team 'web', field 'idle_timout': unknown setting",
            id="typo",
        ),
        pytest.param(
            '[teams.db]\nremote = "docker exec db"\n',
            r"team 'db'.*field 'remote'.*no -i",
            id="remote",
        ),
        pytest.param(
            '[teams.s]\nremote = "ssh h"\nsync = "push"\n', r"team 's'.*sync_from", id="sync"
        ),
    ],
)
def test_a_bad_setting_is_named_with_its_team_and_field(
    tmp_path: Path, toml: str, names_it: str
) -> None:
    with pytest.raises(ConfigError, match=names_it):
        load_config(_write(tmp_path / "bad.toml", toml))


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
    internal = {"name", "source", "notes"}
    for model in (TetherConfig, TeamConfig, RemoteOptions):
        for field in model.model_fields:
            if field not in internal:
                assert f"| `{field}` |" in doc, f"{model.__name__}.{field} is not in docs/config.md"
