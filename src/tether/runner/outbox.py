"""Events the runner has produced but the hub has not yet acknowledged.

Each session's events get consecutive seqs here. They stay until the hub's
cumulative `ack` covers them: in a memory ring up to a bound, then spilled to a
JSON-lines file per session — nothing is dropped, and spilled events survive a
runner restart. After a reconnect, `rewind` moves the send cursor back to what
the hub holds durably, and `take_unsent` resends the rest in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.private import append_private, private_dir
from tether.protocol.codec import DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION
from tether.runner.oversize import fit_payload, json_size

log = logging.getLogger("tether.runner.outbox")


@dataclass
class _SessionLog:
    last_seq: int = 0
    acked: int = 0
    sent: int = 0
    memory: deque[tuple[int, str]] = field(default_factory=deque)
    spilled_last: int = 0  # highest seq written to the spill file (0: none)


def encode_event(session_id: str, seq: int, payload: dict[str, Any], ts: float) -> str:
    """The wire frame of one event (compact JSON, one line)."""
    return json.dumps(
        {
            "v": PROTOCOL_VERSION,
            "type": "event",
            "session": session_id,
            "seq": seq,
            "ts": ts,
            "payload": payload,
        },
        separators=(",", ":"),
        ensure_ascii=False,
    )


class Outbox:
    """Per-session seq assignment and at-least-once delivery bookkeeping."""

    def __init__(
        self,
        spill_dir: Path | None = None,
        memory_limit: int = 10_000,
        max_event_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    ) -> None:
        self.spill_dir = spill_dir
        self.memory_limit = memory_limit
        self.max_event_bytes = max_event_bytes
        """The hub's frame limit: bigger events are shrunk (see `runner.oversize`)."""
        self._logs: dict[str, _SessionLog] = {}
        self._in_memory = 0
        self._changed = asyncio.Event()
        if spill_dir is not None:
            private_dir(spill_dir)
            self._load_spilled()

    # -- producing ------------------------------------------------------------------------

    def append(self, session_id: str, payload: dict[str, Any]) -> int:
        """Give the event the session's next seq and queue it; return the seq."""
        log_ = self._logs.setdefault(session_id, _SessionLog())
        log_.last_seq += 1
        seq = log_.last_seq
        now = time.time()
        frame = encode_event(session_id, seq, payload, now)
        # Characters undercount UTF-8 bytes at most 4x: only count bytes when it may matter.
        if len(frame) * 4 > self.max_event_bytes:
            size = len(frame.encode("utf-8"))
            if size > self.max_event_bytes:
                envelope = size - json_size(payload)
                payload = fit_payload(payload, self.max_event_bytes - envelope, json_size)
                frame = encode_event(session_id, seq, payload, now)
        log_.memory.append((seq, frame))
        self._in_memory += 1
        if self._in_memory > self.memory_limit and self.spill_dir is not None:
            self._spill(session_id, log_)
        self._changed.set()
        return seq

    def start_at(self, session_id: str, seq: int) -> None:
        """Continue a session's numbering after `seq` (a resumed or orphaned session)."""
        log_ = self._logs.setdefault(session_id, _SessionLog())
        if log_.last_seq < seq:
            log_.last_seq = log_.acked = log_.sent = seq

    def last_seqs(self) -> dict[str, int]:
        """Highest seq held for each session (sent in `hello`)."""
        return {sid: lg.last_seq for sid, lg in self._logs.items()}

    def unacked_count(self) -> int:
        """Events not yet acknowledged, across sessions."""
        return sum(lg.last_seq - lg.acked for lg in self._logs.values())

    # -- delivery -------------------------------------------------------------------------

    def ack(self, session_id: str, seq: int) -> None:
        """The hub holds every event of the session up to `seq` durably."""
        log_ = self._logs.get(session_id)
        if log_ is None or seq <= log_.acked:
            return
        log_.acked = min(seq, log_.last_seq)
        while log_.memory and log_.memory[0][0] <= log_.acked:
            log_.memory.popleft()
            self._in_memory -= 1
        if log_.spilled_last and log_.acked >= log_.spilled_last:
            self._spill_path(session_id).unlink(missing_ok=True)
            log_.spilled_last = 0

    def rewind(self, durable: dict[str, int]) -> None:
        """After (re)connecting: the hub holds `durable[sid]`; resend everything after it."""
        for session_id, log_ in self._logs.items():
            held = durable.get(session_id, 0)
            if held > log_.last_seq:
                # The hub has more than we remember (we restarted): continue after it.
                log_.last_seq = held
            self.ack(session_id, held)
            log_.sent = max(held, log_.acked)
        self._changed.set()

    def take_unsent(self, limit: int = 500) -> list[str]:
        """Frames not yet sent on this connection, oldest first, per session in seq order."""
        frames: list[str] = []
        for session_id, log_ in self._logs.items():
            if log_.sent >= log_.last_seq:
                continue
            mine: list[str] = []
            if log_.spilled_last and log_.sent < log_.spilled_last:
                mine.extend(self._read_spilled(session_id, after=log_.sent))
            for seq, frame in log_.memory:
                if seq > log_.sent and len(mine) < limit:
                    mine.append(frame)
            if mine:
                log_.sent = _seq_of_last(mine, log_.sent)
                frames.extend(mine)
            if len(frames) >= limit:
                break
        if not frames:
            self._changed.clear()
        return frames

    async def wait_changed(self) -> None:
        """Until something new may be sendable."""
        await self._changed.wait()

    def forget(self, session_id: str) -> None:
        """Drop a fully acknowledged, finished session's bookkeeping."""
        log_ = self._logs.get(session_id)
        if log_ is not None and log_.acked >= log_.last_seq:
            del self._logs[session_id]

    # -- spill ----------------------------------------------------------------------------

    def _spill_path(self, session_id: str) -> Path:
        assert self.spill_dir is not None
        return self.spill_dir / f"{session_id}.jsonl"

    def _spill(self, session_id: str, log_: _SessionLog) -> None:
        """Move this session's oldest in-memory events to its spill file."""
        count = max(1, len(log_.memory) // 2)
        with open(append_private(self._spill_path(session_id)), "a", encoding="utf-8") as f:
            for _ in range(count):
                seq, frame = log_.memory.popleft()
                f.write(frame + "\n")
                log_.spilled_last = seq
                self._in_memory -= 1

    def _read_spilled(self, session_id: str, after: int) -> list[str]:
        frames = []
        with self._spill_path(session_id).open(encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                if line and json.loads(line)["seq"] > after:
                    frames.append(line)
        return frames

    def _load_spilled(self) -> None:
        """A restarted runner still owes the hub the events it had spilled."""
        assert self.spill_dir is not None
        for path in sorted(self.spill_dir.glob("*.jsonl")):
            last = 0
            try:
                with path.open(encoding="utf-8") as f:
                    for line in f:
                        if line.strip():
                            last = max(last, int(json.loads(line)["seq"]))
            except (OSError, ValueError, KeyError) as exc:
                log.error("spill file %s is damaged (%s); keeping it aside", path, exc)
                path.rename(path.with_suffix(".damaged"))
                continue
            if last:
                self._logs[path.stem] = _SessionLog(last_seq=last, spilled_last=last)
                log.info("recovered %d spilled events of session %s", last, path.stem)


def _seq_of_last(frames: list[str], default: int) -> int:
    # Frames are our own encoding: the seq sits right after `"seq":`.
    tail = frames[-1]
    start = tail.index('"seq":') + 6
    end = tail.index(",", start)
    try:
        return int(tail[start:end])
    except ValueError:
        return default
