"""send_message round trips through tether's MCP server, per transport (demo agent).

Run: PYTHONPATH=src python bench/mcp_roundtrip.py [turns]

Starts an in-process hub + runner with the demo team, connects the official
`mcp` ClientSession over stdio, streamable HTTP and WebSocket, and prints the
median and p90 of `send_message` (turn delivered, agent answered, reply read).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.hub import running_hub
from tests.support.mcp_clients import TRANSPORTS, mcp_session


async def main(turns: int) -> None:
    with tempfile.TemporaryDirectory() as data_dir:
        async with running_hub(Path(data_dir)) as hub:
            for transport in TRANSPORTS:
                async with mcp_session(transport, hub.url, hub.token) as mcp:
                    args = {"to_team": "demo", "message": "warm up", "from_team": transport}
                    await mcp.call_tool("send_message", args)
                    samples = []
                    for i in range(turns):
                        args["message"] = f"turn {i}"
                        start = time.perf_counter()
                        result = await mcp.call_tool("send_message", args)
                        samples.append((time.perf_counter() - start) * 1000)
                        assert not result.is_error
                    samples.sort()
                    p90 = samples[int(len(samples) * 0.9) - 1]
                    print(
                        f"{transport:6s} send_message: median {statistics.median(samples):6.1f} ms"
                        f"   p90 {p90:6.1f} ms   ({turns} turns)"
                    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
