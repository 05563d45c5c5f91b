"""Which of a runner's teams can start: probed when the runner starts, and before a start.

The runner announces each team's result in `hello` (`TeamInfo.available`,
`unavailable_reason`), so the hub can refuse a start on a team that cannot start and
`tether teams` / the web UI can say why. The reasons are what a start would fail with
(`tether.teams_check`): a missing agent program or path, an unreachable host.

Rules:
* every probe runs in its own task with its own deadline, so an unreachable host
  delays only its own team; `settle` waits a bounded time for the first answers;
* a team not probed yet counts as available (its start is checked anyway);
* before a start, `recheck` probes again — always for a local team (a stat and a PATH
  search), for a remote team only when its last answer was "unavailable" or older than
  `fresh_s` (a start over ssh finds every problem itself, with the same message);
* a probe that fails in an unexpected way is logged and counts as available: a bug in
  a probe must not lock a team.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from tether.config import TeamConfig
from tether.teams_check import TeamCheck, check_team

log = logging.getLogger("tether.runner")

FRESH_S = 30.0


@dataclass(frozen=True)
class Availability:
    """Can a team start, and if not, why (the error a start would raise)."""

    available: bool = True
    reason: str | None = None
    code: str | None = None
    checked_at: float | None = None  # event-loop time of the probe; None: not probed yet


Check = Callable[[TeamConfig], Awaitable[TeamCheck]]
OnChange = Callable[[str, Availability], None]


class TeamProbes:
    """The latest probe result of each team, and the tasks that probe them."""

    def __init__(
        self,
        teams: Mapping[str, TeamConfig],
        data_dir: Path,
        *,
        check: Check | None = None,
        fresh_s: float = FRESH_S,
        on_change: OnChange | None = None,
    ) -> None:
        self._teams = dict(teams)
        self._check: Check = check or (lambda team: check_team(team, data_dir))
        self.fresh_s = fresh_s
        self.on_change = on_change
        self._results: dict[str, Availability] = {}
        self._running: dict[str, asyncio.Task[Availability]] = {}

    def start(self) -> None:
        """Probe every team, each in its own task."""
        for team in self._teams.values():
            self._probe(team)

    async def settle(self, timeout: float) -> None:
        """Wait until every running probe has answered, or `timeout` seconds."""
        pending = [task for task in self._running.values() if not task.done()]
        if pending:
            await asyncio.wait(pending, timeout=timeout)

    def get(self, name: str) -> Availability:
        """The latest answer for team `name` (available when it has not been probed yet)."""
        return self._results.get(name, Availability())

    async def recheck(self, team: TeamConfig) -> Availability:
        """Probe `team` again before a start, unless a recent answer is good enough."""
        running = self._running.get(team.name)
        if running is None or running.done():
            known = self._results.get(team.name)
            if known is not None and known.available and _is_remote(team):
                age = asyncio.get_running_loop().time() - (known.checked_at or 0.0)
                if age < self.fresh_s:
                    return known
            running = self._probe(team)
        # Shielded: a start that is given up does not cancel the probe other starts share.
        return await asyncio.shield(running)

    async def close(self) -> None:
        """Cancel the probes still running and wait for them to end."""
        tasks = [task for task in self._running.values() if not task.done()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._running.clear()

    def _probe(self, team: TeamConfig) -> asyncio.Task[Availability]:
        task = self._running.get(team.name)
        if task is None or task.done():
            task = asyncio.create_task(self._run(team), name=f"probe team {team.name}")
            self._running[team.name] = task
        return task

    async def _run(self, team: TeamConfig) -> Availability:
        try:
            check = await self._check(team)
        except Exception:
            log.exception("probing team %r failed; treating it as available", team.name)
            result = Availability(checked_at=asyncio.get_running_loop().time())
        else:
            result = Availability(
                check.ok, check.reason, check.code, asyncio.get_running_loop().time()
            )
        before = self._results.get(team.name)
        self._results[team.name] = result
        if before is None or (before.available, before.reason) != (result.available, result.reason):
            if not result.available:
                log.warning("team %r is unavailable: %s", team.name, result.reason)
            elif before is not None:
                log.info("team %r is available again", team.name)
            if self.on_change is not None:
                self.on_change(team.name, result)
        return result


def _is_remote(team: TeamConfig) -> bool:
    return team.remote is not None and team.remote.strip() not in ("", "local")
