"""Scripted OpenAI Responses API server for driving the real Codex CLI offline.

Usage::

    with ScriptedResponsesServer() as srv:
        srv.script(
            srv.text("hello"),
            srv.shell("touch made.txt"),  # model calls Codex's exec_command tool
            srv.text("done"),  # answer after the function_call_output
            srv.hang("thinking"),  # first delta, then stall until srv.release()/stop()
        )
        env = write_codex_home(tmp_path / "home", srv.base_url)
        proc = Popen([codex_bin(), "app-server"], env=env, cwd=project, stdin=PIPE, stdout=PIPE)

Verified with codex-cli 0.169.0:

* Codex sends ``POST {base_url}/responses`` (``stream: true``) once per model
  call; a shell call is two requests: the ``function_call`` reply, then a
  request whose ``input`` ends with ``function_call_output``.
* Every request carries ``client_metadata["x-codex-turn-metadata"]`` (a JSON
  string) with ``request_kind`` - "turn" for the agent loop. Requests of another
  kind (e.g. "compaction") are side requests: answered with ``side_reply``, they
  never consume the script. Without that tag, "has tools" decides.
* The shell tool is ``exec_command`` with arguments ``{"cmd": "<shell string>",
  "workdir"?, "sandbox_permissions"?, "justification"?}``.
* ``model = "gpt-5.5"`` (the default here) is in Codex's bundled model catalog.

The SSE stream has the shape Codex parses: ``response.created``,
``response.output_item.added``, ``response.content_part.added``,
``response.output_text.delta`` (one per chunk), ``response.output_text.done``,
``response.content_part.done``, ``response.output_item.done`` and finally
``response.completed`` (with usage). Function calls are ``function_call`` output
items with a JSON-string ``arguments``. ``error(status)`` answers with an HTTP error
(the provider config below sets ``request_max_retries = 0``, so a 500 fails the turn).
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from tests.support.scripted_server import Recorded, ScriptedServer, read_body, split_text
from tether.agents.detect import find_agent_binary

__all__ = [
    "CODEX_SHELL_TOOL",
    "RecordedRequest",
    "Reply",
    "ScriptedResponsesServer",
    "codex_bin",
    "request_kind",
    "write_codex_home",
]

#: The shell tool Codex 0.169 offers a custom ``wire_api="responses"`` provider; its
#: arguments are ``{"cmd": "<shell string>", ...}``.
CODEX_SHELL_TOOL = "exec_command"

_USAGE = {
    "input_tokens": 10,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 5,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 15,
}


def codex_bin() -> str | None:
    """The codex CLI ($TETHER_CODEX_BIN, PATH, node_modules/.bin), or None."""
    return find_agent_binary("codex")


@dataclass
class Reply:
    """One scripted model turn (one HTTP response).

    ``items`` are ("text", str) / ("function_call", name, args_dict, call_id) entries,
    sent in order. ``chunks`` splits text into that many deltas, ``delay`` sleeps
    between deltas. ``hang``: after the first text delta (or right after
    ``response.created`` when there is no text) wait for ``release()`` or ``stop()``.
    """

    items: list[tuple[Any, ...]] = field(default_factory=list)
    chunks: int = 1
    delay: float = 0.0
    status: int = 200
    error: dict[str, Any] | None = None
    hang: bool = False


_ids = itertools.count(1)


def _nid(prefix: str) -> str:
    return f"{prefix}_{next(_ids):04d}"


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


@dataclass
class RecordedRequest(Recorded):
    """One request, with helpers for a Responses API body."""

    @property
    def input(self) -> list[dict[str, Any]]:
        """The ``input`` items of the body."""
        return self.body_list("input")

    def _texts(self, role: str, kinds: tuple[str, ...]) -> list[str]:
        out: list[str] = []
        for item in self.input:
            if item.get("type", "message") != "message" or item.get("role") != role:
                continue
            content = item.get("content")
            if isinstance(content, str):
                out.append(content)
                continue
            out.extend(c.get("text", "") for c in content or [] if c.get("type") in kinds)
        return out

    def user_texts(self) -> list[str]:
        """Texts of every ``role=user`` message in ``input`` (in order)."""
        return self._texts("user", ("input_text", "text"))

    def assistant_texts(self) -> list[str]:
        """Texts of every assistant message in ``input`` (the history)."""
        return self._texts("assistant", ("output_text", "text"))

    def function_outputs(self) -> list[dict[str, Any]]:
        """``function_call_output`` items (``call_id``, ``output``) in input."""
        return [i for i in self.input if i.get("type") == "function_call_output"]


def request_kind(body: Any) -> str | None:
    """``request_kind`` from Codex's ``client_metadata["x-codex-turn-metadata"]``."""
    if not isinstance(body, dict):
        return None
    meta = (body.get("client_metadata") or {}).get("x-codex-turn-metadata")
    if isinstance(meta, str):
        try:
            meta = json.loads(meta)
        except ValueError:
            return None
    return meta.get("request_kind") if isinstance(meta, dict) else None


