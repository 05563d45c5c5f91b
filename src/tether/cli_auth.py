"""CLI commands for identities: login, pairing, devices, revocation, share links, audit, users.

Registered on the main app by `tether.cli`; each command is a thin call into the
client and prints the answer.
"""

# No `from __future__ import annotations`: typer reads the option annotations at runtime,
# and they name `cli`, which is only imported inside register().

import json
import re
import socket
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from tether.client.access import HubAccess, hub_access
from tether.client.credentials import CredentialStore, pair_device
from tether.errors import ConfigError, TetherError


async def runner_access(
    url: str, home: Path, runner_id: str, pair: str | None, ca: str | None, insecure: bool
) -> HubAccess:
    """A runner's access: pair first when given a code, then use the stored credentials."""
    if pair:
        await pair_device(
            CredentialStore(home),
            url,
            pair,
            kind="runner",
            name=runner_id,
            ca=ca,
            insecure=insecure,
        )
    access = hub_access(url, home, kind="runner", ca=ca, insecure=insecure)
    if isinstance(access.token, object) and hasattr(access.token, "credentials"):
        access.token.credentials()  # fail now, with a hint, when this runner is not paired
    return access


_SPAN = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_span(text: str) -> float:
    """`90s`, `10m`, `2h`, `7d` → seconds."""
    match = _SPAN.match(text.strip().lower())
    if not match:
        raise ConfigError(f"cannot read {text!r} as a duration", hint="write e.g. 30m, 2h or 1d")
    return float(match.group(1)) * _UNIT[match.group(2)]


