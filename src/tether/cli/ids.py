"""Id prefixes: every command that takes an id takes a unique prefix of one too
(`tether revoke d_iMP1`, `tether send s_Q2 "hi"`).

The full id costs nothing extra: the command is tried with what the user typed, and only
when the hub answers "not found" are the ids listed and the prefix resolved — a miss
changed nothing on the hub, so trying again with the full id is safe.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from tether.errors import NotFound, TetherError

if TYPE_CHECKING:
    from tether.client.api import HubApi

T = TypeVar("T")
_SHOWN = 8


class AmbiguousId(TetherError):
    """A prefix that more than one id starts with."""

    code = "ambiguous"


def resolve(kind: str, given: str, ids: Iterable[str], listed_by: str) -> str:
    """The one id that is `given` or starts with it; else a clear error."""
    known = sorted(set(ids))
    if given in known:
        return given
    matches = [i for i in known if i.startswith(given)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise NotFound(f"no {kind} id is or starts with {given!r}", hint=f"see `{listed_by}`")
    shown = ", ".join(matches[:_SHOWN]) + (" …" if len(matches) > _SHOWN else "")
    raise AmbiguousId(
        f"{given!r} is the start of {len(matches)} {kind} ids: {shown}",
        hint="type more of the id",
    )


async def with_id(
    kind: str,
    given: str,
    call: Callable[[str], Awaitable[T]],
    ids: Callable[[], Awaitable[Iterable[str]]],
    listed_by: str,
) -> T:
    """`call(given)`; on "not found", `call(full id)` for the one id `given` starts."""
    try:
        return await call(given)
    except NotFound as missing:
        try:
            known = await ids()
        except TetherError:
            raise missing from None  # cannot list them (e.g. a share token): the hub's answer
        full = resolve(kind, given, known, listed_by)
        if full == given:
            raise
        return await call(full)


async def session_ids(client: HubApi) -> list[str]:
    """Every session id the caller may see."""
    return [str(s["id"]) for s in await client.sessions()]


async def with_session(client: HubApi, given: str, call: Callable[[str], Awaitable[T]]) -> T:
    """`call(session id)` for a session id or a unique prefix of one."""
    return await with_id("session", given, call, lambda: session_ids(client), "tether sessions")


async def full_session_id(client: HubApi, given: str) -> str:
    """The session id a full id or unique prefix stands for (asks the hub)."""

    async def exists(session_id: str) -> str:
        try:
            await client.session(session_id)
        except NotFound:
            raise
        except TetherError:
            pass  # not ours to judge here: the session's stream will say what is wrong
        return session_id

    return await with_session(client, given, exists)


async def device_ids(client: HubApi) -> list[str]:
    """Every device id the caller may see."""
    return [d["id"] for d in await client.devices()]


async def share_ids(client: HubApi) -> list[str]:
    """Every share link id the caller may see."""
    return [s["id"] for s in await client.shares()]
