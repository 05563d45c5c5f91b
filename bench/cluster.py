"""The end-to-end run of bench/e2e.py (a `command` agent → hub → a viewer process) on
each store, side by side: single-hub SQLite, PostgreSQL with one hub, and PostgreSQL with
three replicas (`tether hub --store`, issue #13: runner on one, viewer on another).

    .venv/bin/python bench/cluster.py [--lines 20000] [--rate 1000] [--seconds 10]
        [--repeat 1] [--pg postgresql://postgres@127.0.0.1:5432] [--json FILE]

Each deployment is `tether hub` + a paired `tether runner`, two processes, as a user
runs them. PostgreSQL runs get a fresh database on the --pg server (created, then dropped
with its connections; nothing else on the server is touched). Figures: flood events/s
(--lines as fast as they come, first print → last receive) and the agent-print → viewer
latency at --rate events/s (p50/p99/max). The goal (issue #13): PostgreSQL with three
replicas ≥ 50 % of single-hub SQLite throughput, p99 < 20 ms at 1,000 events/s. Every
line is checked to arrive exactly once, in order. Exit status 0 when every run measured.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_deploy import Deployment, child_env, start_hub, start_runner, tether, wait_runner
from e2e_deploy import write_config as e2e_config
from e2e_procs import BenchError, Proc, free_port, python_argv, tether_argv
from e2e_report import exit_status

from e2e import flood, paced, pressure_now

COLUMNS = {"sqlite": "SQLite, 1 hub", "pg1": "PostgreSQL, 1 hub", "pg3": "PostgreSQL, 3 hubs"}


def has_store_flag() -> bool:
    """Does this tether's `tether hub` take `--store` (the cluster work of issue #13)?"""
    done = subprocess.run(tether_argv("hub", "--help"), capture_output=True, text=True)
    return "--store" in done.stdout


def hub_argv(store: str | None, home: Path, port: int) -> list[str]:
    """`tether hub` on SQLite (store None) or on the database `store`."""
    args = ["hub", "--data-dir", str(home), "--port", str(port)]
    if store is None:
        return tether_argv(*args)
    if has_store_flag():
        return tether_argv(*args, "--store", store)
    return python_argv("cluster_hub.py", store, *args)


