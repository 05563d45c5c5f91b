"""Drive a tether session from a program with the public client API.

Start a hub first (`tether up`), then:

    python examples/client_example.py                      # the hub `tether up` started
    python examples/client_example.py --prompt "long 5"    # any turn for the demo agent

It starts a session of a team, sends one turn, prints every event as it arrives,
allows every permission request (the demo agent asks before `run …`), and exits
when the turn is finished. Lost connections are resumed by `RemoteSession` itself.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from tether.client import HubClient, RemoteSession, SessionEvent, TokenProvider, static_token
from tether.client.access import hub_access
from tether.config import tether_home
from tether.hubfile import read_hub_url


async def main(hub_url: str, tokens: TokenProvider, team: str, prompt: str) -> int:
    # `tokens` is any `async () -> str`: here this machine's device credentials, which mint
    # (and refresh) short-lived session tokens; static_token("…") wraps a fixed one.
    async with HubClient(hub_url, tokens) as hub:
        session = await hub.start(team)
    print(f"started session {session['id']} of team {team}")

    async def on_connected(role: str, info: dict[str, Any]) -> None:
        print(f"connected as {role}; session is {info.get('state')}")

    async def on_permission_request(request: dict[str, Any]) -> None:
        print(f"permission requested: {request['tool']} {request['input']}")
        await remote.decide_permission(request["request_id"], "allow")
        print("  allowed")

    def on_disconnected(reason: str) -> None:
        print(f"(connection lost: {reason}; resuming)")

    remote = RemoteSession(
        hub_url,
        session["id"],
        tokens,
        on_connected=on_connected,
        on_permission_request=on_permission_request,
        on_disconnected=on_disconnected,
    )
    async with remote:
        await remote.send_message(prompt)
        event: SessionEvent
        async for event in remote:  # every event exactly once, in order
            print(f"{event.seq:>4} {event.kind}: {event.payload.get('text', '')}".rstrip(": "))
            if event.kind == "turn_finished":
                print(f"turn finished: {event.payload['status']}")
                return 0 if event.payload["status"] == "success" else 1
            if event.kind == "exited":
                return 1
    return 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", help="hub URL (default: the one `tether up` started)")
    parser.add_argument("--token", help="a session token (default: this machine's sign-in)")
    parser.add_argument("--team", default="demo")
    parser.add_argument("--prompt", default="run touch hello.txt")
    args = parser.parse_args()
    home = Path(tether_home())
    url = args.hub or read_hub_url(home) or "http://127.0.0.1:8765"
    tokens = static_token(args.token) if args.token else hub_access(url, home).token
    sys.exit(asyncio.run(main(url, tokens, args.team, args.prompt)))
