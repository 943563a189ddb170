#!/usr/bin/env python3
"""Scanning with and without OCR, measured through the running service: a feeder batch of a text-heavy Chinese page
(A4, 300 dpi, 8-bit grey; the page of ocr_bench.py: 26 lines of names, addresses and phone numbers set with
pango-view in Noto Sans CJK SC) scanned by `tongban serve` from libsane's `pnm` backend (device `sane:pnm:0`),
once with `"ocr": false` and once with `"ocr": true`, then finished into an attachment.

What it reports, per condition (Markdown table; --json adds the raw figures):
  pages/min      pages ÷ (time from POST /v1/scans until the batch is seen leaving `scanning` after its last page) × 60
  tail           from the last page leaving the "feeder" until the batch is seen leaving `scanning`
  finish call    how long POST /v1/scans/{id}/finish takes to answer (the PDF/A assembled and stored)
  total wait     tail + finish call: how long the clerk's "finish" waits once the last sheet is out of the scanner
and the ratio of pages/min with OCR to without. Page arrival is seen by polling GET /v1/scans/{id} (--poll, default
0.1 s), so times carry up to one poll interval of error.

How the feeder is emulated:
  * libsane's pnm backend reads the file named by its `filename` option: sane_start opens it twice (once to parse the
    header, closed again, then for the data, kept open) and sane_get_parameters opens it a third time for the header
    while the data stream is still open. With --feeder fifo (the default) `filename` is a symlink to a named pipe, a
    fresh one per sheet; a writer thread serves that pipe in the order the backend reads it — the header, waits until
    it has been read (FIONREAD on the pipe reaches 0), the header again, again, then points the symlink at a fresh
    pipe for the next sheet (so no later open can land on this one), then the pixels, trickled over the sheet's time
    at --ppm pages/min (default 30; 0 = as fast as the service reads), and closes the pipe (EOF). A sheet's time
    starts when the service asks for it (sane_start opens the pipe) or when the previous sheet is out, whichever is
    later: a service that is slow to ask for the next sheet slows the feeder, as with a real scanner. "The page left
    the feeder" is when its last byte was written.
  * sane_start closes its parse stream before it opens the data stream, so the second header is sometimes written
    while no one has the pipe open (more often under load, e.g. with OCR on): the write fails with EPIPE, writes
    nothing, and is made again as soon as the data stream has the pipe. A sheet whose reader leaves before its last
    byte (sane_cancel mid-page) counts as not delivered and is offered again on the next pipe; the figures are those
    of the copy the service read. --json reports both (feederHeaderWaits, feederReoffered); the table notes re-offers.
  * With --feeder file, `filename` is the PGM itself: an infinitely fast scanner; the tail is then measured from the
    request that started the batch's last run.
  * The pnm backend serves only one page per sane_start/sane_cancel cycle: a second sane_start without sane_cancel
    answers SANE_STATUS_EOF, and the service's feeder loop (rightly, for a real ADF) calls sane_cancel only after the
    batch. A single 20-page run is therefore impossible. Its `three-pass` option (meant for colour frames) lets
    sane_start reopen the file twice more before answering EOF, so the script scans in runs of --run-pages pages
    (default 3, which is also the number of raw pages the service keeps in flight with 2 imaging threads):
    POST /v1/scans with maxPages 3, then POST /v1/scans/{id}/pages {"maxPages": 3} each time the batch is back to
    `ready`, until it has --pages pages. Each run reopens the scanner and the imaging pipeline drains between
    runs, so pages/min is a little below what one continuous feeder run would give. --run-pages 1 scans page by
    page (what the tests do).

Setup, all in a temporary directory removed at the end: the page (via ocr_bench.set_text_page), a SANE config dir
whose dll.conf holds only `pnm`, and `tongban serve --listen 127.0.0.1:0 --data-dir TMP/data` (working directory:
this checkout, so Config/tongban.yaml is read as in the tests) with TONGBAN_API_TOKEN, SANE_CONFIG_DIR and
TONGBAN_DEVICES_SIMULATE=none; the port is taken from its "tongban: ready … 127.0.0.1:PORT" line. The service is
stopped with SIGTERM (SIGKILL after 10 s) whatever happens.

Usage: scan_ocr_bench.py [--pages N] [--ppm PPM] [--feeder fifo|file] [--run-pages 1-3] [--poll S] [--json]
                         [--binary TONGBAN]
Needs pango-view, ImageMagick `convert` and fonts-noto-cjk (for the page); Linux (named pipes, FIONREAD).
Exit status: 0 when both batches scanned and finished with every page, 1 otherwise.
"""
import argparse
import collections
import errno
import fcntl
import json
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True  # no __pycache__ left in Benchmarks/ by the import below
sys.path.insert(0, os.path.join(ROOT, "Benchmarks"))
import ocr_bench  # noqa: E402  (the page: set_text_page renders ocr_bench.TEXT_PAGE)

