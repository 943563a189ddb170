#!/usr/bin/env python3
"""A second real tus 1.0 server for tests: resumable-upload's, which offers and checks the checksum extension.

usage: tus_checksum_server.py --dir DIR [--port N]

It advertises `Tus-Checksum-Algorithm: sha1` and answers 460 to a chunk whose `Upload-Checksum` does not match.
Each completed upload appends one JSON line to DIR/delivered.jsonl (metadata, size and SHA-256 as received), as
tus_server.py does. Prints "tus: listening on PORT" when ready.
"""
import argparse
import hashlib
import json
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from resumable_upload.server import TusHTTPRequestHandler, TusServer
from resumable_upload.storage import SQLiteStorage


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    ledger = args.dir / "delivered.jsonl"
    lock = threading.Lock()

    def upload_complete(upload_id, metadata, file_info):
        digest = hashlib.sha256()
        path = Path(file_info["file_path"])
        with open(path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        record = dict(metadata, receivedSize=path.stat().st_size, receivedSha256=digest.hexdigest())
        with lock, open(ledger, "a") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")

    tus = TusServer(storage=SQLiteStorage(db_path=str(args.dir / "tus.db"), upload_dir=str(args.dir / "uploads")),
                    base_path="/files", checksum_algorithms=("sha1",), on_upload_complete=upload_complete)

    class Handler(TusHTTPRequestHandler):
        def log_message(self, *arguments):
            pass

    Handler.tus_server = tus
    httpd = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"tus: listening on {httpd.server_address[1]}", flush=True)
    httpd.serve_forever()


if __name__ == "__main__":
    main()
