#!/usr/bin/env python3
"""OCR quality and speed, measured rather than assumed: pages with known Chinese text — three notices rendered by
`tongban notices render` (Chinese names, addresses, matters; reference = `pdftotext` of the vector PDF) and an A4
text-heavy page set with pango-view in Noto Sans CJK SC 11.5 pt (names, ID-card-style addresses, phone numbers, the
rare 𠮷 U+20BB7; reference = the text set) — rasterised at 300 and 150 dpi, each clean (lossless PGM) and "scanner"
(0.7° skew, Gaussian noise, JPEG quality 75), all through the real pipeline `tongban page process --ocr` (the cleanup
a scanned page gets, Tesseract chi_sim, zbar, PDF/A-2b with a text layer). Character error rate = Levenshtein
distance / reference length, both sides NFKC-normalised with all whitespace removed, for the recognised text in the
JSON and for `pdftotext` of the PDF it wrote (the text layer must carry the text). Speed: a 20-page batch (300 dpi
scanner pages) on 2 parallel workers, as the service runs 2 imaging threads on 2 cores, with and without --ocr.

Usage: ocr_bench.py [TONGBAN_BINARY] [OUT.md]
       (defaults: this checkout's .build/debug/tongban and Benchmarks/results/ocr.md)
       ocr_bench.py --stand-in [OUT.md]
       (checks the harness only: bare `tesseract` stands in for `tongban page process`; nothing is written unless
        OUT.md is given, and the report says so)
Needs poppler-utils, pango1.0-tools, imagemagick, fonts-noto-cjk (and for the pipeline, tesseract-ocr-chi-sim).
"""
import argparse
import collections
import concurrent.futures
import itertools
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DPIS = (300, 150)
KINDS = ("clean", "scanner")
SKEW_DEGREES = 0.7
SCANNER = ["-background", "white", "-rotate", str(SKEW_DEGREES), "-attenuate", "0.4", "+noise", "Gaussian",
           "-colorspace", "Gray", "-quality", "75"]
BATCH_PAGES = 20
WORKERS = 2
RARE = "\U00020BB7"  # 𠮷, the 吉 with a longer lower stroke (CJK Extension B)
FONT = "Noto Sans CJK SC 11.5"
A4_INCHES = (210 / 25.4, 297 / 25.4)
DATE = "2026-11-22"

# Three notices, filled in as a counter would. The service renders them; pdftotext of its PDF is the reference.
NOTICES = [
    ("receipt-notice", {
        "caseNumber": "SG2026112200045", "date": DATE, "applicantName": "欧阳明华", "matterName": "公共场所卫生许可",
        "handlingUnit": "韶关市卫生健康局", "forwardDays": 3,
        "materials": [{"name": "公共场所卫生许可申请表", "copies": 1, "pages": 2},
                      {"name": "营业执照复印件", "copies": 1, "pages": 1, "remark": "核验原件"},
                      {"name": "卫生管理制度", "copies": 1, "pages": 6}],
        "phone": "13800002468", "address": "广东省韶关市浈江区风度北路18号3栋502房",
        "receivingUnit": "乐昌市政务服务中心"}),
    ("one-time-notice", {
        "caseNumber": "FZ2026112200019", "date": DATE, "applicantName": RARE + "野家餐饮管理有限公司",
        "matterName": "食品经营许可证核发",
        "missing": [{"item": "法定代表人身份证明", "requirement": "复印件一份，核验原件", "reason": "未提交"},
                    {"item": "经营场所平面图", "requirement": "标明面积与功能分区", "reason": "未标注面积"},
                    {"item": "从业人员健康证明", "requirement": "全部从业人员", "reason": "缺3人"}],
        "otherNotes": "补齐后可到任一通办窗口提交，受理后10个工作日内办结。",
        "counterPhone": "0591-87112345", "clerk": "黄玥"}),
    ("intake-notice", {
        "caseNumber": "TY2026112200072", "date": DATE, "applicantName": "司马相宜", "matterName": "道路运输经营许可",
        "handlingUnit": "太原市交通运输局",
        "materials": [{"name": "道路运输经营申请表", "form": "原件", "copies": 1, "pages": 2},
                      {"name": "车辆技术等级评定表", "form": "复印件", "copies": 2, "pages": 4}],
        "resultDelivery": "邮寄送达", "pickupCounter": "综合受理7号窗口", "phone": "13900135792",
        "clerk": "孙赟", "counterPhone": "0351-4041234"}),
]