def _default_is_side(body: Any) -> bool:
    kind = request_kind(body)
    if kind is not None:
        return kind != "turn"
    return not (isinstance(body, dict) and body.get("tools"))


class ScriptedResponsesServer(ScriptedServer[Reply, RecordedRequest]):
    """OpenAI Responses API on 127.0.0.1 with a scripted reply queue."""

    name = "scripted OpenAI Responses API"

    def __init__(
        self, *, side_reply: Reply | None = None, is_side: Callable[[Any], bool] = _default_is_side
    ) -> None:
        self.side_reply = side_reply or self.text("Side reply")
        self.is_side = is_side
        super().__init__(self.text("OK"))

    @property
    def base_url(self) -> str:
        """Value for ``base_url`` in a Codex model provider (ends in /v1)."""
        return f"{self.url}/v1"

    # -- replies ---------------------------------------------------------------------------

    @staticmethod
    def text(text: str, *, chunks: int = 1, delay: float = 0.0) -> Reply:
        """A text answer, in ``chunks`` deltas ``delay`` seconds apart."""
        return Reply(items=[("text", text)], chunks=chunks, delay=delay)

    @staticmethod
    def function_call(
        name: str, arguments: dict[str, Any], *, call_id: str | None = None, text: str | None = None
    ) -> Reply:
        """A call of tool ``name`` (after ``text``, if given)."""
        items: list[tuple[Any, ...]] = [("text", text)] if text else []
        items.append(("function_call", name, arguments, call_id or _nid("call")))
        return Reply(items=items)

    @classmethod
    def shell(cls, command: str, *, text: str | None = None, **arguments: str) -> Reply:
        """Codex ``exec_command`` running ``command`` (a shell string); ``arguments`` adds
        ``workdir``, ``justification`` or ``sandbox_permissions``."""
        return cls.function_call(CODEX_SHELL_TOOL, {"cmd": command, **arguments}, text=text)

    @staticmethod
    def hang(text: str = "Working") -> Reply:
        """``text`` as a first delta, then a stall until ``release()`` or ``stop()``."""
        return Reply(items=[("text", text)], hang=True)

    @staticmethod
    def error(status: int = 500, message: str = "scripted failure") -> Reply:
        """An HTTP error instead of a stream."""
        return Reply(status=status, error={"error": {"message": message, "type": "server_error"}})

    # -- the app ---------------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        """Responses, models, and a recorded 404 for anything else."""
        return [
            Route("/v1/models", self._models, methods=["GET"]),
            Route("/models", self._models, methods=["GET"]),
            Route("/v1/responses", self._responses, methods=["POST"]),
            Route("/responses", self._responses, methods=["POST"]),
            Route("/{path:path}", self._other, methods=["GET", "POST", "PUT", "DELETE"]),
        ]

    async def _recorded(self, request: Request) -> RecordedRequest:
        _raw, body = await read_body(request)
        return RecordedRequest(request.method, request.url.path, dict(request.headers), body)

    async def _models(self, request: Request) -> Response:
        self.record(await self._recorded(request))
        return JSONResponse({"object": "list", "data": [], "models": []})

    async def _other(self, request: Request) -> Response:
        rec = self.record(await self._recorded(request))
        return JSONResponse({"error": {"message": f"not scripted: {rec.path}"}}, status_code=404)

    async def _responses(self, request: Request) -> Response:
        rec = await self._recorded(request)
        rec.side = self.is_side(rec.body)
        reply = rec.reply = self.take_reply(side=rec.side, side_reply=self.side_reply)
        self.record(rec)
        if reply.status != 200:
            return JSONResponse(reply.error or {}, status_code=reply.status)
        model = rec.body.get("model", "scripted") if isinstance(rec.body, dict) else "scripted"
        stream = self._stream(reply, model, rec)
        return StreamingResponse(
            stream, media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )

    async def _stream(self, reply: Reply, model: str, rec: RecordedRequest) -> AsyncIterator[bytes]:
        base = {"id": _nid("resp"), "object": "response", "created_at": int(time.time())}
        base["model"] = model
        created = {**base, "status": "in_progress", "output": []}
        yield _sse({"type": "response.created", "response": created})
        if reply.hang:
            self.arm_hang()
            if not any(e[0] == "text" for e in reply.items) and not await self.wait_released():
                return
        output: list[dict[str, Any]] = []
        for index, entry in enumerate(reply.items):
            events = (
                self._text_item(reply, index, entry[1])
                if entry[0] == "text"
                else _call_item(index, *entry[1:])
            )
            async for event in events:
                if event is None:
                    return  # the server is stopping
                if event["type"] == "response.output_item.done":
                    output.append(event["item"])
                yield _sse(event)
        done = {**base, "status": "completed", "output": output, "usage": _USAGE}
        yield _sse({"type": "response.completed", "response": done})
        rec.completed = True

    async def _text_item(
        self, reply: Reply, index: int, text: str
    ) -> AsyncIterator[dict[str, Any] | None]:
        """A message output item streamed in deltas; None when the stream must end."""
        item_id = _nid("msg")
        item = {"id": item_id, "type": "message", "status": "in_progress", "role": "assistant"}
        yield {"type": "response.output_item.added", "output_index": index, "item": item}
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        part = {"type": "output_text", "text": "", "annotations": []}
        yield {"type": "response.content_part.added", **where, "part": part}
        for i, chunk in enumerate(split_text(text, reply.chunks)):
            if i and reply.delay and not await self.pause(reply.delay):
                yield None
            yield {"type": "response.output_text.delta", **where, "delta": chunk}
            if reply.hang and i == 0 and not await self.wait_released():
                yield None
        yield {"type": "response.output_text.done", **where, "text": text}
        done_part = {**part, "text": text}
        yield {"type": "response.content_part.done", **where, "part": done_part}
        item = {**item, "status": "completed", "content": [done_part]}
        yield {"type": "response.output_item.done", "output_index": index, "item": item}


