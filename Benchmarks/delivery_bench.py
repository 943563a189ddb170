#!/usr/bin/python3
"""Benchmark for issue 6/8 (and wave 2 · 1/8): delivery throughput to a tus server, the cost of resuming after
kill -9, and what idempotency keys and sealing identity items as they stream in cost.

Figures from one run, side by side with their baselines:
  - throughput: one 200 MiB attachment delivered by `tongban serve` (4 MiB chunks, from the outbox sender's own
    start-to-delivered time) against `curl` sending the same bytes to the same tus server in one PATCH;
  - resume: kill -9 once a quarter is confirmed, restart; bytes the server received twice, and the time from the
    restarted service's ready line to the upload's first resumed PATCH;
  - intake: the same 200 MiB captured (POST /v1/attachments until its 201) plain, with an Idempotency-Key, and as
    an identity item sealed while it streams in; and the sealed one delivered — each against the plain figure.

usage: Benchmarks/delivery_bench.py BINARY PYTHON OUT.md   (PYTHON: the venv's, with aiohttp-tus)
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.request

binary, python, out_path = sys.argv[1], sys.argv[2], sys.argv[3]
here = os.path.dirname(os.path.abspath(__file__))
tus_tool = os.path.join(here, "..", "Tests", "tools", "tus_server.py")
size = 200 * 1024 * 1024
chunk = 4 * 1024 * 1024
token = "bench-token-0123456789abcdef"


def start_tus(directory):
    process = subprocess.Popen([python, tus_tool, "--dir", directory], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    return process, f"http://127.0.0.1:{line.split()[-1]}/files"


def serve(data, url):
    env = dict(os.environ, TONGBAN_API_TOKEN=token, TONGBAN_CASE_CORE_URL=url, TONGBAN_CASE_CORE_CHUNK_KILOBYTES=str(chunk // 1024))
    process = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    for line in process.stdout:
        if "tongban: ready" in line:
            return process, int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1)), time.perf_counter()
    raise RuntimeError("serve ended without a ready line")


def capture(port, path, kind="scan", headers=()):
    extra = [item for header in headers for item in ("-H", header)]
    result = subprocess.run(["curl", "-s", "--noproxy", "*", "-X", "POST", "-H", f"Authorization: Bearer {token}",
                             "-H", "Content-Type: application/pdf", *extra, "--data-binary", f"@{path}",
                             f"http://127.0.0.1:{port}/v1/attachments?case=BENCH&material=bench&kind={kind}&fileName=big.pdf"],
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)["attachmentId"]


def timed_capture(port, path, kind="scan", headers=()):
    start = time.perf_counter()
    capture(port, path, kind, headers)
    return time.perf_counter() - start


def outbox(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/outbox") as answer:
        return json.load(answer)


def wait_delivered(port):
    while outbox(port)["undelivered"]:
        time.sleep(0.05)


def delivery_seconds(process):
    process.terminate()
    _, errors = process.communicate(timeout=30)
    return float(re.findall(r"seconds=([\d.]+)", errors)[-1])


with tempfile.TemporaryDirectory(prefix="tongban-delivery-bench-") as work:
    big = os.path.join(work, "big.pdf")
    with open(big, "wb") as out:
        out.write(os.urandom(size))

    # Tongban: capture, then the sender's own time for the upload.
    tus, url = start_tus(os.path.join(work, "tus1"))
    process, port, _ = serve(os.path.join(work, "data1"), url)
    capture(port, big)
    wait_delivered(port)
    tongban_seconds = delivery_seconds(process)
    tus.kill()

    # curl: create, then one PATCH with the same bytes to a fresh server of the same kind.
    tus, url = start_tus(os.path.join(work, "tus2"))
    created = subprocess.run(["curl", "-s", "-i", "--noproxy", "*", "-X", "POST", "-H", "Tus-Resumable: 1.0.0",
                              "-H", f"Upload-Length: {size}", "-H", "Upload-Metadata: filename YmlnLnBkZg==",
                              "-H", "Content-Length: 0", url], capture_output=True, text=True, check=True).stdout
    location = re.search(r"(?im)^location:\s*(\S+)", created).group(1)
    start = time.perf_counter()
    subprocess.run(["curl", "-s", "--noproxy", "*", "-o", "/dev/null", "-X", "PATCH", "-H", "Tus-Resumable: 1.0.0",
                    "-H", "Upload-Offset: 0", "-H", "Content-Type: application/offset+octet-stream",
                    "--data-binary", f"@{big}", location], check=True)
    curl_seconds = time.perf_counter() - start
    tus.kill()

    # Resume: kill -9 a quarter of the way, restart, measure.
    tus_dir = os.path.join(work, "tus3")
    tus, url = start_tus(tus_dir)
    data = os.path.join(work, "data3")
    process, port, _ = serve(data, url)
    capture(port, big)
    while (outbox(port)["entries"] or [{}])[0].get("offset", 0) < size // 4:
        time.sleep(0.02)
    process.kill()
    process.wait()
    requests_before = sum(1 for _ in open(os.path.join(tus_dir, "requests.jsonl")))
    process, port, ready = serve(data, url)
    while sum(1 for _ in open(os.path.join(tus_dir, "requests.jsonl"))) == requests_before:
        time.sleep(0.005)
    resume_ms = (time.perf_counter() - ready) * 1000
    wait_delivered(port)
    process.terminate()
    process.wait()
    tus.kill()
    patches = [json.loads(line) for line in open(os.path.join(tus_dir, "requests.jsonl")) if '"PATCH"' in line]
    resent = sum(p["length"] for p in patches) - size

    # Intake: plain, with an Idempotency-Key, sealed (an identity item); then the sealed one delivered.
    tus, url = start_tus(os.path.join(work, "tus4"))
    process, port, _ = serve(os.path.join(work, "data4"), url)
    capture(port, big)  # warm-up: page cache, first connection
    wait_delivered(port)
    plain_capture = timed_capture(port, big)
    keyed_capture = timed_capture(port, big, headers=("Idempotency-Key: bench-key-1",))
    sealed_capture = timed_capture(port, big, kind="idcard")
    wait_delivered(port)
    process.terminate()
    _, errors = process.communicate(timeout=30)
    delivered = [float(value) for value in re.findall(r"seconds=([\d.]+)", errors)]
    plain_delivery, sealed_delivery = delivered[-3], delivered[-1]
    tus.kill()

mib = size / 1024 / 1024
with open(out_path, "w") as out:
    build = "debug" if "/debug/" in os.path.realpath(binary) else "release"
    out.write(f"""# Delivery: throughput and resume (one run)

