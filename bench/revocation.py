"""How long from `revoke` to the revoked device's live sockets being closed.

Run: PYTHONPATH=src python bench/revocation.py [ROUNDS]
Prints the median and worst time (ms) from calling revoke (which writes the store) to the
viewer seeing the close frame, for an in-process hub on loopback.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.authhub import secure_hub


async def main(rounds: int) -> None:
    figures: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with secure_hub(Path(tmp)) as hub:
            owner = await hub.device()
            async with hub.client(owner.token) as client:
                session = await client.start("demo")
            for _ in range(rounds):
                victim = await hub.device(name="victim")
                remote = await hub.session(
                    session["id"], await victim.token(), reconnect=False, follow=True
                ).connect()
                started = time.perf_counter()
                await hub.auth.revoke_device(None, victim.id)
                while remote.closed_error is None:
                    await asyncio.sleep(0.0005)
                figures.append((time.perf_counter() - started) * 1000)
                await remote.close()
    print(
        f"revocation → socket closed: median {statistics.median(figures):.1f} ms, "
        f"worst {max(figures):.1f} ms over {rounds} rounds"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