async def _call_item(
    index: int, name: str, arguments: dict[str, Any], call_id: str
) -> AsyncIterator[dict[str, Any] | None]:
    """A function_call output item: added, its arguments in one delta, done."""
    item_id, args = _nid("fc"), json.dumps(arguments)
    item = {"id": item_id, "type": "function_call", "status": "in_progress", "name": name}
    item.update(call_id=call_id, arguments="")
    yield {"type": "response.output_item.added", "output_index": index, "item": item}
    where = {"item_id": item_id, "output_index": index}
    yield {"type": "response.function_call_arguments.delta", **where, "delta": args}
    yield {"type": "response.function_call_arguments.done", **where, "arguments": args}
    item = {**item, "status": "completed", "arguments": args}
    yield {"type": "response.output_item.done", "output_index": index, "item": item}


def write_codex_home(
    home: str | os.PathLike[str],
    base_url: str,
    *,
    model: str = "gpt-5.5",
    env_key: str = "TETHER_TEST_OPENAI_KEY",
    base_env: dict[str, str] | None = None,
) -> dict[str, str]:
    """Create HOME and ``HOME/.codex/config.toml`` pointing Codex at ``base_url``.

    Returns an environment (a copy of ``base_env``, else ``os.environ``) with ``HOME``,
    ``CODEX_HOME`` and ``env_key`` set; OPENAI_* and CODEX_* variables are removed so
    nothing reaches the real API.
    """
    codex_home = Path(home) / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    (codex_home / "config.toml").write_text(
        f'model = "{model}"\nmodel_provider = "scripted"\ncheck_for_update_on_startup = false\n'
        "\n[model_providers.scripted]\n"
        f'name = "Scripted test provider"\nbase_url = "{base_url}"\nenv_key = "{env_key}"\n'
        'wire_api = "responses"\nrequest_max_retries = 0\nstream_max_retries = 0\n'
        "stream_idle_timeout_ms = 60000\n"
        "\n[analytics]\nenabled = false\n\n[feedback]\nenabled = false\n"
    )
    env = dict(base_env if base_env is not None else os.environ)
    for name in [k for k in env if k.startswith(("OPENAI_", "CODEX_"))]:
        env.pop(name)
    env.update(HOME=str(home), CODEX_HOME=str(codex_home), RUST_LOG=env.get("RUST_LOG", "error"))
    env[env_key] = "sk-test-offline"
    return env
