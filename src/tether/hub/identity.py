"""The hub's identity: one id, made by the first hub (or replica) on an empty store and
kept in it, so every replica of a hub publishes the same one.

Clients key stored credentials by it (tether.client.credentials), so a device signed in
through one replica's URL is signed in for all of them. It is public: it names the hub,
it grants nothing.
"""

from __future__ import annotations

import secrets
import time

from fastapi import APIRouter, Request
from pydantic import BaseModel

import tether
from tether.hub.hub import hub_of
from tether.store.base import Store
from tether.store.sql import ONE, Op, Query

identity_router = APIRouter()


class HubIdentity(BaseModel):
    """What `GET /v1/hub/identity` answers."""

    id: str
    """The same on every replica of this hub, for good."""
    replica: str | None = None
    """The replica that answered (None: a hub of one process)."""
    version: str


def hub_identity(new_id: str, now: float) -> Op[str]:
    """The hub's id; `new_id` becomes it if there is none yet (the first start wins)."""
    yield Query(
        "INSERT INTO hub_identity (only_row, id, created_at) VALUES (1, ?, ?)"
        " ON CONFLICT (only_row) DO NOTHING",
        (new_id, now),
    )
    row = yield Query("SELECT id FROM hub_identity WHERE only_row = 1", (), ONE)
    return str(row[0])


@identity_router.get("/v1/hub/identity")
async def identity(request: Request) -> HubIdentity:
    """Which hub this is (no auth: clients ask before they have credentials)."""
    hub = hub_of(request)
    replica = hub.replication.replica_id if hub.replication is not None else None
    return HubIdentity(id=hub.identity, replica=replica, version=tether.__version__)


async def load_identity(store: Store) -> str:
    """The hub's id from the store (made now on the very first start)."""
    return await store.run_write(hub_identity("h_" + secrets.token_hex(8), time.time()))
