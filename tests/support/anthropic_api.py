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
:data:`DEFAULT_REPLY_TEXT` instead of hanging. The server's lifecycle, script and
recording are the scaffold's (:mod:`tests.support.scripted_server`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from tests.support.scripted_server import Recorded, ScriptedServer, read_body

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

    ``chunk_delay`` sleeps before each streamed delta (keep a long text open long
    enough to interrupt), ``chunk_size`` characters go in each ``text_delta`` (the
    whole text when ``None`` and no delay, else 16), ``first_delay`` sleeps before
    the first block. A ``status`` other than 200 answers with an API error instead.
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
    def text(cls, text: str, *, chunk_delay: float = 0.0, chunk_size: int | None = None) -> Reply:
        """A plain text answer that ends the turn (``stop_reason: end_turn``)."""
        return cls(blocks=(TextBlock(text),), chunk_delay=chunk_delay, chunk_size=chunk_size)

    @classmethod
    def tool_use(
        cls, name: str, input: dict[str, Any], *, id: str | None = None, text: str | None = None
    ) -> Reply:
        """A single tool call (``stop_reason: tool_use``), optionally after text."""
        block = ToolUseBlock(name, input) if id is None else ToolUseBlock(name, input, id)
        return cls(blocks=(block,) if text is None else (TextBlock(text), block))

    @classmethod
    def error(
        cls, status: int = 500, message: str = "scripted error", error_type: str = "api_error"
    ) -> Reply:
        """An HTTP error response (Anthropic error JSON) instead of a message.

        Claude Code 2.1.328 (with ``CLAUDE_CODE_MAX_RETRIES=0``): 500/529/401 end the
        turn at once with an ``is_error`` result; a 400 is retried, each retry taking
        the next script item.
        """
        return cls(status=status, error_type=error_type, error_message=message)

    def effective_stop_reason(self) -> str:
        """The ``stop_reason`` sent in ``message_delta``."""
        if self.stop_reason is not None:
            return self.stop_reason
        return "tool_use" if any(isinstance(b, ToolUseBlock) for b in self.blocks) else "end_turn"


