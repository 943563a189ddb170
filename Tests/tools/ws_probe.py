#!/usr/bin/python3
"""Opens a WebSocket with exact headers, prints each received message on its own line, exits.

usage: ws_probe.py URL COUNT [Header: value ...]
Exit 0 after COUNT messages; 3 when the upgrade is refused (prints the HTTP status); 4 on timeout.
"""
import asyncio
import sys

import websockets


async def main() -> int:
    url, count = sys.argv[1], int(sys.argv[2])
    headers = [tuple(h.split(": ", 1)) for h in sys.argv[3:]]
    origin = next((value for name, value in headers if name.lower() == "origin"), None)
    headers = [(name, value) for name, value in headers if name.lower() != "origin"]
    try:
        async with websockets.connect(url, origin=origin, extra_headers=headers, open_timeout=10) as socket:
            for _ in range(count):
                message = await asyncio.wait_for(socket.recv(), timeout=20)
                print(message, flush=True)
    except websockets.exceptions.InvalidStatusCode as refused:
        print(f"refused {refused.status_code}", flush=True)
        return 3
    except asyncio.TimeoutError:
        print("timeout", flush=True)
        return 4
    return 0


sys.exit(asyncio.run(main()))