TOKEN = "scan-ocr-bench-0123456789abcdef"
DPI = 300
CASE = "SX2026120500001"
MATERIAL = "申请书"


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------------------------- the page

def pgm_page(workdir):
    """(path, header bytes, pixel bytes): the text page as a P5 PGM with the plain three-line header the pnm backend
    parses line by line ("P5", "W H", "255")."""
    for tool in ("pango-view", "convert"):
        if shutil.which(tool) is None:
            raise BenchError(f"{tool} is needed to render the page")
    rendered = ocr_bench.set_text_page(DPI, os.path.join(workdir, "rendered"))
    with open(rendered, "rb") as handle:
        data = handle.read()
    # Netpbm header: magic, width, height, maxval (comments allowed), then one whitespace byte.
    tokens, position = [], 0
    while len(tokens) < 4:
        while data[position:position + 1].isspace():
            position += 1
        if data[position:position + 1] == b"#":
            position = data.index(b"\n", position) + 1
            continue
        start = position
        while not data[position:position + 1].isspace():
            position += 1
        tokens.append(data[start:position])
    if tokens[0] != b"P5" or tokens[3] != b"255":
        raise BenchError(f"{rendered}: not an 8-bit grey PGM ({tokens})")
    width, height = int(tokens[1]), int(tokens[2])
    pixels = data[position + 1:position + 1 + width * height]
    if len(pixels) != width * height:
        raise BenchError(f"{rendered}: {len(pixels)} pixel bytes, expected {width * height}")
    header = b"P5\n%d %d\n255\n" % (width, height)
    path = os.path.join(workdir, "page.pgm")
    with open(path, "wb") as handle:
        handle.write(header + pixels)
    return path, header, pixels, (width, height)


# ------------------------------------------------------------------------------------------------------ the feeder

def unread(fd):
    """Bytes written into the pipe and not read yet."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


def reader_present(fd):
    """Whether anyone has the pipe open for reading (poll on the write end reports POLLERR when no one has)."""
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return not any(events & select.POLLERR for _, events in poller.poll(0))


class SheetNotTaken(Exception):
    """The reader of a sheet's pixels went away before it had them all (sane_cancel in the middle of the page)."""


