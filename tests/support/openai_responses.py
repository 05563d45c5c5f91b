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

Verified with codex-cli 0.169.0 (wire notes: /work/notes/codex_gemini_acp_wire.md):

* Codex sends ``POST {base_url}/responses`` (``stream: true``) once per model
  call; a shell call is two requests: the ``function_call`` reply, then a
  request whose ``input`` ends with ``function_call_output`` (answer it with
  the next scripted reply).  No other endpoint was called in our runs.
* Every request carries ``client_metadata["x-codex-turn-metadata"]`` (a JSON
  string) with ``request_kind`` - "turn" for the agent loop.  Requests with
  another kind (e.g. "compaction") are "side": answered with ``side_reply``
  and they never consume the script.  Without that tag, "has tools" decides.
* The shell tool is ``exec_command`` (unified exec) with arguments
  ``{"cmd": "<shell string>", "workdir"?, "sandbox_permissions"?
  ("require_escalated"), "justification"?, ...}``; Codex runs it as
  ``/bin/bash -lc '<cmd>'``.
* ``model = "gpt-5.5"`` (the default here) is in Codex's bundled model
  catalog; unknown slugs work but emit a "Model metadata ... not found"
  ``warning`` notification on every turn (an ``error`` item in ``codex exec``).

Every request is recorded in ``srv.requests`` (``RecordedRequest``);
``srv.main_requests`` are the script-consuming ones.  Once the script is
exhausted ``default_reply`` (text "OK") is used.  ``error(status)`` replies
with an HTTP error: the provider config below sets ``request_max_retries = 0``
so a 500 fails the turn at once (``turn/completed`` status "failed").

The SSE stream follows the shape Codex parses: ``response.created``,
``response.output_item.added``, ``response.content_part.added``,
``response.output_text.delta`` (one per chunk), ``response.output_text.done``,
``response.content_part.done``, ``response.output_item.done`` and finally
``response.completed`` (with usage).  Function calls are ``function_call``
output items with a JSON-string ``arguments``.

``stop()`` ends in-flight (slow/hung) streams promptly.  ``release()`` frees
replies that are *currently* hung: call it after the first delta arrived (a
hang reply that starts later re-arms the latch).

Depends only on fastapi/uvicorn and the standard library (no package
imports), so it can be imported as ``tests.support.openai_responses`` or by path.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

__all__ = [
    "CODEX_SHELL_TOOL",
    "RecordedRequest",
    "Reply",
    "ScriptedResponsesServer",
    "codex_bin",
    "request_kind",
    "write_codex_home",
]

#: Name of the shell tool Codex 0.169 offers a custom ``wire_api="responses"``
#: provider (verified against the real CLI; see /work/notes wire notes).  Its
#: arguments are ``{"cmd": "<shell string>", ...}``.
CODEX_SHELL_TOOL = "exec_command"

_DEFAULT_BIN = Path("/work/npmtools/node_modules/.bin/codex")


def codex_bin() -> str | None:
    """Path of the codex CLI, from $TETHER_CODEX_BIN, the npmtools dir or PATH."""
    import shutil

    cand = os.environ.get("TETHER_CODEX_BIN")
    if cand and Path(cand).exists():
        return cand
    if _DEFAULT_BIN.exists():
        return str(_DEFAULT_BIN)
    return shutil.which("codex")


# ---------------------------------------------------------------- replies


@dataclass
class Reply:
    """One scripted model turn (one HTTP response).

    ``items`` is a list of ("text", str) / ("function_call", name, args_dict,
    call_id) entries emitted in order.  ``chunks`` splits text into that many
    deltas, ``delay`` sleeps between deltas (slow replies for interrupts).
    ``status`` other than 200 returns an error body instead of a stream.
    """

    items: list[tuple[Any, ...]] = field(default_factory=list)
    chunks: int = 1
    delay: float = 0.0
    status: int = 200
    error: dict[str, Any] | None = None
    #: sleep before the first byte (e.g. to hold the turn open)
    initial_delay: float = 0.0
    #: after the first text delta (or right after response.created when the
    #: reply has no text) wait until ``server.release()`` or ``server.stop()``
    hang: bool = False


_ids = itertools.count(1)


def _nid(prefix: str) -> str:
    return f"{prefix}_{next(_ids):04d}"


