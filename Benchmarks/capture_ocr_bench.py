#!/usr/bin/env python3
"""What reading a document capture's text costs the clerk: the time from POST /v1/cameras/{id}/capture to its
answer (the attachment stored), with "ocr": false and with "ocr": true, through the running service.

The scene is the one the tests photograph: Tongban's 收件通知书 (receipt-notice, example data) rendered at 150 dpi
and laid on a dark mat in a 2592×1944 (5-megapixel) picture, served by the simulated document camera. Each
condition is captured --runs times (default 7) alternately, after one warm-up capture each (the first capture
with text loads the recogniser); the table gives the median and the spread.

Usage: capture_ocr_bench.py [--runs N] [--binary TONGBAN] [--json]
Needs ImageMagick `convert`; the binary's forms folder (Config/notices) for rendering.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = "capture-ocr-bench-token"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "debug", "tongban"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="capture-ocr-bench-") as work:
        form = os.path.join(work, "form.png")
        subprocess.run([args.binary, "notices", "render", "receipt-notice", "--data",
                        os.path.join(ROOT, "Config", "notices", "examples", "receipt-notice.json"),
                        "--out", form, "--format", "png", "--dpi", "150"], check=True, cwd=ROOT, capture_output=True)
        os.makedirs(os.path.join(work, "scenes"))
        subprocess.run(["convert", "-size", "2592x1944", "xc:#3a3a3a", form, "-geometry", "+676+95", "-composite",
                        "-quality", "90", os.path.join(work, "scenes", "1-document.jpg")], check=True)
        env = dict(os.environ, TONGBAN_API_TOKEN=TOKEN, TONGBAN_DEVICES_SIMULATE="all",
                   TONGBAN_CAMERAS_SIMULATOR_SCENES=os.path.join(work, "scenes"))
        server = subprocess.Popen([args.binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(work, "data")],
                                  cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            port = None
            for line in server.stdout:
                found = re.search(r"tongban: ready .*127\.0\.0\.1:(\d+)", line)
                if found:
                    port = int(found.group(1))
                    break
            if port is None:
                sys.exit("capture_ocr_bench: the service did not start")

            def capture(ocr):
                body = json.dumps({"mode": "document", "caseNumber": "SX2026112200017", "insist": True, "ocr": ocr}).encode()
                request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/cameras/sim:camera/capture", data=body, method="POST",
                                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
                started = time.monotonic()
                with urllib.request.urlopen(request, timeout=120) as answer:
                    result = json.load(answer)
                return time.monotonic() - started, result.get("textLines")

            capture(False)
            capture(True)
            times = {False: [], True: []}
            lines = None
            for _ in range(args.runs):
                for ocr in (False, True):
                    seconds, count = capture(ocr)
                    times[ocr].append(seconds)
                    if ocr:
                        lines = count
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
    off, on = statistics.median(times[False]), statistics.median(times[True])
    print("| capture of a 5 MP document picture | median (s) | min–max (s) |")
    print("|---|---|---|")
    print(f"| `\"ocr\": false` | {off:.2f} | {min(times[False]):.2f}–{max(times[False]):.2f} |")
    print(f"| `\"ocr\": true` ({lines} lines read) | {on:.2f} | {min(times[True]):.2f}–{max(times[True]):.2f} |")
    print(f"\nWith text / without: **{on / off:.2f}×** (+{on - off:.2f} s per capture); {args.runs} runs each, binary {args.binary}.")
    if args.json:
        print(json.dumps({"off": times[False], "on": times[True], "lines": lines}))


if __name__ == "__main__":
    main()