class FifoFeeder(threading.Thread):
    """Serves `pages` sheets through named pipes behind the symlink `link`, at most `ppm` pages a minute (0: as fast
    as they are read). Per sheet: the header for sane_start's parse, the header for sane_start's data stream, the
    header for sane_get_parameters' parse — each only once the previous one has been read — then the pixels.

    pnm closes its parse stream before it opens the data stream, so the second header can be written in the moment
    when no one has the pipe open: that write fails with EPIPE (nothing written) and is made again as soon as the
    data stream has the pipe (`header_waits` counts them; they cost microseconds). A sheet whose pixel reader goes
    away before the last byte was not taken: it is not counted as delivered and the same sheet is offered again on a
    fresh pipe (`reoffered`), so the times recorded are always those of the copy the service read."""

    CHUNKS = 16

    def __init__(self, directory, header, pixels, pages, ppm):
        super().__init__(daemon=True, name="feeder")
        self.directory, self.header, self.pixels, self.pages = directory, header, pixels, pages
        self.interval = 60.0 / ppm if ppm > 0 else 0.0
        self.link = os.path.join(directory, "feeder.pgm")
        self.stopping = threading.Event()
        self.requested = []   # monotonic time the service opened each sheet's pipe (sane_start)
        self.started = []     # when the sheet started moving (requested, or when the previous one was out)
        self.done = []        # when its last byte was written
        self.header_waits = 0  # header writes that found the service between two opens and waited for the next one
        self.reoffered = []   # sheets (0-based) the service left before their last byte, offered again
        self.error = None
        self._pipes = 0
        self._next_pipe()

    def _next_pipe(self):
        """A fresh pipe behind the link: every open of the link from now on is for the next sheet."""
        path = os.path.join(self.directory, f"pipe-{self._pipes:03d}.fifo")
        self._pipes += 1
        os.mkfifo(path)
        temporary = self.link + ".new"
        os.symlink(path, temporary)
        os.replace(temporary, self.link)
        self.pipe = path

    def stop(self):
        self.stopping.set()

    def _check(self):
        if self.stopping.is_set():
            raise InterruptedError("feeder stopped")

    def _open(self):
        """Opens the sheet's pipe for writing as soon as a reader has it open (non-blocking: ENXIO until then)."""
        while True:
            self._check()
            try:
                return os.open(self.pipe, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as error:
                if error.errno != errno.ENXIO:
                    raise
            time.sleep(0.001)

    def _write(self, fd, data):
        """Writes all of `data`; BrokenPipeError when no one has the pipe open for reading."""
        view = memoryview(data)
        while view:
            self._check()
            select.select([], [fd], [], 0.1)
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                pass

    def _write_header(self, fd):
        """One header, then waits until it has been read. A write that finds no reader (pnm between closing one
        stream and opening the next; the header is 16 bytes, so such a write writes nothing) is made again until
        the next open has the pipe. The service is in the middle of the sheet then, so that open comes; a service
        that gave up on the sheet fails its batch, which the batch loop reports (and stops the feeder)."""
        waited = False
        while True:
            try:
                self._write(fd, self.header)
                break
            except BrokenPipeError:
                if not waited:
                    self.header_waits += 1
                    waited = True
                self._check()
                time.sleep(0.0002)
        while unread(fd):
            self._check()
            time.sleep(0.0005)

    def _wait(self, due):
        while time.monotonic() < due:
            self._check()
            time.sleep(min(0.05, due - time.monotonic()))

    def _offer(self, fd, requested):
        """Serves one sheet on the open pipe; returns when it started moving. SheetNotTaken if the pixel reader
        goes away before it has every byte."""
        for _ in range(3):
            self._write_header(fd)
        # The three opens of this sheet are done: the link points at a fresh pipe before any pixel is written, so
        # the next sane_start (the next sheet, or this one again after a cancel) can never open this pipe and read
        # its pixels as a header; it waits on the fresh pipe until this one is finished or abandoned.
        self._next_pipe()
        start = max(requested, self.done[-1] if self.done else requested)
        size = len(self.pixels)
        try:
            for chunk in range(self.CHUNKS):
                self._wait(start + self.interval * chunk / self.CHUNKS)
                self._write(fd, self.pixels[size * chunk // self.CHUNKS:size * (chunk + 1) // self.CHUNKS])
        except BrokenPipeError:
            raise SheetNotTaken() from None
        self._wait(start + self.interval)
        if unread(fd) and not reader_present(fd):   # the last bytes are still in the pipe and no one will read them
            raise SheetNotTaken()
        return start

    def run(self):
        try:
            sheet = 0
            while sheet < self.pages:
                fd = self._open()
                requested = time.monotonic()
                try:
                    start = self._offer(fd, requested)
                except SheetNotTaken:
                    self.reoffered.append(sheet)   # not delivered: the next pipe offers the same sheet again
                    continue
                finally:
                    os.close(fd)
                self.requested.append(requested)
                self.started.append(start)
                self.done.append(time.monotonic())
                sheet += 1
        except InterruptedError:
            pass
        except Exception as error:  # reported by the batch
            self.error = error


# ----------------------------------------------------------------------------------------------------- the service

class Service:
    def __init__(self, binary, workdir):
        self.log = collections.deque(maxlen=400)
        self.warnings = []
        self.lock = threading.Lock()
        self.ready = threading.Event()
        self.port = None
        environment = {key: value for key, value in os.environ.items() if not key.startswith("TONGBAN_")}
        environment.update(TONGBAN_API_TOKEN=TOKEN, SANE_CONFIG_DIR=os.path.join(workdir, "sane"),
                           TONGBAN_DEVICES_SIMULATE="none")
        self.process = subprocess.Popen(
            [binary, "serve", "--listen", "127.0.0.1:0", "--data-dir", os.path.join(workdir, "data")],
            cwd=ROOT, env=environment, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for stream in (self.process.stdout, self.process.stderr):
            threading.Thread(target=self._pump, args=(stream,), daemon=True).start()
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def _pump(self, stream):
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.lock:
                self.log.append(line)
                if re.match(r"\S+ (warning|error|critical) ", line):   # swift-log: time, level, label
                    self.warnings.append(line)
            match = re.search(r"tongban: ready.*?127\.0\.0\.1:(\d+)", line)
            if match and self.port is None:
                self.port = int(match.group(1))
                self.ready.set()

    def wait_ready(self, timeout=180):
        deadline = time.monotonic() + timeout
        while not self.ready.wait(0.2):
            if self.process.poll() is not None:
                raise BenchError(f"tongban serve exited ({self.process.returncode}) before it was ready")
            if time.monotonic() > deadline:
                raise BenchError(f"tongban serve not ready after {timeout} s")

    def tail(self, lines=40):
        with self.lock:
            return "\n".join(list(self.log)[-lines:])

    def api(self, method, path, body=None, timeout=900):
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") if body is not None else None
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data, method=method,
                                         headers={"Authorization": f"Bearer {TOKEN}",
                                                  "Content-Type": "application/json"})
        try:
            with self.opener.open(request, timeout=timeout) as response:
                text = response.read()
                return response.status, json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                return error.code, json.loads(text) if text else None
            except ValueError:
                return error.code, text.decode("utf-8", "replace")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


# ------------------------------------------------------------------------------------------------------- one batch

def scan_batch(service, args, ocr, page, workdir):
    """Scans and finishes one batch; returns its raw figures (monotonic times relative to the first POST)."""
    path, header, pixels, _ = page
    feeder = None
    if args.feeder == "fifo":
        directory = tempfile.mkdtemp(prefix=f"feeder-{'ocr' if ocr else 'plain'}-", dir=workdir)
        feeder = FifoFeeder(directory, header, pixels, args.pages, args.ppm)
        feeder.start()
        filename = feeder.link
    else:
        filename = path
    options = {"filename": filename}
    if args.run_pages > 1:
        options["three-pass"] = "true"   # lets pnm's sane_start reopen the file for up to 3 pages (docstring)
    runs = []           # monotonic time of each request that started a run
    seen = []           # monotonic time each page was first seen in the batch
    polls = 0
    try:
        body = {"device": "sane:pnm:0", "dpi": DPI, "mode": "gray", "caseNumber": CASE, "materialName": MATERIAL,
                "maxPages": min(args.run_pages, args.pages), "ocr": ocr, "saneOptions": options}
        posted = time.monotonic()
        status, answer = service.api("POST", "/v1/scans", body)
        if status != 202 or not isinstance(answer, dict) or "id" not in answer:
            raise BenchError(f"POST /v1/scans answered {status}: {answer}")
        scan_id = answer["id"]
        runs.append(posted)
        requested = body["maxPages"]
        deadline = posted + args.timeout
        while True:
            status, view = service.api("GET", f"/v1/scans/{scan_id}")
            now = time.monotonic()
            polls += 1
            if status != 200 or not isinstance(view, dict):
                raise BenchError(f"GET /v1/scans/{scan_id} answered {status}: {view}")
            count = len(view.get("pages") or [])
            while len(seen) < count:
                seen.append(now)
            state = view.get("state")
            if state == "failed":
                raise BenchError(f"batch failed after {count} pages: "
                                 f"{json.dumps(view.get('problem'), ensure_ascii=False)}")
            if state != "scanning":
                if view.get("problem"):
                    raise BenchError(f"batch {state} with a problem after {count} pages: "
                                     f"{json.dumps(view.get('problem'), ensure_ascii=False)}")
                if count >= args.pages:
                    left_scanning = now
                    text_lines = [page_view.get("textLines") for page_view in view["pages"]]
                    break
                if count != requested:
                    raise BenchError(f"run {len(runs)} ended ({state}) with {count} pages in the batch, "
                                     f"{requested} asked for so far")
                more = min(args.run_pages, args.pages - count)
                runs.append(time.monotonic())
                status, answer = service.api("POST", f"/v1/scans/{scan_id}/pages", {"maxPages": more})
                if status != 202:
                    raise BenchError(f"POST /v1/scans/{scan_id}/pages answered {status}: {answer}")
                requested += more
                continue
            if feeder is not None and feeder.error is not None:
                raise BenchError(f"feeder failed: {feeder.error!r}")
            if now > deadline:
                raise BenchError(f"batch still scanning after {args.timeout} s with {count} pages")
            time.sleep(args.poll)
        if ocr and not all(text_lines):
            raise BenchError(f"OCR was asked for but pages came back without text lines: {text_lines}")
        if not ocr and any(text_lines):
            raise BenchError(f"OCR was turned off but pages came back with text lines: {text_lines}")
        started = time.monotonic()
        status, finished = service.api("POST", f"/v1/scans/{scan_id}/finish", {})
        finish_seconds = time.monotonic() - started
        if status not in (200, 201) or not isinstance(finished, dict):
            raise BenchError(f"POST /v1/scans/{scan_id}/finish answered {status}: {finished}")
        attachments = finished.get("attachments") or [finished]
        attachment_pages = sum(int(attachment.get("pages") or 0) for attachment in attachments)
        if attachment_pages != args.pages or not finished.get("attachmentId"):
            raise BenchError(f"finish gave {len(attachments)} attachment(s) with {attachment_pages} pages, "
                             f"expected one with {args.pages}: {json.dumps(finished, ensure_ascii=False)[:1500]}")
        if feeder is not None:
            feeder.join(5)
            if feeder.error is not None:
                raise BenchError(f"feeder failed: {feeder.error!r}")
            if len(feeder.done) != args.pages:
                raise BenchError(f"feeder delivered {len(feeder.done)} sheets, the batch has {args.pages} pages")
            last_out = feeder.done[-1]
        else:
            last_out = runs[-1]
        tail = left_scanning - last_out
        relative = lambda times: [round(t - posted, 3) for t in times]  # noqa: E731
        return {
            "condition": "OCR on" if ocr else "OCR off", "ocr": ocr, "scanId": scan_id, "pages": len(seen),
            "secondsToReady": round(left_scanning - posted, 3),
            "pagesPerMinute": round(args.pages / (left_scanning - posted) * 60, 2),
            "tailSeconds": round(tail, 3), "finishSeconds": round(finish_seconds, 3),
            "waitAfterLastPageSeconds": round(tail + finish_seconds, 3),
            "finishStatus": status, "attachmentId": finished.get("attachmentId"),
            "attachmentPages": attachment_pages, "attachmentBytes": finished.get("size"),
            "runStarts": relative(runs), "pageSeen": relative(seen),
            "feederRequested": relative(feeder.requested) if feeder else None,
            "feederStarted": relative(feeder.started) if feeder else None,
            "feederDone": relative(feeder.done) if feeder else None,
            "pageLatency": [round(s - d, 3) for s, d in zip(seen, feeder.done)] if feeder else None,
            "feederHeaderWaits": feeder.header_waits if feeder else None,
            "feederReoffered": feeder.reoffered if feeder else None,
            "textLines": text_lines, "polls": polls,
        }
    finally:
        if feeder is not None:
            feeder.stop()
            feeder.join(5)


# ----------------------------------------------------------------------------------------------------------- report

def report(args, results, page, binary):
    feeder = (f"named pipe at {args.ppm:g} pages/min" if args.ppm > 0 else "named pipe, as fast as read") \
        if args.feeder == "fifo" else "regular file (instant feeder: the tail counts from the last run's request)"
    width, height = page[3]
    lines = [
        f"# Feeder batch with OCR on and off, through the service",
        "",
        f"- {args.pages} pages of a text-heavy Chinese page ({width}×{height}, {DPI} dpi grey) from `sane:pnm:0`",
        f"- feeder: {feeder}; runs of {args.run_pages} page(s) (pnm serves at most 3 pages per sane_start cycle)",
        f"- binary: {binary}; load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())} "
        f"on {os.cpu_count()} CPUs; poll every {args.poll:g} s",
        "",
        "| condition | pages | pages/min | tail after last page (s) | finish call (s) | total wait after last page (s) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        lines.append(f"| {result['condition']} | {result['pages']} | {result['pagesPerMinute']:.1f} | "
                     f"{result['tailSeconds']:.2f} | {result['finishSeconds']:.2f} | "
                     f"{result['waitAfterLastPageSeconds']:.2f} |")
    off = next(r for r in results if not r["ocr"])
    on = next(r for r in results if r["ocr"])
    ratio = on["pagesPerMinute"] / off["pagesPerMinute"]
    lines += ["", f"pages/min with OCR ÷ without: {ratio:.2f}"]
    for result in results:
        if result.get("feederReoffered"):
            lines.append(f"- {result['condition']}: the service left {len(result['feederReoffered'])} sheet(s) "
                         f"before their last byte (sheets {result['feederReoffered']}, 0-based); each was offered "
                         f"again and the figures are those of the copy it read")
    return "\n".join(lines), ratio


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=20, help="pages per batch (default 20)")
    parser.add_argument("--ppm", type=float, default=30, help="feeder pace in pages/min (default 30; 0 = unpaced)")
    parser.add_argument("--feeder", choices=("fifo", "file"), default="fifo",
                        help="named pipe at --ppm (default) or the regular file (instant)")
    parser.add_argument("--run-pages", type=int, choices=(1, 2, 3), default=3,
                        help="pages per scanner run (pnm allows at most 3; default 3)")
    parser.add_argument("--poll", type=float, default=0.1, help="seconds between GET /v1/scans/{id} (default 0.1)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds a batch may take (default 1800)")
    parser.add_argument("--json", action="store_true", help="also print the raw figures as JSON")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build/debug/tongban"), help="the tongban executable")
    args = parser.parse_args()
    if args.pages < 1:
        parser.error("--pages must be at least 1")
    if not (0.02 <= args.poll <= 1):
        parser.error("--poll must be between 0.02 and 1 s")
    if not os.access(args.binary, os.X_OK):
        print(f"scan_ocr_bench: {args.binary} is not an executable", file=sys.stderr)
        return 1

    workdir = tempfile.mkdtemp(prefix="scan-ocr-bench-")
    service = None
    try:
        page = pgm_page(workdir)
        os.makedirs(os.path.join(workdir, "sane"))
        with open(os.path.join(workdir, "sane", "dll.conf"), "w") as handle:
            handle.write("pnm\n")
        service = Service(args.binary, workdir)
        service.wait_ready()
        results = []
        for ocr in (False, True):
            print(f"scanning {args.pages} pages, OCR {'on' if ocr else 'off'} …", file=sys.stderr, flush=True)
            results.append(scan_batch(service, args, ocr, page, workdir))
        text, ratio = report(args, results, page, args.binary)
        print(text)
        if service.warnings:
            print(f"\nService warnings and errors ({len(service.warnings)}):")
            for line in service.warnings[:20]:
                print(f"    {line}")
        if args.json:
            print("\n```json")
            print(json.dumps({"pages": args.pages, "ppm": args.ppm, "feeder": args.feeder,
                              "runPages": args.run_pages, "poll": args.poll, "ratio": round(ratio, 3),
                              "loadAverage": os.getloadavg(), "results": results,
                              "serviceWarnings": service.warnings}, ensure_ascii=False, indent=2))
            print("```")
        return 0
    except KeyboardInterrupt:
        print("scan_ocr_bench: interrupted", file=sys.stderr)
        return 130
    except (BenchError, SystemExit) as error:
        print(f"scan_ocr_bench: {error}", file=sys.stderr)
        if service is not None:
            print(f"--- service output (last lines) ---\n{service.tail()}", file=sys.stderr)
        return 1
    finally:
        if service is not None:
            code = service.stop()
            if code not in (0, None):
                print(f"scan_ocr_bench: tongban serve exited with {code}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
