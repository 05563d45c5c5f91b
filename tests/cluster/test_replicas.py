"""Three real `tether hub` processes on one PostgreSQL database behave as one hub: a runner
on the first, owners and followers on the second and third (skipped without PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.cluster.replicas import Replicas
from tests.e2e.cluster import assert_gap_free
from tests.notify.receiver import receiver
from tests.support.pg import pg_database
from tests.support.procs import run_cli, wait_until
from tests.support.timing import scaled
from tether.auth.service import PAIR_ATTEMPTS_PER_ADDRESS


@pytest.fixture
async def replicas(tmp_path: Path) -> AsyncIterator[Replicas]:
    async with pg_database() as dsn:
        cluster = Replicas(tmp_path, dsn)
        try:
            yield cluster.start()
        finally:
            cluster.close()


def test_three_replicas_are_one_hub(replicas: Replicas) -> None:
    # Only the first replica on the empty database made the admin and printed its code.
    assert "first start" in replicas.log("hub0")
    assert "first start" not in replicas.log("hub1") + replicas.log("hub2")
    replicas.start_runner(0)
    # Every replica sees the runner's teams (it is connected to the first one only).
    for i in (1, 2):
        teams = {t["name"]: t for t in replicas.get(i, "/v1/teams")}
        assert teams["demo"]["runner_connected"], teams
    # Started through the second replica: the start control is routed to the first.
    session = replicas.cli(1, "start", "demo").stdout.strip()
    assert session.startswith("s_")
    follower = replicas.attach(1, "follower", session, "--follow", "--json")
    # The owner is on the third replica; its turn asks permission, which it answers there.
    owner = replicas.attach(
        2, "owner", session, "--json", "--prompt", "run touch x", "--permissions", "allow"
    )
    try:
        decision = owner.wait_for("permission_decision")
        assert decision["behavior"] == "allow"
        owner.proc.wait(timeout=scaled(30))
        assert owner.proc.returncode == 0, owner.stderr()
        # The follower on another replica saw the same turn live, in order, no gap.
        done = follower.wait_for("turn_finished")
        assert done["status"] == "success"
        seqs = [e["seq"] for e in follower.events()]
        assert_gap_free(seqs)
        kinds = [e["kind"] for e in follower.events()]
        assert kinds.index("permission_request") < kinds.index("permission_decision")
        stored = replicas.get(0, f"/v1/sessions/{session}/events", after=0, limit=5000)
        assert [e["seq"] for e in stored["events"]][: len(seqs)] == seqs
    finally:
        owner.stop()
        follower.stop()


def test_ownership_is_exclusive_across_replicas(replicas: Replicas) -> None:
    session = replicas.demo_session()
    with replicas.attach(1, "owner", session, "--json") as owner:
        wait_until(lambda: _owner_of(replicas, 2, session), timeout=30, what="an owner")
        # A second viewer on the third replica asks to own it too: it is a follower.
        second = replicas.attach(2, "second", session, "--json", "--prompt", "hello")
        second.proc.wait(timeout=scaled(30))
        assert second.proc.returncode != 0
        assert "as follower" in second.stderr(), second.stderr()
        assert "owns this session" in second.stderr()
        # And the HTTP API of the first replica refuses writes from anyone but the owner.
        refused = replicas.post(0, f"/v1/sessions/{session}/messages", {"text": "hi"})
        assert refused.status_code in (403, 409), refused.text
        # The owner leaves: the slot is free on every replica.
        owner.stop()
        wait_until(lambda: not _owner_of(replicas, 2, session), timeout=30, what="a free slot")
        accepted = replicas.post(0, f"/v1/sessions/{session}/messages", {"text": "hi"})
        assert accepted.status_code == 202, accepted.text


def test_a_take_on_another_replica_leaves_one_owner(replicas: Replicas) -> None:
    # The user's laptop owns the session through replica 1; their phone takes it over
    # through replica 2. The laptop is told, and stays on as a follower: its writes are
    # refused, so there are never two owners, even on two replicas.
    session = replicas.demo_session()
    with replicas.attach(1, "laptop", session, "--json") as laptop:
        laptop.wait_stderr(f"attached to {session} as owner")
        taken = replicas.cli(2, "send", "--take", session, "hello from the phone", check=False)
        assert taken.returncode == 0, taken.stderr
        laptop.wait_stderr("now a follower")
        assert laptop.proc.poll() is None  # still watching
        wait_until(
            lambda: (
                replicas.post(1, f"/v1/sessions/{session}/messages", {"text": "x"}).status_code
                == 202
            ),
            timeout=30,
            what="the slot the phone's HTTP take freed, on the laptop's replica too",
        )


def _owner_of(replicas: Replicas, i: int, session: str) -> str | None:
    owner: str | None = replicas.get(i, f"/v1/sessions/{session}")["owner"]
    return owner


def test_a_revoke_on_one_replica_closes_a_viewer_on_another(
    replicas: Replicas, tmp_path: Path
) -> None:
    session = replicas.demo_session()
    # A laptop pairs with a code minted on the first replica, redeemed on the third.
    laptop = tmp_path / "laptop"
    minted = replicas.cli(0, "pair", "new").stdout
    code = re.search(r"pairing code: (\S+)", minted)
    assert code
    url2 = replicas.hubs[2].url
    run_cli(laptop, url2, "login", "--hub", url2, "--code", code.group(1))
    with replicas.attach(2, "watcher", session, "--follow", home=laptop) as watcher:
        wait_until(lambda: "attached to" in watcher.stderr(), timeout=30, what="attached")
        device = _device_of(laptop)
        started = time.monotonic()
        replicas.cli(0, "revoke", device)
        watcher.proc.wait(timeout=scaled(30))
        print(
            f"revoke on replica 0 → viewer on replica 2 closed in"
            f" {time.monotonic() - started:.2f} s"
        )
        assert watcher.proc.returncode != 0
        assert "revoked" in watcher.stderr()


def _device_of(home: Path) -> str:
    stored = json.loads((home / "credentials.json").read_text())
    return str(next(iter(stored.values()))["device_id"])


def test_pairing_attempts_are_counted_across_replicas(replicas: Replicas) -> None:
    # Guessing codes while rotating between replicas buys no extra attempts: the tenth
    # wrong code from this address (spread over three replicas) is the last one heard.
    body = {"code": "WRONG-CODE", "kind": "cli", "fingerprint": "f" * 32}
    statuses = [
        httpx.post(f"{replicas.hubs[n % 3].url}/v1/auth/pair", json=body, timeout=10).status_code
        for n in range(PAIR_ATTEMPTS_PER_ADDRESS)
    ]
    assert statuses == [401] * PAIR_ATTEMPTS_PER_ADDRESS
    for hub in replicas.hubs:
        refused = httpx.post(f"{hub.url}/v1/auth/pair", json=body, timeout=10)
        assert refused.status_code == 429, refused.text
        assert "too many pairing attempts" in refused.json()["error"]["message"]


def test_every_replica_is_the_same_hub_to_a_client(replicas: Replicas, tmp_path: Path) -> None:
    answers = [httpx.get(f"{h.url}/v1/hub/identity", timeout=10).json() for h in replicas.hubs]
    assert len({a["id"] for a in answers}) == 1 and answers[0]["id"].startswith("h_")
    assert len({a["replica"] for a in answers}) == 3
    session = replicas.demo_session()
    # A laptop signs in through the first replica's URL…
    laptop = tmp_path / "laptop"
    code = re.search(r"pairing code: (\S+)", replicas.cli(0, "pair", "new").stdout)
    assert code
    url0 = replicas.hubs[0].url
    run_cli(laptop, url0, "login", "--hub", url0, "--code", code.group(1))
    # …and is signed in through the third's: its credentials are the hub's, not the URL's.
    listed = json.loads(replicas.cli(2, "sessions", "--json", home=laptop).stdout)
    mine = next(s for s in listed if s["id"] == session)
    assert mine["runner_replica"] == answers[0]["replica"]
    table = replicas.cli(2, "sessions", home=laptop).stdout
    assert "replica" in table and answers[0]["replica"] in table
    # One device, not a second one paired behind the user's back.
    stored = json.loads((laptop / "credentials.json").read_text())
    assert len(stored) == 1


FLOOD_LINES = 20_000
FLOOD = f"""
import os, sys, time
gate = sys.argv[1]
for i in range({FLOOD_LINES}):
    print(f"line {{i}}", flush=i % 50 == 0)
    if i % 50 == 0:
        # Past the first few thousand lines it trickles until the test has killed a
        # replica (so the kill always lands mid-stream, however slow the machine), then
        # floods again.
        time.sleep(0.01 if i < 4000 or os.path.exists(gate) else 0.1)
