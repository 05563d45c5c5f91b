"""Runner takeover, attacked on a real hub (issue #11, finding 2): another user's device
pairs a runner under the victim's runner id — while the victim's runner is connected and
while it is offline — names the victim's session ids in `hello`, and sends events for
them. It is refused each time, learns nothing it could not have learnt about a made-up
id, writes nothing, and the victim's prompts still reach the victim's runner."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.hub import (
    Device,
    HubHandle,
    connected_runner,
    demo_team,
    running_hub,
    wait_for_event,
)
from tests.support.raw_socket import Outcome, exchange
from tests.support.timing import scaled
from tether.config import TetherConfig

RUNNER_ID = "alice-box"


async def as_runner(hub: HubHandle, token: str, frames: list[dict[str, Any]]) -> Outcome:
    """Connect to /v1/runner with `token`, send `frames`, read until closed or quiet."""
    url = hub.url.replace("http://", "ws://") + "/v1/runner"
    headers = {"Authorization": f"Bearer {token}"}
    return await exchange(url, headers, frames, quiet=scaled(2), open_timeout=scaled(10))


def hello(runner_id: str, sessions: dict[str, int], teams: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "hello",
        "payload": {
            "runner_id": runner_id,
            "version": "evil",
            "teams": [{"name": t, "agent": "demo", "path": "/tmp"} for t in teams],
            "sessions": sessions,
        },
    }


def event(session_id: str, seq: int) -> dict[str, Any]:
    return {
        "type": "event",
        "session": session_id,
        "seq": seq,
        "ts": 1.0,
        "payload": {"kind": "agent_message", "text": "injected by mallory"},
    }


@dataclass
class World:
    hub: HubHandle
    alice_config: TetherConfig
    session_id: str
    mallory_token: str
    """A session token of mallory's runner device, paired under alice's runner id."""
    mallory_own_token: str
    """A session token of mallory's runner device paired under a name of her own."""
    alice_runner: Device
    alice_cli: Device
    runner_dir: Path


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    async with running_hub(tmp_path / "hub", with_runner=False) as hub:
        alice = await hub.user("alice")
        mallory = await hub.user("mallory")
        alice_runner = await hub.device(alice, kind="runner", name=RUNNER_ID)
        alice_cli = await hub.device(alice, kind="cli", name="alice-cli")
        config = TetherConfig(teams={"alice-demo": demo_team(tmp_path)})
        async with connected_runner(
            hub.url, alice_runner.token, config, tmp_path / "alice-runner", runner_id=RUNNER_ID
        ):
            async with hub.client(alice_cli.token) as client:
                session_id = (await client.start("alice-demo"))["id"]
            async with hub.session(session_id, alice_cli.token) as remote:
                await wait_for_event(remote, "status", state="idle")
        # Mallory pairs a runner and names it as alice's (the name is the pairer's choice).
        stolen = await hub.device(mallory, kind="runner", name=RUNNER_ID)
        own = await hub.device(mallory, kind="runner", name="mallory-box")
        yield World(
            hub,
            config,
            session_id,
            await stolen.token(),
            await own.token(),
            alice_runner,
            alice_cli,
            tmp_path / "alice-runner",
        )


def audit_actions(entries: list[Any], action: str) -> list[Any]:
    return [e for e in entries if e.action == action]


@contextlib.asynccontextmanager
async def alices_runner_as(world: World, device: Device) -> AsyncIterator[None]:
    """Alice's runner, connected with `device`'s tokens, which the hub's link says it is."""
    async with connected_runner(
        world.hub.url, device.token, world.alice_config, world.runner_dir, runner_id=RUNNER_ID
    ):
        link = world.hub.broker.runners[RUNNER_ID]
        assert link.principal is not None and link.principal.device_id == device.id
        yield


async def assert_alice_still_served(world: World) -> None:
    """Alice's runner connects as itself; her new session goes to it and her prompt is
    answered by it; nothing mallory sent is in her session's log."""
    hub = world.hub
    alice_runner, alice_cli = world.alice_runner, world.alice_cli
    async with alices_runner_as(world, alice_runner):
        async with hub.client(alice_cli.token) as client:
            fresh = await client.start("alice-demo")
            assert fresh["runner_id"] == RUNNER_ID
            async with hub.session(fresh["id"], alice_cli.token) as remote:
                await remote.send_message("still mine?")
                finished = await wait_for_event(remote, "turn_finished")
            assert finished["status"] == "success"
            stored = (await client.events(world.session_id))["events"]
        assert "injected by mallory" not in json.dumps(stored)


