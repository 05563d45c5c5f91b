"""Scripted Gemini API (generativelanguage v1beta) server for the real Gemini CLI.

Usage::

    with ScriptedGeminiServer() as srv:
        srv.script(
            srv.text("hello"),
            srv.shell("touch made.txt"),  # run_shell_command function call
            srv.text("done"),  # answer after the functionResponse
            srv.hang("thinking"),  # first chunk, then stall until srv.release()/stop()
        )
        env, argv = gemini_env(tmp_path / "home", srv.base_url)
        # ACP:      [gemini_bin(), *argv, "--acp"]
        # headless: [gemini_bin(), *argv, "-p", PROMPT, "--output-format", "stream-json", "--yolo"]

Verified with @google/gemini-cli 0.61.0 (wire notes:
/work/notes/codex_gemini_acp_wire.md).  In our runs the CLI only ever called
``POST /v1beta/models/{model}:streamGenerateContent?alt=sse``, once per model
call; a shell call is two requests (``functionCall`` reply, then a request
whose last ``contents`` entry holds the ``functionResponse``).  The other
endpoints are answered in case a setting or version uses them:

* ``streamGenerateContent`` with ``tools`` consumes the next scripted reply
  (then ``default_reply``); without tools it is a side task (``side_reply``).
* ``generateContent`` (non-streaming side calls: next-speaker check, loop
  detection, summaries, routing) -> ``side_json`` when JSON is requested,
  else ``side_reply``; never consumes the script.
* ``countTokens`` -> ``{"totalTokens": N}``; ``GET`` model info; anything else
  is recorded and answered 404.

The shell tool is ``run_shell_command`` with ``{"command": str,
"description"?, "dir_path"?, "is_background"?, "delay_ms"?}``; it is only
offered in ``--acp`` mode or with ``--yolo`` (plain ``-p`` drops it).

Streamed chunks are ``data: {GenerateContentResponse}\\r\\n\\n``; the last
carries ``finishReason`` and ``usageMetadata``.  ``error()`` defaults to 400:
the CLI retries 429/5xx with backoff (seconds) and then takes the next reply.

``stop()`` ends in-flight streams promptly; ``release()`` frees replies that
are *currently* hung (call it after the first chunk arrived).

Depends only on fastapi/uvicorn and the standard library (no package imports).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
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
    "DEFAULT_GEMINI_MODEL",
    "GEMINI_SHELL_TOOL",
    "GeminiReply",
    "RecordedRequest",
    "ScriptedGeminiServer",
    "backdate_gemini_sessions",
    "gemini_bin",
    "gemini_env",
]

#: The Gemini CLI's shell tool; arguments ``{"command": str, "description"?: str,
#: "dir_path"?: str, "is_background"?: bool}``.
GEMINI_SHELL_TOOL = "run_shell_command"
DEFAULT_GEMINI_MODEL = "gemini-2.5-flash"

_DEFAULT_BIN = Path("/work/npmtools/node_modules/.bin/gemini")


def gemini_bin() -> str | None:
    """Path of the gemini CLI, from $TETHER_GEMINI_BIN, the npmtools dir or PATH."""
    cand = os.environ.get("TETHER_GEMINI_BIN")
    if cand and Path(cand).exists():
        return cand
    if _DEFAULT_BIN.exists():
        return str(_DEFAULT_BIN)
    return shutil.which("gemini")


@dataclass
class GeminiReply:
    """One scripted model response.  ``parts`` are Gemini ``Part`` dicts
    (``{"text": ...}`` or ``{"functionCall": {"name", "args"}}``).  Text parts
    are split into ``chunks`` SSE events ``delay`` seconds apart."""

    parts: list[dict[str, Any]] = field(default_factory=list)
    chunks: int = 1
    delay: float = 0.0
    initial_delay: float = 0.0
    status: int = 200
    error: dict[str, Any] | None = None
    finish_reason: str = "STOP"
    #: after the first chunk wait until ``server.release()`` / ``server.stop()``
    hang: bool = False


_ids = itertools.count(1)


def _split(text: str, n: int) -> list[str]:
    if n <= 1 or len(text) <= 1:
        return [text]
    n = min(n, len(text))
    size = -(-len(text) // n)
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass
class RecordedRequest:
    method: str
    path: str
    action: str  # streamGenerateContent | generateContent | countTokens | ...
    model: str | None
    headers: dict[str, str]
    body: Any
    side: bool = False
    reply: GeminiReply | None = None

    @property
    def contents(self) -> list[dict[str, Any]]:
        return (self.body or {}).get("contents") or [] if isinstance(self.body, dict) else []

    @property
    def tool_names(self) -> list[str]:
        names = []
        if isinstance(self.body, dict):
            for t in self.body.get("tools") or []:
                for fd in t.get("functionDeclarations") or []:
                    names.append(fd.get("name"))
        return names

    def user_texts(self) -> list[str]:
        out: list[str] = []
        for c in self.contents:
            if c.get("role") == "user":
                out.extend(p["text"] for p in c.get("parts") or [] if "text" in p)
        return out

    def model_texts(self) -> list[str]:
        out: list[str] = []
        for c in self.contents:
            if c.get("role") == "model":
                out.extend(
                    p["text"] for p in c.get("parts") or [] if "text" in p and not p.get("thought")
                )
        return out

    def function_responses(self) -> list[dict[str, Any]]:
        """``functionResponse`` parts ({name, response, id?}) in contents."""
        out: list[dict[str, Any]] = []
        for c in self.contents:
            for p in c.get("parts") or []:
                if "functionResponse" in p:
                    out.append(p["functionResponse"])
        return out

    def text_blob(self) -> str:
        return json.dumps(self.body)


def _default_is_side(action: str, body: Any) -> bool:
    if action != "streamGenerateContent":
        return True
    return not (isinstance(body, dict) and body.get("tools"))


class ScriptedGeminiServer:
    """Gemini API on 127.0.0.1 with a scripted reply queue."""

    def __init__(
        self,
        *,
        default_reply: GeminiReply | None = None,
        side_reply: GeminiReply | None = None,
        side_json: dict[str, Any] | None = None,
        is_side: Callable[[str, Any], bool] = _default_is_side,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.default_reply = default_reply or self.text("OK")
        self.side_reply = side_reply or self.text("Side reply")
        # next-speaker check schema: {"reasoning", "next_speaker": "user"|"model"}
        self.side_json = side_json or {
            "reasoning": "The model finished its turn.",
            "next_speaker": "user",
        }
        self.is_side = is_side
        self.requests: list[RecordedRequest] = []
        self._script: list[GeminiReply] = []
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
    def text(text: str, *, chunks: int = 1, delay: float = 0.0) -> GeminiReply:
        return GeminiReply(parts=[{"text": text}], chunks=chunks, delay=delay)

    @staticmethod
    def slow_text(text: str, *, chunks: int = 40, delay: float = 0.25) -> GeminiReply:
        return GeminiReply(parts=[{"text": text}], chunks=chunks, delay=delay)

    @staticmethod
    def function_call(
        name: str, args: dict[str, Any], *, text: str | None = None, call_id: str | None = None
    ) -> GeminiReply:
        fc: dict[str, Any] = {"name": name, "args": args}
        if call_id:
            fc["id"] = call_id
        parts: list[dict[str, Any]] = [{"text": text}] if text else []
        parts.append({"functionCall": fc})
        return GeminiReply(parts=parts)

    @classmethod
    def shell(
        cls,
        command: str,
        *,
        description: str | None = None,
        dir_path: str | None = None,
        text: str | None = None,
    ) -> GeminiReply:
        """``run_shell_command`` call running ``command``."""
        args: dict[str, Any] = {"command": command}
        if description:
            args["description"] = description
        if dir_path:
            args["dir_path"] = dir_path
        return cls.function_call(GEMINI_SHELL_TOOL, args, text=text)

    @staticmethod
    def hang(text: str = "Working") -> GeminiReply:
        """Stream ``text`` as a first chunk, then stall until ``release()``
        (or ``stop()``) - keeps a turn open for cancel tests."""
        return GeminiReply(parts=[{"text": text}], hang=True)

    @staticmethod
    def error(status: int = 400, message: str = "scripted failure") -> GeminiReply:
        """An API error.  Keep the default 400: the CLI retries 429/5xx with
        backoff (seconds each, then falls back to the next reply)."""
        code = {
            400: "INVALID_ARGUMENT",
            403: "PERMISSION_DENIED",
            404: "NOT_FOUND",
            429: "RESOURCE_EXHAUSTED",
        }.get(status, "INTERNAL")
        return GeminiReply(
            status=status, error={"error": {"code": status, "message": message, "status": code}}
        )

    # -- scripting -----------------------------------------------------------
    def script(self, *replies: GeminiReply) -> ScriptedGeminiServer:
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
        return [r for r in self.requests if not r.side]

    def wait_for_requests(self, n: int, timeout: float = 30.0) -> list[RecordedRequest]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.main_requests) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"expected {n} main requests, got {len(self.main_requests)}")
                self._cond.wait(left)
            return self.main_requests

    # -- lifecycle ---------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._sock is not None, "server not started"
        return int(self._sock.getsockname()[1])

    @property
    def base_url(self) -> str:
        """Value for GOOGLE_GEMINI_BASE_URL (no /v1beta suffix)."""
        return f"http://{self._host}:{self.port}"

    def start(self) -> ScriptedGeminiServer:
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
            name="gemini-api-server",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("scripted Gemini server failed to start")
            time.sleep(0.01)
        return self

    def release(self) -> None:
        """Let every stalled ``hang()`` reply finish."""
        self._released.set()

    async def _sleep(self, secs: float) -> bool:
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

    def __enter__(self) -> ScriptedGeminiServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- app -------------------------------------------------------------
    def _record(self, rec: RecordedRequest) -> None:
        with self._cond:
            self.requests.append(rec)
            self._cond.notify_all()

    def _next_reply(self, action: str, body: Any) -> tuple[GeminiReply, bool]:
        side = self.is_side(action, body)
        with self._lock:
            if side:
                return self.side_reply, True
            if self._script:
                return self._script.pop(0), False
            return self.default_reply, False

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/v1beta/models")
        async def list_models(request: Request) -> Any:
            self._record(
                RecordedRequest(
                    "GET", request.url.path, "list", None, dict(request.headers), None, side=True
                )
            )
            return {"models": [self._model_info(DEFAULT_GEMINI_MODEL)]}

        @app.api_route("/{version}/models/{target:path}", methods=["GET", "POST"])
        async def model_call(version: str, target: str, request: Request) -> Any:
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
            model, _, action = target.partition(":")
            headers = dict(request.headers)
            if request.method == "GET" or not action:
                self._record(
                    RecordedRequest(
                        request.method, request.url.path, "get", model, headers, body, side=True
                    )
                )
                return self._model_info(model)
            if action == "countTokens":
                self._record(
                    RecordedRequest(
                        "POST", request.url.path, action, model, headers, body, side=True
                    )
                )
                return {"totalTokens": max(1, len(raw) // 4)}
            if action in ("streamGenerateContent", "generateContent"):
                reply, side = self._next_reply(action, body)
                rec = RecordedRequest(
                    "POST", request.url.path, action, model, headers, body, side=side, reply=reply
                )
                self._record(rec)
                if reply.status != 200:
                    return JSONResponse(reply.error or {}, status_code=reply.status)
                if action == "generateContent":
                    return self._unary(reply, body, model)
                return StreamingResponse(
                    self._stream(reply, model),
                    media_type="text/event-stream",
                    headers={"cache-control": "no-cache"},
                )
            if action == "embedContent":
                self._record(
                    RecordedRequest(
                        "POST", request.url.path, action, model, headers, body, side=True
                    )
                )
                return {"embedding": {"values": [0.0] * 8}}
            self._record(
                RecordedRequest(
                    request.method, request.url.path, action, model, headers, body, side=True
                )
            )
            return JSONResponse(
                {
                    "error": {
                        "code": 404,
                        "message": f"not scripted: {action}",
                        "status": "NOT_FOUND",
                    }
                },
                status_code=404,
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
                    request.method,
                    request.url.path,
                    "other",
                    None,
                    dict(request.headers),
                    body,
                    side=True,
                )
            )
            return JSONResponse(
                {"error": {"code": 404, "message": f"not scripted: {path}", "status": "NOT_FOUND"}},
                status_code=404,
            )

        return app

    @staticmethod
    def _model_info(model: str) -> dict[str, Any]:
        return {
            "name": f"models/{model}",
            "baseModelId": model,
            "version": "001",
            "displayName": model,
            "inputTokenLimit": 1048576,
            "outputTokenLimit": 65536,
            "supportedGenerationMethods": ["generateContent", "countTokens"],
        }

    @staticmethod
    def _usage() -> dict[str, Any]:
        return {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}

    def _unary(self, reply: GeminiReply, body: Any, model: str) -> dict[str, Any]:
        gen = (body or {}).get("generationConfig") or {} if isinstance(body, dict) else {}
        if (
            gen.get("responseMimeType") == "application/json"
            or gen.get("responseJsonSchema")
            or gen.get("responseSchema")
        ):
            parts = [{"text": json.dumps(self.side_json)}]
        else:
            parts = reply.parts
        return {
            "candidates": [
                {"content": {"role": "model", "parts": parts}, "finishReason": "STOP", "index": 0}
            ],
            "usageMetadata": self._usage(),
            "modelVersion": model,
            "responseId": f"resp-{next(_ids)}",
        }

    async def _stream(self, reply: GeminiReply, model: str) -> AsyncIterator[bytes]:
        resp_id = f"resp-{next(_ids)}"

        def chunk(parts: list[dict[str, Any]], last: bool) -> bytes:
            cand: dict[str, Any] = {"content": {"role": "model", "parts": parts}, "index": 0}
            out: dict[str, Any] = {
                "candidates": [cand],
                "modelVersion": model,
                "responseId": resp_id,
            }
            if last:
                cand["finishReason"] = reply.finish_reason
                out["usageMetadata"] = self._usage()
            return f"data: {json.dumps(out)}\r\n\r\n".encode()

        if reply.hang:
            self._released.clear()
        if reply.initial_delay and not await self._sleep(reply.initial_delay):
            return
        pieces: list[dict[str, Any]] = []
        for part in reply.parts:
            if "text" in part:
                pieces.extend({**part, "text": t} for t in _split(part["text"], reply.chunks))
            else:
                pieces.append(part)
        if not pieces:
            pieces = [{"text": ""}]
        if reply.hang:
            yield chunk([pieces[0]], last=False)
            if not await self._wait_release():
                return
            pieces = pieces[1:] or [{"text": ""}]
        for i, part in enumerate(pieces):
            if i and reply.delay and "text" in part and not await self._sleep(reply.delay):
                return
            yield chunk([part], last=(i == len(pieces) - 1))


def gemini_env(
    home: str | os.PathLike[str],
    base_url: str,
    *,
    model: str = DEFAULT_GEMINI_MODEL,
    api_key: str = "test-gemini-key-offline",
    settings: dict[str, Any] | None = None,
    base_env: dict[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Prepare HOME (``.gemini/settings.json``) for an offline Gemini CLI.

    Returns ``(env, argv)`` where argv is ``["-m", model]`` - append ``--acp``
    or ``-p PROMPT --output-format stream-json [--yolo]``.
    """
    home = Path(home)
    gdir = home / ".gemini"
    gdir.mkdir(parents=True, exist_ok=True)
    cfg: dict[str, Any] = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
    }
    for k, v in (settings or {}).items():
        if isinstance(v, dict) and isinstance(cfg.get(k), dict):
            cfg[k] = {**cfg[k], **v}
        else:
            cfg[k] = v
    (gdir / "settings.json").write_text(json.dumps(cfg, indent=2))
    env = dict(base_env if base_env is not None else os.environ)
    for k in list(env):
        if k.startswith(("GEMINI_", "GOOGLE_")):
            env.pop(k)
    env.update(
        {
            "HOME": str(home),
            "GOOGLE_GEMINI_BASE_URL": base_url,
            "GEMINI_API_KEY": api_key,
            "GEMINI_CLI_TRUST_WORKSPACE": "true",
            "NO_BROWSER": "true",
        }
    )
    return env, ["-m", model]


