"""End to end, as a user feels it: agent print → tether → viewer, beside a bare relay.

    .venv/bin/python bench/e2e.py [--only flood,paced,followers,scale] [--deploy up,split]
        [--lines 20000] [--rate 1000] [--seconds 10] [--followers 100] [--sessions 1000]
        [--repeat 1] [--profile DIR [--native] [--profile-rate 200]] [--json FILE] [--keep]

With --profile, py-spy samples the hub (and runner) and the viewer process during each
measured phase, into DIR/SCENARIO-DEPLOY-PROCESS.txt (raw collapsed stacks; summarize
them with bench/profile_summary.py).

tether runs as a user starts it — `tether up --config FILE` (hub and runner in one
process) and `tether hub` + `tether runner --pair CODE` (two processes) — with a
`command` team whose agent (bench/e2e_agent.py) floods or paces lines of ~180 bytes,
each carrying its print time. Viewers use the public client API (`RemoteSession`) in a
process of their own. The baseline, in the same run, is a bare asyncio `websockets`
relay with the same lines and process count (producer → relay → consumer), broadcasting
to as many consumers. Scenarios:

* flood: --lines lines as fast as they come; lines/s end to end (first print → last
  receive), tether / relay (target ≥ 0.80);
* paced: --rate lines/s for --seconds; agent-print → viewer latency p50/p99/max
  (target p99 ≤ 5 ms);
* followers: --followers viewers on one session (all followers), a flood of
  --follower-lines; deliveries/s, tether / relay (target ≥ 0.70);
* scale: --sessions sessions (agent `cat`) with --per-session idle viewers each, then
  one live paced session; hub RSS (target ≤ 300 MB) and the live p99 (≤ 10 ms).

Every receiver checks that each line arrived exactly once and in order, and the table
says so. Hub RSS comes from /proc/PID/status of the hub process (for `tether up` that
process is hub and runner together); CPU µs per line of each process from
/proc/PID/stat over the measured phases (steadier than latency on a busy machine, whose
CPU pressure is printed beside them). Exit status: 0 when every scenario ran and every
line arrived once (targets missed or met are shown, not judged); 1 otherwise.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_deploy import DEPLOYS, Deployment, relay, tether
from e2e_procs import BenchError, Proc, Profiler, cpu_seconds, memory_mb, python_argv
from e2e_report import deliveries, exit_status, table

SCENARIOS = ("flood", "paced", "followers", "scale")
WARMUP_LINES = 2000


async def run_viewers(
    dep: Deployment,
    root: Path,
    label: str,
    phases: list[str],
    *,
    viewers: int = 1,
    follow: bool = False,
    profiler: Profiler | None = None,
) -> list[dict[str, Any]]:
    """One viewer process through its phases; the results of the measured ones (the first
    phase is the warm-up). With a profiler, py-spy samples the measured phases."""
    argv = python_argv("e2e_viewer.py", "run", "--url", dep.url, "--viewers", str(viewers))
    if dep.kind == "relay":
        argv += ["--backend", "relay", "--channel", "live"]
    else:
        argv += ["--backend", "tether", "--data-dir", str(dep.cli_home), "--team", "bench"]
    argv += ["--follow"] if follow else []
    argv += ["--pause", "0.5" if profiler is None else "2"]
    for phase in phases:
        argv += ["--phase", phase]
    viewer = Proc(f"viewer-{label}", argv, dep.env, root)
    await viewer.start()
    results: list[dict[str, Any]] = []
    cpu_before: dict[str, float] = {}
    try:
        await viewer.expect("ready", 600)
        pids = {**dep.pids, "viewer": viewer.pid}
        while True:
            event = await viewer.next_event(1800)
            if event["event"] == "result":
                if not event["exactly_once"]:
                    raise BenchError(
                        f"{label}: phase {event['tag']}: {event['received']} of "
                        f"{event['expected']} lines arrived in {event['timeout_s']} s "
                        f"({event['duplicates']} duplicates, {event['gaps']} gaps){viewer.tail()}"
                    )
                if event["tag"] != "w0":
                    results.append(event)
                    lines = sum(r["received"] for r in results)
                    event["cpu_us_per_line"] = {
                        name: (cpu_seconds(pid) - cpu_before[name]) * 1e6 / lines
                        for name, pid in pids.items()
                    }
                    continue
                if profiler is not None:  # the viewer pauses before the next phase
                    await profiler.start(label, pids)
                cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            elif event["event"] == "done":
                return results
    finally:
        if profiler is not None:
            await profiler.stop()
        await viewer.stop(grace_s=10)


def combine(results: list[dict[str, Any]], dep: Deployment) -> dict[str, Any]:
    """The median of repeated phases, the delivery check, and the hub's peak memory."""
    fig: dict[str, Any] = {
        key: statistics.median(float(r[key]) for r in results)
        for key in ("lines_per_s", "deliveries_per_s", "p50_ms", "p99_ms", "max_ms")
    }
    # CPU per line delivered, over all measured phases (the last result holds the sum);
    # `hub` is the relay's server for the relay, `runner` its producer.
    for name, value in results[-1]["cpu_us_per_line"].items():
        fig[f"cpu_{'runner' if name == 'producer' else name}"] = value
    if "relay" in dep.pids:
        fig["cpu_hub"] = fig.pop("cpu_relay")
    fig["once"] = all(r["exactly_once"] for r in results)
    fig["checked"] = " + ".join(f"{r['received']:,}" for r in results) + " lines received"
    fig["hwm_mb"] = memory_mb(dep.hub_pid)["hwm"]
    if "runner" in dep.pids:
        fig["runner_hwm_mb"] = memory_mb(dep.pids["runner"])["hwm"]
    return fig


