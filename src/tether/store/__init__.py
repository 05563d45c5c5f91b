"""Durable storage for the hub: sessions, their event logs, runners (SQLite by default)."""

from tether.store.base import SessionRecord, Store, StoredEvent
from tether.store.sqlite import SqliteStore

__all__ = ["SessionRecord", "SqliteStore", "Store", "StoredEvent"]
