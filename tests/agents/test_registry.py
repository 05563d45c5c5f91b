"""The table of agent kinds: every kind a config accepts has an adapter, and the error
for one it lacks lists what there is."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest

from tether.agents.base import AgentContext
from tether.agents.registry import ADAPTERS, create_adapter
from tether.config import AgentKind, TeamConfig
from tether.errors import ConfigError
from tether.transports.local import LocalTransport


def context(team: TeamConfig, tmp_path: Path) -> AgentContext:
    return AgentContext("s_1", team, LocalTransport(), lambda event: None, tmp_path)


def test_every_kind_a_config_accepts_has_a_loadable_adapter(tmp_path: Path) -> None:
    assert set(get_args(AgentKind)) == set(ADAPTERS)
    for kind, spec in ADAPTERS.items():
        assert callable(spec.load()), kind
        assert spec.description and "\n" not in spec.description
    team = TeamConfig(name="t", path=str(tmp_path), agent="demo")
    assert type(create_adapter(context(team, tmp_path))).__name__ == "DemoAdapter"


def test_an_unknown_kind_names_the_kinds_there_are(tmp_path: Path) -> None:
    team = TeamConfig.model_construct(name="t", path=str(tmp_path), agent="<b>copilot</b>")
    with pytest.raises(ConfigError) as raised:
        create_adapter(context(team, tmp_path))
    assert "'<b>copilot</b>' is not supported" in raised.value.message
    assert raised.value.hint == "use one of: " + ", ".join(ADAPTERS)
    assert "codex" in str(raised.value.hint) and "acp" in str(raised.value.hint)
