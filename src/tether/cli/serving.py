"""Serving: `tether up` (hub + runner in one process), `tether hub`, `tether runner`."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from tether.cli.common import (
    DEFAULT_PORT,
    CaOpt,
    ConfigOpt,
    DataDirOpt,
    InsecureOpt,
    VerboseOpt,
    data_dir_of,
    fail,
    hub_url_of,
    run,
)
from tether.cli.logs import setup_logging
from tether.cli.output import copyable, out, say, styled
from tether.errors import TetherError
from tether.sanitize import terminal_name, terminal_text

if TYPE_CHECKING:
    from tether.client.access import HubAccess
    from tether.config import TetherConfig
    from tether.hub.settings import HubSettings

PANEL = "Serving"
StoreOpt = Annotated[
    str | None,
    typer.Option(
        metavar="URL",
        envvar="TETHER_STORE",
        help="postgresql://USER@HOST:PORT/DB: run as one replica of a hub on PostgreSQL"
        " (default: SQLite in the data dir).",
    ),
]
commands = typer.Typer()

TrustedProxyOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--trusted-proxy",
        metavar="CIDR",
        help="A reverse proxy whose X-Forwarded-For/-Proto are believed (repeatable; an"
        " address or CIDR). From anyone else those headers are ignored.",
    ),
]
AllowedHostOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--allowed-host",
        metavar="HOST",
        help="Another Host name the hub answers to (repeatable; *.example.com for"
        " subdomains). Others are refused, against DNS rebinding.",
    ),
]
PublicUrlOpt = Annotated[
    str | None,
    typer.Option(
        "--public-url",
        metavar="URL",
        help="The URL people reach the hub by (behind a proxy, the proxy's); its host is"
        " allowed as Host.",
    ),
]


def front_door(
    home: Path, trusted: list[str] | None, allowed: list[str] | None, public_url: str | None
) -> HubSettings:
    """The hub's settings with the Host and proxy options, checked now (a bad CIDR or URL
    is an error before anything starts)."""
    from tether.hub.guard import HostCheck, parse_networks
    from tether.hub.settings import HubSettings

    parse_networks(trusted or ())
    HostCheck(public_url, allowed or ())
    return HubSettings(
        data_dir=home,
        public_url=public_url,
        allowed_hosts=tuple(allowed or ()),
        trusted_proxies=tuple(trusted or ()),
    )


@contextlib.contextmanager
def logs_held_for_banner(verbose: bool) -> Iterator[Callable[[], None]]:
    """Logging for a hub, held back until its banner is out (the function it gives ends
    the hold; it ends anyway when the block does). A tether error in the block ends the
    command, after the lines held back."""
    release_logs = setup_logging(verbose)
    try:
        yield release_logs
    except TetherError as exc:
        release_logs()
        fail(exc)
    finally:
        release_logs()


def config_of(path: Path | None) -> TetherConfig:
    """The teams config, or the built-in demo config."""
    from tether.config import demo_config, load_config

    return load_config(path) if path else demo_config()


@commands.command(rich_help_panel=PANEL)
def up(
    config: ConfigOpt = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = DEFAULT_PORT,
    data_dir: DataDirOpt = None,
    trusted_proxy: TrustedProxyOpt = None,
    allowed_host: AllowedHostOpt = None,
    public_url: PublicUrlOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Start a hub and a runner in this process on 127.0.0.1 (a `demo` team without --config)."""
    from tether.serve import check_bind, run_embedded

    home = data_dir_of(data_dir)
    with logs_held_for_banner(verbose) as release_logs:
        teams = config_of(config)
        check_bind("127.0.0.1", port, insecure=False, tls=False)
        settings = front_door(home, trusted_proxy, allowed_host, public_url)
        names = [terminal_name(name) for name in teams.teams]

        def ready(url: str) -> None:
            out().print(styled(("tether is up", "bold green"), f" at {url}"), soft_wrap=True)
            out().print(
                f"  teams: {', '.join(names)}   data: {home}   (this CLI is signed in)",
                soft_wrap=True,
            )
            copyable(
                f"  try:   tether start {names[0]} --prompt 'hello'   then"
                "   tether attach <session>"
            )
            out().print("  stop:  Ctrl+C", soft_wrap=True)
            release_logs()

        run(
            run_embedded(
                teams,
                home,
                "127.0.0.1",
                port,
                settings=settings,
                on_ready=ready,
                on_first_start=show_signin,
                on_signin_link=show_signin_link,
            ),
            long_running=True,
        )


