"""A turn holds its conversation from its claim to the end of its block, however the block
ends; two callers can never hold one conversation, nor start two sessions for one pair."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.support.hub import running_hub
from tests.support.timing import scaled
from tether.client import static_token
from tether.errors import Conflict
from tether.mcp.access import remote_access
from tether.mcp.pool import Claim, ConversationBusy, ConversationPool
from tether.mcp.service import TeamService


async def test_the_end_of_the_block_frees_the_conversation_however_it_ends() -> None:
    pool = ConversationPool()
    conversation = pool.add("me", "", "demo", "s_1")

    async def claim() -> Claim:
        return Claim(conversation)

    with pytest.raises(RuntimeError):
        async with pool.turn(claim):
            assert conversation.held
            raise RuntimeError("the hub went away mid-turn")
    assert not conversation.held

    async def waits_for_ever() -> None:
        async with pool.turn(claim):
            await asyncio.Event().wait()

    task = asyncio.create_task(waits_for_ever())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert conversation.held
    task.cancel()  # the MCP client hung up while waiting for the reply
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not conversation.held


async def test_a_held_conversation_cannot_be_claimed_again() -> None:
    pool = ConversationPool()
    conversation = pool.add("me", "", "demo", "s_1")

    async def claim() -> Claim:
        return Claim(conversation)

    async with pool.turn(claim):
        with pytest.raises(ConversationBusy) as busy:
            async with pool.turn(claim):
                pytest.fail("held twice")
        assert busy.value.conversation is conversation
        assert conversation.held  # the refused claim did not free the first turn's hold
        assert pool.idle(now=10**9) == []  # and a held one is never swept
    assert not conversation.held


async def test_a_failed_claim_holds_nothing() -> None:
    pool = ConversationPool()

    async def claim() -> Claim:
        raise Conflict("team 'demo' is offline")

    with pytest.raises(Conflict):
        async with pool.turn(claim):
            pytest.fail("no conversation was claimed")
    assert len(pool) == 0


async def test_two_first_messages_of_one_pair_start_one_session(tmp_path: Path) -> None:
    async with running_hub(tmp_path) as hub:
        access = remote_access(hub.url, static_token(hub.token))
        service = TeamService(access)
        async with access.caller(None) as caller:
            first, second = await asyncio.gather(
                service.send_message(caller, "demo", "long 50", timeout_s=scaled(30)),
                service.send_message(caller, "demo", "hello", timeout_s=scaled(30)),
                return_exceptions=True,
            )
            sessions = [s for s in await caller.hub.sessions() if s["team"] == "demo"]
        await access.hub.aclose()
    answers = [r for r in (first, second) if not isinstance(r, BaseException)]
    refusals = [r for r in (first, second) if isinstance(r, BaseException)]
    assert len(answers) == 1 and len(refusals) == 1, (first, second)
    assert isinstance(refusals[0], Conflict) and "busy" in str(refusals[0])
    assert [s["id"] for s in sessions] == [answers[0].data["session"]]
