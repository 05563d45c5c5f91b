"""`tether teams check`: the real CLI probing local, ssh (real sshd) and exec teams."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.procs import cli_env, tether_argv
from tests.support.sshd import SshServer, sshd_available
from tests.support.timing import scaled

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.ssh,
    pytest.mark.skipif(not sshd_available(), reason="OpenSSH server not installed"),
]


def _ssh_team(name: str, server: SshServer, path: Path, known_hosts: Path | None = None) -> str:
    return f"""
[teams.{name}]
path = "{path}"
agent = "demo"
remote = "ssh {server.user}@{server.host}"
[teams.{name}.remote_options]
port = {server.port}
identity = "{server.identity_file}"
known_hosts = "{known_hosts or server.known_hosts_file}"
ssh_config = "none"
connect_timeout = 5
"""


def _check(home: Path, config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        tether_argv("teams", "check", "--config", str(config), *extra),
        env=cli_env(home, COLUMNS="250"),
        capture_output=True,
        text=True,
        timeout=scaled(60),
    )


def test_check_prints_a_table_and_fails_on_any_bad_team(tmp_path: Path) -> None:
    work = tmp_path / "work dir"
    work.mkdir()
    with SshServer() as server:
        text = f"""
[teams.here]
path = "{work}"
agent = "demo"

[teams.nopath]
path = "{tmp_path / "missing"}"
agent = "demo"

[teams.noagent]
path = "{work}"
agent = "command"
command = ["no-such-agent-binary"]

[teams.pod]
path = "{work}"
agent = "demo"
remote = "{sys.executable} -c 'import os, sys; os.execvp(sys.argv[1], sys.argv[1:])'"
"""
        text += _ssh_team("box", server, work)
        text += _ssh_team("boxpath", server, tmp_path / "not-there")
        text += _ssh_team("mitm", server, work, known_hosts=server.wrong_known_hosts())
        config = tmp_path / "tether.toml"
        config.write_text(text)
        config.chmod(0o600)
        proc = _check(tmp_path / "home", config)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        rows = {
            line.split("│")[1].strip(): line
            for line in proc.stdout.splitlines()
            if line.count("│") > 3
        }
        for good in ("here", "pod", "box"):
            assert "FAILED" not in rows[good], rows[good]
        assert "missing:" in rows["nopath"] and "FAILED" in rows["nopath"]
        assert "not found: no-such-agent-binary" in rows["noagent"]
        assert "missing:" in rows["boxpath"] and "FAILED" in rows["boxpath"]
        assert "host key" in rows["mitm"] and "CHANGED" in rows["mitm"]
        assert "4 of 7 teams failed" in proc.stderr

        as_json = _check(tmp_path / "home", config, "--json")
        by_team = {r["team"]: r for r in json.loads(as_json.stdout)}
        assert by_team["box"]["ok"] is True and by_team["box"]["transport"] == "ssh"
        assert by_team["pod"]["transport"] == "exec"


def test_check_passes_and_reports_config_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(f'[teams.here]\npath = "{tmp_path}"\nagent = "demo"\n')
    good.chmod(0o600)
    proc = _check(tmp_path / "home", good)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "here" in proc.stdout and "ok" in proc.stdout

    bad = tmp_path / "bad.toml"
    bad.write_text('[teams.x]\nremote = "ssh a b"\n')
    proc = _check(tmp_path / "home", bad)
    assert proc.returncode == 2
    assert str(bad) in proc.stderr and "team 'x'" in proc.stderr


def test_check_an_iris_teams_json_says_what_it_converted(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    with SshServer() as server:
        data = {
            "settings": {"idleTimeout": 300000, "maxProcesses": 4, "healthCheckInterval": 30000},
            "teams": {
                "web": {"path": str(work), "agent": "demo", "idleTimeout": 600000,
                        "color": "#61dafb", "skipPermissions": True},
                "box": {
                    "path": str(work),
                    "agent": "demo",
                    "remote": f"ssh -i {server.identity_file} {server.destination}",
                    "remoteOptions": {"port": server.port, "connectTimeout": 5000,
                                      "knownHosts": str(server.known_hosts_file),
                                      "sshConfig": "none", "enableReverseMcp": True},
                },
            },
        }  # fmt: skip
        config = tmp_path / "teams.json"
        config.write_text(json.dumps(data))
        config.chmod(0o600)
        proc = _check(tmp_path / "home", config)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "idleTimeout = 600000 ms read as 600 s" in proc.stderr
        assert "healthCheckInterval is not used by tether" in proc.stderr
        assert "unknown setting 'enableReverseMcp'" in proc.stderr  # not an Iris team key here
        by_team = {
            r["team"]: r for r in json.loads(_check(tmp_path / "home", config, "--json").stdout)
        }
        assert by_team["box"]["ok"] is True and by_team["box"]["where"].endswith(f":{server.port}")
        assert any("600000 ms" in note for note in by_team["web"]["notes"])
        assert any("connectTimeout = 5000 ms" in note for note in by_team["box"]["notes"])