# The text-heavy page, line for line as set (all names, addresses and numbers made up).
TEXT_PAGE = "\n".join([
    "通办窗口当事人信息核对表",
    "一、申请人",
    "张伟，男，住广东省韶关市浈江区风度北路18号3栋502房，电话13800001357。",
    "王秀英，女，住山西省太原市小店区平阳路126号，电话13912340086。",
    "欧阳明华，住福建省福州市鼓楼区五四路158号17层，电话0591-87654321。",
    "刘䶮，住广东省广州市越秀区中山五路219号，电话020-83331234。",
    RARE + "野家餐饮管理有限公司，法定代表人陈喆，电话13600001111。",
    "司马相宜，住浙江省杭州市西湖区文三路90号2号楼，电话0571-88887777。",
    "李淼，住四川省成都市武侯区人民南路四段11号附1号，电话028-85551234。",
    "赵堃，住陕西省西安市雁塔区小寨东路91号，电话029-85432100。",
    "钱犇，住江苏省南京市玄武区中山路1号，电话025-84561234。",
    "周昇，住湖北省武汉市江汉区解放大道690号，电话027-85678901。",
    "诸葛珺，住云南省昆明市五华区东风西路99号，电话0871-63123456。",
    "二、事项",
    "食品经营许可证核发，受理编号SG2026112200031，承诺时限5个工作日。",
    "公共场所卫生许可，受理编号FZ2026112200008，材料共3份12页。",
    "道路运输经营许可，须提交营业执照复印件1份并核验原件。",
    "三、告知",
    "申请人应当对所提交材料的真实性负责，并在补正通知送达之日起15日内补齐。",
    "结果可选择窗口领取或邮寄送达，邮寄费用由本中心承担。",
    "如对办理结果有异议，可在收到决定之日起60日内申请行政复议。",
    "咨询电话：0751-8888123，监督电话：12345。",
    "办公时间：周一至周五上午9:00至12:00，下午14:30至17:30。",
    "四、经办",
    "收件人：黄玥　复核人：孙赟　日期：2026年11月22日",
    "本表仅用于识别质量测试，所列人名、地址与电话均为虚构。",
])


# ---------------------------------------------------------------------------------------------------------- scoring

def normalise(text):
    """NFKC (full-width ASCII and punctuation to half-width), then every whitespace character removed — Chinese OCR
    puts spaces between Han characters and pdftotext breaks lines where the layout did."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def levenshtein(a, b):
    """Edit distance (insertions, deletions, substitutions of one code point each), two rows, O(len(a)·len(b))."""
    start = 0
    while start < len(a) and start < len(b) and a[start] == b[start]:
        start += 1
    end_a, end_b = len(a), len(b)
    while end_a > start and end_b > start and a[end_a - 1] == b[end_b - 1]:
        end_a -= 1
        end_b -= 1
    a, b = a[start:end_a], b[start:end_b]
    if len(a) < len(b):
        a, b = b, a
    if not b:
        return len(a)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        left = i
        for j, cb in enumerate(b, 1):
            diagonal = previous[j - 1] + (ca != cb)
            up = previous[j] + 1
            left = left + 1
            if up < left:
                left = up
            if diagonal < left:
                left = diagonal
            current.append(left)
        previous = current
    return previous[-1]


def cer(reference, hypothesis):
    """(edit distance, reference length) on normalised text."""
    reference, hypothesis = normalise(reference), normalise(hypothesis)
    return levenshtein(reference, hypothesis), len(reference)


def order_free(reference, hypothesis):
    """Characters of the reference missing from the hypothesis or extra in it, whichever is more, counted as bags —
    a lower bound of the edit distance that ignores reading order (a table read row by row instead of as pdftotext
    orders it costs edits, not recognition)."""
    reference, hypothesis = collections.Counter(normalise(reference)), collections.Counter(normalise(hypothesis))
    return max(sum((reference - hypothesis).values()), sum((hypothesis - reference).values()))


# ----------------------------------------------------------------------------------------------------------- pages

def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, **kwargs)
    if result.returncode != 0:
        err = result.stderr if isinstance(result.stderr, str) else result.stderr.decode("utf-8", "replace")
        raise SystemExit(f"failed ({result.returncode}): {' '.join(command)}\n{err.strip()}")
    return result.stdout


def render_notices(tongban, workdir):
    """[(name, reference text, vector PDF, case number)] for the three notices."""
    pages = []
    for template, data in NOTICES:
        data_path = os.path.join(workdir, f"{template}.json")
        with open(data_path, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        pdf = os.path.join(workdir, f"{template}.pdf")
        run([tongban, "notices", "render", template, "--config", os.path.join(ROOT, "Config/tongban.yaml"),
             "--data", data_path, "--out", pdf], cwd=workdir)
        reference = run(["pdftotext", "-enc", "UTF-8", pdf, "-"]).decode("utf-8")
        pages.append((template, reference, pdf, data["caseNumber"]))
    return pages


def rasterise_notice(pdf, dpi, base):
    """A grey binary PGM (P5) of the notice's single page at `dpi`."""
    run(["pdftoppm", "-r", str(dpi), "-gray", "-singlefile", pdf, base])
    return base + ".pgm"


