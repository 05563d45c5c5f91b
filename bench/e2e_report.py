"""The table bench/e2e.py prints: each figure for the relay and tether, the ratio
tether / relay, and the issue's target beside it."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from e2e_deploy import DEPLOYS


@dataclass(frozen=True)
class Row:
    """One figure of one scenario, and its target (if the issue sets one)."""

    scenario: str
    label: str
    key: str
    target: str = ""
    ratio_at_least: float | None = None  # met when tether / relay ≥ this
    at_most: float | None = None  # met when tether's own figure ≤ this
    compare: bool = True  # print tether / relay (not for facts about the machine)


def _cpu_rows(scenario: str) -> list[Row]:
    return [
        Row(scenario, "machine CPU pressure %", "cpu_pressure", compare=False),
        Row(scenario, "CPU µs/line: hub", "cpu_hub"),
        Row(scenario, "CPU µs/line: runner", "cpu_runner"),
        Row(scenario, "CPU µs/line: viewer", "cpu_viewer"),
    ]


ROWS = [
    Row("flood", "lines/s", "lines_per_s", "ratio ≥ 0.80", ratio_at_least=0.80),
    Row("flood", "hub peak RSS MB", "hwm_mb"),
    Row("flood", "runner peak RSS MB", "runner_hwm_mb"),
    *_cpu_rows("flood"),
    Row("paced", "p50 ms", "p50_ms"),
    Row("paced", "p99 ms", "p99_ms", "p99 ≤ 5 ms", at_most=5.0),
    Row("paced", "max ms", "max_ms"),
    Row("paced", "hub peak RSS MB", "hwm_mb"),
    *_cpu_rows("paced"),
    Row("followers", "deliveries/s", "deliveries_per_s", "ratio ≥ 0.70", ratio_at_least=0.70),
    Row("followers", "hub peak RSS MB", "hwm_mb"),
    *_cpu_rows("followers"),
    Row("scale", "hub RSS MB", "rss_mb", "≤ 300 MB", at_most=300.0),
    Row("scale", "runner RSS MB", "runner_rss_mb"),
    Row("scale", "live p50 ms", "p50_ms"),
    Row("scale", "live p99 ms", "p99_ms", "p99 ≤ 10 ms", at_most=10.0),
    Row("scale", "live max ms", "max_ms"),
    *_cpu_rows("scale"),
    Row("scale", "setup s", "setup_s"),
]


def fmt(value: Any) -> str:
    """A figure as the table shows it."""
    if value is None:
        return "-"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, (int, float)) and abs(value) >= 1000:
        return f"{value:,.0f}"
    if isinstance(value, (int, float)):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def verdict(row: Row, tether: float | None, ratio: float | None) -> str:
    """`met`, `MISSED`, or blank when there is no target or no figure."""
    if row.ratio_at_least is not None and ratio is not None:
        return "met" if ratio >= row.ratio_at_least else "MISSED"
    if row.at_most is not None and tether is not None and not math.isnan(tether):
        return "met" if tether <= row.at_most else "MISSED"
    return ""


def table(results: dict[str, dict[str, dict[str, Any]]], deploys: list[str]) -> str:
    """results[scenario][relay|up|split] → the printed table."""
    head = ["scenario", "figure", "relay"]
    for kind in deploys:
        head += [DEPLOYS[kind], f"{kind}/relay", ""]
    head.append("target")
    lines = [head]
    for row in ROWS:
        if row.scenario not in results:
            continue
        figures = results[row.scenario]
        base = _figure(figures.get("relay"), row.key)
        cells = [row.scenario, row.label, fmt(base)]
        for kind in deploys:
            value = _figure(figures.get(kind), row.key)
            ratio = value / base if value is not None and base and row.compare else None
            cells += [
                fmt(value),
                fmt(ratio) if ratio is not None else "-",
                verdict(row, value, ratio),
            ]
        cells.append(row.target)
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
           for line in lines]  # fmt: skip
    out.insert(1, "-" * len(out[0]))
    return "\n".join(out)


def deliveries(results: dict[str, dict[str, dict[str, Any]]]) -> str:
    """Per scenario and system: did every line arrive exactly once, in order?"""
    out = []
    for scenario, figures in results.items():
        for kind, fig in figures.items():
            if "error" in fig:
                out.append(f"  {scenario:<10} {kind:<6} FAILED: {fig['error'].splitlines()[0]}")
            else:
                word = "every line once, in order" if fig.get("once") else "LINES LOST/DUPLICATED"
                out.append(f"  {scenario:<10} {kind:<6} {word} ({fig.get('checked', '')})")
    return "\n".join(out)


def exit_status(results: dict[str, dict[str, dict[str, Any]]], json_path: Path | None) -> int:
    """Write the figures to `json_path` (--json, when given); 0 when every run measured and
    delivered every line exactly once, else 1."""
    if json_path:
        json_path.write_text(json.dumps(results, indent=2, default=str))
    ok = all("error" not in f and f.get("once") for run in results.values() for f in run.values())
    return 0 if ok else 1


def _figure(fig: dict[str, Any] | None, key: str) -> float | None:
    if not fig or "error" in fig:
        return None
    value = fig.get(key)
    return float(value) if isinstance(value, (int, float)) else None
