"""A scripted Anthropic Messages API server for offline tests of the Claude Code CLI.

The real ``claude`` CLI is pointed at this server through ``ANTHROPIC_BASE_URL``
(see :mod:`tests.support.claude_env`). Tests script the model's replies, in
order, and every main-conversation ``POST /v1/messages`` (``stream: true``)
consumes the next one and streams it back as Server-Sent Events exactly like
the real API::

    with ScriptedAnthropicAPI() as api:
        api.script(
            Reply.text("hi there"),
            Reply.tool_use("Bash", {"command": "touch /tmp/x"}),
            Reply.text("done"),
        )
        env = claude_env(api.url, home)
        ...  # run the CLI
        assert api.main_requests[-1].tool_results()[0]["is_error"] is False

Requests that are not part of the main conversation -- ``count_tokens``,
non-streaming ``/v1/messages`` calls, and streaming side tasks that carry no
tools -- are answered with something valid and never consume the script (see
:func:`default_is_main`). When the script runs out the server replies with
:data:`DEFAULT_REPLY_TEXT` instead of hanging. Every request is recorded in
:attr:`ScriptedAnthropicAPI.requests`.

The server runs uvicorn in a daemon thread on ``127.0.0.1`` on a free port,
so it works the same from sync and async tests (``start()``/``stop()`` or
``with``/``async with``).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

__all__ = [
    "DEFAULT_REPLY_TEXT",
    "RecordedRequest",
    "Reply",
    "ScriptedAnthropicAPI",
    "TextBlock",
    "ToolUseBlock",
    "default_is_main",
    "tool_result_text",
]

DEFAULT_REPLY_TEXT = "(script exhausted) OK."
"""Text streamed for a main-conversation request when the script is empty."""

SIDE_REPLY_TEXT = "OK"
"""Text returned for side requests (titles, summaries, classifiers...)."""


# --------------------------------------------------------------------------
# Script items
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class TextBlock:
    """An assistant ``text`` content block."""

    text: str


@dataclass(frozen=True)
class ToolUseBlock:
    """An assistant ``tool_use`` content block."""

    name: str
    input: dict[str, Any]
    id: str = field(default_factory=lambda: f"toolu_{uuid.uuid4().hex[:24]}")


Block = TextBlock | ToolUseBlock


@dataclass(frozen=True)
class Reply:
    """One scripted model response (one main-conversation API call).

    Build it with :meth:`text`, :meth:`tool_use`, :meth:`tool_uses` or
    :meth:`error`; or directly from a tuple of blocks.

    Attributes:
        blocks: Content blocks streamed in order.
        stop_reason: ``end_turn``, ``tool_use`` or ``max_tokens``; derived from
            the blocks when ``None``.
        chunk_delay: Seconds to sleep before each streamed delta. Use a value
            > 0 on a long text to keep the turn open long enough to interrupt.
        chunk_size: Characters per ``text_delta`` (whole text when ``None`` and
            ``chunk_delay`` is 0, else 16).
        first_delay: Seconds to sleep after ``message_start`` before the first
            content block.
        status: HTTP status; anything but 200 sends an API error instead of a
            message (see :meth:`error`).
        error_type: Anthropic error ``type`` used when ``status`` != 200.
        error_message: Error message used when ``status`` != 200.
    """

    blocks: tuple[Block, ...] = ()
    stop_reason: str | None = None
    chunk_delay: float = 0.0
    chunk_size: int | None = None
    first_delay: float = 0.0
    status: int = 200
    error_type: str = "invalid_request_error"
    error_message: str = "scripted error"

    @classmethod
    def text(
        cls,
        text: str,
        *,
        chunk_delay: float = 0.0,
        chunk_size: int | None = None,
        first_delay: float = 0.0,
    ) -> Reply:
        """A plain text answer that ends the turn (``stop_reason: end_turn``)."""
        return cls(
            blocks=(TextBlock(text),),
            chunk_delay=chunk_delay,
            chunk_size=chunk_size,
            first_delay=first_delay,
        )

    @classmethod
    def tool_use(
        cls,
        name: str,
        input: dict[str, Any],
        *,
        id: str | None = None,
        text: str | None = None,
        chunk_delay: float = 0.0,
    ) -> Reply:
        """A single tool call (``stop_reason: tool_use``), optionally after text.

        Args:
            name: Tool name as the CLI knows it (``Bash``, ``Write``, ``Read``...).
            input: The tool input object.
            id: ``tool_use`` id; random ``toolu_...`` when omitted.
            text: Optional text block streamed before the tool call.
            chunk_delay: Delay before each streamed delta.
        """
        block = ToolUseBlock(name, input) if id is None else ToolUseBlock(name, input, id)
        blocks: tuple[Block, ...] = (block,) if text is None else (TextBlock(text), block)
        return cls(blocks=blocks, chunk_delay=chunk_delay)

    @classmethod
    def tool_uses(cls, *calls: tuple[str, dict[str, Any]], text: str | None = None) -> Reply:
        """Several parallel tool calls in one response: ``(name, input)`` pairs."""
        blocks: list[Block] = [] if text is None else [TextBlock(text)]
        blocks.extend(ToolUseBlock(name, inp) for name, inp in calls)
        return cls(blocks=tuple(blocks))

    @classmethod
    def error(
        cls,
        status: int = 500,
        message: str = "scripted error",
        error_type: str = "api_error",
    ) -> Reply:
        """An HTTP error response (Anthropic error JSON) instead of a message.

        Claude Code 2.1.328 behaviour (with ``CLAUDE_CODE_MAX_RETRIES=0`` from
        :func:`tests.support.claude_env.claude_env`): 500/529/401 end the turn at
        once with a ``result`` that has ``is_error: true``,
        ``terminal_reason: "api_error"`` and ``api_error_status``; a **400 is
        retried** (up to twice, with fewer ``anthropic-beta`` flags) and each
        retry consumes the next script item.
        """
        return cls(status=status, error_type=error_type, error_message=message)

    def effective_stop_reason(self) -> str:
        """The ``stop_reason`` sent in ``message_delta``."""
        if self.stop_reason is not None:
            return self.stop_reason
        if any(isinstance(b, ToolUseBlock) for b in self.blocks):
            return "tool_use"
        return "end_turn"


# --------------------------------------------------------------------------
# Recording
# --------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One HTTP request the server received.

    Attributes:
        method: HTTP method.
        path: URL path, e.g. ``/v1/messages``.
        query: Raw query string (the CLI sends ``beta=true``).
        headers: Request headers (lower-case names).
        body: Parsed JSON body (``None`` when empty or not JSON).
        kind: ``main`` (consumed a script item or the default reply),
            ``side`` (answered without touching the script) or ``other``
            (unknown endpoint).
        reply: The :class:`Reply` served to a ``main`` request.
        received_at: ``time.monotonic()`` when the request arrived.
        completed: ``True`` once the full response (through ``message_stop``)
            was sent; stays ``False`` if the client hung up mid-stream (e.g.
            after an interrupt).
    """

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: Any
    kind: str = "other"
    reply: Reply | None = None
    received_at: float = field(default_factory=time.monotonic)
    completed: bool = False

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The ``messages`` array of a Messages API body (``[]`` otherwise)."""
        if isinstance(self.body, dict):
            msgs = self.body.get("messages")
            if isinstance(msgs, list):
                return msgs
        return []

    def content_blocks(self, role: str | None = None) -> list[dict[str, Any]]:
        """All content blocks of all messages, optionally of one role.

        String contents are returned as a ``{"type": "text", "text": ...}`` block.
        """
        out: list[dict[str, Any]] = []
        for msg in self.messages:
            if role is not None and msg.get("role") != role:
                continue
            content = msg.get("content")
            if isinstance(content, str):
                out.append({"type": "text", "text": content})
            elif isinstance(content, list):
                out.extend(b for b in content if isinstance(b, dict))
        return out

    def tool_results(self) -> list[dict[str, Any]]:
        """All ``tool_result`` blocks sent to the model in this request."""
        return [b for b in self.content_blocks("user") if b.get("type") == "tool_result"]

    def tool_uses(self) -> list[dict[str, Any]]:
        """All ``tool_use`` blocks of the history sent in this request."""
        return [b for b in self.content_blocks("assistant") if b.get("type") == "tool_use"]

    def user_texts(self) -> list[str]:
        """Text of every user ``text`` block (includes CLI ``<system-reminder>``s)."""
        return [
            str(b.get("text", "")) for b in self.content_blocks("user") if b.get("type") == "text"
        ]

    def contains(self, needle: str) -> bool:
        """Whether ``needle`` occurs anywhere in the JSON-encoded messages."""
        return needle in json.dumps(self.messages, ensure_ascii=False)


def tool_result_text(block: dict[str, Any]) -> str:
    """Flatten a ``tool_result`` block's content (string or block list) to text."""
    content = block.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return ""


