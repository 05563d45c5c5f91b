"""Secrets never reach a log line: a log-record factory that redacts tokens and codes.

Third-party loggers (websockets at DEBUG prints handshake headers, including
`Authorization` and `Cookie`) are covered too, because the factory runs for every
record any logger creates, before any handler sees it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"(?i)\b(authorization|cookie|set-cookie)(['\"]?\s*[:=,]\s*['\"]?)[^\r\n'\"]*"),
        r"\1\2[redacted]",
    ),
    (re.compile(r"(?i)\bbearer\s+[^\s'\",]+"), "Bearer [redacted]"),
    (re.compile(r"eyJ[\w-]*\.[\w-]+\.[\w-]+"), "[redacted-jwt]"),
    (re.compile(r"\bt(?:rt|sh|dk)_[\w-]{8,}"), "[redacted-token]"),
    (re.compile(r"\b[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}\b"), "[redacted-code]"),
    (
        re.compile(
            r"(?i)(\"?(?:refresh_token|access_token|device_key|share_token)\"?\s*[:=]\s*\"?)"
            r"[^\s\",}]{6,}"
        ),
        r"\1[redacted]",
    ),
]

_installed = False


def redact(text: str) -> str:
    """`text` with anything that looks like a tether secret replaced."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def install_redaction() -> None:
    """Wrap the log-record factory once per process (idempotent)."""
    global _installed
    if _installed:
        return
    _installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed format: leave it to the handler
            return record
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return record

    logging.setLogRecordFactory(factory)
