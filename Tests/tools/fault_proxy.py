#!/usr/bin/env python3
"""An HTTP/1.1 proxy that misbehaves on purpose, between Tongban and the case core in tests.

usage: fault_proxy.py --upstream HOST:PORT [--seed N] [--port-file FILE] [--no-faults] [--corrupt-rate R]

For each request it draws a fate: pass it on; answer 503 with Retry-After: 1; reset the connection before
forwarding; forward it and then reset instead of answering (the server acted, the client never hears); stall
three seconds, then pass it on (--no-faults: always pass). With --corrupt-rate R it also flips one byte in the body
of that share of PATCH requests it passes on (what a tus checksum must catch). Every connection closes after one
exchange. Prints "proxy: listening on PORT"
and keeps a count of each fate in FILE.counts when --port-file is given.
"""
import argparse
import asyncio
import json
import random
from pathlib import Path

FATES = [("pass", 0.55), ("unavailable", 0.15), ("reset-before", 0.1), ("lose-response", 0.12), ("stall", 0.08)]


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    body = await reader.readexactly(length) if length else b""
    return head, body


def close_header(head: bytes) -> bytes:
    lines = [line for line in head.split(b"\r\n") if not line.lower().startswith(b"connection:")]
    return b"\r\n".join(lines[:-2] + [b"Connection: close", b"", b""])


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--port-file", type=Path)
    parser.add_argument("--no-faults", action="store_true")
    parser.add_argument("--corrupt-rate", type=float, default=0.0)
    args = parser.parse_args()
    host, _, port = args.upstream.rpartition(":")
    chance = random.Random(args.seed)
    counts = {name: 0 for name, _ in FATES}
    counts["corrupt"] = 0

    def fate() -> str:
        if args.no_faults:
            return "pass"
        roll, total = chance.random(), 0.0
        for name, weight in FATES:
            total += weight
            if roll < total:
                return name
        return "pass"

    async def handle(reader, writer):
        try:
            head, body = await read_request(reader)
            chosen = fate()
            counts[chosen] += 1
            if args.port_file:
                Path(str(args.port_file) + ".counts").write_text(json.dumps(counts))
            if chosen == "unavailable":
                writer.write(b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            if chosen == "reset-before":
                return
            if chosen == "stall":
                await asyncio.sleep(3)
            if body and head.startswith(b"PATCH") and chance.random() < args.corrupt_rate:
                counts["corrupt"] += 1
                if args.port_file:
                    Path(str(args.port_file) + ".counts").write_text(json.dumps(counts))
                flipped = bytearray(body)
                flipped[len(flipped) // 2] ^= 0x55
                body = bytes(flipped)
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
            up_writer.write(close_header(head) + body)
            await up_writer.drain()
            response = await up_reader.read()
            up_writer.close()
            if chosen == "lose-response":
                return
            response_head, _, response_body = response.partition(b"\r\n\r\n")
            writer.write(close_header(response_head + b"\r\n\r\n") + response_body)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    listening = server.sockets[0].getsockname()[1]
    if args.port_file:
        args.port_file.write_text(str(listening))
    print(f"proxy: listening on {listening}", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