def default_is_main(path: str, body: Any) -> bool:
    """Decide whether a request belongs to the scripted main conversation.

    Claude Code 2.1.x sends the agent loop as ``POST /v1/messages?beta=true``
    with ``stream: true`` and a non-empty ``tools`` list (subagents spawned by
    the Agent tool look the same and also consume the script). Side requests
    are non-streaming or carry no tools -- e.g. ``set_model`` validates the new
    model with a non-streaming ``max_tokens: 1`` "Hi" call -- and
    ``/v1/messages/count_tokens`` is never main.
    """
    if path.rstrip("/") != "/v1/messages" or not isinstance(body, dict):
        return False
    return bool(body.get("stream")) and bool(body.get("tools"))


# --------------------------------------------------------------------------
# SSE encoding
# --------------------------------------------------------------------------


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _chunks(text: str, size: int) -> Iterator[str]:
    for i in range(0, len(text), size):
        yield text[i : i + size]


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }


def _estimate_tokens(body: Any) -> int:
    return max(1, len(json.dumps(body)) // 4) if body is not None else 1


# --------------------------------------------------------------------------
# Server
# --------------------------------------------------------------------------


class ScriptedAnthropicAPI:
    """Scripted Anthropic Messages API on ``127.0.0.1`` (uvicorn in a thread).

    Args:
        is_main: Classifier ``(path, body) -> bool`` deciding which requests
            consume the script; :func:`default_is_main` by default.
        default_text: Text streamed when the script is exhausted.
        side_text: Text returned for side requests.
        model: Model name echoed when the request names none.

    Use :meth:`start`/:meth:`stop`, or ``with`` / ``async with``.
    """

    def __init__(
        self,
        *,
        is_main: Callable[[str, Any], bool] = default_is_main,
        default_text: str = DEFAULT_REPLY_TEXT,
        side_text: str = SIDE_REPLY_TEXT,
        model: str = "claude-test",
    ) -> None:
        self._is_main = is_main
        self.default_text = default_text
        self.side_text = side_text
        self.model = model
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._script: list[Reply] = []
        self._requests: list[RecordedRequest] = []
        self._ids = itertools.count(1)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self.app = Starlette(
            routes=[
                Route("/v1/messages", self._messages, methods=["POST"]),
                Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
                Route(
                    "/{path:path}",
                    self._other,
                    methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"],
                ),
            ]
        )

    # ----------------------------------------------------------- lifecycle

    @property
    def url(self) -> str:
        """Base URL for ``ANTHROPIC_BASE_URL`` (no trailing slash)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    def start(self, timeout: float = 10.0) -> ScriptedAnthropicAPI:
        """Bind a free port and serve in a daemon thread; returns ``self``."""
        if self._server is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name=f"anthropic-api-{self._port}",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("scripted Anthropic API failed to start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Shut the server down and join its thread."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._server = None
        self._thread = None

    def __enter__(self) -> ScriptedAnthropicAPI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> ScriptedAnthropicAPI:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # ------------------------------------------------------------- script

    def script(self, *replies: Reply) -> None:
        """Append replies to the script (consumed in order by main requests)."""
        with self._lock:
            self._script.extend(replies)

    def clear_script(self) -> None:
        """Drop all not-yet-consumed replies."""
        with self._lock:
            self._script.clear()

    @property
    def remaining(self) -> int:
        """Number of scripted replies not yet consumed."""
        with self._lock:
            return len(self._script)

    # ---------------------------------------------------------- recording

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received, in arrival order."""
        with self._lock:
            return list(self._requests)

    @property
    def main_requests(self) -> list[RecordedRequest]:
        """Snapshot of the main-conversation requests, in arrival order."""
        with self._lock:
            return [r for r in self._requests if r.kind == "main"]

    @property
    def side_requests(self) -> list[RecordedRequest]:
        """Snapshot of the requests answered without consuming the script."""
        with self._lock:
            return [r for r in self._requests if r.kind != "main"]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._lock:
            self._requests.clear()

    def wait_for_main_requests(self, count: int, timeout: float = 30.0) -> list[RecordedRequest]:
        """Block until at least ``count`` main requests arrived; return them.

        Raises:
            TimeoutError: if they did not arrive in time.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                mains = [r for r in self._requests if r.kind == "main"]
                if len(mains) >= count:
                    return mains
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"got {len(mains)} main requests, wanted {count}")
                self._cond.wait(left)

    async def async_wait_for_main_requests(
        self, count: int, timeout: float = 30.0
    ) -> list[RecordedRequest]:
        """Async variant of :meth:`wait_for_main_requests`."""
        return await asyncio.to_thread(self.wait_for_main_requests, count, timeout)

    def _record(self, request: Request, body: Any) -> RecordedRequest:
        rec = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=request.url.query,
            headers={k.lower(): v for k, v in request.headers.items()},
            body=body,
        )
        return rec

    def _commit(self, rec: RecordedRequest) -> None:
        with self._cond:
            self._requests.append(rec)
            self._cond.notify_all()

    # ----------------------------------------------------------- handlers

    @staticmethod
    async def _json_body(request: Request) -> Any:
        raw = await request.body()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", errors="replace")

    async def _messages(self, request: Request) -> Response:
        body = await self._json_body(request)
        rec = self._record(request, body)
        model = body.get("model", self.model) if isinstance(body, dict) else self.model
        if self._is_main(request.url.path, body):
            with self._cond:
                reply = self._script.pop(0) if self._script else Reply.text(self.default_text)
                rec.kind = "main"
                rec.reply = reply
                self._requests.append(rec)
                self._cond.notify_all()
            if reply.status != 200:
                rec.completed = True
                return self._error(reply.status, reply.error_type, reply.error_message)
            return StreamingResponse(
                self._stream(reply, model, _estimate_tokens(body), rec),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache", "request-id": f"req_{uuid.uuid4().hex}"},
            )
        rec.kind = "side"
        self._commit(rec)
        reply = Reply.text(self.side_text)
        if isinstance(body, dict) and body.get("stream"):
            return StreamingResponse(
                self._stream(reply, model, _estimate_tokens(body), rec),
                media_type="text/event-stream",
            )
        rec.completed = True
        return JSONResponse(self._message_json(reply, model, _estimate_tokens(body)))

    async def _count_tokens(self, request: Request) -> Response:
        body = await self._json_body(request)
        rec = self._record(request, body)
        rec.kind = "side"
        rec.completed = True
        self._commit(rec)
        return JSONResponse({"input_tokens": _estimate_tokens(body)})

    async def _other(self, request: Request) -> Response:
        body = await self._json_body(request)
        rec = self._record(request, body)
        rec.kind = "other"
        rec.completed = True
        self._commit(rec)
        return self._error(404, "not_found_error", f"no route {request.url.path}")

    @staticmethod
    def _error(status: int, error_type: str, message: str) -> JSONResponse:
        return JSONResponse(
            {"type": "error", "error": {"type": error_type, "message": message}},
            status_code=status,
        )

    def _message_id(self) -> str:
        return f"msg_test_{next(self._ids):04d}"

    def _message_json(self, reply: Reply, model: str, input_tokens: int) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        for block in reply.blocks:
            if isinstance(block, TextBlock):
                content.append({"type": "text", "text": block.text})
            else:
                content.append(
                    {"type": "tool_use", "id": block.id, "name": block.name, "input": block.input}
                )
        return {
            "id": self._message_id(),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": reply.effective_stop_reason(),
            "stop_sequence": None,
            "usage": _usage(input_tokens, 10),
        }

    async def _stream(
        self, reply: Reply, model: str, input_tokens: int, rec: RecordedRequest
    ) -> AsyncIterator[bytes]:
        delay = reply.chunk_delay
        output_tokens = 0
        yield _sse(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": self._message_id(),
                    "type": "message",
                    "role": "assistant",
                    "model": model,
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": _usage(input_tokens, 1),
                },
            },
        )
        if reply.first_delay:
            await asyncio.sleep(reply.first_delay)
        for index, block in enumerate(reply.blocks):
            if isinstance(block, TextBlock):
                yield _sse(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {"type": "text", "text": ""},
                    },
                )
                size = reply.chunk_size or (16 if delay else max(1, len(block.text)))
                for piece in _chunks(block.text, size):
                    if delay:
                        await asyncio.sleep(delay)
                    output_tokens += 1
                    yield _sse(
                        "content_block_delta",
                        {
                            "type": "content_block_delta",
                            "index": index,
                            "delta": {"type": "text_delta", "text": piece},
                        },
                    )
            else:
                yield _sse(
                    "content_block_start",
                    {
                        "type": "content_block_start",
                        "index": index,
                        "content_block": {
                            "type": "tool_use",
                            "id": block.id,
                            "name": block.name,
                            "input": {},
                        },
                    },
                )
                if delay:
                    await asyncio.sleep(delay)
                output_tokens += 1
                yield _sse(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {
                            "type": "input_json_delta",
                            "partial_json": json.dumps(block.input),
                        },
                    },
                )
            yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
        yield _sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.effective_stop_reason(), "stop_sequence": None},
                "usage": {"output_tokens": max(1, output_tokens)},
            },
        )
        yield _sse("message_stop", {"type": "message_stop"})
        rec.completed = True
