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

Verified with @google/gemini-cli 0.61.0: the CLI calls ``POST
/v1beta/models/{model}:streamGenerateContent?alt=sse`` once per model call; a shell
call is two requests (``functionCall`` reply, then a request whose last ``contents``
entry holds the ``functionResponse``). ``streamGenerateContent`` with ``tools`` takes
the next scripted reply; without tools, and ``generateContent`` (next-speaker checks,
summaries), it is a side request (``side_json`` when JSON is asked for).
``countTokens``, model info and embeddings are answered too; anything else is recorded
and answered 404. The shell tool is ``run_shell_command`` ``{"command", "description"?,
"dir_path"?, "is_background"?}``, offered in ``--acp`` mode or with ``--yolo``.

Streamed chunks are ``data: {GenerateContentResponse}\\r\\n\\n``; the last carries
``finishReason`` and ``usageMetadata``. ``error()`` defaults to 400: the CLI retries
429/5xx with backoff (seconds) and then takes the next reply.
"""

from __future__ import annotations

import itertools
import json
import os
import re
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
    "DEFAULT_GEMINI_MODEL",
    "GEMINI_SHELL_TOOL",
    "GeminiReply",
    "RecordedRequest",
    "ScriptedGeminiServer",
    "backdate_gemini_sessions",
    "gemini_bin",
    "gemini_env",
]

GEMINI_SHELL_TOOL = "run_shell_command"
DEFAULT_GEMINI_MODEL = "gemini-2.5-flash"
_USAGE = {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15}
_ERROR_STATUS = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
}


def gemini_bin() -> str | None:
    """The gemini CLI ($TETHER_GEMINI_BIN, PATH, node_modules/.bin), or None."""
    return find_agent_binary("gemini")


@dataclass
class GeminiReply:
    """One scripted model response. ``parts`` are Gemini ``Part`` dicts (``{"text": …}``
    or ``{"functionCall": {"name", "args"}}``); text parts go in ``chunks`` SSE events
    ``delay`` seconds apart; ``hang`` stalls after the first until ``release()``."""

    parts: list[dict[str, Any]] = field(default_factory=list)
    chunks: int = 1
    delay: float = 0.0
    status: int = 200
    error: dict[str, Any] | None = None
    finish_reason: str = "STOP"
    hang: bool = False


_ids = itertools.count(1)


@dataclass
class RecordedRequest(Recorded):
    """One request, with helpers for a generateContent body."""

    action: str = ""
    """streamGenerateContent | generateContent | countTokens | …"""
    model: str | None = None

    @property
    def contents(self) -> list[dict[str, Any]]:
        """The ``contents`` of the body (the conversation so far)."""
        return self.body_list("contents")

    def _text_parts(self, role: str) -> list[dict[str, Any]]:
        """The parts with a text of every `role` turn, in order."""
        return [
            p
            for c in self.contents
            if c.get("role") == role
            for p in c.get("parts") or []
            if "text" in p
        ]

    def user_texts(self) -> list[str]:
        """Texts the user sent, in order."""
        return [p["text"] for p in self._text_parts("user")]

    def model_texts(self) -> list[str]:
        """Texts the model answered (not its thoughts), in order."""
        return [p["text"] for p in self._text_parts("model") if not p.get("thought")]


def _default_is_side(action: str, body: Any) -> bool:
    return action != "streamGenerateContent" or not (isinstance(body, dict) and body.get("tools"))


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


def _not_found(what: str) -> JSONResponse:
    error = {"code": 404, "message": f"not scripted: {what}", "status": "NOT_FOUND"}
    return JSONResponse({"error": error}, status_code=404)


def _wants_json(body: Any) -> bool:
    config = body.get("generationConfig") if isinstance(body, dict) else None
    if not isinstance(config, dict):
        return False
    json_type = config.get("responseMimeType") == "application/json"
    return json_type or bool(config.get("responseJsonSchema") or config.get("responseSchema"))


class ScriptedGeminiServer(ScriptedServer[GeminiReply, RecordedRequest]):
    """Gemini API on 127.0.0.1 with a scripted reply queue."""

    name = "scripted Gemini API"

    def __init__(
        self,
        *,
        side_reply: GeminiReply | None = None,
        side_json: dict[str, Any] | None = None,
        is_side: Callable[[str, Any], bool] = _default_is_side,
    ) -> None:
        self.side_reply = side_reply or self.text("Side reply")
        # The next-speaker check's schema: {"reasoning", "next_speaker": "user"|"model"}.
        self.side_json = side_json or {"reasoning": "The turn is over.", "next_speaker": "user"}
        self.is_side = is_side
        super().__init__(self.text("OK"))

    @property
    def base_url(self) -> str:
        """Value for GOOGLE_GEMINI_BASE_URL (no /v1beta suffix)."""
        return self.url

    # -- replies ---------------------------------------------------------------------------

    @staticmethod
    def text(text: str, *, chunks: int = 1, delay: float = 0.0) -> GeminiReply:
        """A text answer, in ``chunks`` chunks ``delay`` seconds apart."""
        return GeminiReply(parts=[{"text": text}], chunks=chunks, delay=delay)

    @staticmethod
    def function_call(name: str, args: dict[str, Any], *, text: str | None = None) -> GeminiReply:
        """A call of tool ``name`` (after ``text``, if given)."""
        parts: list[dict[str, Any]] = [{"text": text}] if text else []
        return GeminiReply(parts=[*parts, {"functionCall": {"name": name, "args": args}}])

    @classmethod
    def shell(cls, command: str, *, text: str | None = None, **arguments: str) -> GeminiReply:
        """``run_shell_command`` running ``command`` (``arguments``: description, dir_path)."""
        return cls.function_call(GEMINI_SHELL_TOOL, {"command": command, **arguments}, text=text)

    @staticmethod
    def hang(text: str = "Working") -> GeminiReply:
        """``text`` as a first chunk, then a stall until ``release()`` or ``stop()``."""
        return GeminiReply(parts=[{"text": text}], hang=True)

    @staticmethod
    def error(status: int = 400, message: str = "scripted failure") -> GeminiReply:
        """An API error (keep 400: the CLI retries 429/5xx with seconds of backoff)."""
        error = {
            "code": status,
            "message": message,
            "status": _ERROR_STATUS.get(status, "INTERNAL"),
        }
        return GeminiReply(status=status, error={"error": error})

    # -- the app ---------------------------------------------------------------------------

    def routes(self) -> Sequence[BaseRoute]:
        """Models, model calls, and a recorded 404 for anything else."""
        return [
            Route("/v1beta/models", self._list_models, methods=["GET"]),
            Route("/{version}/models/{target:path}", self._model_call, methods=["GET", "POST"]),
            Route("/{path:path}", self._other, methods=["GET", "POST", "PUT", "DELETE"]),
        ]

    async def _recorded(self, request: Request, action: str, model: str | None) -> RecordedRequest:
        _raw, body = await read_body(request)
        path, headers = request.url.path, dict(request.headers)
        return RecordedRequest(request.method, path, headers, body, action=action, model=model)

    async def _list_models(self, request: Request) -> Response:
        self.record(await self._recorded(request, "list", None))
        return JSONResponse({"models": [_model_info(DEFAULT_GEMINI_MODEL)]})

    async def _other(self, request: Request) -> Response:
        rec = self.record(await self._recorded(request, "other", None))
        return _not_found(rec.path)

    async def _model_call(self, request: Request) -> Response:
        model, _, action = str(request.path_params["target"]).partition(":")
        if request.method == "GET" or not action:
            action = "get"
        rec = await self._recorded(request, action, model)
        if action in ("streamGenerateContent", "generateContent"):
            return self._generate(rec)
        self.record(rec)
        if action == "get":
            return JSONResponse(_model_info(model))
        if action == "countTokens":
            return JSONResponse({"totalTokens": max(1, len(rec.text_blob()) // 4)})
        if action == "embedContent":
            return JSONResponse({"embedding": {"values": [0.0] * 8}})
        return _not_found(action)

    def _generate(self, rec: RecordedRequest) -> Response:
        rec.side = self.is_side(rec.action, rec.body)
        reply = rec.reply = self.take_reply(side=rec.side, side_reply=self.side_reply)
        self.record(rec)
        if reply.status != 200:
            return JSONResponse(reply.error or {}, status_code=reply.status)
        if rec.action == "generateContent":
            parts = [{"text": json.dumps(self.side_json)}] if _wants_json(rec.body) else reply.parts
            candidate = {"content": {"role": "model", "parts": parts}, "finishReason": "STOP"}
            answer = {"candidates": [{**candidate, "index": 0}], "usageMetadata": _USAGE}
            return JSONResponse({**answer, "modelVersion": rec.model, "responseId": _rid()})
        stream = self._stream(reply, str(rec.model), rec)
        return StreamingResponse(
            stream, media_type="text/event-stream", headers={"cache-control": "no-cache"}
        )

    async def _stream(
        self, reply: GeminiReply, model: str, rec: RecordedRequest
    ) -> AsyncIterator[bytes]:
        resp_id = _rid()

        def chunk(part: dict[str, Any], last: bool) -> bytes:
            candidate: dict[str, Any] = {"content": {"role": "model", "parts": [part]}, "index": 0}
            out: dict[str, Any] = {"candidates": [candidate], "modelVersion": model}
            out["responseId"] = resp_id
            if last:
                candidate["finishReason"] = reply.finish_reason
                out["usageMetadata"] = _USAGE
            return f"data: {json.dumps(out)}\r\n\r\n".encode()

        pieces: list[dict[str, Any]] = []
        for part in reply.parts:
            texts = split_text(part["text"], reply.chunks) if "text" in part else None
            pieces.extend([{**part, "text": t} for t in texts] if texts else [part])
        pieces = pieces or [{"text": ""}]
        if reply.hang:
            self.arm_hang()
            yield chunk(pieces[0], last=False)
            if not await self.wait_released():
                return
            pieces = pieces[1:] or [{"text": ""}]
        for i, part in enumerate(pieces):
            if i and reply.delay and "text" in part and not await self.pause(reply.delay):
                return
            yield chunk(part, last=i == len(pieces) - 1)
        rec.completed = True


def _rid() -> str:
    return f"resp-{next(_ids)}"


def gemini_env(
    home: str | os.PathLike[str],
    base_url: str,
    *,
    model: str = DEFAULT_GEMINI_MODEL,
    base_env: dict[str, str] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Prepare HOME (``.gemini/settings.json``) for an offline Gemini CLI.

    Returns ``(env, argv)`` where argv is ``["-m", model]`` - append ``--acp`` or
    ``-p PROMPT --output-format stream-json [--yolo]``. GEMINI_* and GOOGLE_* variables
    of ``base_env`` (else ``os.environ``) are left out.
    """
    settings = {
        "security": {"auth": {"selectedType": "gemini-api-key"}},
        "privacy": {"usageStatisticsEnabled": False},
        "telemetry": {"enabled": False},
        "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
    }
    gemini_dir = Path(home) / ".gemini"
    gemini_dir.mkdir(parents=True, exist_ok=True)
    (gemini_dir / "settings.json").write_text(json.dumps(settings, indent=2))
    env = dict(base_env if base_env is not None else os.environ)
    for name in [k for k in env if k.startswith(("GEMINI_", "GOOGLE_"))]:
        env.pop(name)
    env.update(
        HOME=str(home),
        GOOGLE_GEMINI_BASE_URL=base_url,
        GEMINI_API_KEY="test-gemini-key-offline",
        GEMINI_CLI_TRUST_WORKSPACE="true",
        NO_BROWSER="true",
    )
    return env, ["-m", model]


def backdate_gemini_sessions(
    home: str | os.PathLike[str], stamp: str = "2000-01-01T00-00"
) -> list[Path]:
    """Work around a Gemini CLI 0.61 ``session/load`` bug; call it after the first agent
    process exited and before ``session/load`` in a new one.

    Chats are recorded to ``$HOME/.gemini/tmp/<project>/chats/session-<UTC
    YYYY-MM-DDTHH-MM>-<first 8 of id>.jsonl``. ``session/load`` starts a fresh recorder
    for the same id *before* reading history; within the same UTC minute it picks the
    same file name and resets it, so the load fails ("No previous sessions found for
    this project"). Renaming the files to an old minute avoids that. Returns new paths.
    """
    out = []
    pattern = re.compile(r"^(session-)\d{4}-\d{2}-\d{2}T\d{2}-\d{2}(-.+\.jsonl?)$")
    for chat in Path(home, ".gemini", "tmp").glob("*/chats/session-*.json*"):
        match = pattern.match(chat.name)
        if match:
            renamed = chat.with_name(f"{match.group(1)}{stamp}{match.group(2)}")
            if renamed != chat and not renamed.exists():
                chat.rename(renamed)
                out.append(renamed)
    return out
