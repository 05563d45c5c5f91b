"""Drive a session through the real hub the way a remote owner would: send a turn, answer
its permission requests, collect its events until the turn ends."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from tests.support.hub import wait_for_event
from tests.support.timing import scaled
from tether.client import HubClient, RemoteSession
from tether.config import TeamConfig


def agent_team(
    tmp_path: Path, agent: str, command: list[str], env: dict[str, str], **options: Any
) -> TeamConfig:
    """A team named after its `agent`, working in `tmp_path/work`, running `command`."""
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return TeamConfig(name=agent, path=str(work), agent=agent, command=command, env=env, **options)


async def next_event(remote: RemoteSession, kind: str, timeout: float = 60.0) -> dict[str, Any]:
    """The next event of `kind` (earlier events are dropped)."""
    return await wait_for_event(remote, kind, timeout)


async def run_turn(
    remote: RemoteSession,
    text: str,
    *,
    answer: str | None = None,
    option_id: str | None = None,
    timeout: float = 90.0,
) -> list[dict[str, Any]]:
    """Send `text`, answer every permission request with `answer` (allow/deny), and return
    the turn's events up to and including `turn_finished`."""
    await remote.send_message(text)
    return await finish_turn(remote, answer=answer, option_id=option_id, timeout=timeout)


async def finish_turn(
    remote: RemoteSession,
    *,
    answer: str | None = None,
    option_id: str | None = None,
    timeout: float = 90.0,
) -> list[dict[str, Any]]:
    """Collect events until `turn_finished`, answering permission requests on the way."""
    seen: list[dict[str, Any]] = []

    async def scan() -> list[dict[str, Any]]:
        async for event in remote:
            seen.append(event.payload)
            if event.kind == "permission_request":
                assert answer is not None, f"unexpected permission request: {event.payload}"
                await remote.decide_permission(
                    str(event.payload["request_id"]), answer, option_id=option_id
                )
            if event.kind == "turn_finished":
                return seen
        raise AssertionError(f"the stream ended before the turn finished: {seen}")

    return await asyncio.wait_for(scan(), scaled(timeout))


def texts(events: list[dict[str, Any]], kind: str = "agent_message") -> list[str]:
    """The `text` of each event of `kind`."""
    return [str(e.get("text", "")) for e in events if e.get("kind") == kind]


def of_kind(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The events of `kind`."""
    return [e for e in events if e.get("kind") == kind]


async def stop_session(client: HubClient, remote: RemoteSession, session_id: str) -> str:
    """Stop a session, wait for its exit, and return its agent's own session id (what a
    resume in a new process takes)."""
    await client.stop(session_id)
    await next_event(remote, "exited")
    agent_session = (await client.session(session_id))["agent_session_id"]
    assert agent_session, "the agent never said its session id"
    return str(agent_session)
