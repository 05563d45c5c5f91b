"""Whole processes: `tether up` with zero setup, pairing a second machine, revocation closing
a live `tether attach`, and TLS end to end (certificates from trustme)."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support import procs
from tests.support.procs import (
    cli_env,
    free_port,
    spawn,
    stop,
    wait_healthy,
    wait_until,
)
from tests.support.timing import scaled

pytestmark = pytest.mark.e2e


def run_cli(
    home: Path, url: str, *args: str, check: bool = True, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`tether ARGS` to completion (with extra environment)."""
    env = cli_env(home, url, **(env_extra or {}))
    return procs.run_cli(home, url, *args, check=check, env=env)


def _secrets_in(home: Path) -> list[str]:
    """Every token a data dir holds now (refresh, device key, cached session token)."""
    path = home / "credentials.json"
    if not path.exists():
        return []
    out = []
    for entry in json.loads(path.read_text()).values():
        out += [entry["refresh_token"], entry["device_key"]]
        if entry.get("access_token"):
            out.append(entry["access_token"])
    return out


def test_up_pair_attach_and_revoke(tmp_path: Path) -> None:
    home, laptop = tmp_path / "home", tmp_path / "laptop"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    up_log = tmp_path / "up.log"
    hub = spawn(home, "up", "--port", str(port), "-v", log=up_log)
    attach = None
    try:
        wait_healthy(url)
        wait_until(lambda: "tether is up" in up_log.read_text(), what="tether up ready")
        assert "first start" in up_log.read_text()
        # Zero setup: the local CLI is already signed in.
        session = run_cli(home, url, "start", "demo").stdout.strip()
        assert session.startswith("s_")
        # `tether token` hands scripts (curl, an HTTP MCP client) a working session token.
        token = run_cli(home, url, "token").stdout.strip()
        teams = httpx.get(f"{url}/v1/teams", headers={"Authorization": f"Bearer {token}"})
        assert teams.status_code == 200 and [t["name"] for t in teams.json()] == ["demo"]
        # Pair a second "machine" with a code, as a phone/laptop would.
        minted = run_cli(home, url, "pair", "new").stdout
        code = re.search(r"pairing code: (\S+)", minted).group(1)  # type: ignore[union-attr]
        run_cli(laptop, url, "login", "--hub", url, "--code", code)
        again = run_cli(tmp_path / "thief", url, "login", "--hub", url, "--code", code, check=False)
        assert again.returncode != 0 and "already used" in again.stderr
        devices = json.loads(run_cli(home, url, "devices", "--json").stdout)
        laptop_device = json.loads((laptop / "credentials.json").read_text())
        laptop_id = next(iter(laptop_device.values()))["device_id"]
        assert laptop_id in {d["id"] for d in devices}
        # The laptop watches the session live…
        attach_log = tmp_path / "attach.log"
        attach = spawn(laptop, "attach", session, "--follow", log=attach_log, hub_url=url)
        wait_until(lambda: "attached to" in attach_log.read_text(), what="attach connected")
        # …until its device is revoked: the socket closes at once, attach exits.
        started = time.monotonic()
        run_cli(home, url, "revoke", laptop_id)
        attach.wait(timeout=scaled(30))
        elapsed = time.monotonic() - started
        print(f"revocation → attach exited in {elapsed * 1000:.0f} ms (incl. the revoke CLI)")
        assert attach.returncode != 0
        assert "revoked" in attach_log.read_text()
        denied = run_cli(laptop, url, "sessions", check=False)
        assert denied.returncode != 0
        audit = [
            json.loads(line)
            for line in run_cli(home, url, "audit", "--json").stdout.splitlines()
            if line.strip()
        ]
        actions = {e["action"] for e in audit}
        assert {
            "device_paired",
            "pairing_code_created",
            "pairing_failed",
            "token_refresh",
            "device_revoked",
            "session_start",
        } <= actions
        # No secret in any log line of any process (the first-start sign-in code is printed
        # on the terminal by design, once; it is not a log line).
        logs = up_log.read_text() + attach_log.read_text()
        signin = re.search(r"sign-in code \(15 minutes\): (\S+)", logs)
        log_lines = [
            line for line in logs.splitlines() if re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", line)
        ]
        assert log_lines, "expected DEBUG/INFO log lines from tether up -v"
        secrets = [code, *_secrets_in(home), *_secrets_in(laptop)]
        if signin:
            secrets.append(signin.group(1))
        for line in log_lines:
            for secret in secrets:
                assert secret not in line, f"secret in a log line: {line}"
    finally:
        if attach is not None:
            stop(attach)
        stop(hub)


