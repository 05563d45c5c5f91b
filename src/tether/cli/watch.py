"""`tether attach`: print a session's events, answer permission requests, maybe run one turn."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tether.cli.output import err, out, say
from tether.cli.render import event_json, render_event, request_text, spent_text
from tether.client.api import TokenProvider
from tether.client.session import RemoteSession
from tether.errors import Forbidden, TetherError
from tether.sanitize import terminal_name, terminal_text

if TYPE_CHECKING:
    from tether.protocol.api_shapes import EventPayload, PendingPermission

EXIT_OK, EXIT_TURN_FAILED = 0, 1


@dataclass(frozen=True)
class Watch:
    """One `tether attach`: which session on which hub, and what its options ask for.

    `permissions`: `ask` asks on the terminal — and answers nothing without one (a
    request stays pending for someone who can answer); `allow`/`deny` answer every live
    request. A request answered already (seen again in a replayed log) is never asked
    about. `keep_following=False` (`--no-follow`): print the log up to now, then exit.
    Several URLs of one hub (replicas): a structured session fails over between them."""

    urls: list[str]
    session_id: str
    token: TokenProvider
    prompt: str | None = None
    after: int = 0
    as_json: bool = False
    permissions: str = "ask"
    follow: bool = False
    keep_following: bool = True
    take: bool = False
    ssl: Any = None
    insecure: bool = False

    def remote(
        self,
        hub_url: str | list[str],
        after: int,
        on_role: Callable[[str, str | None], Awaitable[None] | None],
        on_permission_request: Callable[[PendingPermission], Awaitable[None]],
        on_disconnected: Callable[[str], Awaitable[None]] | None = None,
    ) -> RemoteSession:
        """A viewer connection to the session, as this watch's options say."""
        return RemoteSession(
            hub_url,
            self.session_id,
            self.token,
            after=after,
            follow=self.follow,
            take=self.take,
            on_role=on_role,
            on_permission_request=on_permission_request,
            on_disconnected=on_disconnected,
            ssl=self.ssl,
            insecure=self.insecure,
        )


async def attach_session(watch: Watch) -> int:
    """Attach; return the exit status (0 ok, 1 the turn failed; errors raise TetherError)."""
    if watch.prompt is None:
        from tether.cli.terminal_attach import attach_terminal, terminal_info

        info = await terminal_info(watch)
        if info is not None:  # a terminal session: mirror its screen
            return await attach_terminal(watch, info, err=err())
    return await _attach_events(watch)


async def _attach_events(watch: Watch) -> int:
    """Attach to a structured session: print its events, answer its permission requests."""
    remote: RemoteSession

    async def on_permission(request: PendingPermission) -> None:
        await _answer(remote, request, watch.permissions, keep_following=watch.keep_following)

    async def on_role(role: str, reason: str | None) -> None:
        because = f": {terminal_text(reason)}" if reason else ""
        say(f"(now a {terminal_name(role)}{because})", style="bold")

    async def on_disconnected(reason: str) -> None:
        say(f"(disconnected: {terminal_text(reason)}; reconnecting…)", style="dim")

    remote = watch.remote(watch.urls, watch.after, on_role, on_permission, on_disconnected)
    await remote.connect()
    why = f" ({terminal_text(remote.role_reason)})" if remote.role_reason else ""
    role = terminal_name(remote.role)
    say(f"attached to {terminal_name(watch.session_id)} as {role}{why}", style="bold")
    try:
        printer = Printer(watch.as_json, remote)
        if watch.prompt is not None:
            if remote.role != "owner":
                raise Forbidden(
                    "read-only follower: cannot send --prompt",
                    hint=remote.role_reason or "another viewer owns this session",
                )
            return await _run_turn(remote, watch.prompt, printer)
        return await _follow(remote, watch.after, printer, keep_following=watch.keep_following)
    finally:
        await remote.close()


