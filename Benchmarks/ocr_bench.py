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
Needs poppler-utils, pango1.0-tools, imagemagick and fonts-noto-cjk; the binary needs `page process` (Tesseract with
chi_sim).
"""
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
    tongban, picture, dpi, ocr, out = job
    command = [tongban, "page", "process", picture, "--dpi", str(dpi), *(["--ocr"] if ocr else []), "--out", out]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout.strip()}\n"
                           f"{result.stderr.strip()}")
    return json.loads(result.stdout), wall


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


def check_tools():
    needed = {"pdftoppm": "poppler-utils", "pdftotext": "poppler-utils", "pango-view": "pango1.0-tools",
              "convert": "imagemagick", "fc-list": "fontconfig"}
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


def score(page, result, layer):
    """A row of figures for one page: its JSON from `page process` and `pdftotext` of the PDF it wrote."""
    text = result.get("text")
    if text is None:
        text = "\n".join(line.get("text", "") for line in result.get("lines", []))
    reference = page["reference"]
    distance, length = cer(reference, text)
    rare = RARE in reference
    milliseconds = result.get("milliseconds", {})
    return dict(
        name=page["name"], length=length, distance=distance, unordered=order_free(reference, text),
        layer_distance=None if layer is None else cer(reference, layer)[0],
        layer_unordered=None if layer is None else order_free(reference, layer),
        layer_vs_ocr=None if layer is None else order_free(text, layer),
        rare=rare, rare_ocr=rare and RARE in text, rare_layer=rare and layer is not None and RARE in layer,
        rare_as_plain=rare and RARE not in text and "吉野家" in normalise(text),
        case=page["case"],
        case_found=bool(page["case"]) and any(page["case"] in code.get("text", "") for code in result.get("barcodes", [])),
        blank=bool(result.get("blank")), lines=len(result.get("lines", [])),
        process_ms=float(milliseconds.get("process", 0.0)), ocr_ms=float(milliseconds.get("ocr", 0.0)))


def quality(tongban, pages, workdir):
    """One row per (condition, page), one page at a time."""
    rows = []
    for (dpi, kind), condition in pages.items():
        for index, page in enumerate(condition):
            out = os.path.join(workdir, f"q-{dpi}-{kind}-{index}.pdf")
            result, wall = process((tongban, page["picture"], dpi, True, out))
            row = dict(score(page, result, pdf_text(out)), dpi=dpi, kind=kind, wall=wall)
            rows.append(row)
            print(f"  {dpi} dpi {kind:7} {page['name']:16} CER {percent(row['distance'], row['length']):>7}  "
                  f"text layer {percent(row['layer_distance'], row['length']):>7}  {wall:5.1f} s", file=sys.stderr)
    return rows


def batch(tongban, pictures, workdir, ocr):
    """(wall seconds, CPU seconds of the children, [JSON]) for the batch on WORKERS parallel workers."""
    jobs = [(tongban, picture, 300, ocr, os.path.join(workdir, f"b-{'ocr' if ocr else 'plain'}-{index:02}.pdf"))
            for index, picture in enumerate(pictures)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with concurrent.futures.ProcessPoolExecutor(max_workers=WORKERS) as pool:
        results = [result for result, _ in pool.map(process, jobs)]
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the workers are reaped by now, their children's time in
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), results


def speed(tongban, pages, workdir):
    """{with OCR: figures} for BATCH_PAGES pages, the 300 dpi scanner pages over and over."""
    pictures = list(itertools.islice(itertools.cycle(page["picture"] for page in pages[(300, "scanner")]), BATCH_PAGES))
    process((tongban, pictures[0], 300, True, os.path.join(workdir, "warm.pdf")))  # page cache, traineddata
    figures = {}
    for ocr in (False, True):
        wall, cpu, results = batch(tongban, pictures, workdir, ocr)
        milliseconds = [result.get("milliseconds", {}) for result in results]
        figures[ocr] = dict(pages=len(pictures), wall=wall, cpu=cpu, per_minute=len(pictures) / wall * 60,
                            process_ms=statistics.mean(float(m.get("process", 0.0)) for m in milliseconds),
                            ocr_ms=statistics.mean(float(m.get("ocr", 0.0)) for m in milliseconds))
        print(f"  {len(pictures)} pages {'with' if ocr else 'without'} OCR: {wall:.1f} s", file=sys.stderr)
    return figures


# ---------------------------------------------------------------------------------------------------------- report

def versions(tongban):
    """(Tesseract as installed, the binary as shown)."""
    found = []
    if shutil.which("tesseract"):
        out = subprocess.run(["tesseract", "--version"], capture_output=True, text=True)
        first = (out.stdout or out.stderr).splitlines()
        found += first[:1]
    if shutil.which("dpkg-query"):
        found += [line for line in subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\\n", "libtesseract5",
                                                   "tesseract-ocr-chi-sim"], capture_output=True, text=True).stdout.splitlines()
                  if line.strip()]
    version = subprocess.run([tongban, "--version"], capture_output=True, text=True).stdout.strip()
    shown = os.path.relpath(tongban, ROOT) if os.path.abspath(tongban).startswith(ROOT + os.sep) else tongban
    parts = os.path.abspath(tongban).split(os.sep)
    build = "debug build" if "debug" in parts else "release build" if "release" in parts else "build"
    return ", ".join(found) or "unknown", f"`{shown}` ({build}{', ' + version if version else ''})"


def percent(distance, length):
    return "—" if distance is None or not length else f"{100 * distance / length:.1f} %"


def total(group, key):
    return None if any(row[key] is None for row in group) else sum(row[key] for row in group)


def rare_cell(group):
    rare = [row for row in group if row["rare"]]
    if not rare:
        return "—"
    cell = f"{sum(row['rare_ocr'] for row in rare)}/{len(rare)} / {sum(row['rare_layer'] for row in rare)}/{len(rare)}"
    plain = sum(row["rare_as_plain"] for row in rare)
    return cell + (f" (read as 吉: {plain})" if plain else "")


def report(tongban, rows, figures):
    tesseract, binary = versions(tongban)
    lines = ["# OCR quality and speed", "",
             f"One run, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores; binary {binary}; Tesseract: {tesseract}.",
             "",
             f"Pages: three notices rendered by `tongban notices render` ({', '.join(name for name, _ in NOTICES)}; "
             f"reference = `pdftotext` of the vector PDF) and an A4 text page ({len(TEXT_PAGE.splitlines())} lines of "
             f"names, ID-card-style addresses, phone and case numbers and sentences in {FONT} pt, with {RARE} U+20BB7 "
             f"in 𠮷野家; reference = the text set). Rasterised grey at each dpi; *clean* = lossless PGM, *scanner* = "
             f"{SKEW_DEGREES}° skew, `-attenuate 0.4 +noise Gaussian`, JPEG quality 75. Each page through "
             "`tongban page process --ocr`. CER = Levenshtein distance / reference length after NFKC and removing all "
             "whitespace. *Order-free* counts only the characters missing or extra, whichever is more — a lower bound "
             "of the edit distance; the gap up to CER is reading order (tables read across rather than as pdftotext "
             "orders the vector PDF). *Text layer* = `pdftotext` of the PDF the pipeline wrote.", "",
             "## Character error rate per condition", "",
             "| condition | pages | reference chars | CER | CER order-free | text layer CER | text layer order-free "
             "| 𠮷 recovered (OCR / layer) | case-number barcodes read |", "|---|---|---|---|---|---|---|---|---|"]
    for dpi in DPIS:
        for kind in KINDS:
            group = [row for row in rows if row["dpi"] == dpi and row["kind"] == kind]
            if not group:
                continue
            length = sum(row["length"] for row in group)
            cases = [row for row in group if row["case"]]
            lines.append(f"| {dpi} dpi {kind} | {len(group)} | {length} | **{percent(total(group, 'distance'), length)}** | "
                         f"{percent(total(group, 'unordered'), length)} | {percent(total(group, 'layer_distance'), length)} | "
                         f"{percent(total(group, 'layer_unordered'), length)} | {rare_cell(group)} | "
                         f"{sum(row['case_found'] for row in cases)}/{len(cases)} |")
    lines += ["", "Per page (*layer ≠ OCR*: characters of the JSON's text missing from the text layer or extra in it):", "",
              "| condition | page | chars | CER | order-free | text layer | layer order-free | layer ≠ OCR | lines "
              "| blank | process (ms) | OCR (ms) |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['dpi']} dpi {row['kind']} | {row['name']} | {row['length']} | "
                     f"{percent(row['distance'], row['length'])} | {percent(row['unordered'], row['length'])} | "
                     f"{percent(row['layer_distance'], row['length'])} | {percent(row['layer_unordered'], row['length'])} | "
                     f"{'—' if row['layer_vs_ocr'] is None else row['layer_vs_ocr']} | {row['lines']} | "
                     f"{'yes' if row['blank'] else 'no'} | {row['process_ms']:.0f} | {row['ocr_ms']:.0f} |")
    plain, ocr = figures[False], figures[True]
    lines += ["", f"## Speed: {plain['pages']} pages, 300 dpi scanner condition, {WORKERS} parallel workers", "",
              f"`tongban page process` per page, {WORKERS} at a time (as the service's {WORKERS} imaging threads), after "
              "one warm-up page; CPU = user + system of all the children.", "",
              "| | wall (s) | pages/min | CPU (s) | mean process (ms/page) | mean OCR (ms/page) |",
              "|---|---|---|---|---|---|",
              f"| without OCR | {plain['wall']:.1f} | {plain['per_minute']:.1f} | {plain['cpu']:.1f} | "
              f"{plain['process_ms']:.0f} | — |",
              f"| `--ocr` | {ocr['wall']:.1f} | {ocr['per_minute']:.1f} | {ocr['cpu']:.1f} | "
              f"{ocr['process_ms']:.0f} | {ocr['ocr_ms']:.0f} |", "",
              f"Pages per minute with OCR / without: **{ocr['per_minute'] / plain['per_minute']:.2f}×** "
              f"({ocr['wall'] / plain['wall']:.1f}× the wall time, {ocr['cpu'] / max(plain['cpu'], 1e-9):.1f}× the CPU).",
              ""]
    return lines


def main():
    if any(arg in ("-h", "--help") for arg in sys.argv[1:]) or len(sys.argv) > 3:
        raise SystemExit(__doc__)
    tongban = os.path.abspath(sys.argv[1]) if len(sys.argv) > 1 else os.path.join(ROOT, ".build/debug/tongban")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "Benchmarks/results/ocr.md")
    check_tools()
    check_binary(tongban)
    with tempfile.TemporaryDirectory(prefix="ocr-bench-") as workdir:
        print("setting the pages…", file=sys.stderr)
        pages = make_pages(tongban, workdir)
        try:
            print("quality, one page at a time…", file=sys.stderr)
            rows = quality(tongban, pages, workdir)
            print(f"speed, {WORKERS} workers…", file=sys.stderr)
            figures = speed(tongban, pages, workdir)
        except RuntimeError as error:  # `page process` failed: its JSON problem and stderr are in the message
            raise SystemExit(str(error))
    lines = report(tongban, rows, figures)
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
