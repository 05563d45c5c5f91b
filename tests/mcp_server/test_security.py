"""MCP endpoint security: sessions bound to their principal, runners refused, WS framing."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.support.hub import running_hub
from tests.support.timing import scaled

HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}


@contextlib.asynccontextmanager
async def hub_of_two_users(data_dir: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A hub, and a session token each for alice, bob and a runner device."""
    async with running_hub(data_dir, with_runner=False) as hub:
        alice = await hub.device(await hub.user("alice"))
        bob = await hub.device(await hub.user("bob"))
        runner = await hub.runner_token("r1")
        yield (
            hub.url,
            {"alice": await alice.token(), "bob": await bob.token(), "r1": await runner()},
        )


def bearer(token: str) -> dict[str, str]:
    return {**HEADERS, "Authorization": f"Bearer {token}"}


async def test_an_mcp_session_answers_only_the_principal_that_opened_it(tmp_path: Path) -> None:
    async with (
        hub_of_two_users(tmp_path) as (url, tokens),
        httpx.AsyncClient(timeout=scaled(30)) as http,
    ):
        opened = await http.post(f"{url}/mcp", json=INITIALIZE, headers=bearer(tokens["alice"]))
        assert opened.status_code == 200, opened.text
        session_id = opened.headers["mcp-session-id"]
        listing = {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}
        as_bob = await http.post(
            f"{url}/mcp",
            json=listing,
            headers={
                **bearer(tokens["bob"]),
                "Mcp-Session-Id": session_id,
                "Mcp-Protocol-Version": "2025-06-18",
            },
        )
        assert as_bob.status_code == 404

        runner = await http.post(f"{url}/mcp", json=INITIALIZE, headers=bearer(tokens["r1"]))
        assert runner.status_code == 403


async def test_websocket_takes_one_json_rpc_message_per_text_frame(tmp_path: Path) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub:
        url = hub.url.replace("http://", "ws://") + "/mcp/ws"
        headers = {"Authorization": f"Bearer {hub.token}"}
        async with connect(
            url,
            subprotocols=["mcp"],  # type: ignore[list-item]
            additional_headers=headers,
        ) as ws:
            assert ws.subprotocol == "mcp"
            await ws.send(json.dumps(INITIALIZE))
            answer = json.loads(await asyncio.wait_for(ws.recv(), scaled(30)))
            assert answer["id"] == 1 and answer["result"]["serverInfo"]["name"] == "tether"
            await ws.send("not json")
            error = json.loads(await asyncio.wait_for(ws.recv(), scaled(30)))
            assert error["id"] is None and error["error"]["code"] == -32700
            await ws.send(b"\x00binary")
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), scaled(30))
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