def test_tls_end_to_end(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ca_pem, cert_pem, key_pem = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    cert.cert_chain_pems[0].write_to_path(str(cert_pem))
    cert.private_key_pem.write_to_path(str(key_pem))
    teams = tmp_path / "teams.toml"
    teams.write_text(f'[teams.remote]\npath = "{tmp_path}"\nagent = "demo"\n')
    home, box, viewer = tmp_path / "hub", tmp_path / "box", tmp_path / "viewer"
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    hub = spawn(
        home,
        "hub",
        "--port",
        str(port),
        "--tls-cert",
        str(cert_pem),
        "--tls-key",
        str(key_pem),
        log=tmp_path / "hub.log",
        TETHER_CA=str(ca_pem),
    )
    runner = None
    try:
        wait_until(
            lambda: "listening on https" in (tmp_path / "hub.log").read_text(), what="hub up"
        )
        env_ca = ["--ca", str(ca_pem)]
        # The hub machine's own CLI trusts the CA through TETHER_CA (SSL_CERT_FILE works too).
        mint = run_cli(
            home, url, "pair", "new", "--no-qr", env_extra={"SSL_CERT_FILE": str(ca_pem)}
        )
        runner_code = re.search(r"pairing code: (\S+)", mint.stdout).group(1)  # type: ignore[union-attr]
        runner = spawn(
            box,
            "runner",
            "--hub",
            url,
            "--pair",
            runner_code,
            "--runner-id",
            "box",
            "--config",
            str(teams),
            *env_ca,
            log=tmp_path / "runner.log",
        )
        mint = run_cli(
            home, url, "pair", "new", "--no-qr", env_extra={"SSL_CERT_FILE": str(ca_pem)}
        )
        code = re.search(r"pairing code: (\S+)", mint.stdout).group(1)  # type: ignore[union-attr]
        run_cli(viewer, url, "login", "--hub", url, "--code", code, *env_ca)
        wait_until(
            lambda: (
                "remote"
                in run_cli(
                    viewer, url, "teams", check=False, env_extra={"TETHER_CA": str(ca_pem)}
                ).stdout
            ),
            what="runner's team over wss",
        )
        session = run_cli(
            viewer, url, "start", "remote", env_extra={"TETHER_CA": str(ca_pem)}
        ).stdout.strip()
        done = run_cli(viewer, url, "attach", session, "--prompt", "hello over tls", *env_ca)
        assert "You said: hello over tls" in done.stdout
        # Every command takes --ca (no environment variable needed), with an id prefix too.
        assert session in run_cli(viewer, url, "sessions", *env_ca).stdout
        assert "sent" in run_cli(viewer, url, "send", session[:8], "again", *env_ca).stderr
        assert run_cli(viewer, url, "token", *env_ca).stdout.startswith("eyJ")
        # `login --ca` remembered the CA for this hub; a machine that does not trust it
        # refuses the certificate (before sending any secret).
        mint = run_cli(home, url, "pair", "new", "--no-qr", env_extra={"TETHER_CA": str(ca_pem)})
        code = re.search(r"pairing code: (\S+)", mint.stdout).group(1)  # type: ignore[union-attr]
        untrusted = run_cli(
            tmp_path / "stranger", url, "login", "--hub", url, "--code", code, check=False
        )
        assert untrusted.returncode != 0 and "certificate" in untrusted.stderr.lower()
    finally:
        if runner is not None:
            stop(runner)
        stop(hub)
