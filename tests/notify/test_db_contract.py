"""The notification tables on both stores (SQLite and PostgreSQL): the same answers, a
cursor that only moves forward, one capability answer per request even under a race."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tether.notify import lost
from tether.notify.contract import Notification
from tether.notify.db import NotifyDb
from tether.notify.outbox import LEASE_S
from tether.notify.records import NotifiedRequest, Sink, Step


def note(request_id: str | None = "r1") -> Notification:
    return Notification(
        event="permission_request",
        id=f"n-{request_id}",
        session="s_1",
        team="demo",
        url="http://127.0.0.1/sessions/s_1",
        title="demo wants to run",
        summary="touch x",
        ts=time.time(),
        request_id=request_id,
        tool="Bash",
        input={"command": "touch x"},
    )


async def test_a_step_queues_opens_and_moves_the_cursor_forward_only(any_store: Any) -> None:
    db = NotifyDb(any_store)
    now = time.time()
    await db.add_sink(Sink("k_1", "u_1", "webhook", "https://example.test/h", "http://h", now))
    request = NotifiedRequest("s_1", "r1", "u_1", note(), now, remind_at=now + 300)
    queued = await db.commit_step(Step("s_1", 0, 7, [("k_1", note())], [request], []), now)
    assert queued is not None
    assert [d.sink_id for d in queued] == ["k_1"] and queued[0].id > 0
    assert await db.cursor("s_1") == 7
    assert await db.commit_step(Step("s_1", 0, 3, [], [], [("r1", "answered")]), now) is None
    assert await db.cursor("s_1") == 7  # an older step never moves it back
    assert await db.open_requests("s_1") != []  # ...nor does any of its work
    assert await db.commit_step(Step("s_1", 7, 9, [], [], [("r1", "answered")]), now) == []
    assert await db.open_requests("s_1") == []
    assert await db.claim_due(now + 1) == []  # held by the notifier that queued it
    due = await db.claim_due(now + LEASE_S + 1)  # that notifier died before sending it
    assert [d.notification.request_id for d in due] == ["r1"]
    await db.delivered(due[0], now, sent=True)
    assert await db.sent_to("s_1", "r1") == ["k_1"]
    assert await db.claim_due(now + 3 * LEASE_S) == []


async def test_replicas_that_saw_the_same_events_queue_them_once(any_store: Any) -> None:
    """Two hub replicas may both deal with one session's events (one of them not yet told
    where its runner is): the first to move the cursor past them sends, the other nothing."""
    dbs = [NotifyDb(any_store) for _ in range(4)]
    now = time.time()
    await dbs[0].add_sink(Sink("k_1", "u_1", "webhook", "https://example.test/h", "http://h", now))
    request = NotifiedRequest("s_1", "r1", "u_1", note(), now, remind_at=now)
    steps = [Step("s_1", 0, 5, [("k_1", note())], [request], []) for _ in dbs]
    results = await asyncio.gather(
        *(db.commit_step(s, now) for db, s in zip(dbs, steps, strict=True))
    )
    assert sorted(len(r) if r is not None else -1 for r in results) == [-1, -1, -1, 1]
    assert len(await dbs[0].claim_due(now + LEASE_S + 1)) == 1
    reminded = await asyncio.gather(*(db.remind(request, [("k_1", note())], now) for db in dbs))
    assert sorted(len(r) for r in reminded) == [0, 0, 0, 1]  # one reminder, whoever is first


async def test_one_answer_per_request_under_a_race(any_store: Any) -> None:
    dbs = [NotifyDb(any_store) for _ in range(6)]
    claims = await asyncio.gather(
        *(
            db.claim_answer("s_1", "r1", "allow", f"k_{n}", f"alice via {n}", "1.2.3.4", 1.0)
            for n, db in enumerate(dbs)
        )
    )
    assert claims.count(True) == 1
    winner = claims.index(True)
    assert await dbs[0].answer_of("s_1", "r1") == f"alice via {winner}"
    await dbs[0].release_answer("s_1", "r1")
    assert await dbs[0].answer_of("s_1", "r1") is None


async def test_a_browser_subscribing_again_replaces_its_sink(any_store: Any) -> None:
    db = NotifyDb(any_store)
    now = time.time()
    first = Sink("k_a", "u_1", "webpush", "https://push.test/a", "http://h", now, device_id="d_1")
    again = Sink(
        "k_b", "u_1", "webpush", "https://push.test/b", "http://h", now + 1, device_id="d_1"
    )
    await db.add_sink(first)
    await db.add_sink(again)
    assert [s.id for s in await db.sinks_of("u_1")] == ["k_b"]
    await db.note_outcome("k_b", "410 gone")
    sink = await db.sink("k_b")
    assert sink is not None and sink.failures == 1 and sink.last_error == "410 gone"
    assert not await db.remove_sink("k_b", user_id="u_other")
    assert await db.remove_sink("k_b", user_id="u_1")


async def test_a_lost_runner_is_told_once_across_replicas_until_it_is_back(any_store: Any) -> None:
    now = time.time()
    lost_note = [("k_1", note(None))]
    told = await asyncio.gather(*(lost.tell_lost(any_store, "s_1", lost_note, now) for _ in "abc"))
    assert sorted(len(t) for t in told) == [0, 0, 1]
    assert await lost.tell_lost(any_store, "s_1", lost_note, now) == []  # still away: told
    await lost.runner_back(any_store, "s_1")
    assert len(await lost.tell_lost(any_store, "s_1", lost_note, now)) == 1  # news again


async def test_replicas_polling_at_once_claim_each_delivery_once(any_store: Any) -> None:
    """Every replica polls the queue: a due delivery goes to one of them, and one that was
    just claimed (or just queued by the notifier sending it) to none of the others."""
    dbs = [NotifyDb(any_store) for _ in range(4)]
    now = time.time()
    await dbs[0].add_sink(Sink("k_1", "u_1", "webhook", "https://example.test/h", "http://h", now))
    steps = [Step(f"s_{i}", 0, 1, [("k_1", note())], [], []) for i in range(12)]
    for step in steps:
        assert await dbs[0].commit_step(step, now) is not None
    later = now + LEASE_S + 1  # the replica that queued them died
    claims = await asyncio.gather(*(db.claim_due(later, limit=5) for db in dbs))
    ids = [d.id for claim in claims for d in claim]
    assert len(ids) == len(set(ids)) == 12
    assert await asyncio.gather(*(db.claim_due(later + 1) for db in dbs)) == [[]] * 4
    retried = next(d for claim in claims for d in claim)  # whoever got it
    await dbs[0].retry_later(retried, later + 5)  # a failed send, tried again later
    again = await asyncio.gather(*(db.claim_due(later + 6) for db in dbs))
    assert sorted(d.id for claim in again for d in claim) == [retried.id]