def parse_since(text: str) -> float:
    """A relative span (`1h`: an hour ago), an ISO date/time, or epoch seconds."""
    try:
        return time.time() - parse_span(text)
    except ConfigError:
        pass
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        raise ConfigError(
            f"cannot read --since {text!r}", hint="write 1h, 2d, 2026-01-31 or 2026-01-31T12:00"
        ) from None


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def register(app: typer.Typer) -> None:
    """Add the commands to the CLI."""
    from tether import cli

    pair_app = typer.Typer(
        help="Pair devices (CLI, runner, browser) to your user.", no_args_is_help=True
    )
    app.add_typer(pair_app, name="pair")
    users_app = typer.Typer(help="Users of this hub (admins).", no_args_is_help=True)
    app.add_typer(users_app, name="users")

    @pair_app.command("new")
    def pair_new(
        hub: cli.HubOpt = None,
        qr: Annotated[bool, typer.Option(help="Also print a QR code.")] = True,
    ) -> None:
        """Mint a pairing code (single use, five minutes) and show it with a QR code."""

        async def go() -> dict[str, Any]:
            async with cli.client(hub) as c:
                result: dict[str, Any] = await c.request("POST", "/v1/pairing-codes")
                return result

        answer = cli.run(go())
        url, code = cli.hub_url_of(hub), answer["code"]
        cli.out.print(f"pairing code: [bold]{code}[/]  (single use, expires in 5 minutes)")
        cli.out.print(f"  this CLI elsewhere:  tether login --hub {url} --code {code}")
        cli.out.print(f"  a runner:            tether runner --hub {url} --pair {code}")
        if qr:
            import segno

            # The fragment never reaches a server log; the web UI reads it in the page.
            segno.make(f"{url}/#pair={code}", error="m").terminal(compact=True)

    @app.command()
    def login(
        hub: Annotated[str, typer.Option("--hub", help="Hub URL.")],
        code: Annotated[str, typer.Option("--code", help="Pairing code (`tether pair new`).")],
        name: Annotated[str | None, typer.Option(help="Name of this device.")] = None,
        ca: cli.CaOpt = None,
        insecure: cli.InsecureOpt = False,
    ) -> None:
        """Pair this machine's CLI to a hub with a pairing code."""
        home = cli.data_dir_of(None)
        store = CredentialStore(home)
        creds = cli.run(
            pair_device(
                store,
                hub,
                code,
                kind="cli",
                name=name or f"cli@{socket.gethostname()}",
                ca=ca,
                insecure=insecure,
            )
        )
        from tether.serve import write_hub_file

        write_hub_file(home, creds.hub)
        cli.err.print(f"signed in: device {creds.device_id}; credentials in {store.where}")

    @app.command()
    def devices(
        hub: cli.HubOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False
    ) -> None:
        """List your devices (admins: everybody's)."""

        async def go() -> list[dict[str, Any]]:
            async with cli.client(hub) as c:
                result: list[dict[str, Any]] = await c.request("GET", "/v1/devices")
                return result

        rows = cli.run(go())
        if as_json:
            cli.out.print_json(json.dumps(rows))
            return
        table = Table("device", "user", "kind", "name", "paired", "last seen", "revoked")
        for d in rows:
            table.add_row(
                d["id"],
                d["user_id"],
                d["kind"],
                d["name"],
                _when(d["created_at"]),
                _when(d["last_seen"]),
                "-"
                if d["revoked_at"] is None
                else f"{_when(d['revoked_at'])} ({d['revoked_reason']})",
            )
        cli.out.print(table)

    @app.command()
    def revoke(
        device: Annotated[str, typer.Argument(help="Device id (`tether devices`).")],
        hub: cli.HubOpt = None,
    ) -> None:
        """Revoke a device: its tokens stop working and its connections close now."""

        async def go() -> None:
            async with cli.client(hub) as c:
                await c.request("POST", f"/v1/devices/{device}/revoke")

        cli.run(go())
        cli.err.print(f"revoked {device}")

    @app.command()
    def share(
        target: Annotated[str, typer.Argument(help="Session id, or `revoke` / `list`.")],
        share_id: Annotated[str | None, typer.Argument(help="With `revoke`: the link id.")] = None,
        ttl: Annotated[str, typer.Option(help="How long the link works (30m, 2h, 1d).")] = "1h",
        hub: cli.HubOpt = None,
    ) -> None:
        """Share a session read-only: `tether share SESSION [--ttl 2h]`; `tether share list`;
        `tether share revoke LINK`."""

        async def go() -> Any:
            async with cli.client(hub) as c:
                if target == "revoke":
                    if not share_id:
                        raise TetherError("which link?", hint="tether share revoke LINK_ID")
                    return await c.request("POST", f"/v1/shares/{share_id}/revoke")
                if target == "list":
                    return await c.request("GET", "/v1/shares")
                return await c.request(
                    "POST", f"/v1/sessions/{target}/shares", json={"ttl_s": parse_span(ttl)}
                )

        try:
            answer = cli.run(go())
        except ConfigError as exc:
            cli.fail(exc)
        if target == "revoke":
            cli.err.print(f"revoked share link {share_id}; its viewers were disconnected")
        elif target == "list":
            table = Table("link", "session", "expires", "revoked")
            for s in answer:
                table.add_row(
                    s["id"], s["session_id"], _when(s["expires_at"]), _when(s["revoked_at"])
                )
            cli.out.print(table)
        else:
            cli.out.print(
                f"share link {answer['id']} for {target}, read-only, until "
                f"{_when(answer['expires_at'])}"
            )
            cli.out.print(f"  token (give it to the viewer; shown once): {answer['token']}")
            # The token rides in the fragment, which browsers never send to a server.
            cli.out.print(
                f"  browser: {cli.hub_url_of(hub)}/share#token={answer['token']}",
                soft_wrap=True,
                highlight=False,
            )
            cli.out.print(
                f"  watch:  TETHER_TOKEN=<token> tether attach {target} --hub {cli.hub_url_of(hub)}"
            )
            cli.out.print(f"  revoke: tether share revoke {answer['id']}")

    @app.command()
    def audit(
        since: Annotated[str | None, typer.Option(help="1h, 2d, an ISO date, or epoch.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
        limit: Annotated[int, typer.Option(help="At most this many entries.")] = 1000,
        hub: cli.HubOpt = None,
    ) -> None:
        """Show the audit log (admins)."""
        try:
            start = parse_since(since) if since else 0.0
        except ConfigError as exc:
            cli.fail(exc)

        async def go() -> list[dict[str, Any]]:
            async with cli.client(hub) as c:
                result: list[dict[str, Any]] = await c.request(
                    "GET", "/v1/audit", params={"since": start, "limit": limit}
                )
                return result

        rows = cli.run(go())
        if as_json:
            for row in rows:
                typer.echo(json.dumps(row, sort_keys=True))
            return
        table = Table("time", "action", "who", "device", "address", "details")
        for e in rows:
            table.add_row(
                _when(e["ts"]),
                e["action"],
                e["actor"] or e["user_id"] or "-",
                e["device_id"] or "-",
                e["address"] or "-",
                json.dumps(e["details"], sort_keys=True),
            )
        cli.out.print(table)

    @users_app.command("add")
    def users_add(
        name: Annotated[str, typer.Argument(help="User name.")],
        admin: Annotated[bool, typer.Option(help="Make them an admin.")] = False,
        hub: cli.HubOpt = None,
    ) -> None:
        """Add a user and print a sign-in code for their first device."""

        async def go() -> dict[str, Any]:
            async with cli.client(hub) as c:
                result: dict[str, Any] = await c.request(
                    "POST", "/v1/users", json={"name": name, "admin": admin}
                )
                return result

        answer = cli.run(go())
        cli.out.print(
            f"user {name} ({answer['user']['id']}); sign-in code for their first "
            f"device (5 minutes): [bold]{answer['code']}[/]"
        )