@dataclass
class RecordedRequest(Recorded):
    """One request, with helpers for a Messages API body."""

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The ``messages`` array of a Messages API body (``[]`` otherwise)."""
        return self.body_list("messages")

    def content_blocks(self, role: str | None = None) -> list[dict[str, Any]]:
        """All content blocks of all messages (of one role); a string content is a text block."""
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

    def user_texts(self) -> list[str]:
        """Text of every user ``text`` block (includes CLI ``<system-reminder>``s)."""
        blocks = self.content_blocks("user")
        return [str(b.get("text", "")) for b in blocks if b.get("type") == "text"]

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
    """Whether a request belongs to the scripted main conversation.

    Claude Code 2.1.x sends the agent loop as ``POST /v1/messages?beta=true`` with
    ``stream: true`` and a non-empty ``tools`` list (subagents look the same and also
    consume the script). Side requests are non-streaming or carry no tools (``set_model``
    validates a model with a non-streaming "Hi"); ``count_tokens`` is never main.
    """
    if path.rstrip("/") != "/v1/messages" or not isinstance(body, dict):
        return False
    return bool(body.get("stream")) and bool(body.get("tools"))


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _usage(input_tokens: int, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
        "output_tokens": output_tokens,
    }


def _estimate_tokens(body: Any) -> int:
    return max(1, len(json.dumps(body)) // 4) if body is not None else 1


def _error(status: int, error_type: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"type": "error", "error": {"type": error_type, "message": message}}, status_code=status
    )


class ScriptedAnthropicAPI(ScriptedServer[Reply, RecordedRequest]):
    """Scripted Anthropic Messages API on ``127.0.0.1``.

    ``is_main`` decides which requests consume the script (:func:`default_is_main`);
    ``model`` is echoed when a request names none.
    """

    name = "scripted Anthropic API"

    def __init__(
        self,
        *,
        is_main: Callable[[str, Any], bool] = default_is_main,
        default_text: str = DEFAULT_REPLY_TEXT,
        side_text: str = SIDE_REPLY_TEXT,
        model: str = "claude-test",
    ) -> None:
        self._is_main = is_main
        self.side_reply = Reply.text(side_text)
        self.model = model
        self._ids = itertools.count(1)
        super().__init__(Reply.text(default_text))

    def routes(self) -> Sequence[BaseRoute]:
        """Messages, token counting, and a recorded 404 for anything else."""
        methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]
        return [
            Route("/v1/messages", self._messages, methods=["POST"]),
            Route("/v1/messages/count_tokens", self._count_tokens, methods=["POST"]),
            Route("/{path:path}", self._other, methods=methods),
        ]

    async def _recorded(self, request: Request) -> RecordedRequest:
        _raw, body = await read_body(request)
        headers = {k.lower(): v for k, v in request.headers.items()}
        return RecordedRequest(
            request.method, request.url.path, headers, body, query=request.url.query
        )

    async def _messages(self, request: Request) -> Response:
        rec = await self._recorded(request)
        body = rec.body
        rec.side = not self._is_main(request.url.path, body)
        reply = rec.reply = self.take_reply(side=rec.side, side_reply=self.side_reply)
        self.record(rec)
        model = body.get("model", self.model) if isinstance(body, dict) else self.model
        if reply.status != 200:
            rec.completed = True
            return _error(reply.status, reply.error_type, reply.error_message)
        if rec.side and not (isinstance(body, dict) and body.get("stream")):
            rec.completed = True
            return JSONResponse(self._message_json(reply, model, _estimate_tokens(body)))
        headers = {"cache-control": "no-cache", "request-id": f"req_{uuid.uuid4().hex}"}
        stream = self._stream(reply, model, _estimate_tokens(body), rec)
        return StreamingResponse(stream, media_type="text/event-stream", headers=headers)

    async def _count_tokens(self, request: Request) -> Response:
        rec = self.record(await self._recorded(request))
        rec.completed = True
        return JSONResponse({"input_tokens": _estimate_tokens(rec.body)})

    async def _other(self, request: Request) -> Response:
        rec = self.record(await self._recorded(request))
        rec.completed = True
        return _error(404, "not_found_error", f"no route {request.url.path}")

    def _message(self, model: str, content: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": f"msg_test_{next(self._ids):04d}",
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": content,
            "stop_reason": None,
            "stop_sequence": None,
        }

    def _message_json(self, reply: Reply, model: str, input_tokens: int) -> dict[str, Any]:
        content = [
            {"type": "text", "text": b.text}
            if isinstance(b, TextBlock)
            else {"type": "tool_use", "id": b.id, "name": b.name, "input": b.input}
            for b in reply.blocks
        ]
        message = self._message(model, content)
        message.update(stop_reason=reply.effective_stop_reason(), usage=_usage(input_tokens, 10))
        return message

    async def _stream(
        self, reply: Reply, model: str, input_tokens: int, rec: RecordedRequest
    ) -> AsyncIterator[bytes]:
        start = {**self._message(model, []), "usage": _usage(input_tokens, 1)}
        yield _sse("message_start", {"type": "message_start", "message": start})
        if reply.first_delay:
            await asyncio.sleep(reply.first_delay)
        deltas = 0
        for index, block in enumerate(reply.blocks):
            async for event in _block_events(reply, index, block):
                deltas += 1
                yield event
        stop = {"stop_reason": reply.effective_stop_reason(), "stop_sequence": None}
        usage = {"output_tokens": max(1, deltas - 2 * len(reply.blocks))}
        yield _sse("message_delta", {"type": "message_delta", "delta": stop, "usage": usage})
        yield _sse("message_stop", {"type": "message_stop"})
        rec.completed = True


async def _block_events(reply: Reply, index: int, block: Block) -> AsyncIterator[bytes]:
    """One content block as SSE: start, its deltas (paced by `chunk_delay`), stop."""
    delay = reply.chunk_delay
    if isinstance(block, TextBlock):
        opened: dict[str, Any] = {"type": "text", "text": ""}
        size = reply.chunk_size or (16 if delay else max(1, len(block.text)))
        pieces = [block.text[i : i + size] for i in range(0, len(block.text), size)]
        deltas = [{"type": "text_delta", "text": piece} for piece in pieces]
    else:
        opened = {"type": "tool_use", "id": block.id, "name": block.name, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": json.dumps(block.input)}]
    start = {"type": "content_block_start", "index": index, "content_block": opened}
    yield _sse("content_block_start", start)
    for delta in deltas:
        if delay:
            await asyncio.sleep(delay)
        yield _sse(
            "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        )
    yield _sse("content_block_stop", {"type": "content_block_stop", "index": index})