def set_text_page(dpi, base):
    """The text-heavy page as an A4 grey PGM at `dpi`: 1 inch margins, 451 pt measure, text from the top."""
    text_path = base + ".txt"
    with open(text_path, "w", encoding="utf-8") as handle:
        handle.write(TEXT_PAGE + "\n")
    png = base + ".png"
    run(["pango-view", "-q", "--dpi", str(dpi), "--font", FONT, "--language", "zh_CN", "--width", "451",
         "--wrap", "word-char", "--line-spacing", "1.2", "--margin", str(dpi), "--background", "#ffffff",
         "--foreground", "#000000", "-o", png, text_path])
    width, height = (round(side * dpi) for side in A4_INCHES)
    pgm = base + ".pgm"
    run(["convert", png, "-background", "white", "-flatten", "-colorspace", "Gray", "-gravity", "NorthWest",
         "-extent", f"{width}x{height}", "-depth", "8", pgm])
    return pgm


def scanned(picture, dpi, jpeg):
    """The picture as a flatbed would give it: skewed, noisy, JPEG quality 75."""
    run(["convert", picture, *SCANNER, "-density", str(dpi), "-units", "PixelsPerInch", jpeg])
    return jpeg


def make_pages(tongban, workdir):
    """{(dpi, kind): [Page]} where Page = dict(name, reference, picture, case)."""
    notices = render_notices(tongban, workdir)
    pages = {}
    for dpi in DPIS:
        clean = []
        for name, reference, pdf, case in notices:
            clean.append(dict(name=name, reference=reference, case=case,
                              picture=rasterise_notice(pdf, dpi, os.path.join(workdir, f"{name}-{dpi}"))))
        clean.append(dict(name="text page", reference=TEXT_PAGE, case=None,
                          picture=set_text_page(dpi, os.path.join(workdir, f"text-{dpi}"))))
        pages[(dpi, "clean")] = clean
        pages[(dpi, "scanner")] = [dict(page, picture=scanned(page["picture"], dpi, page["picture"][:-4] + "-scan.jpg"))
                                   for page in clean]
    return pages


# --------------------------------------------------------------------------------------------------------- runners

def process(job):
    """One page through the pipeline (module level, so a worker process can run it). Returns (JSON, wall seconds)."""
    runner, tongban, picture, dpi, ocr, out = job
    started = time.perf_counter()
    if runner == "tongban":
        command = [tongban, "page", "process", picture, "--dpi", str(dpi), *(["--ocr"] if ocr else []), "--out", out]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout.strip()}\n"
                               f"{result.stderr.strip()}")
        return json.loads(result.stdout), time.perf_counter() - started
    return stand_in(picture, dpi, ocr, out), time.perf_counter() - started


