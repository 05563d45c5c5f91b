"""The runner's connection to the hub: hello/welcome, resend, heartbeats, reconnect with backoff."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

import tether
from tether.agents.detect import detect_agents
from tether.backoff import Backoff
from tether.client.renewal import renew_in_band
from tether.client.tls import check_hub_url
from tether.config import TetherConfig
from tether.errors import AuthError, ConfigError, HubUnreachable, ProtocolError, TetherError
from tether.heartbeat import Heard, keep_alive
from tether.protocol.codec import decode, encode_frame, parse_payload
from tether.protocol.messages import (
    Control,
    ErrorMessage,
    Hello,
    TeamInfo,
    TeamsUpdate,
    Welcome,
)
from tether.reconnect import RECONNECTABLE
from tether.runner.availability import TeamProbes
from tether.runner.outbox import Outbox
from tether.runner.supervisor import SessionSupervisor
from tether.tasks import keep_task, run_first_completed

log = logging.getLogger("tether.runner")

TokenProvider = Callable[[], Awaitable[str]]
# How long the first `hello` waits for the team probes; slower hosts are announced later.
PROBE_WAIT_S = 3.0
FAILOVER_DELAY_S = 0.1
"""Before trying the hub's next URL (another replica) after one failed."""
# How often the teams that cannot start are probed again while connected (the hub refuses
# a start on them, so no start would find out that one was fixed).
TEAMS_RECHECK_S = 30.0
_control_adapter: TypeAdapter[Any] = TypeAdapter(Control)


