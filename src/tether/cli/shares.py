"""`tether share`: read-only links to a session — make one, list them, revoke one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from tether.cli.common import CaOpt, Hub, HubOpt, InsecureOpt, fail
from tether.cli.identity import PANEL
from tether.cli.ids import share_ids, with_id, with_session
from tether.cli.output import columns, copyable, print_table, say, when
from tether.cli.spans import parse_span
from tether.errors import ConfigError, TetherError
from tether.sanitize import terminal_name, terminal_text

if TYPE_CHECKING:
    from tether.client.api import HubApi

commands = typer.Typer()


@commands.command(rich_help_panel=PANEL)
def share(
    target: Annotated[
        str, typer.Argument(metavar="SESSION|list|revoke", help="Session id, or `list` / `revoke`.")
    ],
    share_id: Annotated[
        str | None, typer.Argument(metavar="[LINK]", help="With `revoke`: the link id.")
    ] = None,
    ttl: Annotated[
        str, typer.Option(metavar="SPAN", help="How long the link works (30m, 2h, 1d).")
    ] = "1h",
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Share a session read-only: `tether share SESSION [--ttl 2h]`; `tether share list`;
    `tether share revoke LINK`."""
    where = Hub(hub, ca, insecure)
    if target == "list":
        _list(where)
    elif target == "revoke":
        if not share_id:
            fail(TetherError("which link?", hint="tether share revoke LINK_ID (tether share list)"))
        _revoke(where, share_id)
    else:
        try:
            ttl_s = parse_span(ttl)
        except ConfigError as exc:
            fail(exc)
        _create(where, target, ttl_s)


def _list(where: Hub) -> None:
    print_table(
        columns("link", "session", "expires", "revoked", ids=2),
        [
            (s["id"], s["session_id"], when(s["expires_at"]), when(s["revoked_at"]))
            for s in where.ask(lambda client: client.shares())
        ],
    )


def _revoke(where: Hub, given: str) -> None:
    async def revoke_one(client: HubApi) -> str:
        async def by_id(link: str) -> str:
            await client.revoke_share(link)
            return link

        return await with_id(
            "share link", given, by_id, lambda: share_ids(client), "tether share list"
        )

    revoked = where.ask(revoke_one)
    say(f"revoked share link {terminal_name(revoked)}; its viewers were disconnected")


def _create(where: Hub, session: str, ttl_s: float) -> None:
    answer = where.ask(
        lambda client: with_session(client, session, lambda sid: client.create_share(sid, ttl_s))
    )
    link, session_id = terminal_name(answer["id"]), terminal_name(answer["session_id"])
    token, url = terminal_text(answer["token"]), where.resolved_url
    copyable(f"share link {link} for {session_id}, read-only, until {when(answer['expires_at'])}")
    copyable(f"  token (give it to the viewer; shown once): {token}")
    # The token rides in the fragment, which browsers never send to a server.
    copyable(f"  browser: {url}/share#token={token}")
    copyable(f"  watch:  TETHER_TOKEN=<token> tether attach {session_id} --hub {url}")
    copyable(f"  revoke: tether share revoke {link}")
