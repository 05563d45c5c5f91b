"""A local HTTP receiver standing in for a webhook endpoint, an ntfy server or a push
service: it records every POST and answers with the status the test chose."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.hub import serving
from tests.support.timing import scaled


@dataclass(frozen=True)
class Received:
    """One request the receiver got."""

    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records POSTs; `statuses` are answered in turn (then 200)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    got: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)
    all: list[Received] = field(default_factory=list)

    async def handle(self, request: Request) -> Response:
        received = Received(
            request.url.path,
            {k.lower(): v for k, v in request.headers.items()},
            await request.body(),
            time.monotonic(),
        )
        self.all.append(received)
        await self.got.put(received)
        status = self.statuses.pop(0) if self.statuses else 201
        return Response(status_code=status)

    async def next(self, timeout: float = 15.0) -> Received:
        """The next request (fails the test after `timeout`, scaled)."""
        return await asyncio.wait_for(self.got.get(), scaled(timeout))

    async def next_event(self, event: str, timeout: float = 15.0) -> Received:
        """The next request whose JSON `event` is `event` (others are skipped)."""
        while True:
            received = await self.next(timeout)
            if received.json().get("event") == event:
                return received

    def nothing_queued(self) -> bool:
        """Has everything received been taken?"""
        return self.got.empty()


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    """A receiver on 127.0.0.1:<free port>."""
    rx = Receiver()
    app = Starlette(routes=[Route("/{path:path}", rx.handle, methods=["POST"])])
    async with serving(app) as url:  # type: ignore[arg-type]
        rx.url = url
        yield rx
