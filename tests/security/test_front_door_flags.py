"""`--trusted-proxy`, `--allowed-host` and `--public-url` on a real `tether hub` / `tether
up` subprocess (issue #11, finding 3): without `--trusted-proxy` a rotated
X-Forwarded-For still runs into the pairing 429; with it, the proxy's header is believed;
a foreign Host is refused until `--allowed-host` (or `--public-url`) names it; a bad value
is a clear error before anything starts."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.support.procs import free_port, run_cli, spawn, stop, wait_healthy
from tether.auth.codes import fingerprint_of, new_device_key
from tether.auth.service import PAIR_ATTEMPTS_PER_ADDRESS


@contextlib.contextmanager
def serving(home: Path, command: str, *flags: str) -> Iterator[str]:
    """`tether COMMAND --port P --data-dir D FLAGS…` running; yields its URL."""
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    argv = [command, "--port", str(port), "--data-dir", str(home / "data"), *flags]
    proc = spawn(home, *argv, log=home / f"{command}.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, timeout=60)
        yield url
    finally:
        stop(proc)


def pair_from(url: str, code: str, forwarded: str) -> int:
    body = {
        "code": code,
        "name": "x",
        "kind": "cli",
        "fingerprint": fingerprint_of(new_device_key()),
    }
    headers = {"X-Forwarded-For": forwarded}
    return httpx.post(f"{url}/v1/auth/pair", json=body, headers=headers, timeout=30).status_code


def guesses(url: str, count: int) -> list[int]:
    return [pair_from(url, f"AAAA-{i:04d}", f"203.0.113.{i}") for i in range(count)]


def test_rotating_x_forwarded_for_hits_the_429_without_trusted_proxy(tmp_path: Path) -> None:
    with serving(tmp_path, "hub") as url:
        assert guesses(url, PAIR_ATTEMPTS_PER_ADDRESS) == [401] * PAIR_ATTEMPTS_PER_ADDRESS
        assert pair_from(url, "AAAA-9999", "198.51.100.1") == 429


def test_with_trusted_proxy_the_forwarded_address_is_believed(tmp_path: Path) -> None:
    with serving(tmp_path, "hub", "--trusted-proxy", "127.0.0.1") as url:
        # Each guess comes from another client behind the proxy: no per-address 429 yet.
        assert guesses(url, PAIR_ATTEMPTS_PER_ADDRESS + 2) == [401] * (
            PAIR_ATTEMPTS_PER_ADDRESS + 2
        )


def test_a_foreign_host_is_refused_until_allowed(tmp_path: Path) -> None:
    evil = {"Host": "evil.example"}
    with serving(tmp_path / "plain", "hub") as url:
        refused = httpx.get(f"{url}/healthz", headers=evil, timeout=30)
        assert refused.status_code == 421
        assert "--allowed-host evil.example" in refused.json()["error"]["hint"]
        assert httpx.get(f"{url}/healthz", timeout=30).status_code == 200
    with serving(tmp_path / "allowed", "up", "--allowed-host", "evil.example") as url:
        assert httpx.get(f"{url}/healthz", headers=evil, timeout=30).status_code == 200
        other = httpx.get(f"{url}/healthz", headers={"Host": "other.example"}, timeout=30)
        assert other.status_code == 421
    public = ("--public-url", "https://tether.example.com")
    with serving(tmp_path / "public", "hub", *public) as url:
        named = httpx.get(f"{url}/healthz", headers={"Host": "tether.example.com"}, timeout=30)
        assert named.status_code == 200


def test_bad_values_are_clear_errors(tmp_path: Path) -> None:
    for flags, words in (
        (("--trusted-proxy", "not-an-address"), "--trusted-proxy 'not-an-address'"),
        (("--public-url", "tether.example.com"), "--public-url 'tether.example.com'"),
    ):
        done: subprocess.CompletedProcess[str] = run_cli(
            tmp_path,
            "",
            "hub",
            "--data-dir",
            str(tmp_path / "data"),
            "--port",
            str(free_port()),
            *flags,
            timeout=60,
            check=False,
        )
        assert done.returncode != 0
        assert words in done.stdout + done.stderr, done.stdout + done.stderr