def stand_in(picture, dpi, ocr, out):
    """Harness check only — NOT the pipeline: bare Tesseract (its own PDF with a text layer), or ImageMagick's PDF."""
    started = time.perf_counter()
    base = out[:-4]
    text, ocr_ms = "", 0.0
    if ocr:
        subprocess.run(["tesseract", picture, base, "-l", "chi_sim", "--dpi", str(dpi), "txt", "pdf"], check=True,
                       capture_output=True)
        ocr_ms = (time.perf_counter() - started) * 1000
        with open(base + ".txt", encoding="utf-8") as handle:
            text = handle.read().strip()
    else:
        subprocess.run(["convert", picture, "-quality", "85", out], check=True, capture_output=True)
    lines = [{"text": line, "x": 0, "y": 0, "width": 0, "height": 0, "confidence": 0.0}
             for line in text.splitlines() if line.strip()]
    return {"file": out, "width": 0, "height": 0, "dpi": dpi, "blank": False, "text": text, "lines": lines,
            "barcodes": [], "milliseconds": {"process": (time.perf_counter() - started) * 1000, "ocr": ocr_ms}}


def check_binary(tongban):
    if not (os.path.isfile(tongban) and os.access(tongban, os.X_OK)):
        raise SystemExit(f"no tongban binary at {tongban} — build one: swift build --product tongban "
                         "(or -c release), or pass its path")
    usage = subprocess.run([tongban, "page", "process", "--help"], capture_output=True, text=True)
    if usage.returncode != 0 or "page process" not in usage.stdout + usage.stderr:
        raise SystemExit(f"{tongban} has no `page process` subcommand (an older build) — rebuild it from this "
                         "checkout: swift build --product tongban (or -c release), then run again")
    for flag in ("--ocr", "--dpi", "--out"):
        if flag not in usage.stdout:
            raise SystemExit(f"`{tongban} page process` does not take {flag} — rebuild from this checkout")


def check_tools(stand_in_mode):
    needed = {"pdftoppm": "poppler-utils", "pdftotext": "poppler-utils", "pango-view": "pango1.0-tools",
              "convert": "imagemagick", "fc-list": "fontconfig"}
    if stand_in_mode:
        needed["tesseract"] = "tesseract-ocr tesseract-ocr-chi-sim"
    missing = sorted({package for tool, package in needed.items() if not shutil.which(tool)})
    if missing:
        raise SystemExit("missing tools — apt-get install " + " ".join(missing))
    if "Noto Sans CJK SC" not in subprocess.run(["fc-list", ":lang=zh-cn", "family"], capture_output=True,
                                                 text=True).stdout:
        raise SystemExit("font Noto Sans CJK SC not found — apt-get install fonts-noto-cjk")


# --------------------------------------------------------------------------------------------------------- measure

def pdf_text(pdf):
    result = subprocess.run(["pdftotext", "-enc", "UTF-8", pdf, "-"], capture_output=True)
    return result.stdout.decode("utf-8", "replace") if result.returncode == 0 else None


def quality(runner, tongban, pages, workdir):
    """One row per (condition, page)."""
    rows = []
    for (dpi, kind), condition in pages.items():
        for index, page in enumerate(condition):
            out = os.path.join(workdir, f"q-{dpi}-{kind}-{index}.pdf")
            result, wall = process((runner, tongban, page["picture"], dpi, True, out))
            text = result.get("text")
            if text is None:
                text = "\n".join(line.get("text", "") for line in result.get("lines", []))
            layer = pdf_text(out)
            distance, length = cer(page["reference"], text)
            layer_distance = cer(page["reference"], layer)[0] if layer is not None else None
            rare = RARE in page["reference"]
            case = page["case"]
            rows.append(dict(
                dpi=dpi, kind=kind, name=page["name"], length=length, distance=distance,
                unordered=order_free(page["reference"], text), layer_distance=layer_distance,
                rare=rare, rare_ocr=rare and RARE in text, rare_layer=rare and layer is not None and RARE in layer,
                case=case, case_found=bool(case) and any(case in code.get("text", "") for code in result.get("barcodes", [])),
                blank=bool(result.get("blank")), lines=len(result.get("lines", [])),
                process_ms=float(result.get("milliseconds", {}).get("process", 0.0)),
                ocr_ms=float(result.get("milliseconds", {}).get("ocr", 0.0)), wall=wall))
            print(f"  {dpi} dpi {kind:7} {page['name']:16} CER {distance / length:6.1%}"
                  + (f"  text layer {layer_distance / length:6.1%}" if layer_distance is not None else "  text layer —")
                  + f"  {wall:5.1f} s", file=sys.stderr)
    return rows


