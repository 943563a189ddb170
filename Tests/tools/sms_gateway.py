#!/usr/bin/env python3
"""A stand-in for a city SMS gateway's reminder endpoint: takes JSON POSTs on 127.0.0.1:PORT, answers 503 to the
first FAIL_FIRST of them and 200 after, and writes every request (its answer, Idempotency-Key and parsed body) as a
JSON line to LOG. A second request with a key already answered 200 is answered 200 again and marked duplicate.
Prints "sms-gateway: listening on PORT" when ready."""
import argparse
import json
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--log", required=True)
args = parser.parse_args()
state = {"requests": 0, "taken": set()}


class Gateway(BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        key = self.headers.get("Idempotency-Key")
        state["requests"] += 1
        status = 503 if state["requests"] <= args.fail_first else 200
        try:
            body = json.loads(raw)
        except ValueError:
            body, status = None, 400
        record = {"status": status, "key": key, "body": body, "contentType": self.headers.get("Content-Type"),
                  "duplicate": status == 200 and key in state["taken"]}
        if status == 200:
            state["taken"].add(key)
        with open(args.log, "a") as out:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *arguments):
        pass


server = ThreadingHTTPServer(("127.0.0.1", args.port), Gateway)
print(f"sms-gateway: listening on {args.port}", flush=True)
server.serve_forever()
