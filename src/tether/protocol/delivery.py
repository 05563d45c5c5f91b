"""The delivery rules of v1, runner → hub, as state and decisions without any I/O.

At-least-once on the wire, exactly-once in the log. Both sides keep a little state
per session; the I/O around them (`tether.runner.outbox`, `tether.hub.ingest`) moves
frames and writes the store, and asks these objects what to do.

Runner side — `SenderLog`, one per session:

* `assign` numbers the session's events 1, 2, 3 …; every event is kept until the
  hub's cumulative `ack` covers it (`ack` returns the seq up to which to let go).
* after (re)connecting, `welcome` takes what the hub holds durably and moves the
  send cursor back to it: everything after it goes out again, in order.

Hub side — `HubCursor` per session (shared by every connection of its runner) and a
`Receiver` per runner connection. For each event `Receiver.receive` returns a verdict:

    no such session                   UNKNOWN    an `error`; the connection carries on
    session of another runner         FOREIGN    an `error`; the connection carries on
    seq <= submitted                  DUPLICATE  held or being written: skip it (acked)
    seq == submitted + 1              ACCEPT     write it; ack once it is durable
    seq >  submitted + 1              GAP        close the connection; the runner
                                                 resends after the next `welcome`
    the connection is being closed    IGNORED    nothing

`submitted` counts what is stored *or being written*; `durable` only what is stored.
Once a write is durable, `written` says which of its events are new to the log (the
next seq after `durable`: apply them, fan them out) — not a raced resend an older
connection stored first, nor a seq past a hole that will come again — and the
cumulative ack of each session: what is durable, never what is merely submitted. A
failed write rolls `submitted` back and closes the connection (`write_failed`). When a
runner connects or leaves, `HubCursor.reset` forgets the in-flight writes of its
older connection (what is durable is what counts), and the older connection takes
nothing more (`replaced`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from tether.protocol.messages import CloseCode, ErrorMessage

# -- runner side ------------------------------------------------------------------------


@dataclass(slots=True)
class SenderLog:
    """The runner's view of one session's events: assigned, sent, acknowledged."""

    last_seq: int = 0
    """Highest seq assigned."""
    acked: int = 0
    """The hub holds every event up to here durably."""
    sent: int = 0
    """Sent on the current connection up to here."""

    def assign(self) -> int:
        """The next event's seq."""
        self.last_seq += 1
        return self.last_seq

    def start_at(self, seq: int) -> None:
        """Number on after `seq`, which the hub already holds (a resumed or orphaned session)."""
        if self.last_seq < seq:
            self.last_seq = self.acked = self.sent = seq

    def ack(self, seq: int) -> int | None:
        """A cumulative ack: the seq up to which to let go of events, or None (old news)."""
        if seq <= self.acked:
            return None
        self.acked = min(seq, self.last_seq)
        return self.acked

    def welcome(self, held: int) -> int | None:
        """The hub holds `held` durably (after a (re)connect): resend what follows it, and
        continue after it when it is more than we remember (we restarted). Returns what
        `ack` returns."""
        self.last_seq = max(self.last_seq, held)
        released = self.ack(held)
        self.sent = max(held, self.acked)
        return released

    def mark_sent(self, seq: int) -> None:
        """Events up to `seq` went out on the current connection."""
        self.sent = max(self.sent, seq)

    @property
    def has_unsent(self) -> bool:
        """Is anything waiting to go out on the current connection?"""
        return self.sent < self.last_seq

    @property
    def unacked(self) -> int:
        """Events the hub has not acknowledged."""
        return self.last_seq - self.acked


# -- hub side ---------------------------------------------------------------------------


class Verdict(StrEnum):
    """What the hub does with one incoming event."""

    ACCEPT = "accept"
    DUPLICATE = "duplicate"
    GAP = "gap"
    FOREIGN = "foreign"
    UNKNOWN = "unknown"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Closing:
    """Close the runner's connection (it reconnects, and resends after `welcome`)."""

    code: int
    """A `CloseCode`: 1002 for a gap, 1011 for a failed write, 4010 when replaced."""
    reason: str


@dataclass(slots=True)
class HubCursor:
    """The hub's delivery state of one session."""

    runner_id: str | None
    """The runner the session belongs to; only its events are taken."""
    durable: int = 0
    """Highest seq stored, with every seq before it."""
    submitted: int = 0
    """Highest seq stored or being written."""

    def __post_init__(self) -> None:
        self.submitted = max(self.submitted, self.durable)

    def reset(self) -> None:
        """The runner (re)connected or left: only what is durable counts from now on."""
        self.submitted = self.durable


