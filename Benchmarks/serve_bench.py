#!/usr/bin/python3
"""Benchmark for issue 1/8: `tongban serve` start-to-ready and GET /v1/devices latency under wrk.

Figures from one run, side by side with their baselines:
  - start to ready: from spawning `tongban serve` until its ready line (the port is bound and the API
    answers), against spawning `tongban version` until it exits (the cost of merely starting the binary);
  - GET /v1/devices p50 / p99 / requests per second under `wrk -t2 -c32 -d10s`, against GET /v1/health
    (the cheapest route through the same middleware: host/origin guard, metrics, problem mapping).
Real discoverers run meanwhile (libsane's test backend and the rig's CUPS queue when the rig is up).

usage: Benchmarks/serve_bench.py BINARY OUT.md
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

binary, out_path = sys.argv[1], sys.argv[2]
runs = 15


def spawn_until_ready():
    data = tempfile.mkdtemp(prefix="tongban-bench-")
    start = time.perf_counter()
    process = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", data],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in process.stdout:
        if "tongban: ready" in line:
            elapsed = (time.perf_counter() - start) * 1000
            port = int(re.search(r"127\.0\.0\.1:(\d+)", line).group(1))
            return process, port, elapsed
    raise RuntimeError("serve ended without a ready line")


def version_ms():
    start = time.perf_counter()
    subprocess.run([binary, "version"], stdout=subprocess.DEVNULL, check=True)
    return (time.perf_counter() - start) * 1000


ready = []
for _ in range(runs):
    process, _, elapsed = spawn_until_ready()
    ready.append(elapsed)
    process.terminate()
    process.wait()
baseline = [version_ms() for _ in range(runs)]


def wrk(port, path):
    output = subprocess.run(["wrk", "-t2", "-c32", "-d10s", "--latency", f"http://127.0.0.1:{port}{path}"],
                            capture_output=True, text=True, check=True).stdout

    def percentile(name):
        match = re.search(rf"^\s+{name}%\s+([\d.]+)(us|ms|s)", output, re.M)
        value, unit = float(match.group(1)), match.group(2)
        return value * {"us": 0.001, "ms": 1, "s": 1000}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return percentile("50"), percentile("99"), rps, int(errors.group(1)) if errors else 0


process, port, _ = spawn_until_ready()
subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{port}/v1/devices"], check=True)
devices = wrk(port, "/v1/devices")
health = wrk(port, "/v1/health")
device_count = subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/v1/devices"], capture_output=True,
                              text=True).stdout.count('"class"')
process.terminate()
process.wait()

median_ready, median_base = statistics.median(ready), statistics.median(baseline)
lines = [
    "# `tongban serve`: start to ready, and GET /v1/devices under load",
    "",
    f"One run on this machine ({os.cpu_count()} cores), release build, {time.strftime('%Y-%m-%d')}.",
    f"Discoverers: SANE{' (rig test backend)' if os.environ.get('SANE_CONFIG_DIR') else ''}, CUPS, V4L2, USB, serial; "
    f"{device_count} devices listed.",
    "",
    "| measure | Tongban | baseline | ratio |",
    "|---|---|---|---|",
    f"| start to ready, median of {runs} (ms) | {median_ready:.1f} (`serve` until its port answers) "
    f"| {median_base:.1f} (`tongban version` start to exit) | {median_ready / median_base:.2f} |",
    f"| start to ready, max of {runs} (ms) | {max(ready):.1f} | {max(baseline):.1f} | {max(ready) / max(baseline):.2f} |",
    f"| p50 latency (ms), wrk -t2 -c32 -d10s | {devices[0]:.3f} (`/v1/devices`) | {health[0]:.3f} (`/v1/health`) "
    f"| {devices[0] / health[0]:.2f} |",
    f"| p99 latency (ms) | {devices[1]:.3f} | {health[1]:.3f} | {devices[1] / health[1]:.2f} |",
    f"| requests/s | {devices[2]:.0f} | {health[2]:.0f} | {devices[2] / health[2]:.2f} |",
    f"| non-2xx responses | {devices[3]} | {health[3]} | |",
    "",
    "`/v1/devices` answers from the registry's snapshot (discovery runs on its own schedule and threads), so",
    "its cost over the health route is encoding the device list.",
]
with open(out_path, "w") as out:
    out.write("\n".join(lines) + "\n")
print("\n".join(lines))