async def _answer(
    remote: RemoteSession, request: PendingPermission, permissions: str, *, keep_following: bool
) -> None:
    """Answer one pending request as `--permissions` says, or leave it pending."""
    request_id = terminal_name(request["request_id"])
    if remote.role != "owner":
        say(f"(permission request {request_id} pending: only the owner can answer)")
        return
    if not keep_following:
        say(f"(permission request {request_id} pending)")
        return
    behavior = await _ask(request) if permissions == "ask" else permissions
    if behavior is None:
        return  # nobody to ask: it stays pending for a viewer who can answer
    message = None if behavior == "allow" else "denied from tether attach"
    try:
        await remote.decide_permission(str(request["request_id"]), behavior, message)
    except TetherError as exc:
        say(f"could not answer {request_id}: {terminal_text(exc)}")


async def _follow(
    remote: RemoteSession, after: int, printer: Printer, *, keep_following: bool
) -> int:
    """Print events until the session exits (an exited session: its log, then stop), or
    with `keep_following=False` until the last event there was when we attached.

    Only the session's *latest* `exited` ends it: a session that was resumed (or woken by
    a message) has older ones in its log, and the watch goes on past them."""
    now = int(remote.info.get("last_seq", 0))
    exited = remote.info.get("state") == "exited"
    if after >= now and (exited or not keep_following):
        return EXIT_OK
    async for event in remote:
        printer.show(event.seq, event.ts, event.payload)
        if event.kind == "exited" and event.seq >= now:
            return EXIT_OK
        if not keep_following and event.seq >= now:
            return EXIT_OK
    return EXIT_OK


async def _run_turn(remote: RemoteSession, prompt: str, printer: Printer) -> int:
    """Send the turn; print events until the turn that answers it finishes."""
    from_seq = int(remote.info.get("last_seq", 0))
    await remote.send_message(prompt)
    ours = False
    async for event in remote:
        printer.show(event.seq, event.ts, event.payload)
        kind = event.kind
        if event.seq > from_seq and kind == "user_message" and event.payload.get("text") == prompt:
            ours = True
        elif ours and kind == "turn_finished":
            return EXIT_OK if event.payload.get("status") == "success" else EXIT_TURN_FAILED
        elif event.seq > from_seq and kind == "exited":
            return EXIT_TURN_FAILED
    return EXIT_TURN_FAILED


class Printer:
    """Prints events; after each turn, what the whole session has used so far (the hub's
    totals at `ready`, plus the turns that finished since)."""

    def __init__(self, as_json: bool, remote: RemoteSession) -> None:
        from tether.protocol.states import Spent

        self.as_json = as_json
        self.since = int(remote.info.get("last_seq", 0))
        self.spent = Spent()
        self.spent.input_tokens = int(remote.info.get("input_tokens") or 0)
        self.spent.output_tokens = int(remote.info.get("output_tokens") or 0)
        cost = remote.info.get("cost")
        self.spent.cost = float(cost) if isinstance(cost, int | float) else None

    def show(self, seq: int, ts: float, payload: EventPayload) -> None:
        """One event (a JSON line, or a line for a person)."""
        if self.as_json:
            sys.stdout.write(event_json(seq, ts, payload) + "\n")
            sys.stdout.flush()
            return
        render_event(out(), payload)
        if payload.get("kind") != "turn_finished" or seq <= self.since:
            return
        self.spent.add(payload)
        total = spent_text(self.spent.input_tokens, self.spent.output_tokens, self.spent.cost)
        if total:
            out().print(f"  session so far: {total}", style="dim", soft_wrap=True)


async def _ask(request: PendingPermission) -> str | None:
    """Ask on the terminal. No terminal, or EOF: no answer (None) — a script's
    `attach --json </dev/null` must not decide anything for the owner."""
    question = f"Allow {request_text(request)}? [y/N] "
    if not sys.stdin.isatty():
        say(
            f"(permission request {terminal_name(request['request_id'])} pending: no terminal"
            " to ask on; answer it from the web UI or another attach, or pass"
            " --permissions allow|deny)"
        )
        return None
    with contextlib.suppress(EOFError):
        err().print(question, end="", soft_wrap=True)
        answer = await asyncio.to_thread(input)
        return "allow" if answer.strip().lower() in ("y", "yes") else "deny"
    say("(no answer: the request stays pending)")
    return None
