"""What every process-backed adapter shares (ProcessHost): a secret an agent prints on
stderr never reaches the session's log, and a failed start reports one exit, not two."""

from __future__ import annotations

from pathlib import Path

from tests.support.hub import serving_teams, wait_for_event
from tether.config import TeamConfig

SECRET = "sk-live-0123456789abcdef"


async def test_an_agent_that_prints_its_key_and_dies_is_reported_without_the_key(
    tmp_path: Path,
) -> None:
    leak = 'echo "auth failed for key $PROVIDER_API_KEY" >&2; exit 3'
    team = TeamConfig(
        name="acp",
        path=str(tmp_path),
        agent="acp",
        command=["sh", "-c", leak],
        env={"PROVIDER_API_KEY": SECRET},
    )
    async with serving_teams(tmp_path, team) as (hub, client):
        session = (await client.start("acp"))["id"]
        async with hub.session(session) as remote:
            error = await wait_for_event(remote, "error")
            await wait_for_event(remote, "exited")
        payloads = [e["payload"] for e in (await client.events(session))["events"]]
    assert "auth failed for key ***" in str(error["message"])
    assert SECRET not in str(payloads)
    assert [p["kind"] for p in payloads].count("exited") == 1
