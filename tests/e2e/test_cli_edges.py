"""The CLI's rough edges, as a user meets them: narrow and piped tables, id prefixes, lines
to copy, a revoked device's `tether token`, the audit log, `teams check --json` on a broken
file. (The real CLI against a real hub and runner, as separate processes.)"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.test_startup import NOT_FOR_QUICK_COMMANDS, RUN_CLI, loaded, offenders
from tests.e2e.cluster import Cluster
from tests.support.procs import cli_env, tether_argv, wait_until
from tests.support.timing import scaled

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with Cluster(tmp_path_factory.mktemp("edges"), demo_delay=0.01).start() as running:
        yield running


def cli(
    cluster: Cluster, *args: str, home: Path | None = None, columns: int = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """`tether ARGS`, stdout a pipe, COLUMNS=60 unless said otherwise."""
    return subprocess.run(
        tether_argv(*args),
        env=cli_env(home or cluster.home, cluster.url, COLUMNS=str(columns), TZ="UTC", **env),
        capture_output=True,
        text=True,
        timeout=scaled(60),
        stdin=subprocess.DEVNULL,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def laptop(cluster: Cluster, home: Path) -> str:
    """Sign a second machine in; returns its device id."""
    code = re.search(r"pairing code: (\S+)", ok(cli(cluster, "pair", "new", "--no-qr")))
    assert code, "no pairing code"
    ok(cli(cluster, "login", "--hub", cluster.url, "--code", code.group(1), home=home))
    return str(
        next(iter(json.loads((home / "credentials.json").read_text()).values()))["device_id"]
    )


def test_ids_are_whole_in_narrow_piped_tables(cluster: Cluster, tmp_path: Path) -> None:
    sessions = [cluster.start_session() for _ in range(2)]
    device = laptop(cluster, tmp_path / "laptop")
    share = json.loads(ok(cli(cluster, "sessions", "--json")))  # sessions, as JSON, for ids
    assert {s["id"] for s in share} >= set(sessions)
    table = ok(cli(cluster, "sessions"))
    for session in sessions:
        assert session in table, table
    assert device in ok(cli(cluster, "devices"))
    assert "UTC" in ok(cli(cluster, "devices", columns=250))  # times say their zone
    ok(cli(cluster, "share", sessions[0]))
    links = ok(cli(cluster, "share", "list"))
    assert sessions[0] in links
    link_ids = [s["id"] for s in cluster.get("/v1/shares")]
    assert link_ids and all(link in links for link in link_ids)


def test_every_id_taking_command_takes_a_unique_prefix(cluster: Cluster, tmp_path: Path) -> None:
    session = cluster.start_session()
    prefix = session[:7]
    assert "sent" in cli(cluster, "send", prefix, "hello by prefix").stderr
    wait_until(
        lambda: any(e["payload"].get("text") == "hello by prefix" for e in cluster.events(session)),
        what="the message sent by prefix",
    )
    done = ok(cli(cluster, "attach", prefix, "--prompt", "again", columns=200))
    assert "You said: again" in done
    assert "stopping" in cli(cluster, "stop", prefix).stderr
    device = laptop(cluster, tmp_path / "laptop")
    assert f"revoked {device}" in cli(cluster, "revoke", device[:6]).stderr
    ok(cli(cluster, "share", session))
    link = cluster.get("/v1/shares")[-1]["id"]
    assert f"revoked share link {link}" in cli(cluster, "share", "revoke", link[:5]).stderr


def test_an_ambiguous_or_unknown_prefix_is_a_clear_error(cluster: Cluster) -> None:
    first, second = cluster.start_session(), cluster.start_session()
    done = cli(cluster, "send", "s_", "to whom?", columns=300)
    assert done.returncode == 2
    assert "'s_' is the start of" in done.stderr and "type more of the id" in done.stderr
    assert first in done.stderr or second in done.stderr
    done = cli(cluster, "stop", "s_no-such-session")
    assert done.returncode == 2 and "no session id is or starts with" in done.stderr


def test_codes_links_and_commands_are_never_wrapped(cluster: Cluster) -> None:
    minted = ok(cli(cluster, "pair", "new", "--no-qr", columns=30))
    code = re.search(r"pairing code: (\S+)", minted)
    assert code
    assert f"tether login --hub {cluster.url} --code {code.group(1)}" in minted
    assert f"tether runner --hub {cluster.url} --pair {code.group(1)}" in minted
    shared = ok(cli(cluster, "share", cluster.start_session(), columns=30))
    token = re.search(r"shown once\): (\S+)", shared)
    assert token and f"{cluster.url}/share#token={token.group(1)}" in shared


def test_token_of_a_revoked_device_fails_and_says_so(cluster: Cluster, tmp_path: Path) -> None:
    home = tmp_path / "laptop"
    device = laptop(cluster, home)
    token = ok(cli(cluster, "token", home=home)).strip()
    assert (
        httpx.get(f"{cluster.url}/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).json()[
            "device_id"
        ]
        == device
    )
    ok(cli(cluster, "revoke", device))
    # The laptop still holds a cached session token that has not expired yet.
    done = cli(cluster, "token", home=home, columns=200)
    assert done.returncode == 2 and done.stdout == ""
    assert "this device was revoked" in done.stderr
    assert "tether login" in done.stderr


def test_audit_is_newest_first_with_limit_and_names_who_decided_what(cluster: Cluster) -> None:
    session = cluster.start_session()
    headers = {"Authorization": f"Bearer {cluster.token()}"}
    httpx.post(
        f"{cluster.url}/v1/sessions/{session}/messages",
        json={"text": "run touch x"},
        headers=headers,
    ).raise_for_status()
    pending = wait_until(
        lambda: cluster.get(f"/v1/sessions/{session}").get("pending"),
        what="the permission request",
    )
    request_id = pending[0]["request_id"]
    httpx.post(
        f"{cluster.url}/v1/sessions/{session}/permissions/{request_id}",
        json={"behavior": "allow"},
        headers=headers,
    ).raise_for_status()
    lines = ok(cli(cluster, "audit", "--limit", "3", "--json")).splitlines()
    entries = [json.loads(line) for line in lines]
    assert len(entries) == 3
    assert [e["ts"] for e in entries] == sorted((e["ts"] for e in entries), reverse=True)
    table = ok(cli(cluster, "audit", "--limit", "5", columns=250))
    row = next(line for line in table.splitlines() if "permission_decision" in line)
    assert f"allow request {request_id} (Bash)" in row and session in row
    assert "admin (local-cli)" in row  # user and device by name, not by id


def test_teams_check_json_reports_a_broken_file_as_json(cluster: Cluster, tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[teams.x\npath = ")
    broken.chmod(0o600)
    done = cli(cluster, "teams", "check", "--config", str(broken), "--json")
    assert done.returncode == 2
    answer = json.loads(done.stdout)
    assert answer["ok"] is False and answer["config"] == str(broken)
    assert "not valid TOML" in answer["error"]["message"]
    missing = json.loads(cli(cluster, "teams", "check", "--json").stdout)
    assert "--config" in missing["error"]["message"]


def test_sessions_and_send_load_only_what_they_need(cluster: Cluster) -> None:
    session = cluster.start_session()
    hub = {"TETHER_HUB": cluster.url}
    for argv in (["sessions"], ["send", session[:6], "hi"]):
        modules = loaded(RUN_CLI, cluster.home, *argv, **hub)
        assert "tether.client.quick" in modules, argv  # it did talk to the hub
        assert offenders(modules, NOT_FOR_QUICK_COMMANDS) == [], argv
