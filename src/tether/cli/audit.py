"""`tether audit`: the hub's audit log, newest first, each entry saying what was decided and
by whom — user and device by name, not by id."""

from __future__ import annotations

import collections
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from tether.cli.common import CaOpt, Hub, HubOpt, InsecureOpt, fail
from tether.cli.identity import PANEL
from tether.cli.output import columns, json_line, print_table, when
from tether.cli.spans import parse_since
from tether.errors import ConfigError

if TYPE_CHECKING:
    from tether.client.api import HubApi
    from tether.protocol.api_shapes import AuditRow, DeviceRow

commands = typer.Typer()

_PAGE = 10_000  # the most the hub hands out at once


@commands.command(rich_help_panel=PANEL)
def audit(
    since: Annotated[
        str | None, typer.Option(metavar="WHEN", help="1h, 2d, an ISO date, or epoch seconds.")
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, metavar="N", help="Show the newest N entries.")
    ] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Show the audit log (admins), newest first."""
    try:
        start = parse_since(since) if since else 0.0
    except ConfigError as exc:
        fail(exc)

    async def go(client: HubApi) -> tuple[list[AuditRow], list[DeviceRow]]:
        return await newest_entries(client, start, limit), await client.devices()

    entries, devices = Hub(hub, ca, insecure).ask(go)
    if as_json:
        for entry in entries:
            typer.echo(json_line(entry))
        return
    names = Names.of(entries, devices)
    print_table(
        columns("time", "who", "action", "what", "from"),
        [
            (
                when(e["ts"]),
                names.who(e),
                e["action"],
                what(e, names),
                e.get("address") or "-",
            )
            for e in entries
        ],
    )


async def newest_entries(client: HubApi, since: float, limit: int) -> list[AuditRow]:
    """The newest `limit` entries at or after `since`, newest first.

    The hub hands entries out oldest first, a page at a time, so this pages forward and
    keeps the last `limit` (entries sharing a timestamp across a page edge come twice and
    are kept once)."""
    newest: collections.deque[AuditRow] = collections.deque(maxlen=limit)
    seen_ids: set[int] = set()
    while True:
        page = await client.audit(since, _PAGE)
        fresh = [e for e in page if e["id"] not in seen_ids]
        newest.extend(fresh)
        seen_ids.update(e["id"] for e in fresh)
        if len(page) < _PAGE or not fresh:
            return list(reversed(newest))
        since = float(page[-1]["ts"])


class Names:
    """User and device names for the ids in audit entries."""

    def __init__(self, users: dict[str, str], devices: dict[str, str]) -> None:
        self.users = users
        self.devices = devices

    @classmethod
    def of(cls, entries: Iterable[AuditRow], devices: Iterable[DeviceRow]) -> Names:
        """Names from the device list and from the entries themselves (the hub has no list
        of user names: `user_created` entries and signed-in actors name them)."""
        users: dict[str, str] = {}
        for e in entries:
            details = e.get("details") or {}
            if e["action"] == "user_created" and details.get("user_id") and details.get("name"):
                users[str(details["user_id"])] = str(details["name"])
            elif e.get("actor") and e.get("user_id"):
                users.setdefault(str(e["user_id"]), str(e["actor"]))
        return cls(users, {d["id"]: d["name"] for d in devices})

    def user(self, entry: AuditRow) -> str:
        """Who: the actor's name, else the user's name, else the user id, else `-`."""
        user_id = entry.get("user_id")
        return str(entry.get("actor") or self.users.get(str(user_id)) or user_id or "-")

    def who(self, entry: AuditRow) -> str:
        """`user (device)`, by name: `admin (laptop)`."""
        device = entry.get("device_id")
        return self.user(entry) + (f" ({self.device(device)})" if device else "")

    def device(self, device_id: object) -> str:
        """A device's name (with the id when the name is unknown)."""
        if not device_id:
            return "-"
        return self.devices.get(str(device_id), str(device_id))


def what(entry: AuditRow, names: Names) -> str:
    """What the entry records, in words: a decision says allow/deny, the request and tool."""
    details = dict(entry.get("details") or {})
    action = entry["action"]
    if action == "permission_decision":
        # The hub records behavior and request id for HTTP answers; the tool when it can.
        tool, request = details.pop("tool", None), details.pop("request_id", None)
        text = str(details.pop("behavior", None) or "answered a permission request")
        text += f" request {request}" if request else ""
        text += f" ({tool})" if tool else ""
        text += f" in {details.pop('session')}" if details.get("session") else ""
    elif action == "device_revoked" and details.get("target"):
        text = f"revoked {names.device(details.pop('target'))}"
        text += f": {details.pop('reason')}" if details.get("reason") else ""
    else:
        text = ""
    rest = "  ".join(f"{k}={v}" for k, v in sorted(details.items()) if v not in (None, ""))
    return "  ".join(part for part in (text, rest) if part) or "-"
