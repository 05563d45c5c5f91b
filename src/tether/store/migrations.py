"""Versioned schema migrations, applied in order; `PRAGMA user_version` holds the version.

Add a migration by appending to MIGRATIONS; never edit one that has shipped.
"""

from __future__ import annotations

from collections.abc import Sequence

from tether.errors import StoreError

# The tables of migration 2, which PostgreSQL takes in its own types
# (`tether.store.pg_migrations`); only the triggers that keep the audit log append-only
# are written apart for each engine.
IDENTITY_TABLES = """
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
"""

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
    IDENTITY_TABLES
    + """
    CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """,
    # 3: the signing and pairing keys leave the database for the hub's secrets file
    # (tether.hub_secrets). The old rows are not carried over: a copy of the database taken
    # before this upgrade must mint nothing, so the hub makes new keys (session tokens at
    # most ten minutes old stop working and clients refresh; pending pairing codes die).
    """
    DELETE FROM hub_keys;
    DROP TABLE hub_keys;
    """,
    # 4: a runner id belongs to the device and user that first registered it, for good
    # (tether.auth.runners). Runners registered before this learn their owner from the
    # oldest runner device paired under that name; any others are claimed by the next
    # device that connects as them.
    """
    ALTER TABLE runners ADD COLUMN owner_user TEXT;
    ALTER TABLE runners ADD COLUMN owner_device TEXT;
    ALTER TABLE runners ADD COLUMN claimed_at REAL;
    UPDATE runners SET
        owner_device = (SELECT d.id FROM devices d WHERE d.kind = 'runner' AND d.name = runners.id
                        ORDER BY d.created_at, d.id LIMIT 1),
        owner_user = (SELECT d.user_id FROM devices d WHERE d.kind = 'runner'
                      AND d.name = runners.id ORDER BY d.created_at, d.id LIMIT 1),
        claimed_at = (SELECT d.created_at FROM devices d WHERE d.kind = 'runner'
                      AND d.name = runners.id ORDER BY d.created_at, d.id LIMIT 1);
    """,
    # 5: notifications (tether.notify): sinks, preferences, the notifier's cursor through
    # each session's log (started at the log's end for sessions older than this migration,
    # so nothing old is sent), the durable delivery queue, the permission requests
    # notified (for reminders and `permission_answered`), which sinks got each request,
    # and the capability answers (single use). Sink secrets are sealed (AES-GCM) under a
    # key in the hub's secrets file, never stored in the clear.
    """
    CREATE TABLE notify_sinks (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        url TEXT NOT NULL,
        device_id TEXT,
        events TEXT,
        sealed TEXT NOT NULL DEFAULT '',
        trusted INTEGER NOT NULL DEFAULT 0,
        hub_url TEXT NOT NULL,
        created_at REAL NOT NULL,
        failures INTEGER NOT NULL DEFAULT 0,
        last_error TEXT
    );
    CREATE INDEX notify_sinks_user ON notify_sinks(user_id);
    CREATE UNIQUE INDEX notify_sinks_device ON notify_sinks(device_id) WHERE device_id IS NOT NULL;
    CREATE TABLE notify_prefs (
        user_id TEXT PRIMARY KEY,
        prefs TEXT NOT NULL
    );
    CREATE TABLE notify_cursors (
        session_id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL
    );
    INSERT INTO notify_cursors (session_id, seq)
        SELECT session_id, MAX(seq) FROM events GROUP BY session_id;
    CREATE TABLE notify_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        sink_id TEXT NOT NULL,
        notification TEXT NOT NULL,
        session_id TEXT NOT NULL,
        request_id TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at REAL NOT NULL,
        created_at REAL NOT NULL
    );
    CREATE INDEX notify_outbox_due ON notify_outbox(next_at);
    CREATE TABLE notify_requests (
        session_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        notification TEXT NOT NULL,
        created_at REAL NOT NULL,
        remind_at REAL,
        reminded_at REAL,
        closed_at REAL,
        closed_how TEXT,
        PRIMARY KEY (session_id, request_id)
    );
    CREATE INDEX notify_requests_due ON notify_requests(remind_at);
    CREATE TABLE notify_sent (
        session_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        sink_id TEXT NOT NULL,
        sent_at REAL NOT NULL,
        PRIMARY KEY (session_id, request_id, sink_id)
    );
    CREATE TABLE notify_answers (
        session_id TEXT NOT NULL,
        request_id TEXT NOT NULL,
        behavior TEXT NOT NULL,
        sink_id TEXT NOT NULL,
        answered_by TEXT NOT NULL,
        address TEXT,
        answered_at REAL NOT NULL,
        PRIMARY KEY (session_id, request_id)
    );
    """,
    # 6: the hub's identity: one id that every replica of the hub publishes (GET
    # /v1/hub/identity), so a client keys its credentials by the hub, not by its URL
    """
    CREATE TABLE hub_identity (
        only_row INTEGER PRIMARY KEY CHECK (only_row = 1),
        id TEXT NOT NULL,
        created_at REAL NOT NULL
    );
    """,
    # 7: which sessions the notifier has reported lost (their runner away), claimed once
    # by whichever hub replica reports it first
    """
    CREATE TABLE notify_lost (
        session_id TEXT PRIMARY KEY,
        told_at REAL NOT NULL
    );
    """,
]


def pending(
    migrations: Sequence[str], version: int, *, where: str, hint: str, schema: str = ""
) -> list[tuple[int, str]]:
    """The migrations a store at schema `version` has yet to apply, numbered from 1.

    A store newer than this tether is refused (`where` names it in the error, with the
    `schema` table when there are several; `hint` says what to do): its tables may mean
    what this code does not know.
    """
    if version > len(migrations):
        of = f" ({schema})" if schema else ""
        raise StoreError(
            f"the store at {where} has schema version {version}{of}, newer than this tether"
            f" ({len(migrations)})",
            hint=hint,
        )
    return list(enumerate(migrations[version:], start=version + 1))
