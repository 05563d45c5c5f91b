"""Identities: `login`, `pair new`, `devices`, `revoke`, `users add`, `token`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tether.cli.common import CaOpt, Hub, HubOpt, InsecureOpt, JsonOpt, data_dir_of, run
from tether.cli.group import sub_app
from tether.cli.ids import device_ids, with_id
from tether.cli.output import columns, copyable, print_rows, say, when
from tether.sanitize import terminal_name, terminal_text

if TYPE_CHECKING:
    from tether.client.api import HubApi
    from tether.protocol.api_shapes import DeviceRow

PANEL = "Devices and users"
commands = typer.Typer()
pair_app = sub_app("Pair devices (CLI, runner, browser) to your user.")
users_app = sub_app("Users of this hub (admins).")
commands.add_typer(pair_app, name="pair", rich_help_panel=PANEL)
commands.add_typer(users_app, name="users", rich_help_panel=PANEL)


@pair_app.command("new")
def pair_new(
    qr: Annotated[bool, typer.Option(help="Also print a QR code.")] = True,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Mint a pairing code (single use, five minutes) and show it with a QR code."""
    where = Hub(hub, ca, insecure)

    code = terminal_text(where.ask(lambda client: client.pairing_code())["code"])
    url = where.resolved_url
    copyable("pairing code: ", (code, "bold"), "  (single use, expires in 5 minutes)")
    copyable(f"  this CLI elsewhere:  tether login --hub {url} --code {code}")
    copyable(f"  a runner:            tether runner --hub {url} --pair {code}")
    if qr:
        import segno

        # The fragment never reaches a server log; the web UI reads it in the page.
        segno.make(f"{url}/#pair={code}", error="m").terminal(compact=True)


@commands.command(rich_help_panel=PANEL)
def login(
    hub: Annotated[str, typer.Option("--hub", metavar="URL", help="Hub URL.")],
    code: Annotated[
        str, typer.Option("--code", metavar="CODE", help="Pairing code (`tether pair new`).")
    ],
    name: Annotated[str | None, typer.Option(metavar="NAME", help="Name of this device.")] = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Pair this machine's CLI to a hub with a pairing code."""
    import socket

    from tether.client.credentials import CredentialStore, pair_device
    from tether.hubfile import write_hub_file

    home = data_dir_of()
    store = CredentialStore(home)
    device_name = name or f"cli@{socket.gethostname()}"
    creds = run(
        pair_device(store, hub, code, kind="cli", name=device_name, ca=ca, insecure=insecure)
    )
    write_hub_file(home, creds.hub)
    say(f"signed in: device {terminal_name(creds.device_id)}; credentials in {store.where}")


@commands.command(rich_help_panel=PANEL)
def devices(
    as_json: JsonOpt = False, hub: HubOpt = None, ca: CaOpt = None, insecure: InsecureOpt = False
) -> None:
    """List your devices (admins: everybody's)."""

    rows = Hub(hub, ca, insecure).ask(lambda client: client.devices())
    print_rows(rows, _DEVICE_COLUMNS, _device_row, as_json=as_json)


_DEVICE_COLUMNS = columns("device", "user", "kind", "name", "paired", "last seen", "revoked")


def _device_row(d: DeviceRow) -> tuple[object, ...]:
    revoked = d["revoked_at"]
    return (
        d["id"],
        d["user_id"],
        d["kind"],
        d["name"],
        when(d["created_at"]),
        when(d["last_seen"]),
        "-" if revoked is None else f"{when(revoked)} ({d['revoked_reason']})",
    )


@commands.command(rich_help_panel=PANEL)
def revoke(
    device: Annotated[
        str, typer.Argument(metavar="DEVICE", help="Device id, or a unique start of one.")
    ],
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Revoke a device: its tokens stop working and its connections close now."""

    async def revoke_one(client: HubApi) -> str:
        async def by_id(device_id: str) -> str:
            return (await client.revoke_device(device_id))["revoked"]

        return await with_id("device", device, by_id, lambda: device_ids(client), "tether devices")

    say(f"revoked {terminal_name(Hub(hub, ca, insecure).ask(revoke_one))}")


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="User name.")],
    admin: Annotated[bool, typer.Option(help="Make them an admin.")] = False,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Add a user and print a sign-in code for their first device."""

    answer = Hub(hub, ca, insecure).ask(lambda client: client.add_user(name, admin=admin))
    copyable(
        f"user {terminal_name(name)} ({terminal_name(answer['user']['id'])}); sign-in code for "
        "their first device (5 minutes): ",
        (terminal_text(answer["code"]), "bold"),
    )


@commands.command(rich_help_panel=PANEL)
def token(hub: HubOpt = None, ca: CaOpt = None, insecure: InsecureOpt = False) -> None:
    """Print a short-lived session token of this machine's device (for curl, HTTP MCP, scripts).

    It expires in minutes; never paste it anywhere it is logged. The hub is asked first
    whether the token works, so a revoked device gets an error, not a dead token.
    """
    access = Hub(hub, ca, insecure).access()

    async def go() -> str:
        async with access.quick_client() as client:
            await client.me()
        return await access.token()

    sys.stdout.write(run(go()) + "\n")
