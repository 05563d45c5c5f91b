"""The delivery rules as data: every branch of the runner's SenderLog and the hub's
Receiver, and a simulated wire that drops, duplicates, reorders and reconnects while
the store commits or fails — the log still ends up exactly-once and gap-free."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tether.protocol.delivery import (
    Closing,
    HubCursor,
    Incoming,
    Plan,
    Receiver,
    SenderLog,
    Verdict,
)
from tether.protocol.messages import CloseCode

# -- runner side -------------------------------------------------------------------------


def test_a_session_numbers_its_events_from_one() -> None:
    log = SenderLog()
    assert [log.assign() for _ in range(3)] == [1, 2, 3]
    assert log.has_unsent and log.unacked == 3


def test_acks_are_cumulative_old_ones_change_nothing_and_none_goes_past_the_last() -> None:
    log = SenderLog()
    for _ in range(10):
        log.assign()
    assert log.ack(4) == 4
    assert log.ack(2) is None and log.ack(4) is None
    assert log.unacked == 6
    assert log.ack(99) == 10
    assert log.unacked == 0


def test_welcome_resends_everything_after_what_the_hub_holds() -> None:
    log = SenderLog()
    for _ in range(10):
        log.assign()
    log.mark_sent(10)
    log.ack(2)
    assert not log.has_unsent
    assert log.welcome(6) == 6  # the hub stored up to 6 before the connection dropped
    assert (log.sent, log.acked, log.has_unsent) == (6, 6, True)


def test_welcome_holding_less_than_was_acked_resends_only_the_unacked() -> None:
    log = SenderLog()
    for _ in range(5):
        log.assign()
    log.ack(4)
    assert log.welcome(0) is None  # a session the hub does not mention
    assert log.sent == 4


def test_welcome_holding_more_than_we_remember_continues_after_it() -> None:
    log = SenderLog()
    log.assign()
    log.welcome(40)  # the runner restarted; the hub has more of this session
    assert (log.last_seq, log.acked, log.sent) == (40, 40, 40)
    assert log.assign() == 41


def test_start_at_numbers_on_after_a_seq_but_never_backwards() -> None:
    log = SenderLog()
    log.start_at(7)
    assert log.assign() == 8
    log.start_at(3)
    assert log.assign() == 9


# -- hub side ----------------------------------------------------------------------------

MINE = "r1"


def cursor(durable: int = 0, submitted: int = 0, runner: str | None = MINE) -> HubCursor:
    return HubCursor(runner, durable=durable, submitted=submitted)


@pytest.mark.parametrize(
    ("state", "seq", "verdict", "submitted_after"),
    [
        pytest.param(cursor(3, 3), 4, Verdict.ACCEPT, 4, id="next-in-line"),
        pytest.param(cursor(3, 5), 6, Verdict.ACCEPT, 6, id="next-after-in-flight"),
        pytest.param(cursor(3, 3), 3, Verdict.DUPLICATE, 3, id="stored-already"),
        pytest.param(cursor(3, 5), 5, Verdict.DUPLICATE, 5, id="being-written"),
        pytest.param(cursor(3, 3), 1, Verdict.DUPLICATE, 3, id="far-behind"),
        pytest.param(cursor(3, 3), 5, Verdict.GAP, 3, id="skips-one"),
        pytest.param(cursor(0, 0), 2**63, Verdict.GAP, 0, id="huge-seq"),
        pytest.param(cursor(3, 3, runner="r2"), 4, Verdict.FOREIGN, 3, id="another-runner"),
        pytest.param(cursor(0, 0, runner=None), 1, Verdict.FOREIGN, 0, id="no-runner"),
    ],
)
def test_each_event_gets_one_verdict(
    state: HubCursor, seq: int, verdict: Verdict, submitted_after: int
) -> None:
    durable = state.durable
    assert Receiver(MINE).receive(Incoming("s", seq), state) is verdict
    assert state.submitted == submitted_after
    assert state.durable == durable  # only a finished write makes anything durable


def test_an_unknown_session_is_refused() -> None:
    assert Receiver(MINE).receive(Incoming("s_nope", 1), None) is Verdict.UNKNOWN


def test_a_gap_condemns_the_connection_and_everything_after_it_is_ignored() -> None:
    receiver = Receiver(MINE)
    state = cursor(3, 3)
    assert receiver.receive(Incoming("s", 9), state) is Verdict.GAP
    assert receiver.closing == Closing(CloseCode.PROTOCOL_ERROR, "seq gap in s: expected 4")
    assert receiver.receive(Incoming("s", 4), state) is Verdict.IGNORED
    assert receiver.receive(Incoming("s", 4), None) is Verdict.IGNORED
    assert state.submitted == 3


def test_a_batch_plan_stores_the_accepted_refuses_strangers_and_acks_its_sessions() -> None:
    receiver = Receiver(MINE)
    cursors = {"a": cursor(1, 1), "b": cursor(5, 5), "theirs": cursor(runner="r2")}
    batch = [
        Incoming("a", 2),
        Incoming("nope", 1),
        Incoming("b", 5),  # a resend of something stored
        Incoming("theirs", 1),
        Incoming("a", 3),
        Incoming("b", 6),
    ]
    plan = receiver.plan(batch, cursors)
    assert plan.accepted == [0, 4, 5]
    assert [(r.code, r.message) for r in plan.refusals] == [
        ("not_found", "no session 'nope' on this hub"),
        ("forbidden", "session theirs belongs to another runner"),
    ]
    assert plan.acks == ["a", "b"]
    assert (cursors["a"].submitted, cursors["b"].submitted) == (3, 6)
    assert receiver.closing is None


def test_a_batch_with_a_gap_keeps_what_came_before_and_nothing_after() -> None:
    receiver = Receiver(MINE)
    cursors = {"a": cursor(0, 0), "b": cursor(0, 0)}
    batch = [Incoming("a", 1), Incoming("a", 3), Incoming("b", 1)]
    plan = receiver.plan(batch, cursors)
    assert plan.accepted == [0]
    assert plan.acks == ["a"]
    assert receiver.closing is not None and receiver.closing.code == CloseCode.PROTOCOL_ERROR
    assert cursors["b"].submitted == 0


def test_stored_events_are_new_only_when_they_extend_the_log() -> None:
    state = cursor(3, 6)
    assert Receiver.stored(Incoming("s", 4), state) is True
    assert (state.durable, state.submitted) == (4, 6)
    assert Receiver.stored(Incoming("s", 4), state) is False  # a raced resend, stored twice
    assert Receiver.stored(Incoming("s", 6), state) is False  # past a hole: it comes again
    assert state.durable == 4


def test_a_durable_write_says_what_is_new_and_acks_what_is_durable() -> None:
    receiver = Receiver(MINE)
    cursors = {"a": cursor(2, 2), "b": cursor(4, 4)}
    batch = [Incoming("b", 3), Incoming("a", 3), Incoming("a", 4)]
    plan = receiver.plan(batch, cursors)
    cursors["a"].durable = 3  # an older connection's write of a:3 landed meanwhile
    written = receiver.written(plan, batch, cursors)
    assert written.new == [2]
    assert written.acks == [("b", 4), ("a", 4)]


def test_the_ack_is_what_is_durable_not_what_is_being_written() -> None:
    receiver = Receiver(MINE)
    cursors = {"a": cursor(2, 5)}  # 3..5 are still being written (an older connection)
    batch = [Incoming("a", 6)]
    plan = receiver.plan(batch, cursors)
    written = receiver.written(plan, batch, cursors)
    assert written.new == []  # 6 is stored, but the log has a hole until 3..5 land
    assert written.acks == [("a", 2)]


def test_a_replaced_connection_takes_nothing_more() -> None:
    old = Receiver(MINE)
    closing = old.replaced()
    assert closing.code == CloseCode.REPLACED
    assert old.receive(Incoming("a", 1), cursor()) is Verdict.IGNORED


def test_a_store_failure_rolls_back_and_closes_the_connection() -> None:
    receiver = Receiver(MINE)
    cursors = {"a": cursor(2, 2)}
    batch = [Incoming("a", 3), Incoming("a", 4)]
    plan = receiver.plan(batch, cursors)
    assert plan.accepted == [0, 1] and cursors["a"].submitted == 4
    closing = receiver.write_failed(plan, batch, cursors)
    assert closing.code == CloseCode.INTERNAL_ERROR and "resend later" in closing.reason
    assert (cursors["a"].durable, cursors["a"].submitted) == (2, 2)
    assert receiver.receive(Incoming("a", 3), cursors["a"]) is Verdict.IGNORED
    # The runner's next connection starts from what is durable, and is taken.
    assert Receiver(MINE).receive(Incoming("a", 3), cursors["a"]) is Verdict.ACCEPT


def test_reset_forgets_in_flight_writes() -> None:
    state = cursor(3, 8)
    state.reset()
    assert state.submitted == 3
    assert HubCursor(MINE, durable=5).submitted == 5  # never less than what is stored


# -- the whole loop, under faults ----------------------------------------------------------

SESSIONS = ("a", "b")


@dataclass
class Connection:
    receiver: Receiver
    wire: list[Incoming] = field(default_factory=list)  # runner → hub, not yet read
    acks: list[tuple[str, int]] = field(default_factory=list)  # hub → runner
    writing: bool = False  # the hub writes one batch of a connection at a time
    open: bool = True


@dataclass
class Write:
    connection: Connection
    batch: list[Incoming]
    plan: Plan


class World:
    """A runner, a hub and a store, driven step by step (nothing runs on its own)."""

    def __init__(self) -> None:
        self.runner = {s: SenderLog() for s in SESSIONS}
        self.cursors = {s: HubCursor(MINE) for s in SESSIONS}
        self.stored: dict[str, set[int]] = {s: set() for s in SESSIONS}
        self.applied: dict[str, list[int]] = {s: [] for s in SESSIONS}
        self.writes: list[Write] = []
        self.connections: list[Connection] = []
        self.reconnect()

    @property
    def current(self) -> Connection:
        return self.connections[-1]

    def reconnect(self) -> None:
        if self.connections:
            self.current.open = False
            self.current.receiver.replaced()
        for hub_cursor in self.cursors.values():
            hub_cursor.reset()
        for session, log in self.runner.items():
            log.welcome(self.cursors[session].durable)
        self.connections.append(Connection(Receiver(MINE)))

    def produce(self, n: int) -> None:
        self.runner[SESSIONS[n % len(SESSIONS)]].assign()

    def send(self) -> None:
        if not self.current.open:
            return
        for session, log in self.runner.items():
            for seq in range(log.sent + 1, log.last_seq + 1):
                self.current.wire.append(Incoming(session, seq))
            log.mark_sent(log.last_seq)

    def read(self, n: int) -> None:
        """The hub reads a batch of frames from some connection (an older one's frames
        can still be in the hub's buffers after the runner has moved on)."""
        ready = [c for c in self.connections if c.wire and not c.writing]
        if not ready:
            return
        conn = ready[n % len(ready)]
        batch, conn.wire = conn.wire[: 1 + n % 7], conn.wire[1 + n % 7 :]
        plan = conn.receiver.plan(batch, self.cursors)
        conn.writing = True
        self.writes.append(Write(conn, batch, plan))

    def commit(self, n: int) -> None:
        if not self.writes:
            return
        write = self.writes.pop(n % len(self.writes))
        write.connection.writing = False
        for i in write.plan.accepted:
            self.stored[write.batch[i].session_id].add(write.batch[i].seq)
        written = write.connection.receiver.written(write.plan, write.batch, self.cursors)
        for i in written.new:
            self.applied[write.batch[i].session_id].append(write.batch[i].seq)
        write.connection.acks.extend(written.acks)
        if write.connection.receiver.closing is not None:
            write.connection.open = False

    def fail(self, n: int) -> None:
        if not self.writes:
            return
        write = self.writes.pop(n % len(self.writes))
        write.connection.writing = False
        write.connection.receiver.write_failed(write.plan, write.batch, self.cursors)
        write.connection.open = False

    def take_acks(self) -> None:
        for session, seq in self.current.acks:
            self.runner[session].ack(seq)
        self.current.acks.clear()

    def drop(self, n: int) -> None:
        if self.current.wire:
            del self.current.wire[n % len(self.current.wire)]

    def duplicate(self, n: int) -> None:
        if self.current.wire:
            i = n % len(self.current.wire)
            self.current.wire.insert(i, self.current.wire[i])

    def swap(self, n: int) -> None:
        wire = self.current.wire
        if len(wire) >= 2:
            i = n % (len(wire) - 1)
            wire[i], wire[i + 1] = wire[i + 1], wire[i]

    def check(self) -> None:
        """What must hold at every moment, faults or not."""
        for session, log in self.runner.items():
            durable = self.cursors[session].durable
            assert log.acked <= durable, "the runner let go of an event the hub has not stored"
            assert self.applied[session] == list(range(1, durable + 1))
            assert set(self.applied[session]) <= self.stored[session]

    def settle(self) -> None:
        """No more faults: reconnect and deliver until the runner holds nothing unacked."""
        for _ in range(100):
            while self.writes:
                self.commit(0)
            if all(log.unacked == 0 for log in self.runner.values()):
                return
            for connection in self.connections:
                connection.wire.clear()  # what was still on the old wires is lost
            self.reconnect()
            self.send()
            while self.current.wire:
                self.read(6)
                self.commit(0)
            self.take_acks()
        raise AssertionError("delivery did not settle")


STEPS = ("produce", "send", "read", "commit", "fail", "take_acks", "reconnect")
FAULTS = ("drop", "duplicate", "swap")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(STEPS + FAULTS), st.integers(0, 50)), max_size=120))
def test_faults_on_the_wire_still_give_an_exactly_once_gap_free_log(
    steps: list[tuple[str, int]],
) -> None:
    world = World()
    for name, n in steps:
        step = getattr(world, name)
        if name in ("send", "take_acks", "reconnect"):
            step()
        else:
            step(n)
        world.check()
    world.settle()
    world.check()
    for session, log in world.runner.items():
        everything = list(range(1, log.last_seq + 1))
        assert world.applied[session] == everything, session
        assert sorted(world.stored[session]) == everything, session
        assert world.cursors[session].durable == log.last_seq == log.acked
