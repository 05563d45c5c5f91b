"""`tether attach`: print a session's events, answer permission requests, maybe run one turn."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence
from typing import Any

from tether.cli.output import err, out, say
from tether.cli.render import event_json, render_event, request_text, spent_text
from tether.client.api import TokenProvider
from tether.client.session import RemoteSession
from tether.errors import Forbidden, TetherError
from tether.sanitize import terminal_name, terminal_text

EXIT_OK, EXIT_TURN_FAILED = 0, 1


async def attach_session(
    hub_url: str | Sequence[str],
    session_id: str,
    token: TokenProvider,
    *,
    prompt: str | None,
    after: int,
    as_json: bool,
    permissions: str,
    follow: bool,
    ssl: Any = None,
    insecure: bool = False,
    keep_following: bool = True,
    take: bool = False,
) -> int:
    """Attach; return the exit status (0 ok, 1 the turn failed; errors raise TetherError).

    `permissions`: `ask` asks on the terminal — and answers nothing without one (a
    request stays pending for someone who can answer); `allow`/`deny` answer every live
    request. A request answered already (seen again in a replayed log) is never asked
    about. `keep_following=False` (`--no-follow`): print the log up to now, then exit.
    Several URLs of one hub (replicas): a structured session fails over between them."""
    urls = [hub_url] if isinstance(hub_url, str) else list(hub_url)
    if prompt is None:
        from tether.cli.terminal_attach import attach_terminal, terminal_info

        info = await terminal_info(urls[0], session_id, token, ssl=ssl, insecure=insecure)
        if info is not None:  # a terminal session: mirror its screen
            return await attach_terminal(
                urls[0], session_id, token, info, after=after, as_json=as_json,
                permissions=permissions, follow=follow, err=err(), ssl=ssl, insecure=insecure,
                take=take,
            )  # fmt: skip
    return await _attach_events(
        urls, session_id, token, prompt=prompt, after=after, as_json=as_json,
        permissions=permissions, follow=follow, ssl=ssl, insecure=insecure,
        keep_following=keep_following, take=take,
    )  # fmt: skip


async def _attach_events(
    hub_url: list[str],
    session_id: str,
    token: TokenProvider,
    *,
    prompt: str | None,
    after: int,
    as_json: bool,
    permissions: str,
    follow: bool,
    ssl: Any,
    insecure: bool,
    keep_following: bool,
    take: bool,
) -> int:
    """Attach to a structured session: print its events, answer its permission requests."""
    remote: RemoteSession

    async def on_permission(request: dict[str, Any]) -> None:
        await _answer(remote, request, permissions, keep_following=keep_following)

    async def on_role(role: str, reason: str | None) -> None:
        because = f": {terminal_text(reason)}" if reason else ""
        say(f"(now a {terminal_name(role)}{because})", style="bold")

    async def on_disconnected(reason: str) -> None:
        say(f"(disconnected: {terminal_text(reason)}; reconnecting…)", style="dim")

    remote = RemoteSession(
        hub_url,
        session_id,
        token,
        after=after,
        follow=follow,
        take=take,
        on_role=on_role,
        on_permission_request=on_permission,
        on_disconnected=on_disconnected,
        ssl=ssl,
        insecure=insecure,
    )
    await remote.connect()
    why = f" ({terminal_text(remote.role_reason)})" if remote.role_reason else ""
    role = terminal_name(remote.role)
    say(f"attached to {terminal_name(session_id)} as {role}{why}", style="bold")
    try:
        if prompt is not None:
            if remote.role != "owner":
                raise Forbidden(
                    "read-only follower: cannot send --prompt",
                    hint=remote.role_reason or "another viewer owns this session",
                )
            return await _run_turn(remote, prompt, Printer(as_json, remote))
        return await _follow(remote, after, Printer(as_json, remote), keep_following=keep_following)
    finally:
        await remote.close()


async def _answer(
    remote: RemoteSession, request: dict[str, Any], permissions: str, *, keep_following: bool
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

    def show(self, seq: int, ts: float, payload: dict[str, Any]) -> None:
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


async def _ask(request: dict[str, Any]) -> str | None:
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
