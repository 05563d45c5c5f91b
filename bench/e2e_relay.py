"""The baseline of the end-to-end benchmark: a bare asyncio `websockets` relay.

    python bench/e2e_relay.py serve PORT            # the relay (prints "ready" when listening)
    python bench/e2e_relay.py produce URL CHANNEL   # a producer on ws://…/pub/CHANNEL

Producer → relay → consumers, one process each, like agent → tether → viewer. A
consumer connects to `/sub/CHANNEL`; every frame the channel's producer sends is
broadcast to the channel's consumers (`websockets.broadcast`: no per-consumer task, no
copy, nothing dropped); a frame a consumer sends goes to the producer — that is how a
consumer hands it a command (bench/e2e_lines.py), as a viewer sends a user message.
No JSON, no storage, no auth: the cost of moving the same lines over the same sockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from dataclasses import dataclass, field

from e2e_lines import make_line, parse_command
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed


@dataclass
class Channel:
    """One producer and its consumers."""

    producer: ServerConnection | None = None
    consumers: set[ServerConnection] = field(default_factory=set)


class Relay:
    """Routes frames between each channel's producer and its consumers."""

    def __init__(self) -> None:
        self.channels: dict[str, Channel] = {}

    async def handle(self, ws: ServerConnection) -> None:
        """Serve one connection: `/pub/NAME` or `/sub/NAME` (until it goes away)."""
        with contextlib.suppress(ConnectionClosed):
            await self._serve(ws)

    async def _serve(self, ws: ServerConnection) -> None:
        path = ws.request.path if ws.request is not None else ""
        role, _, name = path.strip("/").partition("/")
        channel = self.channels.setdefault(name, Channel())
        if role == "pub":
            channel.producer = ws
            try:
                async for frame in ws:
                    broadcast(channel.consumers, frame)
            finally:
                channel.producer = None
        elif role == "sub":
            channel.consumers.add(ws)
            try:
                async for frame in ws:
                    if channel.producer is not None:
                        await channel.producer.send(frame)
            finally:
                channel.consumers.discard(ws)
        else:
            await ws.close(1008, "use /pub/NAME or /sub/NAME")


async def relay_main(port: int) -> None:
    """Serve until killed."""
    relay = Relay()
    async with serve(
        relay.handle, "127.0.0.1", port, compression=None, max_size=None, max_queue=None
    ):
        print("ready", flush=True)
        await asyncio.Future()


async def produce(ws: ClientConnection, text: str) -> None:
    """Carry out one command: lines as frames, as fast as the socket takes them or paced."""
    command = parse_command(text)
    if command is None:
        return
    if command.action == "flood":
        for index in range(command.count):
            await ws.send(make_line(command.tag, index, command.size))
        return
    loop = asyncio.get_running_loop()
    start = loop.time()
    for index in range(command.count):
        delay = start + index / command.rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        await ws.send(make_line(command.tag, index, command.size))


async def producer_main(url: str, channel: str) -> None:
    """Connect as the channel's producer and run commands until the relay goes away."""
    async with connect(f"{url}/pub/{channel}", compression=None, max_size=None) as ws:
        print("ready", flush=True)
        try:
            async for frame in ws:
                await produce(ws, frame if isinstance(frame, str) else frame.decode())
        except ConnectionClosed:
            pass


def main() -> None:
    """`serve PORT` or `produce URL CHANNEL`."""
    if len(sys.argv) == 3 and sys.argv[1] == "serve":
        asyncio.run(relay_main(int(sys.argv[2])))
    elif len(sys.argv) == 4 and sys.argv[1] == "produce":
        asyncio.run(producer_main(sys.argv[2], sys.argv[3]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