def batch(runner, tongban, pictures, workdir, ocr):
    """(wall seconds, CPU seconds of the children, [JSON]) for the batch on WORKERS parallel workers."""
    jobs = [(runner, tongban, picture, 300, ocr, os.path.join(workdir, f"b-{'ocr' if ocr else 'plain'}-{index:02}.pdf"))
            for index, picture in enumerate(pictures)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(max_workers=WORKERS) as pool:
        results = [result for result, _ in pool.map(process, jobs)]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers are reaped: their children's time is in
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), results


def speed(runner, tongban, pages, workdir):
    pictures = list(itertools.islice(itertools.cycle(page["picture"] for page in pages[(300, "scanner")]), BATCH_PAGES))
    process((runner, tongban, pictures[0], 300, True, os.path.join(workdir, "warm.pdf")))  # page cache, traineddata
    figures = {}
    for ocr in (False, True):
        wall, cpu, results = batch(runner, tongban, pictures, workdir, ocr)
        milliseconds = [result.get("milliseconds", {}) for result in results]
        figures[ocr] = dict(wall=wall, cpu=cpu, per_minute=len(pictures) / wall * 60,
                            process_ms=statistics.mean(float(m.get("process", 0.0)) for m in milliseconds),
                            ocr_ms=statistics.mean(float(m.get("ocr", 0.0)) for m in milliseconds))
        print(f"  batch {'with' if ocr else 'without'} OCR: {wall:.1f} s", file=sys.stderr)
    return len(pictures), figures


# ---------------------------------------------------------------------------------------------------------- report

def versions(runner, tongban):
    tesseract = None
    if shutil.which("tesseract"):
        out = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
        first = (out.stdout or out.stderr).splitlines()
        tesseract = first[0].strip() if first else None
    packages = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "libtesseract5",
                               "tesseract-ocr-chi-sim"], capture_output=True, text=True).stdout.split("\n")
    packages = [line for line in packages if line.strip()]
    described = ", ".join(filter(None, [tesseract, *packages])) or "unknown"
    if runner != "tongban":
        return described, "none — STAND-IN: bare `tesseract` (harness check, not the pipeline)"
    version = subprocess.run([tongban, "--version"], capture_output=True, text=True).stdout.strip()
    shown = os.path.relpath(tongban, ROOT) if os.path.abspath(tongban).startswith(ROOT + os.sep) else tongban
    build = "debug build" if f"{os.sep}debug{os.sep}" in tongban else "release build" if f"{os.sep}release{os.sep}" in tongban else "build"
    return described, f"`{shown}` ({build}{', ' + version if version else ''})"


def percent(distance, length):
    return "—" if distance is None or not length else f"{100 * distance / length:.1f} %"


