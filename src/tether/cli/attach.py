"""`tether attach`: the command (the watching itself is `tether.cli.watch`)."""

from __future__ import annotations

from typing import Annotated

import typer

from tether.cli.common import CaOpt, Hub, HubOpt, InsecureOpt, fail, run
from tether.cli.sessions import PANEL, SessionArg, TakeOpt
from tether.errors import TetherError

commands = typer.Typer()

PERMISSION_ANSWERS = ("ask", "allow", "deny")


PromptOpt = Annotated[
    str | None,
    typer.Option("--prompt", "-p", metavar="TEXT", help="Send this turn, exit when it finishes."),
]
AfterOpt = Annotated[int, typer.Option(metavar="SEQ", help="Show events after this seq (0: all).")]
PermissionsOpt = Annotated[
    str,
    typer.Option(
        metavar="ask|allow|deny",
        help="Answer permission requests: ask (on a terminal; without one, answer nothing),"
        " allow, deny.",
    ),
]
NoFollowOpt = Annotated[
    bool,
    typer.Option(
        "--no-follow", help="Print the log up to now and exit (do not wait for new events)."
    ),
]


@commands.command(rich_help_panel=PANEL)
def attach(
    session: SessionArg,
    prompt: PromptOpt = None,
    after: AfterOpt = 0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per event.")] = False,
    permissions: PermissionsOpt = "ask",
    follow: Annotated[bool, typer.Option("--follow", help="Join as a read-only follower.")] = False,
    no_follow: NoFollowOpt = False,
    take: TakeOpt = False,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Watch (and as owner steer) a session (TETHER_TOKEN=<share token> to use a share link)."""
    if permissions not in PERMISSION_ANSWERS:
        fail(TetherError(f"--permissions must be ask, allow or deny, not {permissions!r}"))
    if take and follow:
        fail(TetherError("--take and --follow do not go together: --follow joins as a follower"))
    if no_follow and prompt is not None:
        fail(TetherError("--no-follow and --prompt do not go together: --prompt waits"))
    access = Hub(hub, ca, insecure).access()

    async def go() -> int:
        from tether.cli.ids import full_session_id
        from tether.cli.watch import Watch, attach_session

        async with access.quick_client() as client:
            session_id = await full_session_id(client, session)
        return await attach_session(
            Watch(
                list(access.urls) or [access.url],
                session_id,
                access.token,
                prompt=prompt,
                after=after,
                as_json=as_json,
                permissions=permissions,
                follow=follow,
                keep_following=not no_follow,
                take=take,
                ssl=access.ssl,
                insecure=access.insecure,
            )
        )

    raise typer.Exit(run(go()))
