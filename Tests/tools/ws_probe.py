#!/usr/bin/python3
"""Opens a WebSocket with exact headers, prints each received message on its own line, exits.

usage: ws_probe.py URL COUNT|until:TEXT [Header: value ...]
Exit 0 after COUNT messages (or after the first message containing TEXT); 3 when the upgrade is refused
(prints the HTTP status); 4 on timeout (no message for $WS_PROBE_IDLE_SECONDS, default 20 s).
"""
import asyncio
import os
import sys

import websockets


async def main() -> int:
    url, limit = sys.argv[1], sys.argv[2]
    until = limit[len("until:"):] if limit.startswith("until:") else None
    count = None if until else int(limit)
    headers = [tuple(h.split(": ", 1)) for h in sys.argv[3:]]
    origin = next((value for name, value in headers if name.lower() == "origin"), None)
    headers = [(name, value) for name, value in headers if name.lower() != "origin"]
    try:
        async with websockets.connect(url, origin=origin, extra_headers=headers, open_timeout=10) as socket:
            received = 0
            while until is not None or received < count:
                message = await asyncio.wait_for(socket.recv(), timeout=float(os.environ.get("WS_PROBE_IDLE_SECONDS", "20")))
                print(message, flush=True)
                received += 1
                if until is not None and until in message:
                    break
    except websockets.exceptions.InvalidStatusCode as refused:
        print(f"refused {refused.status_code}", flush=True)
        return 3
    except asyncio.TimeoutError:
        print("timeout", flush=True)
        return 4
    return 0


sys.exit(asyncio.run(main()))
