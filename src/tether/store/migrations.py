"""Versioned schema migrations, applied in order; `PRAGMA user_version` holds the version.

Add a migration by appending to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

from tether.notify.schema import NOTIFY_SCHEMA

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
    # 2: identities (users, devices, refresh tokens, pairing codes, share links), the hub's
    # signing key, and the append-only audit log (tether.auth). Tokens and codes are stored
    # only as hashes.
    """
    CREATE TABLE users (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        is_admin INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL,
        disabled_at REAL
    );
    CREATE TABLE devices (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        name TEXT NOT NULL,
        kind TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        created_at REAL NOT NULL,
        last_seen REAL,
        revoked_at REAL,
        revoked_reason TEXT
    );
    CREATE TABLE refresh_tokens (
        token_hash TEXT PRIMARY KEY,
        device_id TEXT NOT NULL REFERENCES devices(id),
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL
    );
    CREATE INDEX refresh_tokens_device ON refresh_tokens(device_id);
    CREATE TABLE pairing_codes (
        code_hash TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES users(id),
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL,
        used_by_device TEXT
    );
    CREATE TABLE share_links (
        id TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        session_id TEXT NOT NULL,
        user_id TEXT NOT NULL REFERENCES users(id),
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        revoked_at REAL
    );
    CREATE TABLE hub_keys (
        name TEXT PRIMARY KEY,
        secret TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE TABLE audit_log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        ts REAL NOT NULL,
        action TEXT NOT NULL,
        actor TEXT,
        user_id TEXT,
        device_id TEXT,
        address TEXT,
        details TEXT NOT NULL DEFAULT '{}'
    );
    CREATE INDEX audit_log_ts ON audit_log(ts);
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """,
    # 3: notifications — sinks, preferences, the notifier's cursors, the delivery queue
    # (tether.notify.schema)
    NOTIFY_SCHEMA,
]
