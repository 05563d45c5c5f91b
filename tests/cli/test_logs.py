"""Start-up log lines wait for the banner; warnings never wait; threads can log meanwhile."""

from __future__ import annotations

import logging
import threading

from tether.cli.logs import HeldUntilReady


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_routine_lines_wait_warnings_do_not_and_order_is_kept() -> None:
    target = Collect()
    held = HeldUntilReady(target)
    log = logging.getLogger("tests.cli.held")
    log.addHandler(held)
    log.setLevel(logging.DEBUG)
    log.propagate = False
    try:
        log.info("migrating")
        log.warning("disk nearly full")
        worker = threading.Thread(target=lambda: log.info("from the store's writer thread"))
        worker.start()
        worker.join(timeout=5)
        assert not worker.is_alive(), "a thread could not log while lines were held"
        assert target.lines == ["disk nearly full"]
        target.lines.append("BANNER")
        held.end_hold()
        held.end_hold()  # twice is harmless
        log.info("after")
        assert target.lines == [
            "disk nearly full",
            "BANNER",
            "migrating",
            "from the store's writer thread",
            "after",
        ]
    finally:
        log.removeHandler(held)
