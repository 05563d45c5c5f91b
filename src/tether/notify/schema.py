"""The notification tables (one store migration, appended to `tether.store.migrations`).

Secrets never sit here in the clear: a webhook's signing secret, an ntfy token and a
browser's push keys are sealed (AES-GCM) under a key kept in the hub's secrets file.
"""

NOTIFY_SCHEMA = """
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
"""
"""Sinks, preferences, the notifier's cursor through each session's log (started at the
log's end for sessions older than this migration, so nothing old is sent), the durable
delivery queue, the permission requests notified (for reminders and `permission_answered`),
which sinks got each request, and the capability answers (single use)."""