"""


def test_kill_9_of_the_runners_replica_mid_stream_loses_nothing(
    replicas: Replicas, tmp_path: Path
) -> None:
    script, gate = tmp_path / "flood.py", tmp_path / "killed"
    script.write_text(FLOOD)
    with (tmp_path / "tether.toml").open("a") as config:
        config.write(
            f"""
[teams.flood]
path = {json.dumps(str(tmp_path / "work"))}
agent = "command"
command = [{json.dumps(sys.executable)}, {json.dumps(str(script))}, {json.dumps(str(gate))}]
mode = "args"
"""
        )
    replicas.start_runner(0, 1, 2)  # connected to the first, told about all three
    started = replicas.post(1, "/v1/sessions", {"team": "flood", "prompt": "go"})
    assert started.status_code == 201, started.text
    session = started.json()["id"]

    def stored() -> int:
        return int(replicas.get(2, f"/v1/sessions/{session}")["last_seq"])

    # A viewer on the replica about to die, told every URL of the hub.
    every = ",".join(h.url for h in replicas.hubs)
    mover = replicas.attach(0, "mover", session, "--hub", every, "--follow", "--json")
    # Lines that arrive together are one event (docs/protocol.md): ~50 lines an event here.
    wait_until(lambda: stored() > 40, timeout=60, interval=0.02, what="the flood to start")
    mover.wait_for("output", timeout=30)
    first = _replica_id(replicas, 0)
    replicas.kill(0)
    at_kill = stored()
    gate.touch()
    # The runner fails over to a surviving replica and resends what was not acked.
    wait_until(
        lambda: _runner_replica(replicas, 2, session) not in (None, first),
        timeout=60,
        interval=0.1,
        what="the runner on a surviving replica",
    )
    with replicas.attach(2, "survivor", session, "--after", "0", "--json", "--follow") as viewer:
        viewer.wait_for("turn_finished", timeout=120)
    events = viewer.events()
    assert_gap_free([e["seq"] for e in events])
    assert events[-1]["seq"] > at_kill + 10, "the flood ended before the kill: make it slower"
    texts = [e["text"].rstrip("\n") for e in events if e["kind"] == "output"]
    assert [line for text in texts for line in text.split("\n")] == [
        f"line {i}" for i in range(FLOOD_LINES)
    ]
    # The viewer that was on the dead replica resumed on another: no gap, no duplicate.
    try:
        mover.wait_for("turn_finished", timeout=120)
    finally:
        mover.stop()
    assert [e["seq"] for e in mover.events()] == [e["seq"] for e in events]
    print(f"killed the runner's replica at seq {at_kill}; {len(events)} events, each once")


def _replica_id(replicas: Replicas, i: int) -> str:
    return str(httpx.get(f"{replicas.hubs[i].url}/v1/hub/identity", timeout=10).json()["replica"])


def _runner_replica(replicas: Replicas, i: int, session: str) -> str | None:
    replica: str | None = replicas.get(i, f"/v1/sessions/{session}")["runner_replica"]
    return replica


def test_a_control_for_a_dead_replica_reaches_the_runner_on_the_next(replicas: Replicas) -> None:
    replicas.start_runner(0, 1)
    session = replicas.cli(1, "start", "demo").stdout.strip()
    wait_until(lambda: _state(replicas, 1, session) == "idle", timeout=30, what="idle")
    # The runner's replica freezes: it still holds the runner's socket, so the message
    # posted on another replica waits in the database for it…
    hub0 = replicas.hubs[0].proc
    assert hub0 is not None
    os.kill(hub0.pid, signal.SIGSTOP)
    try:
        posted = replicas.post(1, f"/v1/sessions/{session}/messages", {"text": "hello"})
        assert posted.status_code == 202, posted.text
    finally:
        # …and dies without sending it; the runner moves on, and gets it from its next one.
        replicas.kill(0)
    with replicas.attach(1, "after-death", session, "--follow", "--json") as follower:
        said = follower.wait_for("user_message", timeout=60)
        assert said["text"] == "hello"
        follower.wait_for("turn_finished", timeout=60)
        assert [e["text"] for e in follower.events() if e["kind"] == "user_message"] == ["hello"]


def _state(replicas: Replicas, i: int, session: str) -> str:
    return str(replicas.get(i, f"/v1/sessions/{session}")["state"])


async def test_a_replica_with_another_secrets_file_is_refused(tmp_path: Path) -> None:
    async with pg_database() as dsn:
        cluster = Replicas(tmp_path, dsn, count=2)
        try:
            cluster.start(count=1)
            cluster.start_hub(1, secrets=tmp_path / "other" / "secrets.json", expect_exit=True)
            proc = cluster.hubs[1].proc
            assert proc is not None and proc.wait(timeout=scaled(30)) != 0
            log = cluster.log("hub1")
            assert "secrets file differs from the one replicas" in log, log
            assert "TETHER_SECRETS_FILE" in log
            # The command's own error, not a traceback from the server's start-up.
            assert "Traceback" not in log and "startup failed" not in log, log
        finally:
            cluster.close()


async def test_three_replicas_send_one_notification_per_request(tmp_path: Path) -> None:
    async with receiver() as rx, pg_database() as dsn:
        cluster = Replicas(tmp_path, dsn)
        try:
            await asyncio.to_thread(cluster.start)
            await asyncio.to_thread(cluster.start_runner, 0)
            hook = f"{rx.url}/hook"
            await asyncio.to_thread(
                cluster.cli, 1, "notify", "add", "webhook", hook, "--secret", "s" * 24
            )
            started = await asyncio.to_thread(
                cluster.cli, 2, "start", "demo", "--prompt", "run touch x"
            )
            assert started.stdout.strip().startswith("s_")
            first = (await rx.next_event("permission_request", timeout=scaled(30))).json()
            # Every replica follows the session; give the other two time to (wrongly) send.
            await asyncio.sleep(3)
            requests = [r.json() for r in rx.all if r.json()["event"] == "permission_request"]
            assert [r["request_id"] for r in requests] == [first["request_id"]]
        finally:
            await asyncio.to_thread(cluster.close)


def test_two_viewers_racing_on_two_replicas_make_one_owner(replicas: Replicas) -> None:
    session = replicas.demo_session()
    racers = [replicas.attach(i, f"racer{i}", session, "--json") for i in (1, 2)]
    try:
        for racer in racers:
            racer.wait_stderr("attached to")
        roles = sorted("owner" if "as owner" in r.stderr() else "follower" for r in racers)
        assert roles == ["follower", "owner"], [r.stderr() for r in racers]
    finally:
        for racer in racers:
            racer.stop()


def test_a_users_runner_on_one_replica_is_theirs_on_every_replica(
    replicas: Replicas, tmp_path: Path
) -> None:
    # Bob (not an admin) signs in and pairs his own runner, which connects to replica 0.
    added = replicas.cli(0, "users", "add", "bob").stdout
    code = re.search(r"sign-in code for \S+: (\S+)", added) or re.search(r": (\S+)\s*$", added)
    assert code, added
    bob = tmp_path / "bob"
    url0 = replicas.hubs[0].url
    run_cli(bob, url0, "login", "--hub", url0, "--code", code.group(1))
    replicas.start_runner(0, paired_by=bob)
    # The admin starts a session on Bob's runner; Bob may watch it through replica 2,
    # which knows the runner is his although its socket is on replica 0.
    session = replicas.cli(0, "start", "demo").stdout.strip()
    on0 = json.loads(replicas.cli(0, "sessions", "--json", home=bob).stdout)
    listed = json.loads(replicas.cli(2, "sessions", "--json", home=bob).stdout)
    assert session in {s["id"] for s in on0}, on0
    assert session in {s["id"] for s in listed}
    with replicas.attach(2, "bob-watch", session, "--follow", "--json", home=bob) as watcher:
        watcher.wait_stderr("attached to")
