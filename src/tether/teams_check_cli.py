"""The printing half of `tether teams check` (the probing half is `teams_check`)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tether.config import load_config
from tether.errors import TetherError
from tether.teams_check import check_teams

EXIT_FAILED = 1
EXIT_ERROR = 2


def teams_check(
    action: str, config: Path | None, data_dir: Path, as_json: bool, out: Console, err: Console
) -> int:
    """Run the check and print a table (or JSON); the exit code: 0 all fine, 1 a team
    failed, 2 the config itself is wrong."""
    if action != "check":
        err.print(f"[bold red]error:[/] unknown action {action!r}; the only one is `check`")
        return EXIT_ERROR
    if config is None:
        err.print("[bold red]error:[/] `tether teams check` needs --config FILE")
        return EXIT_ERROR
    try:
        teams = load_config(config)
    except TetherError as exc:
        err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
        if exc.hint:
            err.print(f"  hint: {exc.hint}", style="dim")
        return EXIT_ERROR
    results = asyncio.run(check_teams(teams, data_dir))
    if as_json:
        out.print_json(json.dumps([{**asdict(r), "ok": r.ok} for r in results]))
    else:
        table = Table(
            "team",
            "transport",
            "where",
            "reachable",
            "path",
            "agent",
            "result",
            title=f"teams in {config}",
        )
        for r in results:
            table.add_row(
                r.team,
                r.transport,
                r.where,
                r.reachable,
                r.path,
                r.agent,
                "[green]ok[/]" if r.ok else "[bold red]FAILED[/]",
            )
        out.print(table)
    failed = [r.team for r in results if not r.ok]
    if failed:
        err.print(f"{len(failed)} of {len(results)} teams failed: {', '.join(failed)}")
        return EXIT_FAILED
    return 0
