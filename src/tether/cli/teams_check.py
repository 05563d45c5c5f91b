"""The printing half of `tether teams check` (the probing half is `tether.teams_check`)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from tether.cli.common import EXIT_ERROR
from tether.cli.output import columns, err, error_text, print_json, print_table, say, styled
from tether.errors import ConfigError, TetherError
from tether.sanitize import terminal_name

EXIT_FAILED = 1


def teams_check(action: str, config: Path | None, data_dir: Path, as_json: bool) -> int:
    """Run the check and print a table (or JSON); the exit code: 0 all fine, 1 a team
    failed, 2 the config itself is wrong (with --json, that too is a JSON answer)."""
    import asyncio

    from tether.config import load_config
    from tether.teams_check import check_teams

    try:
        if action != "check":
            raise ConfigError(f"unknown action {action!r}; the only one is `check`")
        if config is None:
            raise ConfigError("`tether teams check` needs --config FILE")
        teams = load_config(config)
    except TetherError as exc:
        _config_error(exc, config, as_json)
        return EXIT_ERROR
    results = asyncio.run(check_teams(teams, data_dir))
    if as_json:
        print_json([{**asdict(r), "ok": r.ok} for r in results])
    else:
        print_table(
            columns("team", "transport", "where", "reachable", "path", "agent", "result"),
            [
                (
                    r.team,
                    r.transport,
                    r.where,
                    r.reachable,
                    r.path,
                    r.agent,
                    styled(("ok", "green")) if r.ok else styled(("FAILED", "bold red")),
                )
                for r in results
            ],
            title=f"teams in {config}",
        )
    failed = [r.team for r in results if not r.ok]
    if failed:
        names = ", ".join(terminal_name(team) for team in failed)
        say(f"{len(failed)} of {len(results)} teams failed: {names}")
        return EXIT_FAILED
    return 0


def _config_error(exc: TetherError, config: Path | None, as_json: bool) -> None:
    if as_json:
        error = {"code": exc.code, "message": exc.message, "hint": exc.hint}
        print_json({"ok": False, "config": str(config) if config else None, "error": error})
    else:
        for line in error_text(exc.message, exc.hint):
            err().print(line, soft_wrap=True)
