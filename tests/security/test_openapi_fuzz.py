"""Every route of the OpenAPI document, fuzzed by schemathesis against a running hub, as
an authenticated admin (issue #11, finding 7): whatever the numbers, strings and bodies,
the hub answers 4xx, never 5xx. Examples are bounded so that this runs in CI (~20 s).
schemathesis does not try 2**63 where a schema sets no bound, so that is a test of its own."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.hub import running_hub
from tests.support.timing import scaled

EXAMPLES_PER_OPERATION = 12
"""With schemathesis' coverage phase (boundary values of every bound), ~1,200 requests."""
# Routes that end the caller's own credentials would only make the rest of the run 401s
# (with typed answers in the OpenAPI document, schemathesis finds the caller's device id);
# a prune would remove the session the later tests read (its bad input: below).
SKIPPED = ("/v1/auth/logout", "/v1/devices/{device_id}/revoke", "/v1/admin/prune")


class LiveHub:
    """An in-process hub (and runner) served from a thread of its own, for sync callers."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.url = ""
        self.token = ""
        self.session_id = ""
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="fuzzed-hub", daemon=True)

    def __enter__(self) -> LiveHub:
        self._thread.start()
        if not self._ready.wait(scaled(60)) or self._failure is not None:
            raise RuntimeError(f"the hub did not start: {self._failure!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(scaled(60))

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced by __enter__
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        async with running_hub(self.data_dir) as hub, hub.client() as client:
            self.url, self.token = hub.url, hub.token
            self.session_id = str((await client.start("demo"))["id"])
            self._ready.set()
            while not self._stop.is_set():
                await asyncio.sleep(0.05)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveHub]:
    with LiveHub(tmp_path_factory.mktemp("fuzzed")) as live:
        yield live


def test_no_route_answers_5xx(hub: LiveHub, tmp_path: Path) -> None:
    # Path ids are the real session's, so that routes get past their 404 to the numbers.
    config = tmp_path / "schemathesis.toml"
    config.write_text(f'[parameters]\nsession_id = "{hub.session_id}"\n')
    argv = [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config)]
    argv += ["--no-color", "run", f"{hub.url}/openapi.json"]
    argv += ["-H", f"Authorization: Bearer {hub.token}", "--checks", "not_a_server_error"]
    argv += ["--max-examples", str(EXAMPLES_PER_OPERATION), "--generation-deterministic"]
    argv += ["--phases", "examples,coverage,fuzzing", "--request-timeout", str(scaled(30))]
    for path in SKIPPED:
        argv += ["--exclude-path", path]
    # (In a temp dir: schemathesis keeps a cache of crashes in its working directory.)
    done = subprocess.run(argv, capture_output=True, text=True, timeout=scaled(300), cwd=tmp_path)
    report = done.stdout[-6000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    ran = re.search(r"(\d+) generated, (\d+) passed", done.stdout)
    assert ran is not None and int(ran[1]) > 500 and ran[1] == ran[2], report


def test_a_seq_beyond_64_bits_is_a_422(hub: LiveHub) -> None:
    headers = {"Authorization": f"Bearer {hub.token}"}
    path = f"{hub.url}/v1/sessions/{hub.session_id}/events"
    for after in (2**63, 2**63 - 1 + 1, 10**30, -1):
        response = httpx.get(path, params={"after": after}, headers=headers)
        assert response.status_code == 422, (after, response.text)
        assert "after" in response.text
    assert httpx.get(path, params={"after": 0}, headers=headers).status_code == 200


def test_a_prune_cutoff_that_is_not_a_time_is_a_422(hub: LiveHub) -> None:
    headers = {"Authorization": f"Bearer {hub.token}"}
    path = f"{hub.url}/v1/admin/prune"
    for body in ({}, {"before": "soon"}, {"before": -1}, {"before": None}):
        response = httpx.post(path, json=body, headers=headers)
        assert response.status_code == 422, (body, response.text)
        assert "before" in response.text
    for text in ('{"before": NaN}', '{"before": Infinity}', '{"before": 1e400}'):
        raw = {**headers, "Content-Type": "application/json"}
        response = httpx.post(path, content=text, headers=raw)
        assert response.status_code == 422, (text, response.text)
    counted = httpx.post(path, json={"before": 2**63, "dry_run": True}, headers=headers)
    assert counted.status_code == 200 and counted.json()["dry_run"] is True