Tongban `tongban serve` ({build} build) delivering one {mib:.0f} MiB attachment over tus 1.0 ({chunk // 1024 // 1024} MiB chunks)
to `Tests/tools/tus_server.py` (aiohttp-tus) on loopback; baseline `curl` sending the same bytes to the same
kind of server in one PATCH. Goal: ratio ≥ 0.8.

| | seconds | MiB/s |
|---|---:|---:|
| Tongban | {tongban_seconds:.2f} | {mib / tongban_seconds:.1f} |
| curl (baseline) | {curl_seconds:.2f} | {mib / curl_seconds:.1f} |
| **ratio (Tongban ÷ curl throughput)** | | **{curl_seconds / tongban_seconds:.2f}** |

Resume after kill -9 at a quarter: {resent} bytes sent twice ({resent / chunk:.2f} chunks of {chunk} bytes);
{resume_ms:.0f} ms from the restarted service's ready line to its first resumed request.

## What the seams cost (wave 2 · 1/8)

The same {mib:.0f} MiB captured through `POST /v1/attachments` until its 201 (hashed, fsynced, recorded with its
outbox entry in one transaction), then delivered; each against the plain capture of the same run.

| | seconds | ratio to plain |
|---|---:|---:|
| capture, plain (`kind=scan`) | {plain_capture:.2f} | 1.00 |
| capture with an `Idempotency-Key` | {keyed_capture:.2f} | {keyed_capture / plain_capture:.2f} |
| capture sealed as it streams in (`kind=idcard`, AES-GCM in 256 KiB records) | {sealed_capture:.2f} | {sealed_capture / plain_capture:.2f} |
| delivery over tus, plain | {plain_delivery:.2f} | 1.00 |
| delivery over tus, sealed (opened with the vault's key) | {sealed_delivery:.2f} | {sealed_delivery / plain_delivery:.2f} |
""")
print(open(out_path).read())
