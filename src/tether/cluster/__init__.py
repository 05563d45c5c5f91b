"""Several hub replicas as one hub, on PostgreSQL itself: tables hold the shared state,
LISTEN/NOTIFY only wakes replicas up (a missed notification costs latency, never data)."""