class Runner:
    """Connects out to a hub and serves the teams of its config."""

    def __init__(
        self,
        hub_url: str | Sequence[str],
        token: TokenProvider,
        config: TetherConfig,
        data_dir: Path,
        *,
        runner_id: str,
        heartbeat_s: float = 15.0,
        dead_after_s: float = 30.0,
        memory_limit: int = 10_000,
        max_frame_bytes: int = 16 * 1024 * 1024,
        ssl: Any = None,
        insecure: bool = False,
        teams_recheck_s: float | None = None,
    ) -> None:
        urls = [hub_url] if isinstance(hub_url, str) else list(hub_url)
        if not urls:
            raise ConfigError("a runner needs a hub URL", hint="pass --hub URL")
        for url in urls:
            check_hub_url(url, insecure=insecure)
        self.teams_recheck_s = TEAMS_RECHECK_S if teams_recheck_s is None else teams_recheck_s
        self.ssl = ssl
        self.hub_urls = [url.rstrip("/") for url in urls]
        """Every URL of the hub (its replicas): tried in turn when a connection fails."""
        self._at = 0
        self.token = token
        self.config = config
        self.runner_id = runner_id
        self.heartbeat_s = heartbeat_s
        self.dead_after_s = dead_after_s
        self.max_frame_bytes = max_frame_bytes
        self.outbox = Outbox(data_dir / "runners" / _safe(runner_id) / "spill", memory_limit)
        self.probes = TeamProbes(config.teams, data_dir)
        self.supervisor = SessionSupervisor(config, self.outbox, data_dir, probes=self.probes)
        self.connected = asyncio.Event()
        self._backoff = Backoff()
        self._tasks: set[asyncio.Task[Any]] = set()
        self.agents: dict[str, str | None] = {}  # agent CLI → version (None: not installed)

    @property
    def hub_url(self) -> str:
        """The URL this runner connects (or last connected) to."""
        return self.hub_urls[self._at]

    def _next_delay(self) -> float:
        """Fail over to the hub's next URL at once; back off once every URL was tried."""
        if len(self.hub_urls) > 1:
            self._at = (self._at + 1) % len(self.hub_urls)
            if self._at != 0:
                return FAILOVER_DELAY_S
        return self._backoff.next_delay()

    def hello(self) -> Hello:
        """What this runner announces."""
        teams = [
            TeamInfo(
                name=name,
                agent=team.agent,
                description=team.description,
                path=team.path,
                host=team.host,
                available=self.probes.get(name).available,
                unavailable_reason=self.probes.get(name).reason,
            )
            for name, team in self.config.teams.items()
        ]
        return Hello(
            runner_id=self.runner_id,
            version=tether.__version__,
            teams=teams,
            sessions=self.outbox.last_seqs(),
            agents=self.agents,
        )

    async def run(self) -> None:
        """Connect, serve, and reconnect for ever (until cancelled)."""
        self.probes.start()
        try:
            self.agents, _ = await asyncio.gather(detect_agents(), self.probes.settle(PROBE_WAIT_S))
            while True:
                try:
                    await self._connect_once()
                except AuthError as exc:
                    log.error("the hub refused this runner: %s", exc)
                except HubUnreachable as exc:
                    # Refreshing the token needs the hub too; the events held here wait.
                    log.warning("%s", exc)
                except RECONNECTABLE as exc:
                    if _expired(exc) and self.connected.is_set():
                        # Not the hub's trouble: the session token of a connection that
                        # was up ran out before it was renewed. A fresh one reconnects now.
                        log.info("the hub closed the connection: %s; reconnecting", _why(exc))
                        self.connected.clear()
                        continue
                    log.warning("connection to the hub at %s lost: %s", self.hub_url, _why(exc))
                self.connected.clear()
                delay = self._next_delay()
                log.info(
                    "reconnecting to %s in %.1f s (%d events waiting)",
                    self.hub_url,
                    delay,
                    self.outbox.unacked_count(),
                )
                await asyncio.sleep(delay)
        finally:
            await self.probes.close()
            await self.supervisor.shutdown()

    async def _connect_once(self) -> None:
        url = self.hub_url.replace("http://", "ws://").replace("https://", "wss://") + "/v1/runner"
        token = await self.token()
        headers = {"Authorization": f"Bearer {token}"}
        try:
            ws_cm = connect(
                url,
                additional_headers=headers,
                max_size=self.max_frame_bytes,
                ping_interval=None,
                open_timeout=10,
                close_timeout=2,
                ssl=self.ssl,
            )
            async with ws_cm as ws:
                await self._serve(ws, token)
        except InvalidStatus as exc:
            if exc.response.status_code in (401, 403):
                raise AuthError(
                    f"the hub answered {exc.response.status_code}",
                    hint="check the runner's token or pair it again",
                ) from None
            raise

    async def _serve(self, ws: ClientConnection, token: str) -> None:
        await ws.send(encode_frame("hello", self.hello()))
        first = decode(await asyncio.wait_for(ws.recv(), 10), max_bytes=self.max_frame_bytes)
        if first.type == "error":
            err = parse_payload(first, ErrorMessage)
            if err.code in ("unauthorized", "forbidden"):
                raise AuthError(err.message)
            raise ProtocolError(f"the hub refused hello: {err.message}")
        if first.type != "welcome":
            raise ProtocolError(f"expected welcome, got {first.type!r}")
        welcome = parse_payload(first, Welcome)
        self.heartbeat_s, self.dead_after_s = welcome.heartbeat_s, welcome.dead_after_s
        self.outbox.max_event_bytes = welcome.max_frame_bytes
        self.supervisor.adopt_orphans(
            {
                sid: seq
                for sid, seq in welcome.sessions.items()
                if sid not in self.supervisor.sessions
            }
        )
        self.outbox.rewind(welcome.sessions)
        self._backoff.reset()
        self.connected.set()
        log.info(
            "connected to the hub at %s (tether %s) as runner %s",
            self.hub_url,
            welcome.hub_version or "?",
            self.runner_id,
        )
        heard = Heard()
        await run_first_completed(
            self._send_loop(ws),
            self._heartbeat(ws, heard),
            self._receive_loop(ws, heard),
            renew_in_band(self.token, token, ws.send),
            self._announce_teams(ws),
        )

    async def _announce_teams(self, ws: ClientConnection) -> None:
        """Probe the teams that cannot start again, every `teams_recheck_s`, and tell the
        hub (`teams`) when what `hello` said has changed."""
        sent = self.hello().teams
        while True:
            await asyncio.sleep(self.teams_recheck_s)
            down = [t for n, t in self.config.teams.items() if not self.probes.get(n).available]
            await asyncio.gather(*(self.probes.recheck(team) for team in down))
            teams = self.hello().teams
            if teams != sent:
                await ws.send(encode_frame("teams", TeamsUpdate(teams=teams)))
                sent = teams

    async def _send_loop(self, ws: ClientConnection) -> None:
        while True:
            frames = self.outbox.take_unsent()
            if not frames:
                await self.outbox.wait_changed()
                continue
            for frame in frames:
                await ws.send(frame)

    async def _heartbeat(self, ws: ClientConnection, heard: Heard) -> None:
        await keep_alive(
            heard, self, send=ws.send, close=ws.close, peer=f"the hub at {self.hub_url}"
        )

    async def _receive_loop(self, ws: ClientConnection, heard: Heard) -> None:
        async for frame in ws:
            heard.touch()
            try:
                env = decode(frame, max_bytes=self.max_frame_bytes)
            except ProtocolError as exc:
                log.warning("ignoring a bad frame from the hub: %s", exc)
                continue
            if env.type == "ack" and env.session and env.seq is not None:
                self.outbox.ack(env.session, env.seq)
            elif env.type == "control" and env.session:
                try:
                    control = _control_adapter.validate_python(env.payload)
                except ValidationError as exc:
                    log.warning("ignoring a bad control message: %s", exc.errors()[0]["msg"])
                    continue
                self._spawn(self.supervisor.handle(env.session, control))
            elif env.type == "ping":
                await ws.send(encode_frame("pong"))
            elif env.type == "error":
                log.warning("the hub reported: %s", env.payload.get("message"))
            # pong and unknown types: nothing to do (liveness already noted)

    def _spawn(self, coro: Any) -> None:
        keep_task(self._tasks, coro).add_done_callback(_log_failure)


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        exc = task.exception()
        if not isinstance(exc, TetherError):
            log.error("a session control task failed", exc_info=exc)


def _expired(exc: BaseException) -> bool:
    """Did the hub close the socket because its credential expired (4001 `expired: …`)?"""
    rcvd = exc.rcvd if isinstance(exc, ConnectionClosed) else None
    return rcvd is not None and rcvd.code == 4001 and rcvd.reason.startswith("expired")


def _why(exc: BaseException) -> str:
    if isinstance(exc, ConnectionClosed):
        return f"closed ({exc.rcvd.code if exc.rcvd else 'no close frame'})"
    return str(exc) or type(exc).__name__


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "runner"
