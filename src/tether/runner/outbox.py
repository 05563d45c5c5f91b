"""Events the runner has produced but the hub has not yet acknowledged.

The delivery rules are `tether.protocol.delivery.SenderLog` (one per session: seqs,
cumulative acks, what to resend after `welcome`); this module keeps the frames they
speak of: in a memory ring up to a bound, then spilled to a JSON-lines file per
session — nothing is dropped, and spilled events survive a runner restart. After a
reconnect, `rewind` moves the send cursor back to what the hub holds durably, and
`take_unsent` resends the rest in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tether.private import append_private, private_dir
from tether.protocol.codec import DEFAULT_MAX_FRAME_BYTES, dumps, event_frame
from tether.protocol.delivery import SenderLog
from tether.protocol.events import ErrorEvent, event_payload
from tether.runner.oversize import fit_payload, json_size

log = logging.getLogger("tether.runner.outbox")

_SPILL_RETRY_S = 1.0
"""While the spill dir refuses writes, how often to try it again."""


@dataclass
class _SessionLog:
    seqs: SenderLog = field(default_factory=SenderLog)
    memory: deque[tuple[int, str]] = field(default_factory=deque)  # (seq, frame), oldest first
    spilled_last: int = 0  # highest seq written to the spill file (0: none)
    spill_refused: bool = False  # the spill file could not be written; reported, held in memory
    spill_retry_at: float = 0.0  # while refused, when to try the disk again (monotonic)


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
        seq = log_.seqs.assign()
        now = time.time()
        payload_json = dumps(payload)
        frame = event_frame(session_id, seq, now, payload_json)
        # Characters undercount UTF-8 bytes at most 4x: only count bytes when it may matter.
        if len(frame) * 4 > self.max_event_bytes:
            size = len(frame.encode("utf-8"))
            if size > self.max_event_bytes:
                envelope = size - len(payload_json.encode("utf-8"))
                payload = fit_payload(payload, self.max_event_bytes - envelope, json_size)
                frame = event_frame(session_id, seq, now, dumps(payload))
        log_.memory.append((seq, frame))
        self._in_memory += 1
        if self._in_memory > self.memory_limit and self.spill_dir is not None:
            self._spill(session_id, log_)
        self._changed.set()
        return seq

    def start_at(self, session_id: str, seq: int) -> None:
        """Continue a session's numbering after `seq` (a resumed or orphaned session)."""
        self._logs.setdefault(session_id, _SessionLog()).seqs.start_at(seq)

    def last_seqs(self) -> dict[str, int]:
        """Highest seq held for each session (sent in `hello`)."""
        return {sid: lg.seqs.last_seq for sid, lg in self._logs.items()}

    def unacked_count(self) -> int:
        """Events not yet acknowledged, across sessions."""
        return sum(lg.seqs.unacked for lg in self._logs.values())

    # -- delivery -------------------------------------------------------------------------

    def ack(self, session_id: str, seq: int) -> None:
        """The hub holds every event of the session up to `seq` durably."""
        log_ = self._logs.get(session_id)
        if log_ is not None:
            self._release(session_id, log_, log_.seqs.ack(seq))

    def rewind(self, durable: dict[str, int]) -> None:
        """After (re)connecting: the hub holds `durable[sid]`; resend everything after it."""
        for session_id, log_ in self._logs.items():
            self._release(session_id, log_, log_.seqs.welcome(durable.get(session_id, 0)))
        self._changed.set()

    def _release(self, session_id: str, log_: _SessionLog, upto: int | None) -> None:
        """Let go of the frames up to `upto` (None: nothing new is acknowledged)."""
        if upto is None:
            return
        while log_.memory and log_.memory[0][0] <= upto:
            log_.memory.popleft()
            self._in_memory -= 1
        if log_.spilled_last and upto >= log_.spilled_last:
            self._spill_path(session_id).unlink(missing_ok=True)
            log_.spilled_last = 0

    def take_unsent(self, limit: int = 500) -> list[str]:
        """Frames not yet sent on this connection, oldest first, per session in seq order."""
        frames: list[str] = []
        for session_id, log_ in self._logs.items():
            sent = log_.seqs.sent
            if not log_.seqs.has_unsent:
                continue
            mine: list[tuple[int, str]] = []
            if log_.spilled_last and sent < log_.spilled_last:
                mine.extend(self._read_spilled(session_id, after=sent))
            for seq, frame in log_.memory:
                if seq > sent and len(mine) < limit:
                    mine.append((seq, frame))
            if mine:
                log_.seqs.mark_sent(mine[-1][0])
                frames.extend(frame for _seq, frame in mine)
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
        if log_ is not None and log_.seqs.unacked == 0:
            del self._logs[session_id]

    # -- spill ----------------------------------------------------------------------------

    def _spill_path(self, session_id: str) -> Path:
        assert self.spill_dir is not None
        return self.spill_dir / f"{session_id}.jsonl"

    def _spill(self, session_id: str, log_: _SessionLog) -> None:
        """Move this session's oldest in-memory events to its spill file. A disk that
        refuses them (full, read-only) leaves them in memory, and the session hears of it
        once (`_spill_refused`): held, never dropped."""
        if log_.spill_refused and time.monotonic() < log_.spill_retry_at:
            return  # not on every event: each try writes half of what is held
        count = max(1, len(log_.memory) // 2)
        oldest = [log_.memory[i] for i in range(count)]
        try:
            _append_whole(self._spill_path(session_id), "".join(f + "\n" for _s, f in oldest))
        except OSError as exc:
            log_.spill_retry_at = time.monotonic() + _SPILL_RETRY_S
            self._spill_refused(session_id, log_, exc)
            return
        for _ in range(count):
            log_.memory.popleft()
        log_.spilled_last = oldest[-1][0]
        self._in_memory -= count
        if log_.spill_refused:
            log_.spill_refused = False
            log.warning("session %s: spilling to %s works again", session_id, self.spill_dir)

    def _spill_refused(self, session_id: str, log_: _SessionLog, exc: OSError) -> None:
        """Say once per outage, in the runner's log and as an `error` event of the session
        (so its viewers and the hub's log see it), that events are held in memory only."""
        if log_.spill_refused:
            return
        log_.spill_refused = True  # before the append below, which may try to spill again
        message = (
            f"the runner cannot spill events to {self.spill_dir}: {exc.strerror or exc};"
            f" holding {self._in_memory} unacknowledged events in memory instead (they are"
            " lost if the runner stops before the hub takes them; free disk space there)"
        )
        log.error("session %s: %s", session_id, message)
        self.append(session_id, event_payload(ErrorEvent(message=message, code="spill_failed")))

    def _read_spilled(self, session_id: str, after: int) -> list[tuple[int, str]]:
        frames = []
        with self._spill_path(session_id).open(encoding="utf-8") as f:
            for line in f:
                line = line.rstrip("\n")
                seq = int(json.loads(line)["seq"]) if line else 0
                if seq > after:
                    frames.append((seq, line))
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
                self._logs[path.stem] = _SessionLog(SenderLog(last_seq=last), spilled_last=last)
                log.info("recovered %d spilled events of session %s", last, path.stem)


def _append_whole(path: Path, text: str) -> None:
    """Append `text` to `path` entirely or not at all: a write the disk cuts short is
    truncated away, so the file never ends in half a line."""
    fd = append_private(path)
    try:
        start = os.fstat(fd).st_size
        data = memoryview(text.encode("utf-8"))
        try:
            while data:
                data = data[os.write(fd, data) :]
        except OSError:
            os.ftruncate(fd, start)
            raise
    finally:
        os.close(fd)
