"""The `tether` command line: parse arguments, call into the packages. Nothing else lives here."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

import tether
from tether.client.http import HubClient
from tether.config import TetherConfig, demo_config, load_config, tether_home
from tether.errors import TetherError

app = typer.Typer(
    name="tether",
    help="Run AI coding agents anywhere; watch and steer them from anywhere.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
protocol_app = typer.Typer(help="The wire protocol.", no_args_is_help=True)
app.add_typer(protocol_app, name="protocol")

out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

HubOpt = Annotated[
    str | None,
    typer.Option(
        "--hub", envvar="TETHER_HUB", help="Hub URL (default: the one `tether up` started)."
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option("--data-dir", envvar="TETHER_HOME", help="Data dir (default ~/.tether)."),
]
CaOpt = Annotated[
    str | None,
    typer.Option("--ca", envvar="TETHER_CA", help="CA certificate (PEM) to trust for the hub."),
]
InsecureOpt = Annotated[
    bool,
    typer.Option(
        "--insecure", envvar="TETHER_INSECURE", help="Allow plain http/ws to a non-loopback hub."
    ),
]
ConfigOpt = Annotated[Path | None, typer.Option("--config", "-c", help="Teams file (tether.toml).")]

DEFAULT_PORT = 8765
EXIT_ERROR = 2


def fail(exc: TetherError) -> NoReturn:
    """Print a tether error the way a person wants to read it, and exit 2."""
    err.print(f"[bold red]error:[/] {exc.message}", markup=True, highlight=False)
    if exc.hint:
        err.print(f"  hint: {exc.hint}", style="dim")
    raise typer.Exit(EXIT_ERROR)


class _Terminated(Exception):
    """SIGTERM arrived: the coroutine was cancelled so its cleanup (stopping agents) ran."""


async def _cancel_on_sigterm(coro: Any) -> Any:
    task = asyncio.current_task()
    assert task is not None
    terminated = False

    def on_sigterm() -> None:
        nonlocal terminated
        terminated = True
        task.cancel()

    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    try:
        return await coro
    except asyncio.CancelledError:
        if terminated:
            raise _Terminated from None
        raise


def run(coro: Any) -> Any:
    """Run a coroutine, translating tether errors, Ctrl+C and SIGTERM (both end it cleanly:
    a runner stops its agents first)."""
    try:
        return asyncio.run(_cancel_on_sigterm(coro))
    except TetherError as exc:
        fail(exc)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    except _Terminated:
        raise typer.Exit(143) from None


def setup_logging(verbose: bool) -> None:
    """Plain logs on stderr; DEBUG with -v."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("websockets", "uvicorn.error", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def data_dir_of(data_dir: Path | None) -> Path:
    """The data dir chosen on the command line or by TETHER_HOME."""
    return (data_dir or tether_home()).expanduser()


def hub_url_of(hub: str | None, data_dir: Path | None = None) -> str:
    """--hub, else what `tether up` wrote, else the default local port."""
    from tether.hubfile import read_hub_url

    return (
        hub or read_hub_url(data_dir_of(data_dir)) or f"http://127.0.0.1:{DEFAULT_PORT}"
    ).rstrip("/")


def client(hub: str | None) -> HubClient:
    """An HTTP client for the selected hub with this machine's device credentials
    (TETHER_CA / TETHER_INSECURE from the environment)."""
    from tether.client.access import hub_access

    try:
        return hub_access(hub_url_of(hub), data_dir_of(None)).client()
    except TetherError as exc:
        fail(exc)


def config_of(path: Path | None) -> TetherConfig:
    """The teams config, or the built-in demo config."""
    return load_config(path) if path else demo_config()


# -- serving -----------------------------------------------------------------------------------


