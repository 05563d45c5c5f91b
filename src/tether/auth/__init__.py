"""Who is asking, and what they may do."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tether.auth.principal import Authenticator, Principal

__all__ = ["Authenticator", "Principal"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: the CLI imports tether.auth.redact and tether.auth.codes, and
    # must not pay for Starlette (which tether.auth.principal needs) to do so.
    if name not in __all__:
        raise AttributeError(f"module 'tether.auth' has no attribute {name!r}")
    return getattr(importlib.import_module("tether.auth.principal"), name)
