"""The official `mcp` client against tether's MCP server: stdio, streamable HTTP, WebSocket."""

from __future__ import annotations

from pathlib import Path

import anyio
import httpx
import pytest

from tests.support.hub import running_hub
from tests.support.mcp_clients import TRANSPORTS, mcp_session, text_of
from tests.support.timing import scaled
from tether.errors import AuthError

TOOLS = {
    "list_teams",
    "send_message",
    "quick_message",
    "team_status",
    "team_wake",
    "team_sleep",
    "list_sessions",
    "session_report",
    "session_cancel",
    "permission_decide",
}


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_tools_send_message_and_report(tmp_path: Path, transport: str) -> None:
    async with running_hub(tmp_path) as hub, mcp_session(transport, hub.url, hub.token) as mcp:
        tools = {t.name: t for t in (await mcp.list_tools()).tools}
        assert set(tools) == TOOLS
        assert set(tools["send_message"].input_schema["required"]) == {"to_team", "message"}
        assert all(t.description for t in tools.values())

        teams = await mcp.call_tool("list_teams", {})
        assert "demo" in text_of(teams)

        with anyio.fail_after(scaled(60)):
            reply = await mcp.call_tool(
                "send_message",
                {"to_team": "demo", "message": f"hello over {transport}", "from_team": "frontend"},
            )
        assert not reply.is_error, text_of(reply)
        assert reply.content[0].text == f"You said: hello over {transport}"
        session = reply.structured_content["session"]
        assert session.startswith("s_")

        report = await mcp.call_tool("session_report", {"session": session})
        assert not report.is_error, text_of(report)
        transcript = text_of(report)
        assert f"user (from admin): hello over {transport}" in transcript
        assert f"agent: You said: hello over {transport}" in transcript
        assert "turn finished: success" in transcript

        # The same pair continues the same conversation (one pooled session).
        with anyio.fail_after(scaled(60)):
            again = await mcp.call_tool(
                "send_message", {"to_team": "demo", "message": "second", "from_team": "frontend"}
            )
        assert again.structured_content["session"] == session
        assert again.content[0].text == "You said: second"


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_unauthenticated_client_is_refused(tmp_path: Path, transport: str) -> None:
    async with running_hub(tmp_path) as hub:
        with anyio.fail_after(scaled(30)), pytest.raises(Exception) as refused:
            async with mcp_session(transport, hub.url, "not-the-token-" + "x" * 20) as mcp:
                await mcp.list_tools()
        if transport == "ws":
            assert isinstance(refused.value, AuthError)


async def test_http_endpoint_answers_401_without_a_token(tmp_path: Path) -> None:
    async with running_hub(tmp_path, with_runner=False) as hub, httpx.AsyncClient() as http:
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
        response = await http.post(f"{hub.url}/mcp", json=body)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        response = await http.post(
            f"{hub.url}/mcp", json=body, headers={"Authorization": "Bearer wrong-token-wrong-token"}
        )
        assert response.status_code == 401