@app.command()
def up(
    config: ConfigOpt = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = DEFAULT_PORT,
    data_dir: DataDirOpt = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Start a hub and a runner in this process on 127.0.0.1 (a `demo` team without --config)."""
    from tether.serve import check_bind, run_embedded

    setup_logging(verbose)
    home = data_dir_of(data_dir)
    try:
        teams = config_of(config)
        check_bind("127.0.0.1", port, insecure=False, tls=False)
    except TetherError as exc:
        fail(exc)

    def ready(url: str) -> None:
        out.print(f"[bold green]tether is up[/] at {url}")
        out.print(f"  teams: {', '.join(teams.teams)}   data: {home}   (this CLI is signed in)")
        first = next(iter(teams.teams))
        out.print(
            f"  try:   tether start {first} --prompt 'hello'   then   tether attach <session>"
        )
        out.print("  stop:  Ctrl+C")

    run(
        run_embedded(
            teams,
            home,
            "127.0.0.1",
            port,
            on_ready=ready,
            on_first_start=show_signin,
            on_signin_link=show_signin_link,
        )
    )


@app.command()
def hub(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = DEFAULT_PORT,
    data_dir: DataDirOpt = None,
    tls_cert: Annotated[str | None, typer.Option(help="TLS certificate (PEM).")] = None,
    tls_key: Annotated[str | None, typer.Option(help="TLS private key (PEM).")] = None,
    insecure: Annotated[
        bool, typer.Option(help="Allow plain HTTP on a non-loopback address.")
    ] = False,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Run a hub (runners and viewers connect to it)."""
    from tether.serve import check_bind, run_hub

    setup_logging(verbose)
    home = data_dir_of(data_dir)
    try:
        if bool(tls_cert) != bool(tls_key):
            raise TetherError("--tls-cert and --tls-key go together", hint="pass both")
        check_bind(host, port, insecure=insecure, tls=bool(tls_cert))
    except TetherError as exc:
        fail(exc)

    def ready(url: str) -> None:
        err.print(f"tether hub listening on {url}; pair devices with `tether pair new`")

    run(
        run_hub(
            home,
            host,
            port,
            tls_cert=tls_cert,
            tls_key=tls_key,
            on_ready=ready,
            on_first_start=show_signin,
        )
    )


@app.command()
def runner(
    hub: HubOpt = None,
    config: ConfigOpt = None,
    runner_id: Annotated[str | None, typer.Option(help="Stable id of this runner.")] = None,
    data_dir: DataDirOpt = None,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
    pair: Annotated[
        str | None, typer.Option("--pair", help="Pairing code (from `tether pair new`).")
    ] = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Run a runner: connect out to the hub and serve the teams of the config."""
    import socket

    from tether.runner.daemon import Runner

    setup_logging(verbose)
    home = data_dir_of(data_dir)
    from tether.cli_auth import runner_access

    try:
        teams = config_of(config)
        rid = runner_id or teams.runner_id or socket.gethostname()
        access = run(runner_access(hub_url_of(hub, data_dir), home, rid, pair, ca, insecure))
        the_runner = Runner(
            access.url, access.token, teams, home, runner_id=rid, ssl=access.ssl, insecure=insecure
        )
    except TetherError as exc:
        fail(exc)
    err.print(f"runner {rid} serving {', '.join(teams.teams)} → {the_runner.hub_url}")
    run(the_runner.run())


# -- looking and steering ------------------------------------------------------------------------


@app.command()
def teams(
    hub: HubOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    action: Annotated[
        str | None,
        typer.Argument(
            help="`check`: validate the config and probe each team's host, path and agent."
        ),
    ] = None,
    config: ConfigOpt = None,
    data_dir: DataDirOpt = None,
) -> None:
    """List the teams runners serve; `tether teams check -c tether.toml` probes a config."""
    if action is not None:
        from tether.teams_check_cli import teams_check

        raise typer.Exit(teams_check(action, config, data_dir_of(data_dir), as_json, out, err))

    async def go() -> list[dict[str, Any]]:
        async with client(hub) as c:
            return await c.teams()

    rows = run(go())
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table("team", "agent", "host", "path", "runner", "online")
    for t in rows:
        agent = t["agent"]
        if "agent_installed" in t:  # the runner looked for this agent's CLI
            agent += f" {t['agent_version']}" if t["agent_installed"] else " (CLI missing!)"
        table.add_row(
            t["name"],
            agent,
            t["host"],
            t["path"],
            t["runner_id"],
            "yes" if t["runner_connected"] else "no",
        )
    out.print(table)


@app.command()
def sessions(hub: HubOpt = None, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List sessions: team, state, owner, followers, runner last seen, last seq, exit code."""
    import time

    async def go() -> list[dict[str, Any]]:
        async with client(hub) as c:
            return await c.sessions()

    rows = run(go())
    if as_json:
        out.print_json(json.dumps(rows))
        return
    table = Table(
        "session",
        "team",
        "state",
        "owner",
        "followers",
        "runner seen",
        "last seq",
        "exit",
        "pending",
    )
    now = time.time()
    for s in rows:
        seen = s.get("runner_last_seen")
        seen_text = (
            "now"
            if s.get("runner_connected")
            else (f"{int(now - seen)} s ago" if seen else "never")
        )
        table.add_row(
            s["id"],
            s["team"],
            s["state"],
            s.get("owner") or "-",
            str(s["followers"]),
            seen_text,
            str(s["last_seq"]),
            "-" if s.get("exit_code") is None else str(s["exit_code"]),
            str(s.get("pending_permissions", 0)),
        )
    out.print(table)


@app.command()
def start(
    team: Annotated[str, typer.Argument(help="Team name.")],
    prompt: Annotated[str | None, typer.Option("--prompt", "-p", help="First turn.")] = None,
    hub: HubOpt = None,
    adopt: Annotated[
        str | None,
        typer.Option(help="Continue an agent session started outside tether (its session id)."),
    ] = None,
) -> None:
    """Start a session of a team; prints the session id."""

    async def go() -> dict[str, Any]:
        async with client(hub) as c:
            return await c.start(team, prompt, adopt=adopt)

    session = run(go())
    out.print(session["id"])


@app.command()
def send(
    session: Annotated[str, typer.Argument(help="Session id.")],
    text: Annotated[str, typer.Argument(help="The message.")],
    hub: HubOpt = None,
) -> None:
    """Send a message to a session (as owner, or when no owner is connected)."""

    async def go() -> None:
        async with client(hub) as c:
            await c.send(session, text)

    run(go())
    err.print("sent")


@app.command()
def interrupt(
    session: Annotated[str, typer.Argument(help="Session id.")], hub: HubOpt = None
) -> None:
    """Interrupt the running turn (as owner, or when no owner is connected)."""

    async def go() -> None:
        async with client(hub) as c:
            await c.interrupt(session)

    run(go())
    err.print("interrupting")


@app.command()
def stop(session: Annotated[str, typer.Argument(help="Session id.")], hub: HubOpt = None) -> None:
    """Stop a session's agent."""

    async def go() -> None:
        async with client(hub) as c:
            await c.stop(session)

    run(go())
    err.print("stopping")


@app.command()
def resume(
    session: Annotated[str, typer.Argument(help="Session id (one that has exited).")],
    prompt: Annotated[str | None, typer.Option("--prompt", "-p", help="First turn.")] = None,
    hub: HubOpt = None,
) -> None:
    """Start the agent of an exited session again: same session, the agent keeps its history."""

    async def go() -> None:
        async with client(hub) as c:
            await c.resume(session, prompt)

    run(go())
    err.print("resuming")


@app.command()
def mode(
    session: Annotated[str, typer.Argument(help="Session id.")],
    permission_mode: Annotated[
        str, typer.Argument(metavar="MODE", help="Claude: default, acceptEdits, plan, …")
    ],
    hub: HubOpt = None,
) -> None:
    """Change the permission mode of a session's agent (as owner, or when no owner is connected)."""

    async def go() -> None:
        async with client(hub) as c:
            await c.set_permission_mode(session, permission_mode)

    run(go())
    err.print(f"asked for permission mode {permission_mode}")


@app.command()
def attach(
    session: Annotated[str, typer.Argument(help="Session id.")],
    prompt: Annotated[
        str | None, typer.Option("--prompt", "-p", help="Send this turn, exit when it finishes.")
    ] = None,
    after: Annotated[int, typer.Option(help="Show events after this seq (0: all).")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per event.")] = False,
    permissions: Annotated[
        str, typer.Option(help="Answer permission requests: ask | allow | deny.")
    ] = "ask",
    follow: Annotated[bool, typer.Option("--follow", help="Join as a read-only follower.")] = False,
    hub: HubOpt = None,
    ca: CaOpt = None,
    insecure: InsecureOpt = False,
) -> None:
    """Watch (and as owner steer) a session (TETHER_TOKEN=<share token> to use a share link)."""
    from tether.attach import attach_session
    from tether.client.access import hub_access

    if permissions not in ("ask", "allow", "deny"):
        fail(TetherError(f"--permissions must be ask, allow or deny, not {permissions!r}"))
    try:
        access = hub_access(hub_url_of(hub), data_dir_of(None), ca=ca, insecure=insecure)
    except TetherError as exc:
        fail(exc)
    code = run(
        attach_session(
            access.url,
            session,
            access.token,
            prompt=prompt,
            after=after,
            as_json=as_json,
            permissions=permissions,
            follow=follow,
            out=out,
            err=err,
            ssl=access.ssl,
            insecure=insecure,
        )
    )
    raise typer.Exit(code)


@app.command("mcp")
def mcp_stdio(
    hub: HubOpt = None,
    data_dir: DataDirOpt = None,
    idle_timeout: Annotated[
        float, typer.Option(help="Stop a pooled conversation idle this many seconds (0: never).")
    ] = 1800.0,
    verbose: Annotated[bool, typer.Option("-v", "--verbose")] = False,
) -> None:
    """Serve tether's MCP tools on stdio (add to Claude Code, Codex …; see docs/mcp.md)."""
    from tether.client.access import hub_access
    from tether.mcp.stdio import serve_stdio

    setup_logging(verbose)
    try:
        access = hub_access(hub_url_of(hub, data_dir), data_dir_of(data_dir))
    except TetherError as exc:
        fail(exc)
    run(
        serve_stdio(
            access.url,
            access.token,
            idle_timeout=idle_timeout or None,
            verify=access.ssl or True,
            insecure=access.insecure,
        )
    )


@protocol_app.command("schema")
def protocol_schema() -> None:
    """Print the JSON Schema of the wire protocol."""
    from tether.protocol.schema import protocol_schema as schema

    sys.stdout.write(json.dumps(schema(), indent=2) + "\n")


@app.command()
def token(hub: HubOpt = None) -> None:
    """Print a short-lived session token of this machine's device (for curl, HTTP MCP, scripts).

    It expires in minutes; never paste it anywhere it is logged.
    """
    from tether.client.access import hub_access

    try:
        access = hub_access(hub_url_of(hub), data_dir_of(None))
    except TetherError as exc:
        fail(exc)
    sys.stdout.write(run(access.token()) + "\n")


@app.command()
def version() -> None:
    """Print the version."""
    out.print(tether.__version__)


def show_signin(url: str, code: str) -> None:
    """The first start's one-time sign-in code (shown once, on the terminal only)."""
    out.print(
        "[bold]first start:[/] an admin user was created. One-time sign-in code "
        f"(15 minutes): [bold]{code}[/]"
    )
    show_signin_link(url, code)
    out.print(f"  another machine: tether login --hub {url} --code {code}", soft_wrap=True)


def show_signin_link(url: str, code: str) -> None:
    """A one-time sign-in link for a browser. The code is in the URL fragment, which a
    browser never sends to a server (see docs/web.md)."""
    out.print(
        f"  sign in from a browser (one-time link, 15 minutes): {url}/signin#code={code}",
        soft_wrap=True,
        highlight=False,
    )


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        app()
    except TetherError as exc:
        fail(exc)


from tether import cli_auth  # noqa: E402  (registers pairing, device, share and audit commands)
from tether.terminal.command import run_command  # noqa: E402

cli_auth.register(app)
app.command("run", context_settings={"allow_interspersed_args": False})(run_command)