def profiler_for(dep: Deployment, args: argparse.Namespace) -> Profiler | None:
    """With --profile: py-spy for tether's processes and the viewer (not for the relay)."""
    if args.profile is None or dep.kind == "relay":
        return None
    return Profiler(args.profile, args.native, args.profile_rate)


def paced_phases(args: argparse.Namespace) -> list[str]:
    """A second of warm-up at --rate, then --repeat runs of --rate lines/s for --seconds."""
    count = int(args.rate * args.seconds)
    phases = [f"pace:w0:{int(args.rate)}:{args.rate}"]
    return phases + [f"pace:p{i}:{count}:{args.rate}" for i in range(args.repeat)]


async def viewed(
    name: str, dep: Deployment, root: Path, args: argparse.Namespace, phases: list[str], **kw: Any
) -> dict[str, Any]:
    """The figures of the viewers of run `name` through `phases` (profiled with --profile)."""
    results = await run_viewers(
        dep, root, f"{name}-{dep.kind}", phases, profiler=profiler_for(dep, args), **kw
    )
    return combine(results, dep)


async def flood(dep: Deployment, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """--lines lines as fast as they come."""
    phases = [f"flood:w0:{WARMUP_LINES}"]
    phases += [f"flood:m{i}:{args.lines}" for i in range(args.repeat)]
    return await viewed("flood", dep, root, args, phases)


async def paced(dep: Deployment, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """--rate lines/s for --seconds."""
    return await viewed("paced", dep, root, args, paced_phases(args))


async def followers(dep: Deployment, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """--followers followers of one session, a flood of --follower-lines."""
    phases = ["flood:w0:200"] + [f"flood:m{i}:{args.follower_lines}" for i in range(args.repeat)]
    return await viewed("followers", dep, root, args, phases, viewers=args.followers, follow=True)


async def scale(dep: Deployment, root: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Many sessions with idle viewers, then one live paced session."""
    argv = python_argv("e2e_viewer.py", "idle", "--url", dep.url)
    argv += ["--sessions", str(args.sessions), "--per-session", str(args.per_session)]
    if dep.kind == "relay":
        argv += ["--backend", "relay"]
    else:
        argv += ["--backend", "tether", "--data-dir", str(dep.cli_home), "--team", "idle"]
    idle = Proc(f"idle-{dep.kind}", argv, dep.env, root, stdin=True)
    await idle.start()
    try:
        ready = await idle.expect("ready", 1200)
        await asyncio.sleep(2)  # let the start-up events settle
        steady = memory_mb(dep.hub_pid)["rss"]
        runner = memory_mb(dep.pids["runner"])["rss"] if "runner" in dep.pids else None
        fig = await viewed("scale", dep, root, args, paced_phases(args))
        fig["rss_mb"] = max(steady, memory_mb(dep.hub_pid)["rss"])
        fig["setup_s"] = ready["seconds"]
        if runner is not None:
            fig["runner_rss_mb"] = runner
        fig["checked"] += f"; {ready['viewers']:,} idle viewers connected"
        await idle.close_stdin()
        done = await idle.expect("done", 300)
        if done.get("disconnects"):
            fig["checked"] += f", {done['disconnects']} of them dropped meanwhile"
        return fig
    finally:
        await idle.stop(grace_s=30)


MEASURE = {"flood": flood, "paced": paced, "followers": followers, "scale": scale}


async def run_scenario(name: str, args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """The relay, then each tether deployment, each on fresh processes."""
    out: dict[str, Any] = {}
    max_processes = args.sessions + 16 if name == "scale" else 16
    for kind in ["relay", *args.deploy]:
        where = root / f"{name}-{kind}"
        where.mkdir()
        started = time.perf_counter()
        print(f"  {name:<10} {kind:<6} …", end="", flush=True, file=sys.stderr)
        try:
            system = relay(where) if kind == "relay" else tether(kind, where, max_processes)
            async with system as dep:
                out[kind] = await MEASURE[name](dep, where, args)
            out[kind]["cpu_pressure"] = pressure_now()
            print(
                f" {time.perf_counter() - started:.0f} s{cpu_pressure()}",
                file=sys.stderr,
            )
        except BenchError as exc:
            out[kind] = {"error": str(exc)}
            print(f" FAILED\n{exc}", file=sys.stderr)
    return out


def raise_fd_limit(needed: int) -> None:
    """Thousands of sockets and pipes: lift the soft limit (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 16)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    if target < needed:
        print(f"warning: open files limited to {target}; scale needs ~{needed}", file=sys.stderr)


def versions() -> str:
    """What ran: tether, Python, websockets, uvicorn; the machine's cores and load."""
    import uvicorn
    import websockets

    import tether as tether_pkg

    load = os.getloadavg()
    return (
        f"tether {tether_pkg.__version__}, Python {sys.version.split()[0]}, websockets "
        f"{websockets.__version__}, uvicorn {uvicorn.__version__}; {os.cpu_count()} cores, "
        f"load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}{cpu_pressure()}"
    )


def pressure_now() -> float | None:
    """How much of the last 10 s runnable tasks waited for a CPU (Linux PSI, %): a busy
    machine shows here, and the figures beside it are noisier. None where PSI is missing."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
        fields = dict(part.split("=", 1) for part in first.split()[1:])
        return float(fields["avg10"])
    except (OSError, IndexError, KeyError, ValueError):
        return None


def cpu_pressure() -> str:
    """The CPU pressure for a status line ("" where it cannot be read)."""
    value = pressure_now()
    return "" if value is None else f", CPU pressure {value:.0f}% (10 s)"


def parse_args() -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default=",".join(SCENARIOS), help="comma-separated scenarios")
    p.add_argument("--deploy", default="up,split", help="up (tether up), split (hub + runner)")
    p.add_argument("--lines", type=int, default=20_000, help="flood: lines")
    p.add_argument("--rate", type=float, default=1000.0, help="paced: lines per second")
    p.add_argument("--seconds", type=float, default=10.0, help="paced: seconds")
    p.add_argument("--followers", type=int, default=100, help="followers: viewers")
    p.add_argument("--follower-lines", type=int, default=2000, help="followers: lines")
    p.add_argument("--sessions", type=int, default=1000, help="scale: sessions")
    p.add_argument("--per-session", type=int, default=2, help="scale: idle viewers each")
    p.add_argument("--repeat", type=int, default=1, help="measured phases (median shown)")
    p.add_argument("--profile", type=Path, help="py-spy tether's processes into DIR")
    p.add_argument("--native", action="store_true", help="--profile: native frames too")
    p.add_argument("--profile-rate", type=int, default=200, help="--profile: samples/s")
    p.add_argument("--json", type=Path, help="also write the figures to this file")
    p.add_argument("--keep", action="store_true", help="keep the temp dir (logs) afterwards")
    args = p.parse_args()
    args.only = [s for s in args.only.split(",") if s]
    args.deploy = [d for d in args.deploy.split(",") if d]
    for name in args.only:
        if name not in SCENARIOS:
            p.error(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    for kind in args.deploy:
        if kind not in DEPLOYS:
            p.error(f"unknown --deploy {kind!r}; choose from {', '.join(DEPLOYS)}")
    if args.repeat < 1 or args.lines < 1 or args.rate <= 0:
        p.error("--repeat, --lines and --rate must be positive")
    return args


async def main_async(args: argparse.Namespace, root: Path) -> dict[str, Any]:
    """Every chosen scenario, in order."""
    results: dict[str, Any] = {}
    for name in args.only:
        results[name] = await run_scenario(name, args, root)
    return results


def main() -> int:
    """Run, print the table, clean up (also on Ctrl+C)."""
    args = parse_args()
    raise_fd_limit(4 * args.sessions * args.per_session + 1000)
    print(f"tether end to end vs a bare websockets relay — {versions()}", file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="tether-e2e-")
    try:
        results = asyncio.run(main_async(args, Path(tmp)))
    except KeyboardInterrupt:
        print("\ninterrupted: every process stopped", file=sys.stderr)
        return 130
    finally:
        if args.keep:
            print(f"logs kept in {tmp}", file=sys.stderr)
        else:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n{versions()}")
    print(f"command: {' '.join(sys.argv)}\n")
    print(table(results, args.deploy))
    print("\ndelivery check:")
    print(deliveries(results))
    return exit_status(results, args.json)


if __name__ == "__main__":
    sys.exit(main())
