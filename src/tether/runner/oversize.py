"""Keeping events under the hub's frame limit.

An agent can print a line of any size (a tool result holding a whole file). The hub
refuses frames over `max_frame_bytes`, and the runner cannot skip that seq, so one
oversized event would stall its session for good. Instead the runner shrinks it
before it gets a seq: first the `raw` copy goes, then the longest strings are cut
(and say so), and as a last resort the event becomes an `error` saying what was
dropped. Every shrunk event carries `"truncated": true`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# Room for the envelope around the payload and for the truncation notes.
_HEADROOM = 1024


def fit_payload(
    payload: dict[str, Any], limit: int, size_of: Callable[[dict[str, Any]], int]
) -> dict[str, Any]:
    """`payload` if `size_of(payload) <= limit`, else a smaller copy that fits."""
    size = size_of(payload)
    if size <= limit:
        return payload
    fitted = {k: v for k, v in payload.items() if k != "raw"}
    fitted["truncated"] = True
    for _attempt in range(8):
        now = size_of(fitted)
        if now <= limit:
            return fitted
        excess = now - limit + _HEADROOM
        path, longest = _longest_string(fitted)
        if path is None or len(longest) <= 200:
            break
        keep = max(100, len(longest) - excess)
        cut = len(longest) - keep
        _set(fitted, path, longest[:keep] + f"… [{cut} characters truncated by tether]")
    kind = str(payload.get("kind", "?"))
    return {
        "kind": "error",
        "code": "event_too_large",
        "message": f"a {kind} event of {size} bytes was over the {limit}-byte frame limit"
        " and could not be shortened; it was dropped",
        "truncated": True,
    }


def _longest_string(value: Any, path: tuple[Any, ...] = ()) -> tuple[tuple[Any, ...] | None, str]:
    best: tuple[tuple[Any, ...] | None, str] = (None, "")
    if isinstance(value, str):
        return path, value
    items: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        items = list(value.items())
    elif isinstance(value, list):
        items = list(enumerate(value))
    for key, item in items:
        found = _longest_string(item, (*path, key))
        if found[0] is not None and len(found[1]) > len(best[1]):
            best = found
    return best


def _set(container: Any, path: tuple[Any, ...], text: str) -> None:
    # Copy containers on the way down: the caller's payload is never changed.
    parent = container
    for key in path[:-1]:
        child = parent[key]
        child = dict(child) if isinstance(child, dict) else list(child)
        parent[key] = child
        parent = child
    parent[path[-1]] = text


def json_size(payload: dict[str, Any]) -> int:
    """Bytes of the payload as compact UTF-8 JSON."""
    return len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))
