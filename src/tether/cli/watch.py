"""`tether attach`: print a session's events, answer permission requests, maybe run one turn."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Sequence
from typing import Any

from tether.cli.output import err, out, say
from tether.cli.render import event_json, render_event, request_text
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
) -> int:
    """Attach; return the exit status (0 ok, 1 the turn failed; errors raise TetherError).
    Several URLs of one hub (replicas): a structured session fails over between them."""
    urls = [hub_url] if isinstance(hub_url, str) else list(hub_url)
    if prompt is None:
        from tether.cli.terminal_attach import attach_terminal, terminal_info

        info = await terminal_info(urls[0], session_id, token, ssl=ssl, insecure=insecure)
        if info is not None:  # a terminal session: mirror its screen
            return await attach_terminal(
                urls[0], session_id, token, info, after=after, as_json=as_json,
                permissions=permissions, follow=follow, err=err(), ssl=ssl, insecure=insecure,
            )  # fmt: skip
    return await _attach_events(
        urls, session_id, token, prompt=prompt, after=after, as_json=as_json,
        permissions=permissions, follow=follow, ssl=ssl, insecure=insecure,
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
) -> int:
    """Attach to a structured session: print its events, answer its permission requests."""
    remote: RemoteSession

    async def on_permission(request: dict[str, Any]) -> None:
        request_id = terminal_name(request["request_id"])
        if remote.role != "owner":
            say(f"(permission request {request_id} pending: only the owner can answer)")
            return
        behavior = await _ask(request) if permissions == "ask" else permissions
        message = None if behavior == "allow" else "denied from tether attach"
        try:
            await remote.decide_permission(str(request["request_id"]), behavior, message)
        except TetherError as exc:
            say(f"could not answer {request_id}: {terminal_text(exc)}")

    async def on_disconnected(reason: str) -> None:
        say(f"(disconnected: {terminal_text(reason)}; reconnecting…)", style="dim")

    remote = RemoteSession(
        hub_url,
        session_id,
        token,
        after=after,
        follow=follow,
        on_permission_request=on_permission,
        on_disconnected=on_disconnected,
        ssl=ssl,
        insecure=insecure,
    )
    await remote.connect()
    say(f"attached to {terminal_name(session_id)} as {terminal_name(remote.role)}", style="bold")
    try:
        if prompt is not None:
            if remote.role != "owner":
                raise Forbidden(
                    "read-only follower: cannot send --prompt",
                    hint="another viewer owns this session; wait for it to leave",
                )
            return await _run_turn(remote, prompt, as_json)
        return await _follow(remote, after, as_json)
    finally:
        await remote.close()


async def _follow(remote: RemoteSession, after: int, as_json: bool) -> int:
    """Print events until the session exits (an exited session: its log, then stop)."""
    if remote.info.get("state") == "exited" and after >= int(remote.info.get("last_seq", 0)):
        return EXIT_OK
    async for event in remote:
        _print(event.seq, event.ts, event.payload, as_json)
        if event.kind == "exited":
            return EXIT_OK
    return EXIT_OK


async def _run_turn(remote: RemoteSession, prompt: str, as_json: bool) -> int:
    """Send the turn; print events until the turn that answers it finishes."""
    from_seq = int(remote.info.get("last_seq", 0))
    await remote.send_message(prompt)
    ours = False
    async for event in remote:
        _print(event.seq, event.ts, event.payload, as_json)
        kind = event.kind
        if event.seq > from_seq and kind == "user_message" and event.payload.get("text") == prompt:
            ours = True
        elif ours and kind == "turn_finished":
            return EXIT_OK if event.payload.get("status") == "success" else EXIT_TURN_FAILED
        elif event.seq > from_seq and kind == "exited":
            return EXIT_TURN_FAILED
    return EXIT_TURN_FAILED


def _print(seq: int, ts: float, payload: dict[str, Any], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(event_json(seq, ts, payload) + "\n")
        sys.stdout.flush()
    else:
        render_event(out(), payload)


async def _ask(request: dict[str, Any]) -> str:
    """Ask on the terminal; no terminal (or EOF) means deny."""
    question = f"Allow {request_text(request)}? [y/N] "
    if not sys.stdin.isatty():
        say(f"{question}(no terminal: denied; use --permissions allow|deny)")
        return "deny"
    with contextlib.suppress(EOFError):
        err().print(question, end="", soft_wrap=True)
        answer = await asyncio.to_thread(input)
        return "allow" if answer.strip().lower() in ("y", "yes") else "deny"
    return "deny"