def _split(text: str, n: int) -> list[str]:
    if n <= 1 or len(text) <= 1:
        return [text]
    n = min(n, len(text))
    size = -(-len(text) // n)
    return [text[i : i + size] for i in range(0, len(text), size)]


def _sse(event: dict[str, Any]) -> bytes:
    return f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


# ---------------------------------------------------------------- recording


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    side: bool = False
    reply: Reply | None = None

    # -- helpers for assertions -----------------------------------------
    @property
    def tools(self) -> list[dict[str, Any]]:
        return (self.body or {}).get("tools") or [] if isinstance(self.body, dict) else []

    @property
    def tool_names(self) -> list[str]:
        return [str(t.get("name") or t.get("type")) for t in self.tools]

    @property
    def input(self) -> list[dict[str, Any]]:
        if isinstance(self.body, dict):
            return self.body.get("input") or []
        return []

    def user_texts(self) -> list[str]:
        """Texts of every ``role=user`` message in ``input`` (in order)."""
        out: list[str] = []
        for item in self.input:
            if item.get("type", "message") == "message" and item.get("role") == "user":
                content = item.get("content")
                if isinstance(content, str):
                    out.append(content)
                else:
                    for c in content or []:
                        if c.get("type") in ("input_text", "text"):
                            out.append(c.get("text", ""))
        return out

    def assistant_texts(self) -> list[str]:
        out: list[str] = []
        for item in self.input:
            if item.get("type", "message") == "message" and item.get("role") == "assistant":
                for c in item.get("content") or []:
                    if c.get("type") in ("output_text", "text"):
                        out.append(c.get("text", ""))
        return out

    def function_outputs(self) -> list[dict[str, Any]]:
        """``function_call_output`` items (``call_id``, ``output``) in input."""
        return [i for i in self.input if i.get("type") == "function_call_output"]

    def text_blob(self) -> str:
        """Whole request body as a string (for 'does X reach the model')."""
        return json.dumps(self.body)


def request_kind(body: Any) -> str | None:
    """``request_kind`` from Codex's ``client_metadata["x-codex-turn-metadata"]``
    ("turn" for the agent loop, e.g. "compaction" for helper calls)."""
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
    # Codex 0.169 tags every request with request_kind ("turn" for the agent
    # loop).  Without that tag fall back to "the agent loop sends tools".
    kind = request_kind(body)
    if kind is not None:
        return kind != "turn"
    return not (isinstance(body, dict) and body.get("tools"))


# ---------------------------------------------------------------- server


class ScriptedResponsesServer:
    """OpenAI Responses API on 127.0.0.1 with a scripted reply queue."""

    def __init__(
        self,
        *,
        default_reply: Reply | None = None,
        side_reply: Reply | None = None,
        is_side: Callable[[Any], bool] = _default_is_side,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.default_reply = default_reply or self.text("OK")
        self.side_reply = side_reply or self.text("Side reply")
        self.is_side = is_side
        self.requests: list[RecordedRequest] = []
        self._script: list[Reply] = []
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._stopping = threading.Event()
        self._released = threading.Event()
        self.app = self._build_app()

    # -- reply constructors ------------------------------------------------
    @staticmethod
    def text(text: str, *, chunks: int = 1, delay: float = 0.0) -> Reply:
        return Reply(items=[("text", text)], chunks=chunks, delay=delay)

    @staticmethod
    def slow_text(text: str, *, chunks: int = 40, delay: float = 0.25) -> Reply:
        """Text streamed in ``chunks`` deltas ``delay`` seconds apart."""
        return Reply(items=[("text", text)], chunks=chunks, delay=delay)

    @staticmethod
    def function_call(
        name: str, arguments: dict[str, Any], *, call_id: str | None = None, text: str | None = None
    ) -> Reply:
        items: list[tuple[Any, ...]] = []
        if text:
            items.append(("text", text))
        items.append(("function_call", name, arguments, call_id or _nid("call")))
        return Reply(items=items)

    @classmethod
    def shell(
        cls,
        command: str,
        *,
        call_id: str | None = None,
        text: str | None = None,
        workdir: str | None = None,
        justification: str | None = None,
        sandbox_permissions: str | None = None,
    ) -> Reply:
        """Codex ``exec_command`` tool call running ``command`` (a shell string)."""
        args: dict[str, Any] = {"cmd": command}
        if workdir:
            args["workdir"] = workdir
        if justification:
            args["justification"] = justification
        if sandbox_permissions:
            args["sandbox_permissions"] = sandbox_permissions
        return cls.function_call(CODEX_SHELL_TOOL, args, call_id=call_id, text=text)

    @staticmethod
    def hang(text: str = "Working") -> Reply:
        """Stream ``text`` as a first delta, then stall until ``release()``
        (or ``stop()``) - a turn that stays open for interrupt tests."""
        return Reply(items=[("text", text)], hang=True)

    @staticmethod
    def error(status: int = 500, message: str = "scripted failure") -> Reply:
        return Reply(status=status, error={"error": {"message": message, "type": "server_error"}})

    # -- scripting -----------------------------------------------------------
    def script(self, *replies: Reply) -> ScriptedResponsesServer:
        with self._lock:
            self._script.extend(replies)
        return self

    push = script

    @property
    def pending(self) -> int:
        with self._lock:
            return len(self._script)

    @property
    def main_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/responses") and not r.side]

    def wait_for_requests(
        self, n: int, timeout: float = 30.0, *, main_only: bool = True
    ) -> list[RecordedRequest]:
        """Block until at least ``n`` (main) requests have arrived."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = self.main_requests if main_only else list(self.requests)
                if len(got) >= n:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {n} requests, got {len(got)}")
                self._cond.wait(left)

    # -- lifecycle ---------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._sock is not None, "server not started"
        return int(self._sock.getsockname()[1])

    @property
    def base_url(self) -> str:
        """Value for ``base_url`` in a Codex model provider (ends in /v1)."""
        return f"http://{self._host}:{self.port}/v1"

    def start(self) -> ScriptedResponsesServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        sock.listen(64)
        self._sock = sock
        self._stopping.clear()
        config = uvicorn.Config(
            self.app,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=1,
            lifespan="off",
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [sock]},
            name="openai-responses-server",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("scripted OpenAI server failed to start")
            time.sleep(0.01)
        return self

    def release(self) -> None:
        """Let every stalled ``hang()`` reply finish."""
        self._released.set()

    async def _sleep(self, secs: float) -> bool:
        """Sleep; False if the server is stopping (the stream should end)."""
        end = time.monotonic() + secs
        while not self._stopping.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return True
            await asyncio.sleep(min(left, 0.05))
        return False

    async def _wait_release(self) -> bool:
        while not self._stopping.is_set():
            if self._released.is_set():
                return True
            await asyncio.sleep(0.05)
        return False

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = None

    def __enter__(self) -> ScriptedResponsesServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- app -------------------------------------------------------------
    def _record(self, rec: RecordedRequest) -> None:
        with self._cond:
            self.requests.append(rec)
            self._cond.notify_all()

    def _next_reply(self, body: Any) -> tuple[Reply, bool]:
        side = self.is_side(body)
        with self._lock:
            if side:
                return self.side_reply, True
            if self._script:
                return self._script.pop(0), False
            return self.default_reply, False

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1/models")
        @app.get("/models")
        async def models(request: Request) -> Any:
            self._record(
                RecordedRequest("GET", request.url.path, dict(request.headers), None, side=True)
            )
            return {"object": "list", "data": [], "models": []}

        @app.post("/v1/responses")
        @app.post("/responses")
        async def responses(request: Request) -> Any:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            reply, side = self._next_reply(body)
            rec = RecordedRequest(
                "POST", request.url.path, dict(request.headers), body, side=side, reply=reply
            )
            self._record(rec)
            if reply.status != 200:
                return JSONResponse(reply.error or {}, status_code=reply.status)
            model = body.get("model", "scripted") if isinstance(body, dict) else "scripted"
            return StreamingResponse(
                self._stream(reply, model),
                media_type="text/event-stream",
                headers={"cache-control": "no-cache"},
            )

        @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE"])
        async def other(path: str, request: Request) -> Any:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            self._record(
                RecordedRequest(
                    request.method, request.url.path, dict(request.headers), body, side=True
                )
            )
            return JSONResponse({"error": {"message": f"not scripted: {path}"}}, status_code=404)

        return app

    async def _stream(self, reply: Reply, model: str) -> AsyncIterator[bytes]:
        resp_id = _nid("resp")
        created = int(time.time())
        base = {"id": resp_id, "object": "response", "created_at": created, "model": model}
        yield _sse(
            {
                "type": "response.created",
                "response": {**base, "status": "in_progress", "output": []},
            }
        )
        if reply.hang:
            self._released.clear()
        if reply.initial_delay and not await self._sleep(reply.initial_delay):
            return
        no_text = not any(e[0] == "text" for e in reply.items)
        if reply.hang and no_text and not await self._wait_release():
            return
        output: list[dict[str, Any]] = []
        for idx, entry in enumerate(reply.items):
            kind = entry[0]
            if kind == "text":
                text = entry[1]
                item_id = _nid("msg")
                item: dict[str, Any] = {
                    "id": item_id,
                    "type": "message",
                    "status": "in_progress",
                    "role": "assistant",
                    "content": [],
                }
                yield _sse(
                    {"type": "response.output_item.added", "output_index": idx, "item": item}
                )
                part = {"type": "output_text", "text": "", "annotations": []}
                yield _sse(
                    {
                        "type": "response.content_part.added",
                        "item_id": item_id,
                        "output_index": idx,
                        "content_index": 0,
                        "part": part,
                    }
                )
                for i, chunk in enumerate(_split(text, reply.chunks)):
                    if i and reply.delay and not await self._sleep(reply.delay):
                        return
                    yield _sse(
                        {
                            "type": "response.output_text.delta",
                            "item_id": item_id,
                            "output_index": idx,
                            "content_index": 0,
                            "delta": chunk,
                        }
                    )
                    if reply.hang and i == 0 and not await self._wait_release():
                        return
                yield _sse(
                    {
                        "type": "response.output_text.done",
                        "item_id": item_id,
                        "output_index": idx,
                        "content_index": 0,
                        "text": text,
                    }
                )
                done_part = {"type": "output_text", "text": text, "annotations": []}
                yield _sse(
                    {
                        "type": "response.content_part.done",
                        "item_id": item_id,
                        "output_index": idx,
                        "content_index": 0,
                        "part": done_part,
                    }
                )
                item = {**item, "status": "completed", "content": [done_part]}
                yield _sse({"type": "response.output_item.done", "output_index": idx, "item": item})
                output.append(item)
            elif kind == "function_call":
                _, name, args, call_id = entry
                item_id = _nid("fc")
                args_s = json.dumps(args)
                item = {
                    "id": item_id,
                    "type": "function_call",
                    "status": "in_progress",
                    "name": name,
                    "call_id": call_id,
                    "arguments": "",
                }
                yield _sse(
                    {"type": "response.output_item.added", "output_index": idx, "item": item}
                )
                yield _sse(
                    {
                        "type": "response.function_call_arguments.delta",
                        "item_id": item_id,
                        "output_index": idx,
                        "delta": args_s,
                    }
                )
                yield _sse(
                    {
                        "type": "response.function_call_arguments.done",
                        "item_id": item_id,
                        "output_index": idx,
                        "arguments": args_s,
                    }
                )
                item = {**item, "status": "completed", "arguments": args_s}
                yield _sse({"type": "response.output_item.done", "output_index": idx, "item": item})
                output.append(item)
            else:  # pragma: no cover - programming error in a test
                raise ValueError(f"unknown reply item {entry!r}")
        usage = {
            "input_tokens": 10,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 15,
        }
        yield _sse(
            {
                "type": "response.completed",
                "response": {**base, "status": "completed", "output": output, "usage": usage},
            }
        )


# ---------------------------------------------------------------- CODEX_HOME


def write_codex_home(
    home: str | os.PathLike[str],
    base_url: str,
    *,
    model: str = "gpt-5.5",
    provider: str = "scripted",
    env_key: str = "TETHER_TEST_OPENAI_KEY",
    api_key: str = "sk-test-offline",
    extra_toml: str = "",
    base_env: dict[str, str] | None = None,
) -> dict[str, str]:
    """Create HOME and ``HOME/.codex/config.toml`` pointing Codex at ``base_url``.

    Returns an environment (copy of ``base_env`` or ``os.environ``) with
    ``HOME``, ``CODEX_HOME`` and ``env_key`` set.  OPENAI_* variables are
    removed so nothing leaks to the real API.
    """
    home = Path(home)
    codex_home = home / ".codex"
    codex_home.mkdir(parents=True, exist_ok=True)
    toml = f"""model = "{model}"
model_provider = "{provider}"
check_for_update_on_startup = false

[model_providers.{provider}]
name = "Scripted test provider"
base_url = "{base_url}"
env_key = "{env_key}"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 60000

[analytics]
enabled = false

[feedback]
enabled = false
{extra_toml}
"""
    (codex_home / "config.toml").write_text(toml)
    env = dict(base_env if base_env is not None else os.environ)
    for k in list(env):
        if k.startswith("OPENAI_") or k.startswith("CODEX_"):
            env.pop(k)
    env.update(
        {
            "HOME": str(home),
            "CODEX_HOME": str(codex_home),
            env_key: api_key,
            "RUST_LOG": env.get("RUST_LOG", "error"),
        }
    )
    return env
