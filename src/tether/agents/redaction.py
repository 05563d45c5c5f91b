"""Keeping secrets out of what an agent writes: the values of the environment variables
whose names look secret (API keys, tokens …) become `***` before a line of its stderr
reaches a log or an event."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

_SECRET_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)


def secret_values(env: Mapping[str, str]) -> list[str]:
    """Values of variables whose names look secret (API keys, tokens …), longest first."""
    values = {v for k, v in env.items() if _SECRET_NAME.search(k) and len(v) >= 8}
    return sorted(values, key=len, reverse=True)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret value replaced by `***`."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return text