def backdate_gemini_sessions(
    home: str | os.PathLike[str], stamp: str = "2000-01-01T00-00"
) -> list[Path]:
    """Work around a Gemini CLI 0.61 ``session/load`` bug; call it after the
    first agent process exited and before ``session/load`` in a new one.

    Chats are recorded to ``$HOME/.gemini/tmp/<project>/chats/
    session-<UTC YYYY-MM-DDTHH-MM>-<first 8 of id>.jsonl``.  ``session/load``
    initialises a fresh recorder for the same session id *before* reading
    history; within the same UTC minute that recorder picks the same file
    name and appends a header that resets ``messages``, so the load fails with
    -32603 "No previous sessions found for this project."  Renaming the files
    to an old minute makes the new recorder write a different (empty, hence
    ignored) file and the load finds the real history.  Returns new paths.
    """
    import re

    out = []
    pat = re.compile(r"^(session-)\d{4}-\d{2}-\d{2}T\d{2}-\d{2}(-.+\.jsonl?)$")
    for f in Path(home, ".gemini", "tmp").glob("*/chats/session-*.json*"):
        m = pat.match(f.name)
        if m:
            dst = f.with_name(f"{m.group(1)}{stamp}{m.group(2)}")
            if dst != f and not dst.exists():
                f.rename(dst)
                out.append(dst)
    return out
