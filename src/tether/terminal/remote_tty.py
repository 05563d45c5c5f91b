"""A terminal team's program on another host, with a terminal there: `ssh -tt` / `exec -t`.

The carrier (`ssh -tt HOST …`, `docker exec -i -t C …`) runs on a local PTY, so the far
side gets a real terminal whose size follows ours. As with the piped transports
(`transports.wrapped`), a small `sh` wrapper runs first, with the path and argv as
positional parameters (never parsed as shell code): it turns the remote terminal's echo
off, says it is ready for the environment, reads `NAME=value` lines (so no secret shows
in `ps` — nor on the mirrored screen), turns echo back on, changes into the path, checks
the program exists, prints a marker with its pid and `exec`s the program.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence

from tether.remote.spec import ExecPrefix
from tether.transports.wrapped import TEAM_DIR, env_block

ENV_MARKER = b"\x1etether-env"
READY_MARKER = b"\x1etether-ready "
TTY_WRAPPER = (
    r"""stty -echo 2>/dev/null
printf '\036tether-env\r\n'
while IFS= read -r tether_kv; do
  tether_kv=$(printf '%s' "$tether_kv" | tr -d '\r')
  [ -z "$tether_kv" ] && break
  export "$tether_kv"
done
unset tether_kv
stty echo 2>/dev/null
"""
    + TEAM_DIR
    + r"""cd "$tether_dir" 2>/dev/null || {
  printf 'tether-wrap: no such directory: %s\r\n' "$tether_dir"; exit 96; }
unset tether_dir
command -v "$1" >/dev/null 2>&1 || {
  printf 'tether-wrap: command not found: %s\r\n' "$1"; exit 127; }
printf '\036tether-ready %s\r\n' "$$"
exec "$@"
"""
)

_TTY_FLAGS = {"-t", "--tty", "-it", "-ti"}
_EXEC_PROGRAMS = {"docker", "podman", "kubectl", "oc"}


def tty_wrapper_argv(cwd: str, argv: Sequence[str]) -> list[str]:
    """The argv that runs `argv` in `cwd` through the terminal wrapper."""
    return ["sh", "-c", TTY_WRAPPER, "tether-wrap", cwd, *argv]


def ssh_remote_command(cwd: str, argv: Sequence[str]) -> str:
    """The remote command string for `ssh -tt` (every word quoted)."""
    return shlex.join(tty_wrapper_argv(cwd, argv))


def exec_prefix_with_tty(prefix: ExecPrefix) -> list[str]:
    """`docker exec -i c` → `docker exec -i -t c` (a terminal on the far side); other
    prefixes (`wsl` …) give the program a terminal when theirs is one, and stay as they are."""
    words = list(prefix.argv)
    program = os.path.basename(words[0])
    if program in _EXEC_PROGRAMS and "exec" in words[1:3] and not _TTY_FLAGS & set(words):
        at = words.index("exec", 1) + 1
        words.insert(at, "-t")
    return words


def env_lines(env: dict[str, str]) -> bytes:
    """The environment block the wrapper reads (terminal line endings)."""
    return env_block(env)