@contextlib.asynccontextmanager
async def database(server: str) -> AsyncIterator[str]:
    """A fresh database on `server` for one run; dropped (with its sessions) after."""
    import asyncpg

    name = f"tether_bench_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(f"{server}/postgres", timeout=10)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield f"{server}/{name}"
    finally:
        admin = await asyncpg.connect(f"{server}/postgres", timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def hub_and_runner(
    root: Path, store: str | None
) -> contextlib.AbstractAsyncContextManager[Deployment]:
    """`tether hub` (on `store`) and a paired `tether runner`, on a free port."""
    return tether("split", root, 16, hub_argv=lambda home, port: hub_argv(store, home, port))


@contextlib.asynccontextmanager
async def replicas_and_runner(root: Path, store: str, count: int = 3) -> AsyncIterator[Deployment]:
    """`count` `tether hub --store` replicas on one database (one secrets file), a runner
    paired through and connected to the first, the viewer on the last: every event
    crosses from one replica to another through the database."""
    config = e2e_config(root, 16)
    secrets_file = str(root / "shared-secrets.json")
    procs: list[Proc] = []
    homes, urls, envs = [], [], []
    try:
        for i in range(count):
            home = root / f"hub{i}-home"
            env = {**child_env(home), "TETHER_SECRETS_FILE": secrets_file}
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            await start_hub(f"tether-hub{i}", hub_argv(store, home, port), env, root, url, procs)
            homes.append(home)
            urls.append(url)
            envs.append(env)
        runner = await start_runner(urls[0], homes[0], envs[0], config, root, procs)
        await wait_runner(urls[-1], homes[-1], runner)
        pids = {"hub": procs[-2].pid, "runner": runner.pid}
        yield Deployment("split", urls[-1], homes[-1], envs[-1], pids)
    finally:
        for proc in reversed(procs):
            await proc.stop()


async def measure(kind: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Flood and paced on one deployment kind (fresh processes, and database, for each)."""
    out: dict[str, Any] = {}
    for name, scenario in (("flood", flood), ("paced", paced)):
        where = root / f"{kind}-{name}"
        where.mkdir()
        started = time.perf_counter()
        print(f"  {COLUMNS[kind]:<20} {name:<6} …", end="", flush=True, file=sys.stderr)
        try:
            async with contextlib.AsyncExitStack() as stack:
                store = None
                if kind != "sqlite":
                    store = await stack.enter_async_context(database(args.pg))
                if kind == "pg3" and store is not None:
                    dep = await stack.enter_async_context(replicas_and_runner(where, store))
                else:
                    dep = await stack.enter_async_context(hub_and_runner(where, store))
                out[name] = await scenario(dep, where, args)
            out[name]["cpu_pressure"] = pressure_now()
            print(f" {time.perf_counter() - started:.0f} s", file=sys.stderr)
        except (BenchError, OSError) as exc:
            out[name] = {"error": str(exc)}
            print(f" FAILED\n{exc}", file=sys.stderr)
    return out


def fmt(value: Any, digits: int = 1) -> str:
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return "-" if value is None else str(value)


def table(results: dict[str, dict[str, Any]], rate: float) -> str:
    """Each figure per deployment; PostgreSQL as a share of SQLite where that is the goal."""
    base = results.get("sqlite", {}).get("flood", {}).get("lines_per_s")
    rows: list[list[str]] = [["figure", *(COLUMNS[k] for k in COLUMNS), "goal"]]

    def cell(kind: str, scenario: str, key: str) -> str:
        run = results.get(kind)
        if run is None:
            return "not run"
        fig = run.get(scenario, {})
        return "FAILED" if "error" in fig else fmt(fig.get(key))

    def share(kind: str) -> str:
        value = results.get(kind, {}).get("flood", {}).get("lines_per_s")
        return f"{100 * value / base:.0f} %" if value and base else "-"

    rows.append(["flood events/s", *(cell(k, "flood", "lines_per_s") for k in COLUMNS), ""])
    rows.append(["  share of SQLite", *(share(k) for k in COLUMNS), "PG 3 hubs ≥ 50 %"])
    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99"), ("max_ms", "max")):
        goal = "PG 3 hubs < 20 ms" if key == "p99_ms" else ""
        rows.append(
            [f"{rate:,.0f} events/s: {label} ms", *(cell(k, "paced", key) for k in COLUMNS), goal]
        )
    rows.append(["every line once", *(_once(results.get(k)) for k in COLUMNS), ""])
    # A busy machine (PostgreSQL runs on it too) moves latency more than anything tether does.
    for scenario in ("flood", "paced"):
        pressure = (cell(k, scenario, "cpu_pressure") for k in COLUMNS)
        rows.append([f"CPU pressure % ({scenario})", *pressure, ""])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def _once(run: dict[str, Any] | None) -> str:
    if run is None:
        return "not run"
    return "yes" if all(f.get("once") for f in run.values()) else "NO"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=20_000, help="flood: lines (default 20000)")
    parser.add_argument("--rate", type=float, default=1000, help="paced: lines/s (default 1000)")
    parser.add_argument("--seconds", type=float, default=10, help="paced: seconds (default 10)")
    parser.add_argument("--repeat", type=int, default=1, help="measured phases per scenario")
    parser.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432", help="the PostgreSQL server"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    args.profile, args.native, args.profile_rate = None, False, 200  # what e2e.py's runs read
    return args


async def main_async(args: argparse.Namespace, root: Path) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for kind in COLUMNS:
        results[kind] = await measure(kind, args, root)
    return results


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="tether-bench-cluster-") as tmp:
        results = asyncio.run(main_async(args, Path(tmp)))
    print(f"\ncommand: {' '.join(sys.argv)}\n")
    print(table(results, args.rate))
    print(
        "\nPostgreSQL, 3 hubs: the runner on the first replica, the viewer on the third, so"
        " every event crosses replicas through the database (NOTIFY, then a read)."
    )
    return exit_status(results, args.json)


if __name__ == "__main__":
    sys.exit(main())