@dataclass(frozen=True, slots=True)
class Incoming:
    """One event as the hub received it: which session, which seq."""

    session_id: str
    seq: int


@dataclass(slots=True)
class Plan:
    """What to do with a batch of events from one connection: write the `accepted`
    events (positions in the batch, in order) in one go and send the `refusals`; then
    `Receiver.written` (or `write_failed`) says what follows."""

    accepted: list[int] = field(default_factory=list)
    refusals: list[ErrorMessage] = field(default_factory=list)
    """`error` frames for the runner about single events; the connection carries on."""
    acks: list[str] = field(default_factory=list)
    """Sessions of the batch to ack once the write is durable (duplicates included)."""


@dataclass(frozen=True, slots=True)
class Written:
    """What a durable write means: which events are new to the log, which acks to send."""

    new: list[int]
    """Positions in the batch of the events new to the log, in order: apply and fan out."""
    acks: list[tuple[str, int]]
    """(session, seq): the cumulative ack of each session, what is durable now."""


class Receiver:
    """The hub's decisions about the events of one runner connection."""

    def __init__(self, runner_id: str) -> None:
        self.runner_id = runner_id
        self.closing: Closing | None = None
        """Set once the connection must be closed; later events are ignored."""

    def receive(self, event: Incoming, cursor: HubCursor | None) -> Verdict:
        """The verdict on one event (`cursor` None: the hub has no such session); an
        accepted event counts as submitted from now on."""
        if self.closing is not None:
            return Verdict.IGNORED
        if cursor is None:
            return Verdict.UNKNOWN
        if cursor.runner_id != self.runner_id:
            return Verdict.FOREIGN
        if event.seq <= cursor.submitted:
            return Verdict.DUPLICATE
        if event.seq != cursor.submitted + 1:
            self.closing = Closing(
                CloseCode.PROTOCOL_ERROR,
                f"seq gap in {event.session_id}: expected {cursor.submitted + 1}",
            )
            return Verdict.GAP
        cursor.submitted = event.seq
        return Verdict.ACCEPT

    def plan(self, batch: Sequence[Incoming], cursors: Mapping[str, HubCursor]) -> Plan:
        """Verdicts on a whole batch (`cursors`: the sessions the hub has), as a plan."""
        plan = Plan()
        for position, event in enumerate(batch):
            cursor = cursors.get(event.session_id)
            verdict = self.receive(event, cursor)
            if verdict is Verdict.ACCEPT:
                plan.accepted.append(position)
            elif verdict is Verdict.UNKNOWN:
                plan.refusals.append(
                    ErrorMessage(
                        code="not_found", message=f"no session {event.session_id!r} on this hub"
                    )
                )
            elif verdict is Verdict.FOREIGN:
                plan.refusals.append(
                    ErrorMessage(
                        code="forbidden",
                        message=f"session {event.session_id} belongs to another runner",
                    )
                )
            if verdict in (Verdict.ACCEPT, Verdict.DUPLICATE) and event.session_id not in plan.acks:
                plan.acks.append(event.session_id)
        return plan

    def written(
        self, plan: Plan, batch: Sequence[Incoming], cursors: Mapping[str, HubCursor]
    ) -> Written:
        """The write of `plan.accepted` is durable: what is new, and the acks to send."""
        new = [i for i in plan.accepted if self.stored(batch[i], cursors[batch[i].session_id])]
        acks = [(session, cursors[session].durable) for session in plan.acks]
        return Written(new, acks)

    @staticmethod
    def stored(event: Incoming, cursor: HubCursor) -> bool:
        """`event` is stored: is it new to the log (the seq after `durable`)? A raced
        resend an older connection stored first is not; nor is a seq past a hole (the
        runner sends it again after the seqs before it)."""
        if event.seq != cursor.durable + 1:
            return False
        cursor.durable = event.seq
        cursor.submitted = max(cursor.submitted, cursor.durable)
        return True

    def replaced(self) -> Closing:
        """A newer connection of the same runner arrived: this one takes nothing more
        (what it still had buffered comes again on the new one, after `welcome`)."""
        self.closing = Closing(
            CloseCode.REPLACED, "replaced by a newer connection of the same runner"
        )
        return self.closing

    def write_failed(
        self, plan: Plan, batch: Sequence[Incoming], cursors: Mapping[str, HubCursor]
    ) -> Closing:
        """The write failed: nothing of it counts; close the connection (it resends later)."""
        for i in plan.accepted:
            cursors[batch[i].session_id].reset()
        self.closing = Closing(
            CloseCode.INTERNAL_ERROR, "the hub could not store events; resend later"
        )
        return self.closing
