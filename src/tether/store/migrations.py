"""Versioned schema migrations, applied in order; `PRAGMA user_version` holds the version.

Add a migration by appending to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: sessions, their event logs, runners
    """
    CREATE TABLE sessions (
        id TEXT PRIMARY KEY,
        team TEXT NOT NULL,
        agent TEXT NOT NULL DEFAULT '',
        host TEXT NOT NULL DEFAULT 'local',
        runner_id TEXT,
        state TEXT NOT NULL,
        owner TEXT,
        exit_code INTEGER,
        agent_session_id TEXT,
        created_by TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        last_seq INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE events (
        session_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        ts REAL NOT NULL,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        PRIMARY KEY (session_id, seq)
    ) WITHOUT ROWID;
    CREATE TABLE runners (
        id TEXT PRIMARY KEY,
        version TEXT NOT NULL,
        teams TEXT NOT NULL,
        last_seen REAL NOT NULL
    );
    """,
]
