#!/usr/bin/env python3
"""Scan pipeline CPU per page (wave 2 · 3/8): `tongban scan` — acquiring A4 colour pages at 300 dpi from libsane's
test backend, straightening, cropping, blank detection (dark pages kept), JPEG and the PDF/A — against acquiring the
same pages with `scanimage --batch` and encoding each with `cjpeg -quality 85`. CPU is user + system time of the
child processes (getrusage), wall time beside it; one run, side by side.

Usage: scan_cpu_bench.py TONGBAN_BINARY OUT.md [PAGES]   (the rig's SANE_CONFIG_DIR in the environment)
"""
import glob
import os
import resource
import subprocess
import sys
import tempfile
import time

OPTIONS = ["--device-name", "test:0", "--source", "Automatic Document Feeder", "--mode", "Color", "--resolution", "300",
           "-x", "210", "-y", "297", "--test-picture", "Color pattern"]


def measured(command, **kwargs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main():
    tongban, out = sys.argv[1], sys.argv[2]
    pages = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    with tempfile.TemporaryDirectory() as workdir:
        # Baseline: scanimage acquires, cjpeg encodes each page at quality 85.
        scan_cpu, scan_wall = measured(["scanimage", *OPTIONS, "--format", "pnm", f"--batch={workdir}/page-%03d.pnm",
                                        f"--batch-count={pages}"])
        encode_cpu, encode_wall = 0.0, 0.0
        for path in sorted(glob.glob(f"{workdir}/page-*.pnm")):
            cpu, wall = measured(["cjpeg", "-quality", "85", "-outfile", path.replace(".pnm", ".jpg"), path])
            encode_cpu += cpu
            encode_wall += wall
        acquired = len(glob.glob(f"{workdir}/page-*.pnm"))
        baseline_cpu, baseline_wall = scan_cpu + encode_cpu, scan_wall + encode_wall
        # Tongban: the whole pipeline to one PDF/A.
        tongban_cpu, tongban_wall = measured([tongban, "scan", "--device", "test:0", "--source", "adf", "--dpi", "300",
                                              "--mode", "color", "--max-pages", str(pages), "--include-blank",
                                              "--option", "test-picture=Color pattern", "--out", f"{workdir}/batch.pdf"],
                                             # The baseline reads no text: neither does this run (ocr_bench.py measures text).
                                             env=dict(os.environ, TONGBAN_SCANNING_OCR="false"))
        info = subprocess.run(["pdfinfo", f"{workdir}/batch.pdf"], capture_output=True, text=True).stdout
        pdf_pages = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")
    lines = ["# Scan pipeline CPU per A4 300 dpi colour page", "",
             f"One run, {time.strftime('%Y-%m-%d')}, release build, {os.cpu_count()} cores; libsane's test backend (Color pattern), "
             f"{pages} pages from the feeder. CPU = user + system of the child processes.", "",
             "| | pages | CPU (s) | CPU per page (s) | wall (s) |", "|---|---|---|---|---|",
             f"| `scanimage --batch` + `cjpeg -quality 85` (baseline) | {acquired} | {baseline_cpu:.2f} | {baseline_cpu / max(acquired, 1):.3f} | {baseline_wall:.2f} |",
             f"| `tongban scan` (deskew, crop, blank detection, JPEG, PDF/A) | {pdf_pages} | {tongban_cpu:.2f} | {tongban_cpu / pages:.3f} | {tongban_wall:.2f} |",
             "",
             f"Ratio: CPU **{tongban_cpu / baseline_cpu:.2f}×**, wall {tongban_wall / baseline_wall:.2f}× (first wave, as the issue "
             "measured it: 1.73× CPU, 1.21× wall; goal ≤ 1.5× CPU).", ""]
    open(out, "w", encoding="utf-8").write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
