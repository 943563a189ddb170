#!/usr/bin/env python3
"""A real tus 1.0 server (aiohttp-tus) standing in for the case core in tests, the rig and benchmarks.

usage: tus_server.py --dir DIR [--port N] [--port-file FILE] [--tls-cert PEM --tls-key PEM [--client-ca PEM]]
                    [--hold-from OFFSET]

--hold-from holds every PATCH at or beyond that offset until the file DIR/release exists: the upload stops there
for sure, so a test can act in the middle of it (kill the client, cancel) on however loaded a machine.

With --tls-cert it speaks HTTPS; with --client-ca it also demands a client certificate signed by that CA
(mutual TLS, as on the government extranet).

Uploads are stored under DIR/uploads by aiohttp-tus. Each completed upload appends one JSON line to
DIR/delivered.jsonl: its metadata, size and SHA-256 as received — what a test compares with what was captured,
and how it counts deliveries per attachment id. Every creation, PATCH and termination is logged as it starts to
DIR/requests.jsonl (method, path, Upload-Offset, Content-Length): what a resume re-sent.
Prints "tus: listening on PORT" when ready.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import ssl
from pathlib import Path

from aiohttp import web
from aiohttp_tus import setup_tus


def parse_metadata(header: str) -> dict:
    pairs = {}
    for item in filter(None, (part.strip() for part in header.split(","))):
        key, _, value = item.partition(" ")
        pairs[key] = base64.b64decode(value).decode() if value else ""
    return pairs


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--client-ca")
    parser.add_argument("--hold-from", type=int)
    args = parser.parse_args()
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
        if args.client_ca:
            tls.verify_mode = ssl.CERT_REQUIRED
            tls.load_verify_locations(args.client_ca)
    uploads = args.dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    ledger = args.dir / "delivered.jsonl"

    async def upload_done(request, resource, file_path):
        digest = hashlib.sha256()
        with open(file_path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        record = parse_metadata(resource.metadata_header)
        record.update(receivedSize=file_path.stat().st_size, receivedSha256=digest.hexdigest())
        with open(ledger, "a") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")

    requests_log = args.dir / "requests.jsonl"

    @web.middleware
    async def log_requests(request, handler):
        if request.method in ("POST", "PATCH", "DELETE"):
            with open(requests_log, "a") as out:
                out.write(json.dumps({"method": request.method, "path": request.path,
                                      "offset": int(request.headers.get("Upload-Offset", -1)),
                                      "length": int(request.headers.get("Content-Length", 0))}) + "\n")
        if request.method == "PATCH" and args.hold_from is not None:
            while int(request.headers.get("Upload-Offset", 0)) >= args.hold_from and not (args.dir / "release").exists():
                await asyncio.sleep(0.05)
        return await handler(request)

    # Chunks arrive whole in one request body: allow large ones.
    app = web.Application(client_max_size=256 * 1024 * 1024, middlewares=[log_requests])
    setup_tus(app, upload_path=uploads, upload_url="/files", on_upload_done=upload_done)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", args.port, ssl_context=tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    if args.port_file:
        args.port_file.write_text(str(port))
    print(f"tus: listening on {port}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
