"""The lines the end-to-end benchmark sends, and the tally every receiver keeps.

A line is `TAG INDEX PRINT_NS xxxx…`, padded to a fixed size: the tag names the phase
(warm-up, measured flood, paced …), the index counts from 0, and PRINT_NS is
`time.time_ns()` when the producer wrote it (producer and receivers share one machine,
so one clock). Used by the agent (bench/e2e_agent.py), the relay's producer, and both
kinds of viewer, so tether and the relay carry exactly the same bytes.

Commands, one per line (a user message to the agent, a text frame to the relay's
producer): `flood TAG COUNT SIZE` prints COUNT lines as fast as possible;
`pace TAG COUNT RATE SIZE` prints COUNT lines at RATE lines/s, each flushed at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

LINE_BYTES = 180


def make_line(tag: str, index: int, size: int = LINE_BYTES) -> str:
    """One line of `size` characters (ASCII, so also bytes), stamped now."""
    head = f"{tag} {index} {time.time_ns()} "
    return head + "x" * max(0, size - len(head))


@dataclass(frozen=True)
class Command:
    """What a producer was asked to do."""

    action: str  # flood | pace
    tag: str
    count: int
    rate: float
    size: int

    def text(self) -> str:
        """The command as one line."""
        if self.action == "flood":
            return f"flood {self.tag} {self.count} {self.size}"
        return f"pace {self.tag} {self.count} {self.rate:g} {self.size}"


def parse_command(text: str) -> Command | None:
    """A command line, or None for anything else (which the producers ignore)."""
    parts = text.split()
    try:
        if len(parts) == 4 and parts[0] == "flood":
            return Command("flood", parts[1], int(parts[2]), 0.0, int(parts[3]))
        if len(parts) == 5 and parts[0] == "pace":
            return Command("pace", parts[1], int(parts[2]), float(parts[3]), int(parts[4]))
    except ValueError:
        return None
    return None


@dataclass
class Tally:
    """One receiver's bookkeeping for one phase: each index must arrive once, in order."""

    tag: str
    expected: int
    received: int = 0
    next_index: int = 0
    duplicates: int = 0
    gaps: int = 0
    first_print_ns: int = 0
    last_receive_ns: int = 0
    latencies_ns: list[int] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Every index up to `expected` has arrived."""
        return self.next_index >= self.expected

    def note(self, text: str, received_ns: int) -> bool:
        """Count one line if it is of this phase; True when it was."""
        parts = text.split(" ", 3)
        if len(parts) < 3 or parts[0] != self.tag:
            return False
        index, printed = int(parts[1]), int(parts[2])
        if index == self.next_index:
            self.next_index += 1
        elif index < self.next_index:
            self.duplicates += 1
            return True
        else:
            self.gaps += 1  # lines were lost or reordered; the phase can never complete
            self.next_index = index + 1
        if self.received == 0:
            self.first_print_ns = printed
        self.received += 1
        self.last_receive_ns = received_ns
        self.latencies_ns.append(received_ns - printed)
        return True


def percentile_ms(sorted_ns: list[int], fraction: float) -> float:
    """The `fraction` percentile (nearest rank) of sorted nanoseconds, in milliseconds."""
    if not sorted_ns:
        return float("nan")
    rank = min(len(sorted_ns) - 1, int(len(sorted_ns) * fraction))
    return sorted_ns[rank] / 1e6


def summarize(tallies: list[Tally], action: str) -> dict[str, object]:
    """A phase's figures over all receivers: rates, latency percentiles, delivery check."""
    expected = sum(t.expected for t in tallies)
    received = sum(t.received for t in tallies)
    first = min((t.first_print_ns for t in tallies if t.received), default=0)
    last = max((t.last_receive_ns for t in tallies), default=0)
    seconds = (last - first) / 1e9 if last > first else float("nan")
    latencies = sorted(ns for t in tallies for ns in t.latencies_ns)
    return {
        "action": action,
        "viewers": len(tallies),
        "lines_per_viewer": tallies[0].expected if tallies else 0,
        "expected": expected,
        "received": received,
        "duplicates": sum(t.duplicates for t in tallies),
        "gaps": sum(t.gaps for t in tallies),
        "exactly_once": received == expected
        and all(t.complete and not t.duplicates and not t.gaps for t in tallies),
        "seconds": seconds,
        "lines_per_s": (tallies[0].expected / seconds) if tallies and seconds > 0 else 0.0,
        "deliveries_per_s": (received / seconds) if seconds > 0 else 0.0,
        "p50_ms": percentile_ms(latencies, 0.50),
        "p99_ms": percentile_ms(latencies, 0.99),
        "max_ms": latencies[-1] / 1e6 if latencies else float("nan"),
    }
