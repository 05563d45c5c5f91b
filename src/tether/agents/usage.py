"""Tokens and cost of one turn, in one shape for every agent (docs/agents.md, "Usage").

`turn_finished.usage` is `{"input_tokens": N, "output_tokens": N}` plus, where the agent
reports them, `cache_read_tokens`, `cache_write_tokens` and `reasoning_tokens`.
`input_tokens` counts every prompt token the model read in the turn, cached ones included
(Anthropic reports cache reads and writes apart from its `input_tokens`; OpenAI and Gemini
count them in), and `output_tokens` every token it wrote, reasoning included. The cache
and reasoning counts are parts of those two, never added on top. `turn_finished.cost`
is the turn's own cost in US dollars, where the agent says (Claude Code does).

Each agent reports in its own words; the functions here translate one report each.
They are pure: plain data in, `TurnUsage` out, None when the report holds no counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True)
class TurnUsage:
    """Token counts of one turn (None: the agent does not report that count)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None

    def __add__(self, other: TurnUsage) -> TurnUsage:
        """Both counts together (a turn of several model calls); unknown stays unknown."""
        summed: dict[str, int | None] = {}
        for field in fields(self):
            mine, theirs = getattr(self, field.name), getattr(other, field.name)
            summed[field.name] = (
                None if mine is None and theirs is None else (mine or 0) + (theirs or 0)
            )
        return TurnUsage(**summed)  # type: ignore[arg-type]

    def as_payload(self) -> dict[str, int]:
        """The `usage` of a `turn_finished` event (unknown counts left out)."""
        return {
            f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) is not None
        }


def _count(report: Mapping[str, Any], *names: str) -> int | None:
    """The first of `names` that holds a whole non-negative number."""
    for name in names:
        value = report.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            return value
    return None


def _usage(prompt: int | None, output: int | None, **parts: int | None) -> TurnUsage | None:
    """A `TurnUsage`, or None when the report had neither count."""
    if prompt is None and output is None:
        return None
    return TurnUsage(input_tokens=prompt or 0, output_tokens=output or 0, **parts)


def claude_usage(report: Any) -> TurnUsage | None:
    """Claude Code's `result.usage` (the turn's Messages API usage, summed by the CLI)."""
    if not isinstance(report, Mapping):
        return None
    fresh = _count(report, "input_tokens")
    cache_read = _count(report, "cache_read_input_tokens")
    cache_write = _count(report, "cache_creation_input_tokens")
    details = report.get("output_tokens_details")
    thinking = _count(details, "thinking_tokens") if isinstance(details, Mapping) else None
    prompt = None if fresh is None else fresh + (cache_read or 0) + (cache_write or 0)
    return _usage(
        prompt,
        _count(report, "output_tokens"),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=thinking or None,
    )


def claude_turn_cost(result: Mapping[str, Any], previous_total: float) -> float | None:
    """The cost of the turn a Claude Code `result` ends.

    The CLI's `total_cost_usd` is the whole conversation's, and survives a `--resume`;
    its `model_usage_since_last_result` holds this turn's cost per model. Older CLIs
    without it: the difference from the total this process reported before.
    """
    per_model = result.get("model_usage_since_last_result")
    if isinstance(per_model, Mapping) and per_model:
        costs = [m.get("costUSD") for m in per_model.values() if isinstance(m, Mapping)]
        numbers = [float(c) for c in costs if isinstance(c, int | float)]
        if numbers:
            return sum(numbers)
    total = result.get("total_cost_usd")
    if isinstance(total, int | float) and total >= previous_total:
        return float(total) - previous_total
    return None


def codex_usage(breakdown: Any) -> TurnUsage | None:
    """One model call's counts from Codex's `thread/tokenUsage/updated` (`tokenUsage.last`);
    a turn's usage is the sum of its calls."""
    if not isinstance(breakdown, Mapping):
        return None
    return _usage(
        _count(breakdown, "inputTokens"),
        _count(breakdown, "outputTokens"),
        cache_read_tokens=_count(breakdown, "cachedInputTokens"),
        cache_write_tokens=_count(breakdown, "cacheWriteInputTokens"),
        reasoning_tokens=_count(breakdown, "reasoningOutputTokens"),
    )


def gemini_usage(stats: Any) -> TurnUsage | None:
    """Headless Gemini's `result.stats` (one process per turn, so one turn's counts)."""
    if not isinstance(stats, Mapping):
        return None
    prompt, output = _count(stats, "input_tokens"), _count(stats, "output_tokens")
    return _usage(prompt, output, cache_read_tokens=_count(stats, "cached"))


def acp_usage(response: Mapping[str, Any]) -> TurnUsage | None:
    """A `session/prompt` result's `usage` (ACP's own field), else Gemini CLI's
    `_meta.quota.token_count`."""
    usage = response.get("usage")
    if isinstance(usage, Mapping):
        reported = _usage(
            _count(usage, "inputTokens"),
            _count(usage, "outputTokens"),
            cache_read_tokens=_count(usage, "cachedReadTokens"),
            cache_write_tokens=_count(usage, "cachedWriteTokens"),
            reasoning_tokens=_count(usage, "thoughtTokens"),
        )
        if reported is not None:
            return reported
    meta = response.get("_meta")
    quota = meta.get("quota") if isinstance(meta, Mapping) else None
    counts = quota.get("token_count") if isinstance(quota, Mapping) else None
    if not isinstance(counts, Mapping):
        return None
    return _usage(_count(counts, "input_tokens"), _count(counts, "output_tokens"))
