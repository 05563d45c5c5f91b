"""`tether attach`: print a session's events, answer permission requests, maybe run one turn."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from typing import Any

from rich.console import Console

from tether.client.http import TokenProvider
from tether.client.session import RemoteSession
from tether.console import event_json, render_event
from tether.errors import Forbidden, TetherError

EXIT_OK, EXIT_TURN_FAILED = 0, 1


async def attach_session(
    hub_url: str,
    session_id: str,
    token: TokenProvider,
    *,
    prompt: str | None,
    after: int,
    as_json: bool,
    permissions: str,
    follow: bool,
    out: Console,
    err: Console,
    ssl: Any = None,
    insecure: bool = False,
) -> int:
    """Attach; return the exit status (0 ok, 1 the turn failed; errors raise TetherError)."""
    if prompt is None:
        from tether.terminal.attach import attach_terminal, terminal_info

        info = await terminal_info(hub_url, session_id, token, ssl=ssl, insecure=insecure)
        if info is not None:  # a terminal session: mirror its screen
            return await attach_terminal(
                hub_url, session_id, token, info, after=after, as_json=as_json,
                permissions=permissions, follow=follow, err=err, ssl=ssl, insecure=insecure,
            )  # fmt: skip
    remote: RemoteSession

    async def on_permission(request: dict[str, Any]) -> None:
        request_id = str(request["request_id"])
        if remote.role != "owner":
            err.print(f"(permission request {request_id} pending: only the owner can answer)")
            return
        if permissions == "ask":
            behavior = await _ask(err, request)
        else:
            behavior = permissions
        message = None if behavior == "allow" else "denied from tether attach"
        try:
            await remote.decide_permission(request_id, behavior, message)
        except TetherError as exc:
            err.print(f"could not answer {request_id}: {exc}")

    async def on_disconnected(reason: str) -> None:
        err.print(f"(disconnected: {reason}; reconnecting…)", style="dim")

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
    err.print(f"attached to {session_id} as {remote.role}", style="bold")
    try:
        if prompt is not None:
            if remote.role != "owner":
                raise Forbidden(
                    "read-only follower: cannot send --prompt",
                    hint="another viewer owns this session; wait for it to leave",
                )
            return await _run_turn(remote, prompt, as_json, out)
        # An exited session will say nothing more: print its log and stop watching.
        if remote.info.get("state") == "exited" and after >= int(remote.info.get("last_seq", 0)):
            return EXIT_OK
        async for event in remote:
            _print(event.seq, event.ts, event.payload, as_json, out)
            if event.kind == "exited":
                return EXIT_OK
        return EXIT_OK
    finally:
        await remote.close()


async def _run_turn(remote: RemoteSession, prompt: str, as_json: bool, out: Console) -> int:
    """Send the turn; print events until the turn that answers it finishes."""
    from_seq = int(remote.info.get("last_seq", 0))
    await remote.send_message(prompt)
    ours = False
    async for event in remote:
        _print(event.seq, event.ts, event.payload, as_json, out)
        kind = event.kind
        if event.seq > from_seq and kind == "user_message" and event.payload.get("text") == prompt:
            ours = True
        elif ours and kind == "turn_finished":
            return EXIT_OK if event.payload.get("status") == "success" else EXIT_TURN_FAILED
        elif event.seq > from_seq and kind == "exited":
            return EXIT_TURN_FAILED
    return EXIT_TURN_FAILED


def _print(seq: int, ts: float, payload: dict[str, Any], as_json: bool, out: Console) -> None:
    if as_json:
        sys.stdout.write(event_json(seq, ts, payload) + "\n")
        sys.stdout.flush()
    else:
        render_event(out, seq, payload)


async def _ask(err: Console, request: dict[str, Any]) -> str:
    """Ask on the terminal; no terminal (or EOF) means deny."""
    tool_input = json.dumps(request.get("input", {}), ensure_ascii=False)
    question = f"Allow {request.get('tool')} {tool_input}? [y/N] "
    if not sys.stdin.isatty():
        err.print(f"{question}(no terminal: denied; use --permissions allow|deny)")
        return "deny"
    with contextlib.suppress(EOFError):
        answer = await asyncio.to_thread(input, question)
        return "allow" if answer.strip().lower() in ("y", "yes") else "deny"
    return "deny"
