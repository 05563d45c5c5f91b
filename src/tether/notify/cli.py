"""`tether notify …`: your notification sinks and preferences (docs/notifications.md).

    tether notify add webhook URL [--secret S] [--events LIST]
    tether notify add ntfy URL [--token T] [--events LIST]
    tether notify list [--json]
    tether notify test ID
    tether notify remove ID
    tether notify prefs [--events LIST] [--reminder MIN] [--quiet 22:00-07:00] [--tz ZONE]

Every command takes `--hub` (default: the hub `tether up` started) and uses this
machine's device credentials, like the rest of the CLI.
"""

# No `from __future__ import annotations`: typer reads the annotations at runtime.

import asyncio
import json
from collections.abc import Coroutine
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from tether.errors import ConfigError, TetherError

if TYPE_CHECKING:
    from tether.protocol.api_shapes import PreferencesShape, QuietHoursShape, SinkRequest

notify_app = typer.Typer(
    help="Be told when an agent needs you: webhooks, ntfy, Web Push.", no_args_is_help=True
)
out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

HubOpt = Annotated[
    str | None,
    typer.Option(
        "--hub", envvar="TETHER_HUB", help="Hub URL (default: the one `tether up` started)."
    ),
]
EventsOpt = Annotated[
    str | None,
    typer.Option(
        "--events",
        help="Only these events, comma-separated: permission_request, permission_reminder, "
        "permission_answered, turn_finished, session_failed.",
    ),
]
DEFAULT_HUB = "http://127.0.0.1:8765"


def _fail(exc: TetherError) -> NoReturn:
    err.print(f"[bold red]error:[/] {exc.message}", markup=True, highlight=False)
    if exc.hint:
        err.print(f"  hint: {exc.hint}", style="dim", highlight=False)
    raise typer.Exit(2)


def _call(hub: str | None, method: str, path: str, body: Any = None) -> Any:
    """One API call with this machine's credentials; errors end the command."""
    from tether.client.access import hub_access
    from tether.config import tether_home
    from tether.hubfile import read_hub_url

    home = tether_home()
    url = (hub or read_hub_url(home) or DEFAULT_HUB).rstrip("/")

    async def go() -> Any:
        async with hub_access(url, home).client() as client:
            kwargs = {} if body is None else {"json": body}
            return await client.request(method, path, **kwargs)

    return _run(go())


def _run(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        return asyncio.run(coro)
    except TetherError as exc:
        _fail(exc)


@notify_app.command("add")
def add(
    kind: Annotated[str, typer.Argument(help="webhook or ntfy")],
    url: Annotated[str, typer.Argument(help="The webhook URL, or the ntfy topic URL.")],
    secret: Annotated[
        str | None, typer.Option(help="Webhook signing secret (default: one is made for you).")
    ] = None,
    token: Annotated[str | None, typer.Option(help="ntfy access token (tk_…).")] = None,
    events: EventsOpt = None,
    hub: HubOpt = None,
) -> None:
    """Add a sink: a webhook (JSON POST, signed) or an ntfy topic."""
    if kind not in ("webhook", "ntfy"):
        _fail(ConfigError(f"unknown sink kind {kind!r}", hint="use `webhook` or `ntfy`"))
    body: SinkRequest = {"kind": kind, "url": url, "events": events}
    if secret is not None:
        body["secret"] = secret
    if token is not None:
        body["token"] = token
    sink = _call(hub, "POST", "/v1/notify/sinks", body)
    out.print(f"added {sink['kind']} sink [bold]{sink['id']}[/] → {sink['url']}")
    if sink.get("secret") and secret is None:
        out.print(f"  signing secret (shown once): {sink['secret']}")
        out.print("  receivers check X-Tether-Signature: sha256=<HMAC-SHA256 of the body>")
    out.print(f"  try it: tether notify test {sink['id']}")


def _when(ts: float | None) -> str:
    return "-" if ts is None else datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M")


@notify_app.command("list")
def list_sinks(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    hub: HubOpt = None,
) -> None:
    """Your sinks (webhooks, ntfy topics, browsers with Web Push)."""
    sinks = _call(hub, "GET", "/v1/notify/sinks")
    if as_json:
        out.print_json(json.dumps(sinks))
        return
    if not sinks:
        err.print(
            "no sinks yet: `tether notify add ntfy https://ntfy.sh/TOPIC`, or the web UI's Settings"
        )
        return
    table = Table("id", "kind", "url", "events", "added", "last error")
    for s in sinks:
        table.add_row(
            s["id"],
            s["kind"],
            s["url"],
            ",".join(s["events"]) if s["events"] else "all",
            _when(s["created_at"]),
            s["last_error"] or "-",
        )
    out.print(table)


@notify_app.command("test")
def test(
    sink_id: Annotated[str, typer.Argument(help="Sink id (`tether notify list`).")],
    hub: HubOpt = None,
) -> None:
    """Send a test notification to a sink now."""
    result = _call(hub, "POST", f"/v1/notify/sinks/{sink_id}/test")
    if result["outcome"] != "sent":
        err.print(f"[bold red]not delivered:[/] {result['detail']}", highlight=False)
        raise typer.Exit(1)
    out.print(f"delivered ({result['detail']})")


@notify_app.command("remove")
def remove(
    sink_id: Annotated[str, typer.Argument(help="Sink id (`tether notify list`).")],
    hub: HubOpt = None,
) -> None:
    """Remove a sink."""
    _call(hub, "DELETE", f"/v1/notify/sinks/{sink_id}")
    err.print(f"removed {sink_id}")


def _quiet(text: str, tz: str | None) -> "QuietHoursShape | None":
    if text in ("", "off", "none"):
        return None
    start, sep, end = text.partition("-")
    if not sep:
        _fail(ConfigError(f"cannot read --quiet {text!r}", hint="write e.g. 22:00-07:00, or off"))
    return {"start": start.strip(), "end": end.strip(), "tz": tz or "UTC"}


@notify_app.command("prefs")
def prefs(
    events: EventsOpt = None,
    reminder: Annotated[
        float | None, typer.Option(help="Remind after this many minutes unanswered (0: never).")
    ] = None,
    quiet: Annotated[
        str | None, typer.Option(help="Quiet hours, e.g. 22:00-07:00 (`off` to clear).")
    ] = None,
    tz: Annotated[str | None, typer.Option(help="Time zone of the quiet hours.")] = None,
    teams: Annotated[
        str | None, typer.Option(help="Only these teams, comma-separated (`all` to clear).")
    ] = None,
    hub: HubOpt = None,
) -> None:
    """Show your notification preferences, or change some of them."""
    current: PreferencesShape = _call(hub, "GET", "/v1/notify/preferences")
    changed: PreferencesShape = {**current}
    if events is not None:
        changed["events"] = [e.strip() for e in events.split(",") if e.strip()]
    if reminder is not None:
        changed["reminder_minutes"] = reminder
    if quiet is not None:
        changed["quiet_hours"] = _quiet(quiet, tz)
    elif tz is not None and (quiet_hours := current.get("quiet_hours")):
        changed["quiet_hours"] = {**quiet_hours, "tz": tz}
    if teams is not None:
        names = [t.strip() for t in teams.split(",") if t.strip()]
        changed["teams"] = None if names in ([], ["all"]) else names
    if changed != current:
        current = _call(hub, "PUT", "/v1/notify/preferences", changed)
    out.print_json(json.dumps(current))
