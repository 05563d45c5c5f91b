"""File access on an agent's behalf, confined to its team's path.

ACP agents may ask the client to read and write text files (`fs/read_text_file`,
`fs/write_text_file`). tether serves those only inside the team's directory: every path
is resolved (`..` and every symlink followed) before the check, so neither `../x` nor a
symlink pointing out of the tree reaches anything outside it.
"""

from __future__ import annotations

import os
from pathlib import Path

from tether.errors import Forbidden, NotFound, TetherError

MAX_READ_BYTES = 16 * 1024 * 1024


class Workspace:
    """The one directory tree an agent's file requests may touch."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(os.path.realpath(root))

    def resolve(self, path: str) -> Path:
        """The real path of `path` (relative paths are taken from the root), or `Forbidden`
        when it is, or leads through a symlink to, anything outside the root."""
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = self.root / candidate
        real = Path(os.path.realpath(candidate))
        if real != self.root and self.root not in real.parents:
            raise Forbidden(
                f"{path!r} is outside the team's path {str(self.root)!r}",
                hint="agents may only read and write files inside their team's directory",
            )
        return real

    def read_text(self, path: str, line: int | None = None, limit: int | None = None) -> str:
        """The file's text; `line` (1-based) and `limit` select a range of lines."""
        real = self.resolve(path)
        try:
            if real.stat().st_size > MAX_READ_BYTES:
                raise TetherError(f"{path!r} is larger than {MAX_READ_BYTES} bytes")
            text = real.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            raise NotFound(f"no file {path!r}") from None
        except IsADirectoryError:
            raise TetherError(f"{path!r} is a directory") from None
        if line is None and limit is None:
            return text
        lines = text.splitlines(keepends=True)
        start = max((line or 1) - 1, 0)
        end = len(lines) if limit is None else start + max(limit, 0)
        return "".join(lines[start:end])

    def write_text(self, path: str, content: str) -> None:
        """Write the file (creating parent directories inside the root)."""
        real = self.resolve(path)
        if real == self.root:
            raise TetherError(f"{path!r} is the team's directory, not a file")
        real.parent.mkdir(parents=True, exist_ok=True)
        # Written through the resolved path, so a symlink swapped in now cannot redirect it
        # outside; O_NOFOLLOW refuses a final component that became a symlink meanwhile.
        fd = os.open(real, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(content)