async def test_another_users_device_cannot_take_an_offline_runner_id(world: World) -> None:
    hub = world.hub
    assert RUNNER_ID not in hub.broker.runners  # alice's runner is offline
    before = hub.snapshot(skip=("audit_log", "runners"))
    seen = await as_runner(
        hub,
        world.mallory_token,
        [hello(RUNNER_ID, {world.session_id: 0}), event(world.session_id, 99)],
    )
    assert seen.code == 4003
    assert "belongs to another user" in seen.reason and "--runner-id" in seen.reason
    assert not seen.of_type("welcome"), "no welcome, so no session list and no seq"
    assert world.session_id not in json.dumps(seen.frames) + seen.reason
    assert RUNNER_ID not in hub.broker.runners
    assert hub.snapshot(skip=("audit_log", "runners")) == before
    refused = audit_actions(await hub.auth.audit_entries(), "runner_claim_refused")
    assert refused and refused[-1].details["runner"] == RUNNER_ID
    await assert_alice_still_served(world)


async def test_another_users_device_cannot_take_an_online_runner_id(world: World) -> None:
    hub = world.hub
    alice_runner = world.alice_runner
    async with connected_runner(
        hub.url, alice_runner.token, world.alice_config, world.runner_dir, runner_id=RUNNER_ID
    ):
        link = hub.broker.runners[RUNNER_ID]
        seen = await as_runner(hub, world.mallory_token, [hello(RUNNER_ID, {})])
        assert seen.code == 4003 and "belongs to another user" in seen.reason
        assert hub.broker.runners[RUNNER_ID] is link, "alice's connection was not replaced"
    assert audit_actions(await hub.auth.audit_entries(), "runner_claim_refused")
    await assert_alice_still_served(world)


async def test_naming_someone_elses_session_reveals_nothing_and_writes_nothing(
    world: World,
) -> None:
    hub = world.hub
    before = hub.snapshot(skip=("audit_log", "runners"))
    made_up = "s_" + "0" * 24
    seen = await as_runner(
        hub,
        world.mallory_own_token,
        [
            hello("mallory-box", {world.session_id: 5, made_up: 5}),
            event(world.session_id, 1),
            event(made_up, 1),
        ],
    )
    welcome = seen.of_type("welcome")
    assert len(welcome) == 1
    # Alice's session looks exactly like an id the hub has never seen: seq 0 for both.
    assert welcome[0]["payload"]["sessions"] == {world.session_id: 0, made_up: 0}
    errors = [f["payload"] for f in seen.of_type("error")]
    assert [e["code"] for e in errors] == ["not_found", "not_found"]
    assert errors[0]["message"].replace(world.session_id, "ID") == errors[1]["message"].replace(
        made_up, "ID"
    )
    assert not seen.of_type("ack")
    assert hub.snapshot(skip=("audit_log", "runners")) == before
    await assert_alice_still_served(world)


async def test_a_team_name_of_an_offline_runner_cannot_be_taken(world: World) -> None:
    hub = world.hub
    seen = await as_runner(
        hub, world.mallory_own_token, [hello("mallory-box", {}, ("alice-demo",))]
    )
    assert seen.code == 4003 and "another user's runner" in seen.reason
    teams = {name: entry[0] for name, entry in hub.broker.teams.items()}
    assert teams["alice-demo"] == RUNNER_ID


async def test_re_pairing_the_same_machine_keeps_its_runner_id(world: World) -> None:
    hub = world.hub
    alice_runner, alice_cli = world.alice_runner, world.alice_cli
    again = await hub.device(alice_runner.user, kind="runner", name=RUNNER_ID)
    async with alices_runner_as(world, again):
        async with hub.client(alice_cli.token) as client:
            fresh = await client.start("alice-demo")
        async with hub.session(fresh["id"], alice_cli.token) as remote:
            await remote.send_message("new pairing, same machine")
            assert (await wait_for_event(remote, "turn_finished"))["status"] == "success"
    # The old pairing's credentials no longer serve as that id.
    seen = await as_runner(hub, await alice_runner.token(), [hello(RUNNER_ID, {})])
    assert seen.code == 4003 and "newer device" in seen.reason
