#!/usr/bin/env python3
"""Printing benchmark: warm render time per form (from Config/notices/examples) and the API-call-to-job-accepted
latency of POST /v1/prints against the rig's cupsd + ippeveprinter, both side by side with the named baseline —
a one-off pango/cairo render of one comparable A4 page in C (Benchmarks/render_baseline.c, built here with gcc).

Usage: print_bench.py TONGBAN_BINARY OUT.md   (TONGBAN_RIG_CUPS_SERVER and TONGBAN_RIG_PRINTER_QUEUE in the environment)
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

TOKEN = "benchmark-token-0123456789"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def baseline(workdir):
    binary = os.path.join(workdir, "render_baseline")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "pangocairo", "cairo-pdf"], check=True,
                           capture_output=True, text=True).stdout.split()
    subprocess.run(["gcc", "-O2", "-o", binary, os.path.join(ROOT, "Benchmarks/render_baseline.c")] + flags + ["-lzint"],
                   check=True)
    return json.loads(subprocess.run([binary, "30"], check=True, capture_output=True, text=True).stdout)


def forms(tongban):
    out = subprocess.run([tongban, "bench", "notices", "--config", os.path.join(ROOT, "Config/tongban.yaml")],
                         check=True, capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def api_latency(tongban, workdir, count=20):
    env = dict(os.environ, TONGBAN_API_TOKEN=TOKEN, TONGBAN_PRINTERS_CUPS_SERVER=os.environ["TONGBAN_RIG_CUPS_SERVER"],
               TONGBAN_PRINTERS_NOTICES=os.environ["TONGBAN_RIG_PRINTER_QUEUE"])
    server = subprocess.Popen([tongban, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(workdir, "data"),
                               "--config", os.path.join(ROOT, "Config/tongban.yaml")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        port = None
        for line in server.stdout:
            match = re.search(r"http://127\.0\.0\.1:(\d+)/console", line)
            if match:
                port = int(match.group(1))
                break
        data = json.load(open(os.path.join(ROOT, "Config/notices/examples/receipt-notice.json"), encoding="utf-8"))
        body = json.dumps({"template": "receipt-notice", "data": data}).encode()
        times = []
        for index in range(count + 2):
            request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/prints", data=body, method="POST",
                                             headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
            started = time.perf_counter()
            with urllib.request.urlopen(request, timeout=60) as response:
                job = json.loads(response.read())
            elapsed = (time.perf_counter() - started) * 1000
            if job.get("state") != "queued" or not job.get("cupsJobId"):
                raise SystemExit(f"job not accepted: {job}")
            if index >= 2:
                times.append(elapsed)
        return times
    finally:
        server.kill()
        server.wait()


def main():
    tongban, out = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as workdir:
        base = baseline(workdir)
        rendered = forms(tongban)
        latencies = api_latency(tongban, workdir)
    warm = base["warmMedianMs"]
    lines = ["# Printing: render time per form, and API call to job accepted", "",
             f"One run, {os.cpu_count()} cores, release build, {time.strftime('%Y-%m-%d')}. Baseline: "
             "`Benchmarks/render_baseline.c` — one A4 page (title, paragraph, ruled 10-row table, QR code, Code 128 from "
             f"libzint) rendered by pango/cairo to an in-memory PDF: first {base['firstMs']:.1f} ms, warm median "
             f"**{warm:.1f} ms**.", "",
             "| form | pages | PDF bytes | first render (ms) | warm median (ms) | ratio to baseline |", "|---|---|---|---|---|---|"]
    for form in rendered:
        lines.append(f"| {form['form']} | {form['pages']} | {form['bytes']} | {form['firstMs']:.1f} | "
                     f"{form['warmMedianMs']:.1f} | {form['warmMedianMs'] / warm:.2f} |")
    median = statistics.median(latencies)
    p90 = sorted(latencies)[int(len(latencies) * 0.9) - 1]
    lines += ["", f"API call to job accepted (`POST /v1/prints` receipt-notice: validate options with the queue, render, "
              "keep the PDF as the case's attachment (fsynced, recorded), record the job, hand it to cupsd — answered "
              f"once cupsd gave the job id), {len(latencies)} calls after 2 warm-up ones:", "",
              "| | median (ms) | p90 (ms) | ratio to baseline render |", "|---|---|---|---|",
              f"| POST /v1/prints → job accepted | {median:.1f} | {p90:.1f} | {median / warm:.2f} |", ""]
    open(out, "w", encoding="utf-8").write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
