#!/usr/bin/env python3
"""Camera benchmark: the service's CPU per preview viewer of a 1080p MJPEG camera (frames passed through) against
the named baseline — decoding and re-encoding the same stream (Benchmarks/reencode_baseline.c, libjpeg-turbo, built
here with gcc) — and the latency from POST /v1/cameras/{id}/capture to the attachment stored.

The camera is the simulator fed a recorded 1080p MJPEG stream (the same code path as a V4L2 MJPEG camera from the
frame on: hub, viewers, HTTP). CPU is the serve process's user + system time from /proc over a fixed window.

Usage: camera_bench.py TONGBAN_BINARY OUT.md
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
FPS, WINDOW = 30, 10


def recording(workdir, frames=30):
    """A 1080p MJPEG recording: the demo's desk scene with a running frame number, 30 JPEGs back to back."""
    path = os.path.join(workdir, "recording.mjpeg")
    with open(path, "wb") as out:
        for n in range(frames):
            frame = os.path.join(workdir, f"frame-{n}.jpg")
            subprocess.run(["convert", os.path.join(ROOT, "Config/camera/1-document.jpg"), "-resize", "1920x1080!",
                            "-fill", "white", "-pointsize", "48", "-annotate", "+60+1020", f"frame {n}", "-quality", "85", frame],
                           check=True)
            out.write(open(frame, "rb").read())
    return path


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serve(tongban, workdir, scenes):
    env = dict(os.environ, TONGBAN_API_TOKEN=TOKEN, TONGBAN_DEVICES_SIMULATE="all", TONGBAN_CAMERAS_SIMULATOR_SCENES=scenes)
    server = subprocess.Popen([tongban, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(workdir, "data"),
                               "--config", os.path.join(ROOT, "Config/tongban.yaml")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    for line in server.stdout:
        match = re.search(r"http://127\.0\.0\.1:(\d+)/console", line)
        if match:
            return server, int(match.group(1))
    raise SystemExit("serve did not start")


def viewers_cpu(server, port, count):
    """CPU seconds the service used over WINDOW seconds while `count` viewers watched (after a 2 s warm-up)."""
    url = f"http://127.0.0.1:{port}/v1/cameras/sim:camera/preview?fps={FPS}"
    clients = [subprocess.Popen(["curl", "-s", "--noproxy", "*", "--max-time", str(WINDOW + 3), "-H", f"Authorization: Bearer {TOKEN}",
                                 "-o", "/dev/null", "-w", "%{size_download}", url], stdout=subprocess.PIPE, text=True)
               for _ in range(count)]
    time.sleep(2)
    before = cpu_seconds(server.pid)
    time.sleep(WINDOW)
    used = cpu_seconds(server.pid) - before
    # Each client ends on its own time limit (WINDOW + 3 s) and reports what it received.
    received = [float(client.communicate()[0] or 0) for client in clients]
    time.sleep(2)
    return used, received


def capture_latency(port, mode, count=10):
    times = []
    for index in range(count + 2):
        # Without text, as the first wave's figures were (capture_ocr_bench.py measures what text adds).
        body = json.dumps({"mode": mode, "caseNumber": "BENCH-1", "ocr": False}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/cameras/sim:camera/capture", data=body, method="POST",
                                         headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=60) as response:
            json.loads(response.read())
        if index >= 2:
            times.append((time.perf_counter() - started) * 1000)
    return times


def main():
    tongban, out = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as workdir:
        binary = os.path.join(workdir, "reencode_baseline")
        subprocess.run(["gcc", "-O2", "-o", binary, os.path.join(ROOT, "Benchmarks/reencode_baseline.c"), "-lturbojpeg"], check=True)
        scenes = os.path.join(workdir, "scenes")
        os.makedirs(scenes)
        path = recording(workdir)
        os.rename(path, os.path.join(scenes, "1-recording.mjpeg"))
        base = json.loads(subprocess.run([binary, os.path.join(scenes, "1-recording.mjpeg"), str(FPS), str(WINDOW)],
                                         check=True, capture_output=True, text=True).stdout)
        server, port = serve(tongban, workdir, scenes)
        try:
            idle_before = cpu_seconds(server.pid)
            time.sleep(WINDOW)
            idle = cpu_seconds(server.pid) - idle_before
            one, received_one = viewers_cpu(server, port, 1)
            four, received_four = viewers_cpu(server, port, 4)
        finally:
            server.kill()
            server.wait()
        # Captures from the demo's own scenes (1280 × 960 desk photos).
        server, port = serve(tongban, os.path.join(workdir, "capture"), os.path.join(ROOT, "Config/camera"))
        try:
            photo = capture_latency(port, "photo")
            document = capture_latency(port, "document")
        finally:
            server.kill()
            server.wait()
    baseline_share = base["cpuSeconds"] / WINDOW * 100
    per_viewer_one = (one - idle) / WINDOW * 100
    per_viewer_four = (four - idle) / 4 / WINDOW * 100
    mib = lambda values: statistics.mean(values) / (WINDOW + 3) / 2**20  # over each client's whole time
    lines = ["# Cameras: CPU per preview viewer at 1080p, and capture to attachment", "",
             f"One run, {os.cpu_count()} cores, release build, {time.strftime('%Y-%m-%d')}. A 1080p MJPEG stream at {FPS} fps "
             f"(30 recorded frames, {os.path.getsize(os.path.join(ROOT, 'Config/camera/1-document.jpg')) // 1024} KiB scene "
             "resized; the simulated camera, from the frame on the same path as a V4L2 MJPEG camera) watched for "
             f"{WINDOW} s through `GET /v1/cameras/sim:camera/preview` by curl; the service's CPU from /proc, its idle "
             f"CPU over the same window ({idle / WINDOW * 100:.2f}% of a core) taken off.", "",
             f"Baseline: `Benchmarks/reencode_baseline.c` — decode + re-encode every frame of the same stream at the same "
             f"rate (libjpeg-turbo q80 4:2:0): **{baseline_share:.1f}% of a core**.", "",
             "| viewers | service CPU per viewer (% of a core) | received per viewer (MiB/s) | ratio to baseline |", "|---|---|---|---|",
             f"| 1 | {per_viewer_one:.2f} | {mib(received_one):.1f} | {per_viewer_one / baseline_share:.3f} |",
             f"| 4 | {per_viewer_four:.2f} | {mib(received_four):.1f} | {per_viewer_four / baseline_share:.3f} |", "",
             "Capture to attachment stored (`POST /v1/cameras/sim:camera/capture` on the demo's 1280 × 960 scenes: still, "
             "processing, attachment fsynced and recorded), 10 calls after 2 warm-up ones:", "",
             "| mode | median (ms) | p90 (ms) |", "|---|---|---|",
             f"| photo | {statistics.median(photo):.1f} | {sorted(photo)[8]:.1f} |",
             f"| document (find, perspective, enhance, PDF) | {statistics.median(document):.1f} | {sorted(document)[8]:.1f} |", ""]
    open(out, "w", encoding="utf-8").write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
