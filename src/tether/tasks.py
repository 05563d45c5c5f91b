"""Background tasks: keeping them referenced, stopping them, and racing coroutines to the
first end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def keep_task(tasks: set[asyncio.Task[T]], coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Run `coro` as a task held in `tasks` until it is done.

    The event loop keeps only a weak reference to a task: one that nobody holds can
    be garbage-collected mid-flight. `tasks` is also what an owner cancels or awaits.
    """
    task = asyncio.create_task(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)
    return task


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel `task` (nothing when None) and wait until it has ended: a stopped loop is
    gone before its owner closes what the loop used."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def run_first_completed(*coros: Awaitable[Any]) -> None:
    """Run coroutines together until the first one ends; cancel the rest; re-raise its error.

    (Unlike a TaskGroup this does not wrap a connection error in an ExceptionGroup.)
    """
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        done, _pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        if not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
