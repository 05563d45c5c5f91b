"""The hub serves xterm.js from node_modules: exactly the allow-listed files, nothing else."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tether.app import create_app
from tether.hub.settings import HubSettings
from tether.web.headers import CSP
from tether.web.vendor import vendor_file


@pytest.fixture
def http(tmp_path: Path) -> httpx.AsyncClient:
    app = create_app(HubSettings(data_dir=tmp_path))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")


@pytest.mark.skipif(vendor_file("xterm/xterm.mjs") is None, reason="xterm.js not installed")
async def test_the_library_is_served_with_the_ui_headers(http: httpx.AsyncClient) -> None:
    async with http:
        response = await http.get("/static/vendor/xterm/xterm.mjs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.headers["content-security-policy"] == CSP
    assert "Terminal" in response.text


@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/xterm/../../../package.json",
        "/static/vendor/%2e%2e/%2e%2e/package.json",
        "/static/vendor/@xterm/xterm/package.json",
        "/static/vendor/xterm/xterm.js.map",
        "/static/vendor/claude/cli.js",
    ],
)
async def test_nothing_else_in_node_modules_is_reachable(
    http: httpx.AsyncClient, path: str
) -> None:
    async with http:
        response = await http.get(path)
    assert response.status_code == 404
    assert "devDependencies" not in response.text
