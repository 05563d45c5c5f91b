"""The answer of `POST /v1/admin/prune` (beside `api_shapes`, which holds the rest)."""

from __future__ import annotations

from typing_extensions import TypedDict


class PruneAnswer(TypedDict):
    """Exited sessions removed (or, with `dry_run`, that would be) and their events."""

    sessions: list[str]
    events: int
    before: float
    dry_run: bool