@commands.command(rich_help_panel=PANEL)
def hub(
    host: Annotated[str, typer.Option(metavar="ADDRESS", help="Address to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port.")] = DEFAULT_PORT,
    data_dir: DataDirOpt = None,
    tls_cert: Annotated[str | None, typer.Option(metavar="FILE", help="TLS certificate (PEM).")] = (
        None
    ),
    tls_key: Annotated[str | None, typer.Option(metavar="FILE", help="TLS private key (PEM).")] = (
        None
    ),
    insecure: Annotated[
        bool, typer.Option(help="Allow plain HTTP on a non-loopback address.")
    ] = False,
    trusted_proxy: TrustedProxyOpt = None,
    allowed_host: AllowedHostOpt = None,
    public_url: PublicUrlOpt = None,
    store: StoreOpt = None,
    verbose: VerboseOpt = False,
) -> None:
    """Run a hub (runners and viewers connect to it)."""
    from tether.serve import check_bind, run_hub

    home = data_dir_of(data_dir)
    with logs_held_for_banner(verbose) as release_logs:
        if bool(tls_cert) != bool(tls_key):
            raise TetherError("--tls-cert and --tls-key go together", hint="pass both")
        check_bind(host, port, insecure=insecure, tls=bool(tls_cert))
        settings = front_door(home, trusted_proxy, allowed_host, public_url)

        def ready(url: str) -> None:
            say(f"tether hub listening on {url}; pair devices with `tether pair new`")
            release_logs()

        run(
            run_hub(
                home,
                host,
                port,
                tls_cert=tls_cert,
                tls_key=tls_key,
                settings=dataclasses.replace(settings, store=store or None),
                on_ready=ready,
                on_first_start=show_signin,
            ),
            long_running=True,
        )


@commands.command(rich_help_panel=PANEL)
def runner(
    hub: Annotated[
        list[str] | None,
        typer.Option(
            "--hub",
            envvar="TETHER_HUB",
            metavar="URL",
            help="Hub URL; several (repeated, or URL1,URL2) for replicas: the runner fails over"
            " between them.",
        ),
    ] = None,
    config: ConfigOpt = None,
    runner_id: Annotated[
        str | None, typer.Option(metavar="ID", help="Stable id of this runner.")
    ] = None,
    data_dir: DataDirOpt = None,
    verbose: VerboseOpt = False,
    pair: Annotated[
        str | None,
        typer.Option("--pair", metavar="CODE", help="Pairing code (from `tether pair new`)."),
    ] = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Run a runner: connect out to the hub and serve the teams of the config."""
    import socket

    from tether.client.access import runner_tokens
    from tether.runner.daemon import Runner

    setup_logging(verbose)()  # a runner has no banner to wait for
    home = data_dir_of(data_dir)
    try:
        teams = config_of(config)
        rid = runner_id or teams.runner_id or socket.gethostname()
        urls = hub_urls_of(hub, data_dir)
        access = run(runner_access(urls[0], home, rid, pair, ca, insecure))
        token = runner_tokens(urls, home) if len(urls) > 1 else access.token
        the_runner = Runner(
            urls, token, teams, home, runner_id=rid, ssl=access.ssl, insecure=insecure
        )
    except TetherError as exc:
        fail(exc)
    names = ", ".join(terminal_name(name) for name in teams.teams)
    say(f"runner {terminal_name(rid)} serving {names} → {', '.join(the_runner.hub_urls)}")
    run(the_runner.run(), long_running=True)


def hub_urls_of(given: list[str] | None, data_dir: Path | None) -> list[str]:
    """Every URL given (`--hub A --hub B`, or `--hub A,B`), else the usual default."""
    urls = [u.strip().rstrip("/") for item in given or [] for u in item.split(",") if u.strip()]
    return urls or [hub_url_of(None, data_dir)]


async def runner_access(
    url: str, home: Path, runner_id: str, pair: str | None, ca: str | None, insecure: bool
) -> HubAccess:
    """A runner's access: pair first when given a code, then use the stored credentials."""
    from tether.client.access import hub_access
    from tether.client.credentials import CredentialStore, DeviceTokenProvider, pair_device

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
    if isinstance(access.token, DeviceTokenProvider):
        access.token.credentials()  # fail now, with a hint, when this runner is not paired
    return access


def show_signin(url: str, code: str) -> None:
    """The first start's one-time sign-in code (shown once, on the terminal only)."""
    copyable(
        ("first start:", "bold"),
        " an admin user was created. One-time sign-in code (15 minutes): ",
        (terminal_text(code), "bold"),
    )
    show_signin_link(url, code)
    copyable(f"  another machine: tether login --hub {url} --code {terminal_text(code)}")


def show_signin_link(url: str, code: str) -> None:
    """A one-time sign-in link for a browser. The code is in the URL fragment, which a
    browser never sends to a server (see docs/web.md)."""
    copyable(
        f"  sign in from a browser (one-time link, 15 minutes): {url}/signin#code="
        f"{terminal_text(code)}"
    )
