"""`tether hub` on a PostgreSQL store, for bench/cluster.py on a tether whose `tether hub`
has no `--store` flag yet: the same CLI, with the hub's store factory pointed at the
database. Once `--store` exists, bench/cluster.py uses the flag and not this.

    python bench/cluster_hub.py postgresql://USER@HOST:PORT/DB hub --data-dir DIR --port P
"""

from __future__ import annotations

import sys

import tether.app
from tether.store.postgres import PostgresStore


def main() -> None:
    dsn, argv = sys.argv[1], sys.argv[2:]
    tether.app.SqliteStore = lambda _path: PostgresStore(dsn)  # type: ignore[assignment,misc]
    sys.argv = ["tether", *argv]
    from tether.cli import main as cli

    cli()


if __name__ == "__main__":
    main()