def report(runner, tongban, rows, count, figures):
    tesseract, binary = versions(runner, tongban)
    omp = os.environ.get("OMP_THREAD_LIMIT", "unset")
    lines = ["# OCR quality and speed" + (" — STAND-IN, NOT THE PIPELINE" if runner != "tongban" else ""), "",
             f"One run, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; binary {binary}; Tesseract: {tesseract}; "
             f"OMP_THREAD_LIMIT {omp}.", "",
             f"Pages: three notices rendered by `tongban notices render` (receipt-notice, one-time-notice, intake-notice; "
             f"reference = `pdftotext` of the vector PDF) and an A4 text page ({len(TEXT_PAGE.splitlines())} lines of "
             f"names, ID-card-style addresses, phone numbers, case numbers and sentences in {FONT} pt, with "
             f"{RARE} U+20BB7; reference = the text set). Rasterised grey at each dpi; *clean* = lossless PGM, "
             f"*scanner* = {SKEW_DEGREES}° skew, `-attenuate 0.4 +noise Gaussian`, JPEG quality 75. Each page through "
             "`tongban page process --ocr`. CER = Levenshtein distance / reference length after NFKC and removing all "
             "whitespace; *order-free* counts only characters missing or extra (a lower bound: the gap to CER is "
             "reading order, e.g. tables); *text layer* = `pdftotext` of the PDF the pipeline wrote.", "",
             "## Character error rate per condition", "",
             "| condition | pages | reference chars | CER | CER order-free | CER text layer | 𠮷 recovered (OCR / layer) "
             "| case-number barcodes |", "|---|---|---|---|---|---|---|---|"]
    for dpi in DPIS:
        for kind in KINDS:
            group = [row for row in rows if row["dpi"] == dpi and row["kind"] == kind]
            if not group:
                continue
            length = sum(row["length"] for row in group)
            layer = None if any(row["layer_distance"] is None for row in group) else sum(row["layer_distance"] for row in group)
            rare = [row for row in group if row["rare"]]
            cases = [row for row in group if row["case"]]
            lines.append(f"| {dpi} dpi {kind} | {len(group)} | {length} | "
                         f"**{percent(sum(row['distance'] for row in group), length)}** | "
                         f"{percent(sum(row['unordered'] for row in group), length)} | {percent(layer, length)} | "
                         f"{sum(row['rare_ocr'] for row in rare)}/{len(rare)} / {sum(row['rare_layer'] for row in rare)}/{len(rare)} | "
                         f"{sum(row['case_found'] for row in cases)}/{len(cases)} |")
    lines += ["", "Per page:", "",
              "| condition | page | chars | CER | order-free | text layer | lines | blank | process (ms) | OCR (ms) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['dpi']} dpi {row['kind']} | {row['name']} | {row['length']} | "
                     f"{percent(row['distance'], row['length'])} | {percent(row['unordered'], row['length'])} | "
                     f"{percent(row['layer_distance'], row['length'])} | {row['lines']} | "
                     f"{'yes' if row['blank'] else 'no'} | {row['process_ms']:.0f} | {row['ocr_ms']:.0f} |")
    plain, ocr = figures[False], figures[True]
    lines += ["", f"## Speed: {count} pages, 300 dpi scanner condition, {WORKERS} parallel workers", "",
              "| | wall (s) | pages/min | CPU (s) | mean process (ms/page) | mean OCR (ms/page) |", "|---|---|---|---|---|---|",
              f"| `page process` without OCR | {plain['wall']:.1f} | {plain['per_minute']:.1f} | {plain['cpu']:.1f} | "
              f"{plain['process_ms']:.0f} | — |",
              f"| `page process --ocr` | {ocr['wall']:.1f} | {ocr['per_minute']:.1f} | {ocr['cpu']:.1f} | "
              f"{ocr['process_ms']:.0f} | {ocr['ocr_ms']:.0f} |", "",
              f"Ratio with OCR / without: **{ocr['per_minute'] / plain['per_minute']:.2f}×** the pages per minute "
              f"({ocr['wall'] / plain['wall']:.1f}× the wall time, {ocr['cpu'] / max(plain['cpu'], 1e-9):.1f}× the CPU).", ""]
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stand-in", action="store_true",
                        help="check the harness with bare tesseract in place of `tongban page process`")
    parser.add_argument("paths", nargs="*", metavar="TONGBAN_BINARY [OUT.md]")
    args = parser.parse_args()
    paths = list(args.paths)
    if args.stand_in:
        if len(paths) > 1:
            parser.error("--stand-in takes at most OUT.md")
        out = paths[0] if paths else None
        tongban = os.path.join(ROOT, ".build/debug/tongban")  # still renders the notices
    else:
        if len(paths) > 2:
            parser.error("at most TONGBAN_BINARY and OUT.md")
        tongban = os.path.abspath(paths[0]) if paths else os.path.join(ROOT, ".build/debug/tongban")
        out = paths[1] if len(paths) > 1 else os.path.join(ROOT, "Benchmarks/results/ocr.md")
    runner = "stand-in" if args.stand_in else "tongban"
    check_tools(args.stand_in)
    if args.stand_in:
        if not os.access(tongban, os.X_OK):
            raise SystemExit(f"no tongban binary at {tongban} to render the notices")
    else:
        check_binary(tongban)
    with tempfile.TemporaryDirectory(prefix="ocr-bench-") as workdir:
        print("setting the pages…", file=sys.stderr)
        pages = make_pages(tongban, workdir)
        print("quality…", file=sys.stderr)
        rows = quality(runner, tongban, pages, workdir)
        print("speed…", file=sys.stderr)
        count, figures = speed(runner, tongban, pages, workdir)
    lines = report(runner, tongban, rows, count, figures)
    if out:
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        with open(out, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
