"""One scripted Anthropic API per test module for the real Claude Code CLI tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.anthropic_api import ScriptedAnthropicAPI


@pytest.fixture(scope="module")
def shared_api() -> Iterator[ScriptedAnthropicAPI]:
    with ScriptedAnthropicAPI() as server:
        yield server


@pytest.fixture
def api(shared_api: ScriptedAnthropicAPI) -> ScriptedAnthropicAPI:
    shared_api.clear_script()
    shared_api.clear_requests()
    return shared_api
