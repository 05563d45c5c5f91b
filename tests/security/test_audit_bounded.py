"""Nobody can grow the audit log without bound: failed authentication is aggregated per
source address and minute, also when the attacker rotates addresses."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.authhub import secure_hub
from tests.support.timing import scaled
from tether.auth.audit import OVERFLOW_ADDRESS, AuditRow, FailedAuthLog
from tether.hub.settings import HubSettings


def failed_rows(db: Path, action: str = "auth_failed") -> list[tuple[str | None, dict[str, Any]]]:
    import json

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT address, details FROM audit_log WHERE action=? ORDER BY id", (action,)
        ).fetchall()
    return [(address, json.loads(details)) for address, details in rows]


async def hammer(url: str, count: int, headers: Any = None) -> set[int]:
    """`count` requests with bogus bearer tokens, 16 at a time; the statuses seen."""
    statuses: set[int] = set()
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=60) as http:
        gate = asyncio.Semaphore(16)

        async def one(i: int) -> None:
            extra = headers(i) if callable(headers) else {}
            async with gate:
                response = await http.get(
                    "/v1/sessions", headers={"Authorization": f"Bearer eyJbogus.{i}.x", **extra}
                )
            statuses.add(response.status_code)

        await asyncio.gather(*(one(i) for i in range(count)))
    return statuses


async def test_ten_thousand_bogus_tokens_from_one_address_are_a_handful_of_rows(
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    async with secure_hub(tmp_path, with_runner=False) as hub:
        assert await hammer(hub.url, 10_000) == {401}
        minutes = (time.monotonic() - started) / 60
    # The hub has shut down: every pending count is written.
    rows = failed_rows(tmp_path / "tether.db")
    assert sum(details["count"] for _, details in rows) == 10_000
    assert {address for address, _ in rows} == {"127.0.0.1"}
    assert len(rows) <= 2 * (int(minutes) + 2)  # a first row and a summary per minute
    summary = max(rows, key=lambda r: r[1]["count"])[1]
    assert summary["summary"] is True and summary["reasons"] == {"/v1/sessions": summary["count"]}


async def test_rotating_addresses_through_a_trusted_proxy_stays_bounded(tmp_path: Path) -> None:
    # Even where forwarded addresses are believed, at most 100 sources a minute get rows
    # of their own; the rest share one summary row.
    settings = HubSettings(data_dir=tmp_path, trusted_proxies=("127.0.0.1",))
    async with secure_hub(tmp_path, with_runner=False, settings=settings) as hub:
        statuses = await hammer(
            hub.url, 1_000, lambda i: {"X-Forwarded-For": f"10.{i // 250}.{i % 250}.1"}
        )
        assert statuses == {401}
    rows = failed_rows(tmp_path / "tether.db")
    assert sum(details["count"] for _, details in rows) == 1_000
    assert len(rows) <= 2 * (100 + 1) * 2  # two minutes at the very most
    overflow = [d for address, d in rows if address == OVERFLOW_ADDRESS]
    assert overflow and max(d.get("addresses", 0) for d in overflow) > 100


async def test_a_closed_minute_is_summarised_without_another_failure() -> None:
    written: list[AuditRow] = []

    async def write(row: AuditRow) -> None:
        written.append(row)

    failures = FailedAuthLog(write, time.time, window_s=0.2)
    for _ in range(5):
        await failures.failed(
            AuditRow(time.time(), "auth_failed", None, None, None, "192.0.2.1", {"path": "/x"})
        )
    deadline = time.monotonic() + scaled(10)
    while sum(r.details["count"] for r in written) < 5 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await failures.close()
    counts = [r.details["count"] for r in written]
    assert sum(counts) == 5 and len(written) <= 2 * 2, counts


async def test_summaries_are_new_rows_in_an_append_only_log(tmp_path: Path) -> None:
    async with secure_hub(tmp_path, with_runner=False) as hub:
        await hammer(hub.url, 20)
    with sqlite3.connect(tmp_path / "tether.db") as conn:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE audit_log SET details='{}'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM audit_log")
    assert sum(d["count"] for _, d in failed_rows(tmp_path / "tether.db")) == 20
