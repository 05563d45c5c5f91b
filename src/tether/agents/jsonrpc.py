"""A JSON-RPC peer over an agent process's stdin/stdout, one JSON object per line.

Used for `codex app-server`, which speaks JSON-RPC 2.0 without the `"jsonrpc"` field.
Both sides send requests: ours get integer ids from 1; the agent's requests (approvals)
carry ids from its own space and are answered with `respond`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from tether.agents.base import WireObject
from tether.errors import AgentError, TransportError
from tether.transports.base import AgentProcess

log = logging.getLogger("tether.agents.jsonrpc")

#: (method, params, whole message) of a notification from the agent.
NotificationHandler = Callable[[str, WireObject, WireObject], None]
#: (request id, method, params, whole message) of a request from the agent.
RequestHandler = Callable[[Any, str, WireObject, WireObject], None]


class RpcError(AgentError):
    """The agent answered one of our requests with a JSON-RPC error."""

    def __init__(self, method: str, error: WireObject) -> None:
        super().__init__(f"{method} failed: {error.get('message', error)}")
        self.error = error


@dataclass(eq=False)
class LineRpc:
    """Requests, responses and notifications over newline-delimited JSON."""

    proc: AgentProcess
    agent_name: str
    on_notification: NotificationHandler
    on_request: RequestHandler
    on_bad_line: Callable[[bytes], None] | None = None
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1), init=False)
    _pending: dict[Any, tuple[str, asyncio.Future[Any]]] = field(default_factory=dict, init=False)
    _write_lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def request(self, method: str, params: WireObject, timeout: float = 60.0) -> Any:
        """Send a request and wait for its result (raises RpcError, AgentError, TimeoutError)."""
        request_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = (method, fut)
        try:
            await self.send({"id": request_id, "method": method, "params": params})
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(request_id, None)

    async def notify(self, method: str, params: WireObject | None = None) -> None:
        """Send a notification (no answer expected)."""
        message: WireObject = {"method": method}
        if params is not None:
            message["params"] = params
        await self.send(message)

    async def respond(self, request_id: Any, result: WireObject) -> None:
        """Answer one of the agent's requests."""
        await self.send({"id": request_id, "result": result})

    async def respond_error(self, request_id: Any, code: int, message: str) -> None:
        """Refuse one of the agent's requests."""
        await self.send({"id": request_id, "error": {"code": code, "message": message}})

    async def send(self, message: WireObject) -> None:
        """Write one message as a line."""
        line = json.dumps(message, ensure_ascii=False) + "\n"
        async with self._write_lock:
            try:
                await self.proc.write(line.encode("utf-8"))
            except TransportError as exc:
                raise AgentError(f"{self.agent_name} is not accepting input: {exc}") from None

    async def read_forever(self) -> None:
        """Dispatch every line of stdout until EOF; then fail whatever is still waiting."""
        try:
            async for raw in self.proc.lines("stdout"):
                if raw.strip():
                    self._dispatch_line(raw)
        finally:
            for method, fut in self._pending.values():
                if not fut.done():
                    fut.set_exception(
                        AgentError(f"{self.agent_name} exited before answering {method}")
                    )

    def _dispatch_line(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
        except json.JSONDecodeError:
            log.debug("%s wrote a non-JSON line: %r", self.agent_name, raw[:200])
            if self.on_bad_line is not None:
                self.on_bad_line(raw)
            return
        if not isinstance(message, dict):
            return
        method = message.get("method")
        params = message.get("params")
        params = params if isinstance(params, dict) else {}
        try:
            if isinstance(method, str) and "id" in message:
                self.on_request(message["id"], method, params, message)
            elif isinstance(method, str):
                self.on_notification(method, params, message)
            elif "id" in message:
                self._on_response(message)
        except Exception:  # one odd message must not kill the session's reader
            log.exception("could not handle a message from %s: %r", self.agent_name, method)

    def _on_response(self, message: WireObject) -> None:
        entry = self._pending.get(message["id"])
        if entry is None:
            return
        method, fut = entry
        if fut.done():
            return
        if isinstance(message.get("error"), dict):
            fut.set_exception(RpcError(method, message["error"]))
        else:
            fut.set_result(message.get("result"))
