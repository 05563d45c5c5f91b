"""What every command shares: the option types, which hub and data dir, running a coroutine,
and turning a tether error into a message and exit status 2.

Nothing heavy is imported here: the client, asyncio's event loop and Rich load only when a
command needs them (`tether version` and `tether --help` need none of them).
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer

from tether.errors import TetherError

if TYPE_CHECKING:
    from tether.client.access import HubAccess
    from tether.client.api import HubApi

T = TypeVar("T")

DEFAULT_PORT = 8765
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143

HubOpt = Annotated[
    str | None,
    typer.Option(
        "--hub",
        envvar="TETHER_HUB",
        metavar="URL",
        help="Hub URL (default: the one `tether up` started).",
    ),
]
CaOpt = Annotated[
    str | None,
    typer.Option(
        "--ca",
        envvar="TETHER_CA",
        metavar="FILE",
        help="CA certificate (PEM) to trust for the hub.",
    ),
]
InsecureOpt = Annotated[
    bool,
    typer.Option(
        "--insecure", envvar="TETHER_INSECURE", help="Allow plain http/ws to a non-loopback hub."
    ),
]
DataDirOpt = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", envvar="TETHER_HOME", metavar="DIR", help="Data dir (default ~/.tether)."
    ),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", metavar="FILE", help="Teams file (tether.toml)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
VerboseOpt = Annotated[bool, typer.Option("-v", "--verbose", help="Log at DEBUG level.")]


def fail(exc: TetherError) -> NoReturn:
    """Print a tether error the way a person wants to read it, and exit 2."""
    from tether.cli.output import err, error_text

    for line in error_text(exc.message, exc.hint):
        err().print(line, soft_wrap=True)
    raise typer.Exit(EXIT_ERROR)


def data_dir_of(data_dir: Path | None = None) -> Path:
    """--data-dir, else $TETHER_HOME, else ~/.tether."""
    chosen = data_dir or os.environ.get("TETHER_HOME") or Path.home() / ".tether"
    return Path(chosen).expanduser()


def hub_url_of(hub: str | None, data_dir: Path | None = None) -> str:
    """--hub, else what `tether up` / `tether hub` wrote, else the default local port."""
    from tether.hubfile import read_hub_url

    chosen = hub or read_hub_url(data_dir_of(data_dir)) or f"http://127.0.0.1:{DEFAULT_PORT}"
    return chosen.rstrip("/")


@dataclass(frozen=True)
class Hub:
    """Which hub a command talks to, and how (the --hub/--ca/--insecure of every command)."""

    url: str | None = None
    ca: str | None = None
    insecure: bool = False
    data_dir: Path | None = None

    def access(self, kind: str = "cli") -> HubAccess:
        """This machine's `kind` device on that hub (TETHER_TOKEN overrides)."""
        from tether.client.access import hub_access

        try:
            return hub_access(
                hub_url_of(self.url, self.data_dir),
                data_dir_of(self.data_dir),
                kind=kind,
                ca=self.ca,
                insecure=self.insecure,
            )
        except TetherError as exc:
            fail(exc)

    def client(self) -> HubApi:
        """An HTTP client for the hub with this machine's device credentials (the quick,
        standard-library one: a command makes a request or two and exits)."""
        return self.access().quick_client()

    def ask(self, call: Callable[[HubApi], Awaitable[T]]) -> T:
        """`call(client)` with a client for this hub, run to its answer (errors end the
        command): what a command that makes a request or two does."""

        async def go() -> T:
            async with self.client() as client:
                return await call(client)

        return run(go())

    @property
    def resolved_url(self) -> str:
        """The hub URL after defaults."""
        return hub_url_of(self.url, self.data_dir)


class _Terminated(Exception):
    """SIGTERM arrived: the coroutine was cancelled, so its cleanup (stopping agents) ran."""


async def _cancel_on_sigterm(coro: Coroutine[Any, Any, T]) -> T:
    import asyncio
    import contextlib
    import signal

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


def run(coro: Coroutine[Any, Any, T], *, long_running: bool = False) -> T:
    """Run a coroutine, translating tether errors, Ctrl+C (exit 130) and SIGTERM (exit 143;
    both cancel the coroutine, so a runner stops its agents first). `long_running`: a
    hub or a runner, on uvloop when installed (see `tether.eventloop`), with a collector
    that does not pause it for long (`tether.gcpolicy`)."""
    import asyncio

    try:
        factory = None
        if long_running:
            from tether import gcpolicy
            from tether.eventloop import loop_factory

            factory = loop_factory()
            gcpolicy.install()
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(_cancel_on_sigterm(coro))
    except TetherError as exc:
        fail(exc)
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except _Terminated:
        raise typer.Exit(EXIT_TERMINATED) from None
