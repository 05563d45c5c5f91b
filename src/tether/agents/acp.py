"""The ACP adapter: any Agent Client Protocol agent (`agent = "acp"`, `command = [...]`),
through the official `agent-client-protocol` package.

`initialize` → `session/new` (or `session/load` to resume) → one `session/prompt` per
user message; `session/cancel` interrupts (and open permission requests are answered
`cancelled`, as the protocol asks). The JSON-RPC runs over the process the team's
transport spawned, so an ACP agent works locally, over SSH or through `docker exec`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any, Literal

from acp import PROTOCOL_VERSION, RequestError, text_block
from acp.client.connection import ClientSideConnection
from acp.schema import ClientCapabilities, FileSystemCapabilities, Implementation

import tether
from tether.agents.acp_client import ProcessMessageTransport, TetherAcpClient
from tether.agents.base import AgentContext
from tether.agents.process import ProcessHost
from tether.agents.usage import acp_usage
from tether.agents.workspace import Workspace
from tether.errors import AgentError, ConfigError
from tether.protocol.events import Status, TurnFinished
from tether.protocol.messages import ControlPermissionDecision

log = logging.getLogger("tether.agents.acp")

_STOP_STATUS: dict[str, Literal["success", "interrupted"]] = {
    "end_turn": "success",
    "cancelled": "interrupted",
}
#: Session modes that mean "do not ask", tried in order for `skip_permissions`.
_BYPASS_MODES = ("bypassPermissions", "yolo")


class AcpAdapter(ProcessHost):
    """Drives one ACP agent process (one ACP session)."""

    agent_name = "acp"

    def __init__(self, ctx: AgentContext) -> None:
        super().__init__(ctx)
        self.conn: ClientSideConnection | None = None
        self.session_id: str | None = ctx.resume
        local = ctx.transport.name == "local"
        # File requests are served only where tether can see the agent's files: locally.
        workspace = Workspace(ctx.team.path) if local else None
        self.client = TetherAcpClient(ctx.emit, self.agent_name, workspace)
        self._turn_lock = asyncio.Lock()
        self._prompting = False

    def argv(self) -> list[str]:
        """The team's `command` (an ACP agent has no default)."""
        if not self.ctx.team.command:
            raise ConfigError(
                f"team {self.ctx.team.name!r}: agent 'acp' needs `command` (the agent's argv)",
                hint='e.g. command = ["claude-code-acp"] or ["gemini", "--acp"]',
            )
        return list(self.ctx.team.command)

    def cwd(self) -> str:
        """The session's working directory (ACP wants an absolute path)."""
        path = self.ctx.team.path
        return os.path.abspath(path) if self.ctx.transport.name == "local" else path

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Spawn, initialize, open (or load) the session."""
        team = self.ctx.team
        proc = await self.spawn_process(self.argv(), dict(team.env))
        self.client.agent_name = self.agent_name
        transport = ProcessMessageTransport(proc, self.agent_name)
        self.conn = ClientSideConnection(self.client, transport)  # type: ignore[arg-type]
        try:
            await asyncio.wait_for(self._open_session(), team.session_init_timeout)
        except TimeoutError:
            await self.stop()
            raise AgentError(
                f"{self.agent_name} did not get ready within {team.session_init_timeout:g} s",
                hint="check the agent's install and credentials; raise session_init_timeout",
            ) from None
        except (RequestError, ConnectionError) as exc:
            await self.stop()
            tail = "; ".join(list(self.stderr_tail)[-3:])
            raise AgentError(
                f"{self.agent_name} could not open a session: {_describe(exc)}"
                + (f" ({tail})" if tail else ""),
            ) from None

    async def _open_session(self) -> None:
        assert self.conn is not None
        workspace = self.client.workspace is not None
        init = await self.conn.initialize(
            protocol_version=PROTOCOL_VERSION,
            client_capabilities=ClientCapabilities(
                fs=FileSystemCapabilities(read_text_file=workspace, write_text_file=workspace),
                terminal=False,
            ),
            client_info=Implementation(name="tether", title="tether", version=tether.__version__),
        )
        if self.ctx.resume:
            capabilities = init.agent_capabilities
            if capabilities is None or not capabilities.load_session:
                raise AgentError(
                    f"{self.agent_name} cannot resume sessions (it does not offer session/load)",
                    hint="start a new session instead",
                )
            session: Any = await self.conn.load_session(
                cwd=self.cwd(), session_id=self.ctx.resume, mcp_servers=[]
            )
            await self._settle_replay()
        else:
            session = await self.conn.new_session(cwd=self.cwd(), mcp_servers=[])
            self.session_id = session.session_id
        mode = await self._apply_mode(session)
        models = getattr(session, "models", None)
        self.ready(
            Status(
                state="idle",
                agent=self.agent_name,
                agent_session_id=self.session_id,
                model=getattr(models, "current_model_id", None),
                permission_mode=mode,
            )
        )

    async def _settle_replay(self, quiet_s: float = 0.3, limit_s: float = 5.0) -> None:
        """Wait until `session/load`'s history replay has stopped arriving. Some agents
        (Gemini CLI 0.61) go on replaying after they answered the load; without this the
        tail of the old conversation would be taken for the first new turn's reply."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit_s
        while True:
            quiet_for = loop.time() - self.client.last_update
            if quiet_for >= quiet_s or loop.time() >= deadline:
                return
            await asyncio.sleep(quiet_s - quiet_for)

    async def _apply_mode(self, session: Any) -> str | None:
        """Switch to the team's `permission_mode`, or to a no-prompt mode for
        `skip_permissions`; return the mode in force."""
        modes = getattr(session, "modes", None)
        current = getattr(modes, "current_mode_id", None)
        available = [m.id for m in getattr(modes, "available_modes", None) or []]
        team = self.ctx.team
        wanted = team.permission_mode
        if wanted is None and team.skip_permissions:
            wanted = next((m for m in _BYPASS_MODES if m in available), None)
            if wanted is None:
                raise AgentError(
                    f"{self.agent_name} offers no mode that skips permission prompts",
                    hint=f"its modes are: {', '.join(available) or 'none'}",
                )
        if wanted is None or wanted == current:
            return current
        assert self.conn is not None and self.session_id is not None
        await self.conn.set_session_mode(session_id=self.session_id, mode_id=wanted)
        return wanted

    async def send_user_message(self, text: str) -> None:
        """Start a `session/prompt` in the background (turns queue up behind each other)."""
        if self.conn is None or self.session_id is None:
            raise AgentError(f"{self.agent_name} is not running")
        self.add_reader(self.spawn_task(self._prompt(text)))

    async def _prompt(self, text: str) -> None:
        async with self._turn_lock:
            self._prompting = True
            self.client.in_turn = True
            cost_before = self.client.cost_total
            try:
                finished = await self._run_prompt(text)
            finally:
                self._prompting = False
                self.client.in_turn = False
            self.client.cancel_pending()
            if self.client.cost_total is not None:
                cost = self.client.cost_total - (cost_before or 0.0)
                finished = finished.model_copy(update={"cost": cost})
            self.ctx.emit(finished)

    async def _run_prompt(self, text: str) -> TurnFinished:
        """One `session/prompt`, and how it ended (any failure ends the turn for viewers)."""
        assert self.conn is not None and self.session_id is not None
        try:
            response = await self.conn.prompt(session_id=self.session_id, prompt=[text_block(text)])
        except Exception as exc:
            if not isinstance(exc, RequestError | ConnectionError):
                log.exception("%s: session/prompt failed", self.agent_name)
            self.client.flush_text()
            return TurnFinished(status="error", result=_describe(exc))
        self.client.flush_text()
        reason = str(response.stop_reason)
        raw = response.model_dump(mode="json", by_alias=True, exclude_none=True)
        usage = acp_usage(raw)
        return TurnFinished(
            status=_STOP_STATUS.get(reason, "error"),
            stop_reason=reason,
            result=None if reason in _STOP_STATUS else f"the agent stopped: {reason}",
            usage=usage.as_payload() if usage is not None else None,
            raw=raw,
        )

    async def decide_permission(self, decision: ControlPermissionDecision) -> None:
        """Send the owner's choice back to the agent."""
        self.client.decide(decision)

    async def interrupt(self) -> None:
        """`session/cancel`, then answer open permission requests `cancelled`."""
        if self.conn is None or self.session_id is None or not self._prompting:
            return
        with contextlib.suppress(ConnectionError):
            await self.conn.cancel(session_id=self.session_id)
        self.client.cancel_pending()

    async def stop(self) -> None:
        """End the agent process."""
        self.client.cancel_pending()
        await super().stop()
        if self.conn is not None:
            try:
                await self.conn.close()
            except Exception as exc:  # the process is gone; nothing is left to tell it
                log.debug("closing the %s connection: %s", self.agent_name, exc)

    def on_process_exit(self, code: int) -> None:
        """Open permission requests die with the process."""
        self.client.cancel_pending()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RequestError):
        data = exc.data if isinstance(exc.data, dict) else {}
        details = data.get("details") or data.get("message")
        return f"{exc}" + (f": {details}" if details else "")
    return str(exc) or type(exc).__name__
