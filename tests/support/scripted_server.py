"""The scaffold the scripted model servers build on (anthropic_api.py, openai_responses.py,
gemini_api.py): real agent CLIs talk to them instead of a model provider.

A `ScriptedServer` is a Starlette app served by uvicorn in a daemon thread on 127.0.0.1,
on a free port, so sync and async tests use it alike (`with` / `async with`, or
`start()` / `stop()`). Tests `script(...)` replies; each request that belongs to the
agent's main loop takes the next one (then `default_reply`), side requests (titles,
token counts …) never touch the script. Every request is recorded, in order, and a test
can wait for the n-th main one. A reply may hang until `release()`; `stop()` ends
in-flight streams promptly (a hanging stream sees `pause`/`wait_released` return False).

A server subclass gives its routes (`routes()`) and, in them, records what came and picks
a reply with `take_reply(side=...)`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Self, TypeVar

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute

R = TypeVar("R")
Q = TypeVar("Q", bound="Recorded")


@dataclass
class Recorded:
    """One HTTP request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    side: bool = True
    """Answered without taking a scripted reply."""
    reply: Any = None
    """The reply a main request took."""
    query: str = ""
    completed: bool = False
    """The whole response was sent (False: the client hung up mid-stream, e.g. an interrupt)."""
    received_at: float = field(default_factory=time.monotonic)

    def body_list(self, key: str) -> list[dict[str, Any]]:
        """The list at `key` of a JSON object body (`[]` when there is none)."""
        items = self.body.get(key) if isinstance(self.body, dict) else None
        return items if isinstance(items, list) else []

    def text_blob(self) -> str:
        """The whole body as JSON text (for "does X reach the model")."""
        return json.dumps(self.body, ensure_ascii=False)


async def read_body(request: Request) -> tuple[bytes, Any]:
    """A request's raw body and its JSON (the text when it is not JSON; None when empty)."""
    raw = await request.body()
    if not raw:
        return raw, None
    try:
        return raw, json.loads(raw)
    except ValueError:
        return raw, raw.decode("utf-8", errors="replace")


def split_text(text: str, pieces: int) -> list[str]:
    """`text` in at most `pieces` consecutive chunks of about equal size."""
    if pieces <= 1 or len(text) <= 1:
        return [text]
    size = -(-len(text) // min(pieces, len(text)))
    return [text[i : i + size] for i in range(0, len(text), size)]


class ScriptedServer(Generic[R, Q]):
    """A scripted HTTP server on 127.0.0.1 (see the module docstring)."""

    name = "scripted server"

    def __init__(self, default_reply: R) -> None:
        self.default_reply = default_reply
        self._script: list[R] = []
        self._requests: list[Q] = []
        self._cond = threading.Condition()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port: int | None = None
        self._stopping = threading.Event()
        self._released = threading.Event()
        self.app = Starlette(routes=list(self.routes()))

    def routes(self) -> Sequence[BaseRoute]:
        """The server's routes (a subclass's)."""
        raise NotImplementedError

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise RuntimeError(f"{self.name} not started")
        return self._port

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT` (no trailing slash)."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> Self:
        """Bind a free port and serve in a daemon thread; returns `self`."""
        if self._server is not None:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self._port = sock.getsockname()[1]
        self._stopping.clear()
        config = uvicorn.Config(self.app, log_level="warning", access_log=False, lifespan="off")
        config.timeout_graceful_shutdown = 1
        server = self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name=self.name, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} failed to start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """End in-flight streams, shut the server down and join its thread."""
        self._stopping.set()
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, *exc: object) -> None:
        await asyncio.to_thread(self.stop)

    # -- the script ------------------------------------------------------------------------

    def script(self, *replies: R) -> Self:
        """Append replies, taken in order by main requests."""
        with self._cond:
            self._script.extend(replies)
        return self

    def clear_script(self) -> None:
        """Drop the replies not taken yet."""
        with self._cond:
            self._script.clear()

    @property
    def pending(self) -> int:
        """How many scripted replies are left."""
        with self._cond:
            return len(self._script)

    def take_reply(self, *, side: bool, side_reply: R) -> R:
        """The reply for a request: `side_reply` for a side request, else the next scripted
        one (then `default_reply`)."""
        if side:
            return side_reply
        with self._cond:
            return self._script.pop(0) if self._script else self.default_reply

    # -- recording -------------------------------------------------------------------------

    def record(self, request: Q) -> Q:
        """Note a request (and wake whoever waits for it); returns it."""
        with self._cond:
            self._requests.append(request)
            self._cond.notify_all()
        return request

    @property
    def requests(self) -> list[Q]:
        """Every request so far, in arrival order."""
        with self._cond:
            return list(self._requests)

    @property
    def main_requests(self) -> list[Q]:
        """The requests that took a scripted (or the default) reply."""
        with self._cond:
            return [r for r in self._requests if not r.side]

    def clear_requests(self) -> None:
        """Forget the recorded requests."""
        with self._cond:
            self._requests.clear()

    def wait_for_requests(self, count: int, timeout: float = 30.0) -> list[Q]:
        """Block until `count` main requests have arrived; return them (TimeoutError if not)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                mains = [r for r in self._requests if not r.side]
                if len(mains) >= count:
                    return mains
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"got {len(mains)} main requests, wanted {count}")
                self._cond.wait(left)

    async def async_wait_for_requests(self, count: int, timeout: float = 30.0) -> list[Q]:
        """`wait_for_requests` off the event loop."""
        return await asyncio.to_thread(self.wait_for_requests, count, timeout)

    # -- streams that take their time ------------------------------------------------------

    def release(self) -> None:
        """Let every reply that hangs now go on."""
        self._released.set()

    def arm_hang(self) -> None:
        """A hanging reply starts: it waits for the next `release()`."""
        self._released.clear()

    async def pause(self, seconds: float) -> bool:
        """Sleep in a stream; False if the server is stopping (end the stream then)."""
        end = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return True
            await asyncio.sleep(min(left, 0.05))
        return False

    async def wait_released(self) -> bool:
        """Until `release()`; False if the server stops first."""
        while not self._stopping.is_set():
            if self._released.is_set():
                return True
            await asyncio.sleep(0.05)
        return False
