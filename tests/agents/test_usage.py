"""Each agent's token report, translated into the one `usage` shape of `turn_finished`."""

from __future__ import annotations

from acp.schema import Cost, UsageUpdate

from tether.agents.acp_client import TetherAcpClient
from tether.agents.usage import (
    TurnUsage,
    acp_usage,
    claude_turn_cost,
    claude_usage,
    codex_usage,
    gemini_usage,
)


def test_codex_calls_of_one_turn_add_up() -> None:
    # `thread/tokenUsage/updated` → tokenUsage.last, once per model call (codex 0.169).
    call = {
        "totalTokens": 15,
        "inputTokens": 10,
        "cachedInputTokens": 4,
        "cacheWriteInputTokens": 0,
        "outputTokens": 5,
        "reasoningOutputTokens": 2,
    }
    one = codex_usage(call)
    assert one is not None
    turn = one + one
    assert turn.as_payload() == {
        "input_tokens": 20,
        "output_tokens": 10,
        "cache_read_tokens": 8,
        "cache_write_tokens": 0,
        "reasoning_tokens": 4,
    }


def test_unknown_counts_stay_unknown_when_added() -> None:
    plain = TurnUsage(input_tokens=1, output_tokens=2)
    assert (plain + plain).as_payload() == {"input_tokens": 2, "output_tokens": 4}
    cached = TurnUsage(input_tokens=1, output_tokens=1, cache_read_tokens=1)
    assert (plain + cached).cache_read_tokens == 1


def test_gemini_headless_stats() -> None:
    stats = {"total_tokens": 30, "input_tokens": 20, "output_tokens": 10, "cached": 5, "input": 15}
    usage = gemini_usage(stats)
    assert usage is not None
    assert usage.as_payload() == {"input_tokens": 20, "output_tokens": 10, "cache_read_tokens": 5}


def test_acp_usage_field_else_gemini_quota_meta() -> None:
    standard = {
        "stopReason": "end_turn",
        "usage": {"inputTokens": 7, "outputTokens": 3, "thoughtTokens": 1, "cachedReadTokens": 2},
    }
    gemini = {
        "stopReason": "end_turn",
        "_meta": {"quota": {"token_count": {"input_tokens": 12, "output_tokens": 4}}},
    }
    assert acp_usage(standard) == TurnUsage(7, 3, cache_read_tokens=2, reasoning_tokens=1)
    assert acp_usage(gemini) == TurnUsage(12, 4)
    assert acp_usage({"stopReason": "end_turn"}) is None


def test_reports_without_counts_are_no_usage() -> None:
    assert claude_usage(None) is None
    assert claude_usage({"service_tier": "standard"}) is None
    assert codex_usage("15 tokens") is None
    assert gemini_usage({"duration_ms": 3}) is None
    assert claude_usage({"input_tokens": True, "output_tokens": 3.5}) is None  # not counts


def test_claude_turn_cost_prefers_the_per_turn_figure() -> None:
    per_turn = {"total_cost_usd": 0.3, "model_usage_since_last_result": {"a": {"costUSD": 0.1}}}
    assert claude_turn_cost(per_turn, previous_total=0.0) == 0.1
    # The total survives `--resume` (a new process): without the per-turn figure the
    # difference is only right within one process; a total below the last one is no cost.
    assert claude_turn_cost({"total_cost_usd": 0.3}, previous_total=0.2) == 0.3 - 0.2
    assert claude_turn_cost({"total_cost_usd": 0.1}, previous_total=0.2) is None
    assert claude_turn_cost({}, previous_total=0.0) is None


async def test_an_acp_agent_s_running_cost_is_kept_in_dollars_only() -> None:
    client = TetherAcpClient(lambda event: None, "acp", None)

    async def report(amount: float, currency: str) -> None:
        update = UsageUpdate(
            session_update="usage_update",
            used=10,
            size=100,
            cost=Cost(amount=amount, currency=currency),
        )
        await client.session_update("sess_1", update)

    await report(0.25, "USD")
    assert client.cost_total == 0.25
    await report(99.0, "EUR")  # another currency cannot be added up with dollars
    assert client.cost_total == 0.25
