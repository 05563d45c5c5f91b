"""The agent of the end-to-end benchmark: a `command` team in stdin mode runs this script.

Each user message is one command on stdin (see bench/e2e_lines.py): `flood TAG N SIZE`
writes N lines as fast as Python prints (block-buffered, as most programs are when their
stdout is a pipe); `pace TAG N RATE SIZE` writes N lines at RATE lines/s, each flushed
as it is printed, so its stamp is the moment it left the agent.
"""

from __future__ import annotations

import contextlib
import sys
import time

from e2e_lines import Command, make_line, parse_command


def run(command: Command) -> None:
    """Carry out one command on stdout."""
    out = sys.stdout
    if command.action == "flood":
        for index in range(command.count):
            out.write(make_line(command.tag, index, command.size) + "\n")
        out.flush()
        return
    start = time.perf_counter()
    for index in range(command.count):
        delay = start + index / command.rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        out.write(make_line(command.tag, index, command.size) + "\n")
        out.flush()


def main() -> None:
    """Read commands until stdin closes (the session ends)."""
    for line in sys.stdin:
        command = parse_command(line)
        if command is None:
            print(f"e2e agent: not a command: {line.strip()!r}", file=sys.stderr, flush=True)
            continue
        run(command)


if __name__ == "__main__":
    # BrokenPipeError: the runner went away, so nothing is left to say.
    with contextlib.suppress(BrokenPipeError, KeyboardInterrupt):
        main()
