#!/usr/bin/python3
"""Hard document-camera scenes and their evaluator: pages and ID cards on desks light and dark, under fall-off,
cast shadows and glare, seen at a tilt, curled, cut off by the frame, far away, blurred, and several documents on one
desk. Each scene is rendered with a pinhole camera over the desk plane, its truth written beside it; `evaluate` runs
`tongban camera process` on every scene and measures what came out.

  hard_scenes.py make OUTDIR [--size 1280x960|2592x1944] [--only NAME,...]
        OUTDIR/NAME.jpg per scene and OUTDIR/truth.json (every scene's truth; see `truth()` below)
  hard_scenes.py evaluate OUTDIR --tongban PATH [--json OUT.json] [--only NAME,...] [--oracle]
        runs PATH camera process --mode MODE --view-width-mm V --field-of-view F --format jpeg
        --out OUTDIR/out/NAME.jpg OUTDIR/NAME.jpg for each scene, prints one row per scene and a summary per metric,
        writes the figures as JSON; exits 0 whatever the figures (the Swift test judges), 1 only if it broke.
        --oracle: instead of tongban, a stand-in that knows the truth (it warps by the true corners, refuses what
        should be refused, does not even out the light) — checks the evaluator's own measuring.
        --old-pipeline: instead of tongban, the pipeline before the rework (8f3ce88) re-done in Python — the issue's
        four failures reproduced (outputs in OUTDIR/out-old).
        A scene the service may answer "capture-needs-retake" (a quality warning expected) is run with --insist to be
        measured; those marked retakeCheck are run plainly first, and the retake is recorded.

The camera: the desk is the plane Z = 0 (millimetres, X right, Y towards the picture's bottom); the camera looks down
from the height that makes the desk `viewWidthMm` wide along the picture's centre row, pitched and rolled by a few
to ~30 degrees; focal length f = (W/2)/tan(fov/2) pixels, principal point at the picture's centre. A document lies
on the desk (or curls up off it), turned in-plane by any angle; its four corners are projected and the page picture
(300 dpi, real content: Chinese text, a table, a red stamp, a QR code) is warped onto them with ImageMagick's
-distort Perspective (a curled page: -distort Polynomial through a grid of projected points). Lighting, shadows,
glare, blur and sensor noise are applied to the picture afterwards. ImageMagick draws and warps, libqrencode (through
ctypes; Debian's libqrencode4, which gstreamer1.0-plugins-bad brings) encodes the QR codes, zbarimg reads them back;
the measuring is plain Python on the few hundred thousand pixels ImageMagick hands back, so no numpy is needed.
"""
import argparse
import concurrent.futures
import ctypes
import ctypes.util
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zlib

CONVERT = "/usr/bin/convert" if os.path.exists("/usr/bin/convert") else "convert"
ENV = dict(os.environ, MAGICK_THREAD_LIMIT="1")  # scenes run side by side, one core each; and noise stays seeded


def font(style):
    return subprocess.run(["fc-match", "-f", "%{file}", f"Noto Sans CJK SC:style={style}"],
                          capture_output=True, text=True).stdout


FONT, BOLD = font("Regular"), font("Bold")
PAGE_DPI = 300
PAPERS = {  # millimetres, portrait (ID-1 lies landscape)
    "A4": (210.0, 297.0), "A5": (148.0, 210.0), "B5": (176.0, 250.0), "Letter": (215.9, 279.4),
    "16K": (184.0, 260.0), "ID-1": (85.6, 53.98), "slip": (80.0, 150.0),
}
STANDARD = {"A4", "A5", "B5", "Letter", "16K", "ID-1"}
CARD_RADIUS_MM = 3.18
STAMP_RED = "#d01010"
LOW_DPI, OK_DPI = 140.0, 165.0  # below: a low-resolution warning is expected; from 140 to 165 either is accepted


def im(*args, out=None):
    """Runs convert; returns its stdout (bytes)."""
    done = subprocess.run([CONVERT, *map(str, args)] + ([out] if out else []), capture_output=True, env=ENV)
    if done.returncode != 0:
        raise RuntimeError(f"convert failed ({done.returncode}): {done.stderr.decode(errors='replace')[:600]}")
    return done.stdout


# MARK: QR codes

def qr_modules(text):
    """The QR code of `text` (level M) as rows of booleans, through libqrencode; None without it."""
    name = ctypes.util.find_library("qrencode") or "libqrencode.so.4"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None

    class QRcode(ctypes.Structure):
        _fields_ = [("version", ctypes.c_int), ("width", ctypes.c_int), ("data", ctypes.POINTER(ctypes.c_ubyte))]

    lib.QRcode_encodeString.restype = ctypes.POINTER(QRcode)
    lib.QRcode_encodeString.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.QRcode_free.argtypes = [ctypes.POINTER(QRcode)]
    code = lib.QRcode_encodeString(text.encode(), 0, 1, 2, 1)  # any version, level M, 8-bit, case-sensitive
    if not code:
        return None
    width = code.contents.width
    rows = [[bool(code.contents.data[y * width + x] & 1) for x in range(width)] for y in range(width)]
    lib.QRcode_free(code)
    return rows


def write_qr_pbm(text, path):
    """A plain PBM, one pixel a module, with the four-module quiet zone; False if no QR encoder is here."""
    rows = qr_modules(text)
    if rows is None:
        return False
    quiet = 4
    size = len(rows) + 2 * quiet
    lines = [f"P1\n{size} {size}"]
    for y in range(size):
        lines.append(" ".join("1" if quiet <= y < size - quiet and quiet <= x < size - quiet and rows[y - quiet][x - quiet]
                              else "0" for x in range(size)))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return True


# MARK: Pages and cards

def layout(paper):
    """Where things are on a page, as fractions of its width and height (portrait). The margins — 12 % at the sides,
    9 % at top and bottom — stay blank: the evaluator reads the paper's white there."""
    w_mm, h_mm = PAPERS[paper]
    qr_mm = min(35.0, 0.30 * w_mm)
    stamp_r_mm = min(21.0, 0.13 * w_mm)
    return {
        "qr": {"x": 0.12, "y": 0.70, "sizeW": qr_mm / w_mm, "sizeH": qr_mm / h_mm, "mm": qr_mm},
        "stamp": {"x": 0.70, "y": 0.81, "rW": stamp_r_mm / w_mm, "rH": stamp_r_mm / h_mm},
    }


BODY = ("兹有申请人因办理不动产登记事项，特向本窗口提交下列材料，所填写的信息真实有效，如有虚假愿承担相应法律责任。"
        "材料经窗口工作人员核对原件后留存复印件，办理结果将以短信方式通知申请人，请保持联系电话畅通。")
CELLS = [["事项名称", "申请人", "份数"], ["不动产登记", "李华", "1"], ["户籍证明", "王芳", "2"],
         ["营业执照副本", "张伟", "1"], ["授权委托书", "赵敏", "3"]]


def render_page(paper, path, dark=False):
    """A page at 300 dpi: a title, a paragraph, a ruled table, a red stamp; the QR code is added per scene."""
    w_mm, h_mm = PAPERS[paper]
    W, H = round(w_mm / 25.4 * PAGE_DPI), round(h_mm / 25.4 * PAGE_DPI)
    ink, paper_colour = ("#f2f2f2", "#1d2f66") if dark else ("#1a1a1a", "white")
    pt = 44 if W > 1500 else 38  # 10.5 pt and 9 pt at 300 dpi
    x0, x1 = round(0.12 * W), round(0.88 * W)
    per_line = max(6, int((x1 - x0) / pt))
    args = ["-size", f"{W}x{H}", "xc:white"]
    if dark:  # a form printed dark blue all over but for a thin white border
        args += ["-fill", paper_colour, "-draw", f"rectangle {round(0.035 * W)},{round(0.03 * H)} {round(0.965 * W)},{round(0.97 * H)}"]
    args += ["-font", BOLD, "-fill", ink, "-pointsize", str(round(pt * 1.5)), "-gravity", "North",
             "-annotate", f"+0+{round(0.095 * H)}", "通办材料申请表", "-gravity", "NorthWest", "-font", FONT,
             "-pointsize", str(pt)]
    y, n = 0.17 * H, 0
    text = BODY * 4
    while y < 0.42 * H:
        args += ["-annotate", f"+{x0}+{round(y)}", text[n * per_line:(n + 1) * per_line]]
        y += 1.75 * pt
        n += 1
    # The table: ruled, its rules 0.4 mm.
    ty0, ty1 = 0.46 * H, 0.66 * H
    rows = len(CELLS)
    stroke = max(3, round(0.4 / 25.4 * PAGE_DPI * 1.2))
    args += ["-stroke", ink, "-strokewidth", str(stroke), "-fill", "none"]
    for r in range(rows + 1):
        yy = round(ty0 + (ty1 - ty0) * r / rows)
        args += ["-draw", f"line {x0},{yy} {x1},{yy}"]
    cols = [0.0, 0.45, 0.80, 1.0]
    for c in cols:
        xx = round(x0 + (x1 - x0) * c)
        args += ["-draw", f"line {xx},{round(ty0)} {xx},{round(ty1)}"]
    args += ["-stroke", "none", "-fill", ink]
    cell_h = (ty1 - ty0) / rows
    for r, row in enumerate(CELLS):
        for c, cell in enumerate(row):
            cw = (cols[c + 1] - cols[c]) * (x1 - x0)
            args += ["-annotate", f"+{round(x0 + (x1 - x0) * cols[c] + 0.4 * pt)}+{round(ty0 + cell_h * r + (cell_h - pt) / 2 - 0.1 * pt)}",
                     cell[:max(1, int((cw - 0.8 * pt) / pt))]]
    geo = layout(paper)
    q = geo["qr"]
    args += ["-pointsize", str(round(pt * 0.7)), "-annotate",
             f"+{round(q['x'] * W)}+{round((q['y'] + q['sizeH']) * H + 0.2 * pt)}", "扫码核验"]
    args += ["-pointsize", str(pt), "-annotate", f"+{round(0.42 * W)}+{round(0.70 * H)}", "经办窗口（盖章）"]
    if not dark:
        s = geo["stamp"]
        cx, cy, r = s["x"] * W, s["y"] * H, s["rW"] * W
        ring = max(4, round(0.09 * r))
        star = []
        for k in range(10):
            a = -math.pi / 2 + k * math.pi / 5
            rr = 0.30 * r if k % 2 == 0 else 0.12 * r
            star.append(f"{cx + rr * math.cos(a):.1f},{cy - 0.12 * r + rr * math.sin(a):.1f}")
        args += ["-fill", "none", "-stroke", STAMP_RED, "-strokewidth", str(ring),
                 "-draw", f"circle {cx:.1f},{cy:.1f} {cx + r - ring / 2:.1f},{cy:.1f}",
                 "-stroke", "none", "-fill", STAMP_RED, "-draw", "polygon " + " ".join(star),
                 "-font", BOLD, "-pointsize", str(round(0.26 * r)), "-gravity", "NorthWest",
                 "-annotate", f"+{round(cx - 0.65 * r)}+{round(cy + 0.30 * r)}", "样本专用章"]
    im(*args, "-depth", "8", out=path)
    return W, H


def render_card(outdir):
    """desk_photos.py's ID card specimen (10 px/mm), with the rounded corners of ID-1 (radius 3.18 mm)."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import desk_photos
    desk_photos.card(outdir)
    front = os.path.join(outdir, "card-front.png")
    r = CARD_RADIUS_MM * 10
    im(front, "(", "-size", "856x540", "xc:black", "-fill", "white", "-draw", f"roundrectangle 0,0 855,539 {r},{r}", ")",
       "-alpha", "off", "-compose", "CopyOpacity", "-composite", out=os.path.join(outdir, "card.png"))
    return os.path.join(outdir, "card.png"), 856, 540


# MARK: The camera

class Camera:
    """A pinhole camera over the desk plane Z = 0. Pitch turns it about the picture's horizontal axis (the desk's
    far side towards the picture's top), roll about its optical axis."""

    def __init__(self, width, height, fov_deg, view_mm, pitch_deg=0.0, roll_deg=0.0):
        self.width, self.height = width, height
        self.f = (width / 2) / math.tan(math.radians(fov_deg) / 2)
        self.depth = view_mm * self.f / width  # along the optical axis, to the desk point at the picture's centre
        p, r = math.radians(pitch_deg), math.radians(roll_deg)
        ex, ey, ez = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0)
        ey1 = tuple(math.cos(p) * a + math.sin(p) * b for a, b in zip(ey, ez))
        self.ez = tuple(-math.sin(p) * a + math.cos(p) * b for a, b in zip(ey, ez))
        self.ex = tuple(math.cos(r) * a + math.sin(r) * b for a, b in zip(ex, ey1))
        self.ey = tuple(-math.sin(r) * a + math.cos(r) * b for a, b in zip(ex, ey1))
        self.centre = tuple(-self.depth * c for c in self.ez)

    @property
    def height_mm(self):
        return self.centre[2]

    def project(self, X, Y, Z=0.0):
        v = (X - self.centre[0], Y - self.centre[1], Z - self.centre[2])
        xc = sum(a * b for a, b in zip(v, self.ex))
        yc = sum(a * b for a, b in zip(v, self.ey))
        zc = sum(a * b for a, b in zip(v, self.ez))
        return (self.width / 2 + self.f * xc / zc, self.height / 2 + self.f * yc / zc)


class Placement:
    """A document on the desk: its centre (mm), in-plane turn (degrees, clockwise on screen), size, and optionally a
    curl: one edge lifted `lift` mm, bending up from `start` (a fraction across) in a parabola, arc length kept."""

    def __init__(self, w_mm, h_mm, centre, rot_deg, curl=None):
        self.w, self.h, self.centre, self.rot = w_mm, h_mm, centre, math.radians(rot_deg)
        self.curl = curl
        if curl:
            along = w_mm if curl["edge"] == "right" else h_mm
            s0 = curl["start"] * along
            rest, lift = along - s0, curl["lift"]

            def arc(L):  # arc length of z = lift·((x − s0)/L)² over L
                n, total = 200, 0.0
                for k in range(n):
                    a, b = k / n, (k + 1) / n
                    total += math.hypot(L / n, lift * (b * b - a * a))
                return total
            lo, hi = rest * 0.5, rest
            for _ in range(50):
                mid = (lo + hi) / 2
                lo, hi = (mid, hi) if arc(mid) < rest else (lo, mid)
            L = (lo + hi) / 2
            table, s, n = [(0.0, 0.0, 0.0)], 0.0, 400
            for k in range(n):
                a, b = k / n, (k + 1) / n
                s += math.hypot(L / n, lift * (b * b - a * a))
                table.append((s, b * L, lift * b * b))
            self.curl_table, self.s0 = table, s0

    def _bend(self, s):
        """Distance s along the curling axis → (horizontal position, height)."""
        if not self.curl or s <= self.s0:
            return s, 0.0
        t = s - self.s0
        table = self.curl_table
        for k in range(1, len(table)):
            if table[k][0] >= t:
                (s1, x1, z1), (s2, x2, z2) = table[k - 1], table[k]
                f = (t - s1) / max(1e-9, s2 - s1)
                return self.s0 + x1 + f * (x2 - x1), z1 + f * (z2 - z1)
        return self.s0 + table[-1][1], table[-1][2]

    def world(self, u, v):
        """Page point (u, v) mm from its top-left corner → desk point (X, Y, Z)."""
        z = 0.0
        if self.curl and self.curl["edge"] == "right":
            u, z = self._bend(u)
        elif self.curl:
            v, z = self._bend(v)
        x, y = u - self.w / 2, v - self.h / 2
        c, s = math.cos(self.rot), math.sin(self.rot)
        return (self.centre[0] + x * c - y * s, self.centre[1] + x * s + y * c, z)

    def corners(self, camera):
        return [camera.project(*self.world(u, v)) for u, v in ((0, 0), (self.w, 0), (self.w, self.h), (0, self.h))]


# MARK: Scenes

def S(name, **kw):
    base = dict(name=name, paper="A4", mode="document", desk="dark-wood", view=420.0, fov=60.0, pitch=0.0, roll=0.0,
                rot=90.0, at=(0.0, 0.0), curl=None, falloff=None, shadow=None, glare=None, blur=0.0, motion=0,
                extra=[], dark=False, insist=False, retakeCheck=False, expect={}, note="")
    base.update(kw)
    return base


SCENES = [
    # The issue's four failures, as it tells them.
    S("fail-shadow", desk="dark-cloth", rot=93, falloff=0.70,
      note="strong light fall-off across the page: one margin at ~70 % grey, the other white"),
    S("fail-tilt38", rot=38, pitch=25, view=500, at=(60, -40), note="page turned 38° and seen at a 25° tilt"),
    S("fail-cutoff", rot=97, at=(85, 8), expect={"decision": "refused", "code": "document-out-of-frame"},
      note="the page's right edge runs out of the frame"),
    S("fail-a4-as-card", rot=92, mode="idcard-front", expect={"decision": "refused", "code": "idcard-not-a-card"},
      note="an A4 page offered as 身份证人像面"),
    # Desks.
    S("desk-dark-wood", rot=87, view=400, note="baseline: dark wood, the page filling the view (≈165 dpi at 5 MP)"),
    S("desk-dark-mat", desk="dark-mat", rot=-3, view=480, at=(0, 4), note="green cutting mat with a 10 mm grid, page upright"),
    S("desk-light-grey", desk="light-grey", rot=95, note="light grey laminate, low contrast to the paper"),
    S("desk-light-wood", desk="light-wood", rot=84, view=430, note="light wood, low contrast to the paper"),
    # Light.
    S("falloff-diagonal", desk="dark-cloth", rot=88, falloff=(1.0, 0.95, 0.62), note="lamp at one corner: the far corner at ~62 %"),
    S("shadow-band", rot=91, shadow={"from": 0.55, "to": 0.80, "level": 0.55, "soft": 10},
      note="a soft shadow band across the page (an arm)"),
    S("shadow-corner", desk="light-grey", rot=86, shadow={"corner": True, "level": 0.60, "soft": 4},
      note="a harder shadow over one corner (the camera head)"),
    S("glare-page", retakeCheck=True, rot=92, glare={"u": 0.55, "v": 0.40, "rx": 45, "ry": 24, "angle": 20},
      expect={"warnings": ["glare"]}, note="a saturated highlight over the text"),
    # Geometry.
    S("tilt-mild", rot=12, pitch=10, roll=4, view=500, note="camera pitched 10°, rolled 4°"),
    S("tilt-strong", rot=-20, pitch=30, view=560, at=(0, -30), note="camera pitched 30°"),
    S("tilt-roll", rot=70, pitch=18, roll=15, view=560, at=(-20, -20), note="pitched 18° and rolled 15°"),
    S("curl-edge", rot=90, curl={"edge": "right", "start": 0.62, "lift": 18.0}, view=430,
      note="the page's right edge bows up 18 mm"),
    S("curl-a5", paper="A5", rot=-8, curl={"edge": "bottom", "start": 0.65, "lift": 10.0}, view=360,
      note="an A5 page whose bottom edge bows up 10 mm"),
    S("cutoff-insisted", rot=97, at=(85, 8), insist=True, expect={"warnings": ["out-of-frame"]},
      note="fail-cutoff's page again, the clerk insisting (--insist): taken, flagged out-of-frame"),
    S("cutoff-corner", rot=62, at=(-50, 45), expect={"decision": "refused", "code": "document-out-of-frame"},
      note="a corner of the page out of the frame"),
    S("cutoff-top", rot=2, view=380, at=(0, -14), expect={"decision": "refused", "code": "document-out-of-frame"},
      note="an upright A4 taller than the view: its top edge out of the frame"),
    S("small-a5", paper="A5", rot=20, note="an A5 page, small in the view"),
    S("small-slip", paper="slip", rot=-12, note="a receipt-size slip (80 × 150 mm): no standard size"),
    S("far-a4", retakeCheck=True, rot=94, view=900, note="an A4 page far away (≈36 dpi at 1280 px, ≈73 at 5 MP)"),
    S("blur-gaussian", retakeCheck=True, rot=92, blur=3.0, expect={"warnings": ["blur"]}, note="out of focus (gaussian σ 3 px)"),
    S("blur-motion", rot=88, motion=13, expect={"warnings": ["blur"]}, note="camera shake (13 px motion blur)"),
    S("paper-letter", paper="Letter", rot=91, note="US Letter: snaps to Letter, not A4"),
    S("paper-b5", paper="B5", rot=88, view=400, note="ISO B5 (176 × 250 mm)"),
    S("paper-16k", paper="16K", rot=-4, view=420, at=(0, 2), note="16K (184 × 260 mm), upright"),
    S("dark-form", dark=True, desk="light-grey", rot=93, note="a form printed dark blue all over, on a light desk"),
    # Cards.
    S("card-front", paper="ID-1", mode="idcard-front", rot=5, view=300, note="ID card, front, flat"),
    S("card-front-tilt", paper="ID-1", mode="idcard-front", rot=-18, pitch=14, view=300, at=(0, 8),
      note="ID card seen at a 14° tilt"),
    S("card-light-desk", paper="ID-1", mode="idcard-front", desk="light-wood", rot=98, view=300,
      note="ID card upright on a light wood desk"),
    S("card-far", paper="ID-1", mode="idcard-front", rot=-7, view=420, note="ID card small in a wide view"),
    S("card-glare", retakeCheck=True, paper="ID-1", mode="idcard-front", rot=3, view=300,
      glare={"u": 0.35, "v": 0.45, "rx": 14, "ry": 7, "angle": -15}, expect={"warnings": ["glare"]},
      note="ID card with a glint on its laminate"),
    S("card-in-document-mode", paper="ID-1", mode="document", rot=8, view=300,
      expect={"decision": "card"}, note="a card alone, captured in document mode: decided a card by its size"),
    S("card-beside-page", rot=90, view=480, at=(40, 0), extra=[{"paper": "ID-1", "rot": 75, "at": (-175, -40)}],
      note="a card lying beside an A4 page, document mode: the page is the document"),
]


def scene_camera(spec, width, height):
    return Camera(width, height, spec["fov"], spec["view"], spec["pitch"], spec["roll"])


def truth(spec, width, height):
    """The scene's truth as truth.json lists it."""
    camera = scene_camera(spec, width, height)
    w_mm, h_mm = PAPERS[spec["paper"]]
    place = Placement(w_mm, h_mm, spec["at"], spec["rot"], spec["curl"])
    corners = place.corners(camera)
    outline = outline_points(place, camera)
    margin = min(min(x, y, width - x, height - y) for x, y in outline)
    out_of_frame = margin < 0
    area = abs(sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(corners, corners[1:] + corners[:1]))) / 2
    dpi = math.sqrt(area / (w_mm * h_mm / 645.16))
    kind = "card" if spec["paper"] == "ID-1" else "page"
    expect = dict(spec["expect"])
    if "decision" not in expect:
        expect["decision"] = "card" if kind == "card" else "page"
    if expect["decision"] != "refused":
        expect["standardSize"] = spec["paper"] if spec["paper"] in STANDARD else None
        warnings = list(expect.get("warnings", []))
        may = []
        if dpi < LOW_DPI:
            warnings.append("low-resolution")
        elif dpi < OK_DPI:
            may.append("low-resolution")
        expect["warnings"] = sorted(warnings)
        expect["mayWarn"] = may
    layout_info = layout(spec["paper"]) if kind == "page" else None
    qr_module_px = None
    if layout_info:
        modules = len(qr_modules("TB/" + spec["name"]) or [[0] * 25]) + 8
        qr_module_px = layout_info["qr"]["mm"] / modules * dpi / 25.4
        # Read-back expected where a module spans ≥ 2.5 px in the picture and nothing blurs it.
        expect["qrReadable"] = (expect["decision"] == "page" and qr_module_px >= 2.5 and not spec["blur"]
                                and not spec["motion"] and not spec["glare"] and not spec["curl"])
    return {
        "name": spec["name"], "note": spec["note"], "kind": kind, "paper": spec["paper"], "sizeMm": [w_mm, h_mm],
        "corners": [[round(x, 3), round(y, 3)] for x, y in corners], "outOfFrame": out_of_frame,
        "frameMarginPx": round(margin, 1), "mode": spec["mode"], "insist": spec["insist"],
        "retakeCheck": spec["retakeCheck"], "expect": expect,
        "qr": ("TB/" + spec["name"]) if kind == "page" and qr_modules("x") is not None else None,
        "qrModulePx": None if qr_module_px is None else round(qr_module_px, 2),
        "viewWidthMm": spec["view"], "fieldOfViewDeg": spec["fov"],
        "camera": {"pitchDeg": spec["pitch"], "rollDeg": spec["roll"], "heightMm": round(camera.height_mm, 1),
                   "depthAtCentreMm": round(camera.depth, 1), "focalLengthPx": round(camera.f, 2)},
        "rotationDeg": spec["rot"], "centreMm": list(spec["at"]), "dpi": round(dpi, 1),
        "darkPage": spec["dark"], "curl": spec["curl"], "layout": layout_info,
        "effects": [e for e in ("falloff", "shadow", "glare", "blur", "motion") if spec[e]],
        "pictureWidth": width, "pictureHeight": height,
    }


def outline_points(place, camera, n=8):
    pts = []
    for k in range(n):
        t = k / n
        pts += [camera.project(*place.world(t * place.w, 0)), camera.project(*place.world(place.w, t * place.h)),
                camera.project(*place.world((1 - t) * place.w, place.h)), camera.project(*place.world(0, (1 - t) * place.h))]
    return pts


# MARK: Rendering

DESKS = {
    "dark-wood": lambda W, H, s: ["-size", f"{W // 4}x{H // 4}", "-seed", str(s), "plasma:", "-colorspace", "Gray", "-blur", "0x2",
                                  "-resize", f"{W}x{H}!", "-colorspace", "sRGB", "-type", "TrueColor", "+level-colors", "#3a2614,#7a5232",
                                  "(", "-size", f"{max(8, W // 32)}x{H}", "xc:gray50", "-seed", str(s + 1), "-attenuate", "1.5",
                                  "+noise", "Gaussian", "-resize", f"{W}x{H}!", ")", "-compose", "Overlay", "-composite", "-compose", "Over"],
    "dark-cloth": lambda W, H, s: ["-size", f"{W}x{H}", "xc:#4a5260", "-seed", str(s), "-attenuate", "2.5", "+noise", "Gaussian",
                                   "-blur", "0x1.2"],
    "light-grey": lambda W, H, s: ["-size", f"{W}x{H}", "gradient:#cfcfc9-#b9b9b3", "-seed", str(s), "-attenuate", "0.8",
                                   "+noise", "Gaussian", "-blur", "0x1"],
    "light-wood": lambda W, H, s: ["-size", f"{W // 4}x{H // 4}", "-seed", str(s), "plasma:", "-colorspace", "Gray", "-blur", "0x2",
                                   "-resize", f"{W}x{H}!", "-colorspace", "sRGB", "-type", "TrueColor", "+level-colors", "#b89868,#dcc49c",
                                   "(", "-size", f"{max(8, W // 32)}x{H}", "xc:gray50", "-seed", str(s + 1), "-attenuate", "1.2",
                                   "+noise", "Gaussian", "-resize", f"{W}x{H}!", ")", "-compose", "Overlay", "-composite", "-compose", "Over"],
    "dark-mat": lambda W, H, s: ["-size", f"{W}x{H}", "xc:#1f3a2e", "-seed", str(s), "-attenuate", "0.8", "+noise", "Gaussian"],
}


def mat_grid(camera, W, H):
    """The cutting mat's 10 mm grid (every fifth line brighter), projected: lines stay lines."""
    args = ["-strokewidth", str(max(1, round(W / 1280)))]
    span = 800
    for k in range(-span, span + 1, 10):
        colour = "#5f8a74" if k % 50 == 0 else "#3c6450"
        a, b = camera.project(k, -span), camera.project(k, span)
        c, d = camera.project(-span, k), camera.project(span, k)
        args += ["-stroke", colour, "-draw", f"line {a[0]:.1f},{a[1]:.1f} {b[0]:.1f},{b[1]:.1f}",
                 "-draw", f"line {c[0]:.1f},{c[1]:.1f} {d[0]:.1f},{d[1]:.1f}"]
    return args


def document_layer(source, place, camera, W, H, qr=None):
    """ImageMagick arguments that make one warped document layer and composite it over the picture so far."""
    path, src_w, src_h = source
    kx, ky = src_w / place.w, src_h / place.h  # source pixels per mm
    pts = outline_points(place, camera)
    x0 = max(0, math.floor(min(p[0] for p in pts)) - 2)
    y0 = max(0, math.floor(min(p[1] for p in pts)) - 2)
    x1 = min(W, math.ceil(max(p[0] for p in pts)) + 2)
    y1 = min(H, math.ceil(max(p[1] for p in pts)) + 2)
    if x1 <= x0 or y1 <= y0:
        return []
    if place.curl:
        n = 7
        pairs = []
        for i in range(n):
            for j in range(n):
                u, v = place.w * i / (n - 1), place.h * j / (n - 1)
                dx, dy = camera.project(*place.world(u, v))
                pairs.append(f"{u * kx:.2f},{v * ky:.2f} {dx:.3f},{dy:.3f}")
        method, points = "Polynomial", "3 " + " ".join(pairs)
    else:
        corners = place.corners(camera)
        src = [(0, 0), (src_w, 0), (src_w, src_h), (0, src_h)]
        method, points = "Perspective", " ".join(f"{a},{b} {x:.3f},{y:.3f}" for (a, b), (x, y) in zip(src, corners))
    layer = ["(", path]
    if qr:
        qr_pbm, box = qr
        layer += ["(", qr_pbm, "-scale", f"{box[2]}x{box[2]}!", ")", "-geometry", f"+{box[0]}+{box[1]}", "-composite"]
    layer += ["-alpha", "set", "-virtual-pixel", "transparent", "-background", "none", "-filter", "Triangle",
              "-define", f"distort:viewport={x1 - x0}x{y1 - y0}+{x0}+{y0}", "-distort", method, points, "+repage", ")",
              "-geometry", f"+{x0}+{y0}", "-composite"]
    return layer


def page_source(cache, paper, dark, scale_px_per_mm):
    """The page picture at the coarsest cached level that keeps ≥ 1.6 source pixels a picture pixel."""
    levels = cache[(paper, dark)]
    for path, w, h in sorted(levels, key=lambda t: t[1]):
        if w / PAPERS[paper][0] >= 1.6 * scale_px_per_mm:
            return path, w, h
    return max(levels, key=lambda t: t[1])


def render(spec, outdir, cache, W, H):
    started = time.monotonic()
    k = W / 1280  # effects scale with the picture
    camera = scene_camera(spec, W, H)
    seed = zlib.crc32(spec["name"].encode()) % 100000
    rng = random.Random(seed)
    w_mm, h_mm = PAPERS[spec["paper"]]
    place = Placement(w_mm, h_mm, spec["at"], spec["rot"], spec["curl"])
    corners = place.corners(camera)
    scale = max(math.dist(corners[0], corners[1]) / w_mm, math.dist(corners[3], corners[2]) / w_mm,
                math.dist(corners[0], corners[3]) / h_mm, math.dist(corners[1], corners[2]) / h_mm)
    args = [cache["desk"][spec["desk"]]]
    if rng.random() < 0.5:
        args.append("-flop")
    if spec["desk"] == "dark-mat":
        args += mat_grid(camera, W, H)

    def add(paper, placement, scale):
        if paper == "ID-1":
            return document_layer(cache["card"], placement, camera, W, H)
        source = page_source(cache, paper, spec["dark"], scale)
        geo = layout(paper)["qr"]
        qr = None
        if cache.get("qr"):
            pbm = os.path.join(cache["dir"], f"qr-{spec['name']}.pbm")
            if write_qr_pbm("TB/" + spec["name"], pbm):
                _, sw, sh = source
                qr = (pbm, (round(geo["x"] * sw), round(geo["y"] * sh), round(geo["sizeW"] * sw)))
        return document_layer(source, placement, camera, W, H, qr)

    for other in spec["extra"]:
        ow, oh = PAPERS[other["paper"]]
        args += add(other["paper"], Placement(ow, oh, other["at"], other["rot"]), scale)
    args += add(spec["paper"], place, scale)
    # Exposure and white balance: a warm desk lamp, paper at about (242, 240, 229).
    args += ["-channel", "R", "-evaluate", "multiply", "0.95", "-channel", "G", "-evaluate", "multiply", "0.94",
             "-channel", "B", "-evaluate", "multiply", "0.90", "+channel"]
    page = lambda u, v: camera.project(*place.world(u * w_mm, v * h_mm))
    if spec["falloff"]:
        if isinstance(spec["falloff"], tuple):  # three levels: top-left, top-right, bottom-right corners
            a, b, c = page(0, 0), page(1, 0), page(1, 1)
            levels = spec["falloff"]
            colours = " ".join(f"{p[0]:.1f},{p[1]:.1f} gray{round(100 * lv)}" for p, lv in zip((a, b, c), levels))
        else:  # from white at the left margin to `falloff` at the right, along the picture's horizontal
            pts = [page(u, v) for u, v in ((0, 0), (1, 0), (1, 1), (0, 1))]
            left = min(pts, key=lambda p: p[0])
            right = max(pts, key=lambda p: p[0])
            colours = f"{left[0]:.1f},{H / 2:.1f} white {right[0]:.1f},{H / 2:.1f} gray{round(100 * spec['falloff'])}"
        args += ["(", "-size", f"{W}x{H}", "xc:white", "-sparse-color", "Barycentric", colours, ")",
                 "-compose", "Multiply", "-composite", "-compose", "Over"]
    if spec["shadow"]:
        sh = spec["shadow"]
        if sh.get("corner"):
            poly = [page(u, v) for u, v in ((0.62, -0.2), (1.3, -0.2), (1.3, 0.42))]
        else:
            poly = [page(u, v) for u, v in ((-0.3, sh["from"]), (1.3, sh["from"] - 0.06), (1.3, sh["to"] - 0.06), (-0.3, sh["to"]))]
        args += ["(", "-size", f"{W}x{H}", "xc:white", "-fill", f"gray{round(100 * sh['level'])}",
                 "-draw", "polygon " + " ".join(f"{x:.1f},{y:.1f}" for x, y in poly), "-blur", f"0x{sh['soft'] * k:.1f}", ")",
                 "-compose", "Multiply", "-composite", "-compose", "Over"]
    if spec["glare"]:
        g = spec["glare"]
        cx, cy = page(g["u"], g["v"])
        ppm = scale
        rx, ry, a = g["rx"] * ppm, g["ry"] * ppm, math.radians(g["angle"])
        poly = []
        for j in range(48):
            t = 2 * math.pi * j / 48
            x, y = rx * math.cos(t), ry * math.sin(t)
            poly.append(f"{cx + x * math.cos(a) - y * math.sin(a):.1f},{cy + x * math.sin(a) + y * math.cos(a):.1f}")
        args += ["(", "-size", f"{W}x{H}", "xc:black", "-fill", "white", "-draw", "polygon " + " ".join(poly),
                 "-blur", f"0x{0.18 * ry:.1f}", ")", "-compose", "Screen", "-composite", "-compose", "Over"]
    if spec["blur"]:
        args += ["-blur", f"0x{spec['blur'] * k:.2f}"]
    if spec["motion"]:
        n = max(3, round(spec["motion"] * k)) | 1
        args += ["-define", "convolve:scale=!", "-morphology", "Convolve", f"Rectangle:{n}x1"]
    args += ["-seed", str(seed), "-attenuate", "0.35", "+noise", "Gaussian", "-quality", "90"]
    im(*args, out=os.path.join(outdir, spec["name"] + ".jpg"))
    return time.monotonic() - started


def make(outdir, size, only=None):
    W, H = size
    os.makedirs(outdir, exist_ok=True)
    started = time.monotonic()
    specs = [s for s in SCENES if not only or s["name"] in only]
    tmp = tempfile.mkdtemp(prefix="hard-scenes-")
    cache = {"dir": tmp, "desk": {}, "qr": qr_modules("probe") is not None}
    try:
        jobs = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            papers = {(s["paper"], s["dark"]) for s in specs} | {(e["paper"], False) for s in specs for e in s["extra"]}
            for paper, dark in sorted(papers):
                if paper == "ID-1":
                    continue
                jobs[pool.submit(make_page_levels, paper, dark, tmp)] = (paper, dark)
            desks = {s["desk"] for s in specs}
            for desk in sorted(desks):
                path = os.path.join(tmp, f"desk-{desk}.miff")
                jobs[pool.submit(im, *DESKS[desk](W, H, 7 + len(desk)), out=path)] = ("desk", desk, path)
            card_job = pool.submit(render_card, tmp)
            for job in concurrent.futures.as_completed(jobs):
                key = jobs[job]
                if key[0] == "desk":
                    job.result()
                    cache["desk"][key[1]] = key[2]
                else:
                    cache[key] = job.result()
            cache["card"] = card_job.result()
            prepared = time.monotonic() - started
            futures = {pool.submit(render, s, outdir, cache, W, H): s["name"] for s in specs}
            for job in concurrent.futures.as_completed(futures):
                job.result()
        scenes = [truth(s, W, H) for s in specs]
        existing = os.path.join(outdir, "truth.json")
        if only and os.path.exists(existing):  # a few scenes made again: the others keep their truth
            with open(existing) as f:
                before = json.load(f)
            if (before.get("pictureWidth"), before.get("pictureHeight")) == (W, H):
                remade = {t["name"] for t in scenes}
                order = [s["name"] for s in SCENES]
                kept = [t for t in before["scenes"] if t["name"] not in remade and t["name"] in order]
                scenes = sorted(kept + scenes, key=lambda t: order.index(t["name"]))
        for t in scenes:
            if not t["outOfFrame"] and t["frameMarginPx"] < 10 * W / 1280:
                print(f"note: {t['name']} lies {t['frameMarginPx']} px from the frame's edge", file=sys.stderr)
            if t["expect"]["decision"] != "refused" and t["outOfFrame"] and not t["insist"]:
                print(f"note: {t['name']} runs out of the frame but is not expected refused", file=sys.stderr)
        with open(os.path.join(outdir, "truth.json"), "w") as f:
            json.dump({"pictureWidth": W, "pictureHeight": H, "generator": "Tests/tools/hard_scenes.py",
                       "lowResolutionDpi": LOW_DPI, "adequateDpi": OK_DPI, "scenes": scenes}, f, ensure_ascii=False, indent=1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(specs)} scenes at {W}x{H} in {outdir} ({time.monotonic() - started:.1f} s, pages and desks {prepared:.1f} s)")


def make_page_levels(paper, dark, tmp):
    """The page at 300 dpi, and at half and quarter of that for scenes that see it small."""
    full = os.path.join(tmp, f"page-{paper}-{int(dark)}.miff")
    W, H = render_page(paper, full, dark)
    half, quarter = (os.path.join(tmp, f"page-{paper}-{int(dark)}-{f}.miff") for f in (2, 4))
    im(full, "-scale", f"{W // 2}x{H // 2}!", "-write", half, "-scale", f"{W // 4}x{H // 4}!", out=quarter)
    return [(full, W, H), (half, W // 2, H // 2), (quarter, W // 4, H // 4)]


# MARK: Measuring an output

def read_pnm(data):
    """P5/P6 bytes → (width, height, channels, pixels)."""
    parts, pos = [], 0
    while len(parts) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        parts.append(data[pos:end])
        pos = end
    pos += 1
    channels = 3 if parts[0] == b"P6" else 1
    return int(parts[1]), int(parts[2]), channels, data[pos:]


LIMIT = 900


def residual_turn(path, portrait, dark):
    """The angle (degrees, clockwise on screen) of the output's text lines and table rules, by a projection-profile
    search: ink pixels counted per row in 16 vertical strips, strips shifted against each other as a turn would
    shift them, the turn that makes the sharpest row profile wins. Orientation: an output turned a quarter (the page
    upright but the picture landscape) is measured turned back; so the figure is the turn modulo 90°."""
    data = im(path, "-resize", f"{LIMIT}x{LIMIT}>", "-colorspace", "Gray", *([] if dark else ["-negate"]), "-lat", "15x15+8%",
              "-depth", "8", "pgm:-")
    w, h, _, px = read_pnm(data)
    if (h >= w) != portrait and abs(h - w) > 0.05 * max(w, h):
        px = bytes(px[y * w + x] for x in range(w) for y in range(h - 1, -1, -1))  # a quarter turn back
        w, h = h, w
    mx, my = round(0.06 * w), round(0.06 * h)
    strips = 16
    sw = (w - 2 * mx) / strips
    profiles, centres = [], []
    for s in range(strips):
        a, b = mx + round(s * sw), mx + round((s + 1) * sw)
        counts = [0] * h
        for y in range(my, h - my):
            row = px[y * w + a:y * w + b]
            counts[y] = row.count(255)
        profiles.append(counts)
        centres.append((a + b) / 2 - w / 2)
    total = sum(map(sum, profiles))
    if total < 50:
        return None
    from operator import add, mul
    up = 4  # profiles smoothed and sampled at a quarter row, so whole-sample shifts turn them finely enough
    fine_profiles = []
    for counts in profiles:
        sm = [(counts[max(0, y - 1)] + 2 * counts[y] + counts[min(h - 1, y + 1)]) / 4 for y in range(h)] + [0]
        fine_profiles.append([sm[y] + (sm[y + 1] - sm[y]) * j / up for y in range(h) for j in range(up)])
    n = h * up

    def score(deg):
        t = math.tan(math.radians(deg))
        acc = [0.0] * (3 * n)
        for counts, c in zip(fine_profiles, centres):
            base = n + round(-c * t * up)
            acc[base:base + n] = map(add, acc[base:base + n], counts)
        return sum(map(mul, acc, acc))

    coarse = [d / 2 for d in range(-16, 17)]
    best = max(coarse, key=score)
    fine = [round(best + d / 20, 3) for d in range(-10, 11)]
    scores = {d: score(d) for d in fine}
    best = max(scores, key=scores.get)
    lo, hi = round(best - 1 / 20, 3), round(best + 1 / 20, 3)
    if lo in scores and hi in scores:
        s0, s1, s2 = scores[lo], scores[best], scores[hi]
        den = s0 - 2 * s1 + s2
        if den < 0:
            best += 0.5 * (s0 - s2) / den / 20
    return round(best, 2)


def read_rgb(path, limit=700):
    data = im(path, "-resize", f"{limit}x{limit}>", "-depth", "8", "ppm:-")
    return read_pnm(data)


def lum(px, i):
    return (299 * px[i] + 587 * px[i + 1] + 114 * px[i + 2]) // 1000


def paper_white(rgb):
    """Median brightness of four blank margin patches (the middle of each side, 2–7 % in), with their spread."""
    w, h, _, px = rgb
    patches = {"left": (0.02, 0.07, 0.35, 0.65), "right": (0.93, 0.98, 0.35, 0.65),
               "top": (0.35, 0.65, 0.02, 0.07), "bottom": (0.35, 0.65, 0.93, 0.98)}
    out = {}
    for side, (fx0, fx1, fy0, fy1) in patches.items():
        vals = [lum(px, 3 * (y * w + x)) for y in range(round(fy0 * h), max(round(fy0 * h) + 1, round(fy1 * h)))
                for x in range(round(fx0 * w), max(round(fx0 * w) + 1, round(fx1 * w)))]
        out[side] = statistics.median(vals)
    return {"patches": out, "min": min(out.values()), "max": max(out.values()),
            "spread": max(out.values()) - min(out.values())}


def stamp_colour(rgb, stamp, portrait):
    """The stamp's ink. The output may be turned, so the stamp may be in one of two places (a half turn apart):
    the one with the most red pixels, else the one with the most ink; the mean colour of its ink pixels (darker than
    the paper there by 40 levels, or strongly coloured). Red kept: R exceeds both G and B by 60 and R ≥ 110."""
    w, h, _, px = rgb
    sx, sy = stamp["x"], stamp["y"]
    turned = (w > h * 1.05) == portrait
    candidates = [(1 - sy, sx), (sy, 1 - sx)] if turned else [(sx, sy), (1 - sx, 1 - sy)]
    r = stamp["rW"] * (h if turned else w) * 1.25
    best = None
    for fx, fy in candidates:
        cx, cy = fx * w, fy * h
        inside = []
        for y in range(max(0, round(cy - r)), min(h, round(cy + r))):
            for x in range(max(0, round(cx - r)), min(w, round(cx + r))):
                if (x - cx) ** 2 + (y - cy) ** 2 <= r * r:
                    inside.append(3 * (y * w + x))
        if not inside:
            continue
        paper = statistics.median(lum(px, i) for i in inside)
        ink = [i for i in inside if paper - lum(px, i) > 40 or max(px[i:i + 3]) - min(px[i:i + 3]) > 60]
        red = sum(1 for i in ink if px[i] - max(px[i + 1], px[i + 2]) > 40)
        key = (red >= 20, red if red >= 20 else len(ink))
        if best is None or key > best[0]:
            best = (key, ink)
    if not best or len(best[1]) < 20:
        return None
    ink = best[1]
    mean = [round(sum(px[i + c] for i in ink) / len(ink)) for c in range(3)]
    return {"rgb": mean, "pixels": len(ink), "red": mean[0] - max(mean[1], mean[2]) >= 60 and mean[0] >= 110}


def read_qr(path):
    done = subprocess.run(["zbarimg", "-q", "--raw", "-Sdisable", "-Sqrcode.enable", path],
                          capture_output=True, text=True, timeout=60)
    return [line for line in done.stdout.splitlines() if line]


def corner_error(found, truth_corners):
    """Mean and largest distance from the found corners to the true ones, pairing them in the cyclic order (either
    way round) that fits best: the found outline may start at another corner."""
    best = None
    for order in (found, list(reversed(found))):
        for shift in range(4):
            cand = order[shift:] + order[:shift]
            d = [math.dist(a, b) for a, b in zip(cand, truth_corners)]
            if best is None or sum(d) < sum(best):
                best = d
    return sum(best) / 4, max(best)


def measure(scene, answer, out_path):
    """Every figure of one scene from the answer and the output file."""
    t = scene
    m = {"name": t["name"], "mode": t["mode"], "exit": answer["exit"], "seconds": answer["seconds"],
         "insisted": answer.get("insisted", False), "retake": answer.get("retake")}
    body = answer.get("json") or {}
    exp = t["expect"]
    if answer["exit"] == 0:
        a = body.get("assessment") or {}
        m["decision"] = a.get("decision")
        m["decisionImplied"] = m["decision"] is None
        if m["decision"] is None:  # the old pipeline says nothing: what it made is what the mode asked for
            m["decision"] = "card" if t["mode"].startswith("idcard") else "page"
        m["code"] = None
        m["standardSize"] = a.get("standardSize")
        m["warnings"] = sorted(w.get("code") if isinstance(w, dict) else str(w) for w in a.get("warnings") or [])
        if m["retake"]:  # what the plain run asked a retake for is part of what it warned of
            m["warnings"] = sorted(set(m["warnings"]) | set(m["retake"]["warnings"]))
        m["outOfFrameFlag"] = a.get("outOfFrame")
        m["focalLength"] = a.get("focalLength")
        size = a.get("sizeMillimetres")
        if size:
            got = sorted([size["width"], size["height"]])
            true = sorted(t["sizeMm"])
            m["sizeErrorPct"] = round(100 * max(abs(got[0] / true[0] - 1), abs(got[1] / true[1] - 1)), 2)
        corners = body.get("corners") or []
        found = [(c["x"], c["y"]) if isinstance(c, dict) else tuple(c) for c in corners]
        if len(found) == 4 and not t["outOfFrame"]:
            mean, worst = corner_error(found, [tuple(c) for c in t["corners"]])
            m["cornerMeanPx"], m["cornerMaxPx"] = round(mean, 2), round(worst, 2)
        ow, oh = body.get("width"), body.get("height")
        true_ratio = max(t["sizeMm"]) / min(t["sizeMm"])
        if ow and oh:
            m["outputSize"] = [ow, oh]
            m["proportionErrorPct"] = round(100 * abs(max(ow, oh) / min(ow, oh) / true_ratio - 1), 2)
        if isinstance(a.get("aspect"), (int, float)) and a["aspect"] > 0:
            r = max(a["aspect"], 1 / a["aspect"])
            m["aspectErrorPct"] = round(100 * abs(r / true_ratio - 1), 2)
        if os.path.exists(out_path):
            portrait = t["sizeMm"][1] > t["sizeMm"][0]
            m["turnDeg"] = residual_turn(out_path, portrait, t["darkPage"])
            if t["kind"] == "page":
                rgb = read_rgb(out_path)
                if not t["darkPage"]:
                    m["white"] = paper_white(rgb)
                    m["stamp"] = stamp_colour(rgb, t["layout"]["stamp"], portrait)
                if t["qr"]:
                    texts = read_qr(out_path)
                    m["qrRead"] = t["qr"] in texts
                    m["qrTexts"] = texts
    elif answer["exit"] == 2:
        m["decision"] = "refused"
        m["code"] = body.get("code")
    else:
        m["decision"] = "error"
        m["code"] = body.get("code")
        m["stderr"] = answer.get("stderr", "")[-400:]
    # Judgements against the truth (figures; the thresholds are the Swift test's).
    m["decisionOK"] = m["decision"] == exp["decision"] and (exp.get("code") is None or m.get("code") == exp.get("code"))
    if exp["decision"] != "refused" and m["decision"] not in ("refused", "error"):
        m["standardSizeOK"] = m.get("standardSize") == exp.get("standardSize")
        got = set(m.get("warnings") or [])
        want = set(exp.get("warnings") or [])
        may = set(exp.get("mayWarn") or [])
        m["warningsMissing"] = sorted(want - got)
        m["warningsExtra"] = sorted(got - want - may)
        if t["outOfFrame"]:
            m["outOfFrameFlagOK"] = m.get("outOfFrameFlag") is True
    return m


# MARK: Running tongban

def run_tongban(tongban, scene, outdir, oracle):
    """One run as the contract says; a capture the service would rather have retaken (exit 2,
    capture-needs-retake) is run again with --insist, as a clerk keeping it would, so that it can be measured."""
    out = os.path.join(outdir, OUT_DIRS.get(oracle, "out"), scene["name"] + ".jpg")
    # A scene the service should find doubtful (a warning is expected) is run with --insist straight away, to save a
    # run; those marked retakeCheck, and every scene expected clean, are run plainly first.
    doubtful = bool(scene["expect"].get("warnings")) and not scene.get("retakeCheck")
    answer = run_once(tongban, scene, outdir, out, oracle, scene.get("insist", False) or doubtful)
    body = answer.get("json") or {}
    if answer["exit"] == 2 and body.get("code") == "capture-needs-retake" and not answer["insisted"]:
        again = run_once(tongban, scene, outdir, out, oracle, True)
        again["retake"] = {"warnings": body.get("warnings") or [], "detail": body.get("detail")}
        again["seconds"] = round(again["seconds"] + answer["seconds"], 2)
        return again, out
    return answer, out


def run_once(tongban, scene, outdir, out, oracle, insist):
    if os.path.exists(out):
        os.remove(out)
    command = [tongban, "camera", "process", "--mode", scene["mode"], "--view-width-mm", f"{scene['viewWidthMm']:g}",
               "--field-of-view", f"{scene['fieldOfViewDeg']:g}", "--format", "jpeg", *(["--insist"] if insist else []),
               "--out", out, os.path.join(outdir, scene["name"] + ".jpg")]
    started = time.monotonic()
    if oracle == "old":
        code, stdout, stderr = old_pipeline_process(scene, outdir, out)
    elif oracle:
        code, stdout, stderr = oracle_process(scene, outdir, out, insist)
    else:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        code, stdout, stderr = done.returncode, done.stdout, done.stderr
    answer = {"exit": code, "seconds": round(time.monotonic() - started, 2), "stderr": stderr,
              "command": command if not oracle else WHO[oracle], "insisted": insist and oracle != "old"}
    try:
        answer["json"] = json.loads(stdout.strip().splitlines()[-1]) if stdout.strip() else None
    except (json.JSONDecodeError, IndexError):
        answer["json"] = None
        answer["stdout"] = stdout[-400:]
    return answer


def oracle_process(scene, outdir, out, insist=False):
    """A stand-in for tongban that knows the truth: it refuses what should be refused and warps by the true
    corners to the true proportions; it does nothing about light. The evaluator's figures on it show what the
    measuring itself contributes (corner error 0, proportion ~0, turn ~0)."""
    exp = scene["expect"]
    if exp["decision"] == "refused" or (exp.get("warnings") and not insist):
        if exp["decision"] != "refused":
            return 2, json.dumps({"code": "capture-needs-retake", "status": 422, "warnings": exp["warnings"]}), ""
        return 2, json.dumps({"code": exp["code"], "status": 422, "title": "oracle", "detail": "", "remedy": ""}), ""
    c = scene["corners"]
    w_mm, h_mm = scene["sizeMm"]
    width = round((math.dist(c[0], c[1]) + math.dist(c[3], c[2])) / 2)
    height = round(width * h_mm / w_mm)
    pairs = " ".join(f"{x:.3f},{y:.3f} {a},{b}" for (x, y), (a, b) in zip(c, [(0, 0), (width, 0), (width, height), (0, height)]))
    im(os.path.join(outdir, scene["name"] + ".jpg"), "-virtual-pixel", "white", "-define",
       f"distort:viewport={width}x{height}+0+0", "-distort", "Perspective", pairs, "+repage", "-quality", "88", out=out)
    answer = {"file": out, "contentType": "image/jpeg", "width": width, "height": height,
              "pictureWidth": scene["pictureWidth"], "pictureHeight": scene["pictureHeight"],
              "corners": [{"x": x, "y": y} for x, y in c],
              "assessment": {"decision": exp["decision"], "aspect": w_mm / h_mm, "standardSize": exp.get("standardSize"),
                             "sizeMillimetres": {"width": w_mm, "height": h_mm}, "outOfFrame": scene["outOfFrame"],
                             "warnings": [{"code": w, "message": ""} for w in exp.get("warnings", [])], "focalLength": None}}
    return 0, json.dumps(answer), ""


# MARK: The old pipeline, for reproducing the issue's failures

def old_pipeline_process(scene, outdir, out):
    """The pipeline as it was before the rework (git 8f3ce88: DocumentFinder.find, CameraService.make,
    PhotoEnhancer), re-done in Python step by step so that the issue's failures can be reproduced after the binary
    has moved on: the largest bright region (halfway from Otsu's split to the bright mean) at ≤ 640 px, its convex
    hull cut to four corners and refined by line fits; cards turned landscape, refused outside 1.3–1.9:1, made
    1011 × 638; pages warped to the outline's mean side lengths, levels stretched from the 1st to the 90th
    percentile of brightness. ImageMagick does the warp and the levels."""
    picture = os.path.join(outdir, scene["name"] + ".jpg")
    width, height, _, rgb = read_pnm(im(picture, "-depth", "8", "ppm:-"))
    grey = bytes(map(lambda r, g, b: (r * 299 + g * 587 + b * 114) // 1000, rgb[0::3], rgb[1::3], rgb[2::3]))
    factor = max(1, math.ceil(max(width, height) / 640))
    sw, sh = width // factor, height // factor
    small = bytearray(sw * sh)
    for row in range(sh):
        acc = [0] * sw
        for y in range(row * factor, row * factor + factor):
            line = grey[y * width:y * width + sw * factor]
            for x in range(factor):
                acc = list(map(int.__add__, acc, line[x::factor]))
        small[row * sw:(row + 1) * sw] = bytes(v // (factor * factor) for v in acc)
    hist = _histogram(small)
    total = len(small)
    sum_all = sum(i * c for i, c in enumerate(hist))
    wb = sb = best = 0.0
    otsu = 128
    for level in range(256):
        wb += hist[level]
        if wb <= 0 or wb >= total:
            continue
        sb += level * hist[level]
        mb, ma = sb / wb, (sum_all - sb) / (total - wb)
        between = wb * (total - wb) * (mb - ma) * (mb - ma)
        if between > best:
            best, otsu = between, level + 1
    bright = sum(hist[otsu:])
    bright_mean = otsu if bright == 0 else sum(i * hist[i] for i in range(otsu, 256)) // max(1, bright)
    threshold = (otsu + bright_mean) // 2
    region = _largest_region(small, sw, sh, threshold)
    is_card = scene["mode"] != "document"

    def refuse(code, title):
        return 2, json.dumps({"code": code, "status": 422, "title": title, "detail": "old pipeline", "remedy": ""}), ""
    if not region or sum(b - a for _, a, b in region) < 0.04 * sw * sh:
        return refuse("idcard-not-found" if is_card else "document-not-found", "not found")
    rows, cols = {}, {}
    for y, a, b in region:
        lo, hi = rows.get(y, (10 ** 9, -1))
        rows[y] = (min(lo, a), max(hi, b - 1))
        for x in range(a, b):
            lo, hi = cols.get(x, (10 ** 9, -1))
            if y < lo or y > hi:
                cols[x] = (min(lo, y), max(hi, y))
    boundary = []
    for y, (a, b) in rows.items():
        boundary += [(float(a), y + 0.5), (float(b + 1), y + 0.5)]
    for x, (a, b) in cols.items():
        boundary += [(x + 0.5, float(a)), (x + 0.5, float(b + 1))]
    hull = _hull(boundary)
    if len(hull) < 4:
        return refuse("idcard-not-found" if is_card else "document-not-found", "not found")
    while len(hull) > 4:
        def loss(i):
            a, b, c = hull[i - 1], hull[i], hull[(i + 1) % len(hull)]
            return abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])) / 2
        hull.pop(min(range(len(hull)), key=loss))
    corners = _ordered([(x * factor, y * factor) for x, y in _refine(hull, boundary)])
    top, bottom = math.dist(corners[0], corners[1]), math.dist(corners[3], corners[2])
    left, right = math.dist(corners[0], corners[3]), math.dist(corners[1], corners[2])
    fw, fh = (top + bottom) / 2, (left + right) / 2
    if is_card:
        if fw < fh:
            corners = [corners[3], corners[0], corners[1], corners[2]]
            fw, fh = fh, fw
        if not 1.3 <= fw / max(1, fh) <= 1.9:
            return refuse("idcard-not-found", f"the bright shape found is {fw / max(1, fh):.2f}:1")
        ow, oh = 1011, 638
    else:
        ow, oh = round(fw), round(fh)
    pairs = " ".join(f"{x:.3f},{y:.3f} {a},{b}" for (x, y), (a, b) in zip(corners, [(0, 0), (ow, 0), (ow, oh), (0, oh)]))
    warp = ["-virtual-pixel", "white", "-filter", "point", "-interpolate", "bilinear",
            "-define", f"distort:viewport={ow}x{oh}+0+0", "-distort", "Perspective", pairs, "+repage"]
    if not is_card:
        _, _, _, px = read_pnm(im(picture, *warp, "-depth", "8", "ppm:-"))
        lum_hist = _histogram(bytes(map(lambda r, g, b: (r * 299 + g * 587 + b * 114) // 1000, px[0::3], px[1::3], px[2::3])))
        n = ow * oh

        def percentile(fraction):
            seen = 0
            for level in range(256):
                seen += lum_hist[level]
                if seen >= fraction * n:
                    return level
            return 255
        black = percentile(0.01)
        white = max(black + 16, percentile(0.90))
        warp += ["-level", f"{100 * black / 255:.4f}%,{100 * white / 255:.4f}%"]
    im(picture, *warp, "-quality", "88", out=out)
    answer = {"file": out, "contentType": "image/jpeg", "width": ow, "height": oh, "pictureWidth": width,
              "pictureHeight": height, "corners": [{"x": x, "y": y} for x, y in corners]}
    return 0, json.dumps(answer), ""


def _histogram(data):
    return [data.count(bytes((v,))) for v in range(256)]


def _largest_region(pixels, width, height, threshold):
    """The largest 4-connected region at or above threshold not touching all four picture edges, as runs
    (y, x0, x1); runs of a row are joined to the overlapping runs of the row above (union-find)."""
    import re
    mask = bytes(pixels).translate(bytes(1 if v >= threshold else 0 for v in range(256)))
    parent, runs, prev = [], [], []

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    pattern = re.compile(b"\x01+")
    for y in range(height):
        cur = []
        for match in pattern.finditer(mask, y * width, (y + 1) * width):
            a, b = match.start() - y * width, match.end() - y * width
            index = len(runs)
            runs.append((y, a, b))
            parent.append(index)
            for p in prev:
                py, pa, pb = runs[p]
                if pa < b and a < pb:
                    ra, rb = find(p), find(index)
                    if ra != rb:
                        parent[rb] = ra
            cur.append(index)
        prev = cur
    groups = {}
    for i, (y, a, b) in enumerate(runs):
        g = groups.setdefault(find(i), [0, False, False, False, False, []])
        g[0] += b - a
        g[1] |= a == 0
        g[2] |= b == width
        g[3] |= y == 0
        g[4] |= y == height - 1
        g[5].append(runs[i])
    best = None
    for g in groups.values():
        if g[1] and g[2] and g[3] and g[4]:
            continue
        if best is None or g[0] > best[0]:
            best = g
    return best[5] if best else None


def _hull(points):
    pts = sorted(set(points))
    if len(pts) < 3:
        return pts

    def cross(o, a, b):
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    lower, upper = [], []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def _refine(corners, boundary):
    lines = []
    for side in range(4):
        a, b = corners[side], corners[(side + 1) % 4]
        length = math.dist(a, b)
        if length <= 8:
            lines.append(None)
            continue
        d = ((b[0] - a[0]) / length, (b[1] - a[1]) / length)
        near = [p for p in boundary
                if 0.12 < ((p[0] - a[0]) * d[0] + (p[1] - a[1]) * d[1]) / length < 0.88
                and abs((p[0] - a[0]) * d[1] - (p[1] - a[1]) * d[0]) < 2.5]
        if len(near) < 6:
            lines.append(None)
            continue
        n = len(near)
        mx, my = sum(p[0] for p in near) / n, sum(p[1] for p in near) / n
        xx = sum((p[0] - mx) ** 2 for p in near)
        yy = sum((p[1] - my) ** 2 for p in near)
        xy = sum((p[0] - mx) * (p[1] - my) for p in near)
        angle = 0.5 * math.atan2(2 * xy, xx - yy)
        lines.append(((mx, my), (math.cos(angle), math.sin(angle))))
    out = []
    for k in range(4):
        c = corners[k]
        reach = max(6, 0.05 * min(math.dist(c, corners[(k + 1) % 4]), math.dist(c, corners[(k + 3) % 4])))
        p, q = lines[(k + 3) % 4], lines[k]
        point = None
        if p and q:
            det = p[1][0] * q[1][1] - p[1][1] * q[1][0]
            if abs(det) > 1e-6:
                dx, dy = q[0][0] - p[0][0], q[0][1] - p[0][1]
                t = (dx * q[1][1] - dy * q[1][0]) / det
                point = (p[0][0] + t * p[1][0], p[0][1] + t * p[1][1])
        out.append(point if point and math.dist(point, c) < reach else c)
    return out


def _ordered(corners):
    signed = sum(a[0] * b[1] - b[0] * a[1] for a, b in zip(corners, corners[1:] + corners[:1]))
    cw = corners if signed > 0 else list(reversed(corners))
    first = min(range(4), key=lambda i: cw[i][0] + cw[i][1])
    return [cw[(first + k) % 4] for k in range(4)]


def fmt(v, spec="{:.1f}", none="–"):
    return none if v is None else spec.format(v)


def table(results, scenes):
    by = {s["name"]: s for s in scenes}
    head = (f"{'scene':<22} {'mode':<8} {'expect':<8} {'got':<8} {'ok':<2} {'corner mean/max':>15} {'prop%':>6} "
            f"{'turn°':>6} {'white min/max/spr':>17} {'stamp':>13} {'QR':>4} {'size':>7} {'warnings (missing|extra)':<30} {'s':>5}")
    lines = [head, "-" * len(head)]
    for m in results:
        t = by[m["name"]]
        exp = t["expect"]["decision"] + ("" if not t["expect"].get("code") else "")
        got = m["decision"] + ("*" if m.get("decisionImplied") else "") + ("!" if m.get("retake") else "") + ("+" if m.get("insisted") and not m.get("retake") else "")
        corner = f"{fmt(m.get('cornerMeanPx'))}/{fmt(m.get('cornerMaxPx'))}" if "cornerMeanPx" in m else "–"
        white = m.get("white")
        wtxt = f"{white['min']:.0f}/{white['max']:.0f}/{white['spread']:.0f}" if white else "–"
        st = m.get("stamp")
        stxt = ("red " if st["red"] else "LOST ") + ",".join(map(str, st["rgb"])) if st else "–"
        qr = "–" if "qrRead" not in m else ("yes" if m["qrRead"] else "NO")
        size = m.get("standardSize") or ("–" if m["decision"] in ("refused", "error") else "null")
        warn = ",".join(m.get("warnings") or []) or ("–" if m["decision"] in ("refused", "error") else "none")
        if m.get("warningsMissing") or m.get("warningsExtra"):
            warn += f" (-{','.join(m['warningsMissing']) or '0'}|+{','.join(m['warningsExtra']) or '0'})"
        if m["decision"] == "refused":
            warn = m.get("code") or "?"
        lines.append(f"{m['name']:<22} {t['mode'][:8]:<8} {exp:<8} {got:<8} {'✓' if m['decisionOK'] else '✗':<2} {corner:>15} "
                     f"{fmt(m.get('proportionErrorPct')):>6} {fmt(m.get('turnDeg'), '{:+.2f}'):>6} {wtxt:>17} {stxt:>13} "
                     f"{qr:>4} {size:>7} {warn:<30} {m['seconds']:>5.1f}")
    return "\n".join(lines)


def summary(results, scenes):
    by = {s["name"]: s for s in scenes}
    out, figures = [], {}

    def line(key, text, value):
        figures[key] = value
        out.append(text)

    dec = [m for m in results]
    ok = [m for m in dec if m["decisionOK"]]
    bad = [f"{m['name']} (expected {by[m['name']]['expect']['decision']}{'/' + by[m['name']]['expect']['code'] if by[m['name']]['expect'].get('code') else ''}, "
           f"got {m['decision']}{'/' + m['code'] if m.get('code') else ''})" for m in dec if not m["decisionOK"]]
    line("decisions", f"decisions (card / page / refused + code): {len(ok)}/{len(dec)} as expected"
         + (f"; wrong: {'; '.join(bad)}" if bad else ""),
         {"ok": len(ok), "of": len(dec), "wrong": [m["name"] for m in dec if not m["decisionOK"]]})
    cs = [m for m in results if "cornerMeanPx" in m]
    if cs:
        worst = max(cs, key=lambda m: m["cornerMaxPx"])
        over = [m["name"] for m in cs if m["cornerMaxPx"] > 8 * by[m["name"]]["pictureWidth"] / 1280]
        line("corners", f"corner error (in-frame scenes answered): mean {statistics.mean(m['cornerMeanPx'] for m in cs):.2f} px, "
             f"median of max {statistics.median(m['cornerMaxPx'] for m in cs):.2f} px, worst {worst['cornerMaxPx']:.1f} px ({worst['name']}); "
             f"over 8 px (at 1280): {len(over)}/{len(cs)} {over if over else ''}",
             {"meanPx": round(statistics.mean(m["cornerMeanPx"] for m in cs), 2), "worstPx": worst["cornerMaxPx"],
              "worstScene": worst["name"], "over8px": over, "of": len(cs)})
    ps = [m for m in results if "proportionErrorPct" in m and by[m["name"]]["expect"]["decision"] != "refused"]
    if ps:
        worst = max(ps, key=lambda m: m["proportionErrorPct"])
        over = [m["name"] for m in ps if m["proportionErrorPct"] > 2]
        line("proportion", f"proportion error (output long/short vs true): mean {statistics.mean(m['proportionErrorPct'] for m in ps):.2f} %, "
             f"worst {worst['proportionErrorPct']:.2f} % ({worst['name']}); over 2 %: {len(over)}/{len(ps)} {over if over else ''}",
             {"meanPct": round(statistics.mean(m["proportionErrorPct"] for m in ps), 2), "worstPct": worst["proportionErrorPct"],
              "worstScene": worst["name"], "over2pct": over, "of": len(ps)})
    ts = [m for m in results if m.get("turnDeg") is not None and by[m["name"]]["expect"]["decision"] != "refused"]
    if ts:
        worst = max(ts, key=lambda m: abs(m["turnDeg"]))
        over = [m["name"] for m in ts if abs(m["turnDeg"]) > 0.5]
        line("turn", f"straightness (residual turn of the content): mean |turn| {statistics.mean(abs(m['turnDeg']) for m in ts):.2f}°, "
             f"worst {worst['turnDeg']:+.2f}° ({worst['name']}); over 0.5°: {len(over)}/{len(ts)} {over if over else ''}",
             {"meanAbsDeg": round(statistics.mean(abs(m["turnDeg"]) for m in ts), 2), "worstDeg": worst["turnDeg"],
              "worstScene": worst["name"], "over05deg": over, "of": len(ts)})
    ws = [m for m in results if m.get("white") and by[m["name"]]["expect"]["decision"] != "refused"]
    if ws:
        good = [m for m in ws if m["white"]["spread"] <= 10 and m["white"]["min"] >= 225]
        worst = max(ws, key=lambda m: m["white"]["spread"])
        darkest = min(ws, key=lambda m: m["white"]["min"])
        line("white", f"paper white (margin patch medians): even (spread ≤ 10, min ≥ 225) in {len(good)}/{len(ws)}; "
             f"widest spread {worst['white']['spread']:.0f} ({worst['name']}: {worst['white']['min']:.0f}–{worst['white']['max']:.0f}), "
             f"darkest margin {darkest['white']['min']:.0f} ({darkest['name']})",
             {"even": len(good), "of": len(ws), "uneven": [m["name"] for m in ws if m not in good],
              "worstSpread": worst["white"]["spread"], "worstSpreadScene": worst["name"], "darkestMin": darkest["white"]["min"]})
    ss = [m for m in results if "stamp" in m and by[m["name"]]["expect"]["decision"] != "refused"]
    if ss:
        red = [m for m in ss if m["stamp"] and m["stamp"]["red"]]
        line("stamp", f"red stamp kept red: {len(red)}/{len(ss)}" + (f"; not: {[m['name'] for m in ss if m not in red]}" if len(red) < len(ss) else ""),
             {"red": len(red), "of": len(ss), "lost": [m["name"] for m in ss if m not in red]})
    qs = [m for m in results if "qrRead" in m]
    if qs:
        should = [m for m in qs if by[m["name"]]["expect"].get("qrReadable")]
        read_should = [m for m in should if m["qrRead"]]
        line("qr", f"QR read back from the output: {sum(m['qrRead'] for m in qs)}/{len(qs)} answered pages; "
             f"{len(read_should)}/{len(should)} of those expected readable"
             + (f"; unread: {[m['name'] for m in should if not m['qrRead']]}" if len(read_should) < len(should) else ""),
             {"read": sum(m["qrRead"] for m in qs), "of": len(qs), "readExpected": len(read_should), "expected": len(should),
              "unreadExpected": [m["name"] for m in should if not m["qrRead"]]})
    sz = [m for m in results if "standardSizeOK" in m]
    if sz:
        good = [m for m in sz if m["standardSizeOK"]]
        line("standardSize", f"standard size: {len(good)}/{len(sz)} as expected"
             + (f"; wrong: {[(m['name'], m.get('standardSize')) for m in sz if m not in good]}" if len(good) < len(sz) else ""),
             {"ok": len(good), "of": len(sz)})
    wr = [m for m in results if "warningsMissing" in m]
    if wr:
        exact = [m for m in wr if not m["warningsMissing"] and not m["warningsExtra"]]
        missing = [(m["name"], m["warningsMissing"]) for m in wr if m["warningsMissing"]]
        extra = [(m["name"], m["warningsExtra"]) for m in wr if m["warningsExtra"]]
        line("warnings", f"quality warnings: {len(exact)}/{len(wr)} exactly as expected; missing {missing or 'none'}; "
             f"unexpected {extra or 'none'}", {"exact": len(exact), "of": len(wr), "missing": missing, "extra": extra})
    rc = [m for m in results if by[m["name"]].get("retakeCheck")]
    if rc:
        asked = [m for m in rc if m.get("retake")]
        line("retake", f"retake asked for (plain run of a doubtful capture): {len(asked)}/{len(rc)}"
             + (f"; not asked: {[m['name'] for m in rc if m not in asked]}" if len(asked) < len(rc) else ""),
             {"asked": len(asked), "of": len(rc)})
    of = [m for m in results if "outOfFrameFlagOK" in m]
    if of:
        line("outOfFrameFlag", f"out-of-frame flag on insisted cut-off pages: {sum(m['outOfFrameFlagOK'] for m in of)}/{len(of)}",
             {"ok": sum(m["outOfFrameFlagOK"] for m in of), "of": len(of)})
    se = [m for m in results if "sizeErrorPct" in m]
    if se:
        line("sizeMm", f"physical size (sizeMillimetres vs true): mean error {statistics.mean(m['sizeErrorPct'] for m in se):.2f} %, "
             f"worst {max(m['sizeErrorPct'] for m in se):.2f} %", {"meanPct": round(statistics.mean(m['sizeErrorPct'] for m in se), 2)})
    ae = [m for m in results if "aspectErrorPct" in m]
    if ae:
        line("aspect", f"assessment aspect vs true: mean error {statistics.mean(m['aspectErrorPct'] for m in ae):.2f} %, "
             f"worst {max(m['aspectErrorPct'] for m in ae):.2f} %", {"meanPct": round(statistics.mean(m['aspectErrorPct'] for m in ae), 2)})
    return out, figures


def failures(results):
    """The issue's four failures: reproduced (still failing) or fixed, with the figure that tells."""
    by = {m["name"]: m for m in results}
    out = []
    m = by.get("fail-shadow")
    if m:
        w = m.get("white")
        failing = not w or w["spread"] > 10 or w["min"] < 225
        out.append(("fail-shadow", failing, f"margins {w['min']:.0f}–{w['max']:.0f} (spread {w['spread']:.0f})" if w else f"no output ({m['decision']})"))
    m = by.get("fail-tilt38")
    if m:
        p = m.get("proportionErrorPct")
        failing = p is None or p > 2 or not m.get("qrRead")
        out.append(("fail-tilt38", failing, f"proportion off {fmt(p, '{:.1f}')} %, QR {'read' if m.get('qrRead') else 'unreadable'}"))
    m = by.get("fail-cutoff")
    if m:
        failing = m["decision"] != "refused" or m.get("code") != "document-out-of-frame"
        out.append(("fail-cutoff", failing, f"{m['decision']}{'/' + m['code'] if m.get('code') else ''}"
                    + (f", turned {fmt(m.get('turnDeg'), '{:+.2f}')}°, proportion off {fmt(m.get('proportionErrorPct'), '{:.1f}')} %"
                       if m["decision"] != "refused" else "")))
    m = by.get("fail-a4-as-card")
    if m:
        failing = m["decision"] != "refused" or m.get("code") != "idcard-not-a-card"
        out.append(("fail-a4-as-card", failing, f"{m['decision']}{'/' + m['code'] if m.get('code') else ''}"
                    + (f" (output {m['outputSize'][0]}×{m['outputSize'][1]})" if m.get("outputSize") else "")))
    return out


OUT_DIRS = {"oracle": "out-oracle", "old": "out-old"}
WHO = {"oracle": "the truth-knowing stand-in", "old": "the old pipeline (8f3ce88) re-done in Python"}


def evaluate_one(job):
    tongban, scene, outdir, oracle = job
    answer, out = run_tongban(tongban, scene, outdir, oracle)
    m = measure(scene, answer, out)
    m["answer"] = answer.get("json")
    return m


def evaluate(outdir, tongban, json_out, only=None, oracle=False):
    with open(os.path.join(outdir, "truth.json")) as f:
        truth_all = json.load(f)
    scenes = [s for s in truth_all["scenes"] if not only or s["name"] in only]
    os.makedirs(os.path.join(outdir, OUT_DIRS.get(oracle, "out")), exist_ok=True)
    started = time.monotonic()

    with concurrent.futures.ProcessPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        results = list(pool.map(evaluate_one, [(tongban, scene, outdir, oracle) for scene in scenes]))
    elapsed = time.monotonic() - started
    print(table(results, scenes))
    print()
    lines, figures = summary(results, scenes)
    for text in lines:
        print(text)
    fails = failures(results)
    if fails:
        print("the issue's four failures: " + "; ".join(f"{name} {'REPRODUCED' if failing else 'fixed'}: {why}" for name, failing, why in fails))
    print(f"{len(scenes)} scenes evaluated in {elapsed:.1f} s ({WHO.get(oracle, tongban)}); * = decision implied by the mode "
          f"(no assessment in the answer), ! = asked for a retake, measured on the --insist run, + = run with --insist")
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"tongban": WHO.get(oracle, tongban), "outdir": outdir, "seconds": round(elapsed, 1),
                       "pictureWidth": truth_all["pictureWidth"], "pictureHeight": truth_all["pictureHeight"],
                       "summary": figures, "failures": [{"scene": n, "failing": f, "figures": w} for n, f, w in fails],
                       "scenes": results}, f, ensure_ascii=False, indent=1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    mk = sub.add_parser("make")
    mk.add_argument("outdir")
    mk.add_argument("--size", default="1280x960")
    mk.add_argument("--only", default="")
    ev = sub.add_parser("evaluate")
    ev.add_argument("outdir")
    ev.add_argument("--tongban", default=os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), ".build", "debug", "tongban"))
    ev.add_argument("--json")
    ev.add_argument("--only", default="")
    ev.add_argument("--oracle", action="store_true", help="a stand-in that knows the truth, instead of tongban")
    ev.add_argument("--old-pipeline", action="store_true",
                    help="the pipeline before the rework (8f3ce88), re-done in Python, instead of tongban")
    sub.add_parser("list")
    args = parser.parse_args()
    if args.command == "make":
        w, h = (int(v) for v in args.size.lower().split("x"))
        make(args.outdir, (w, h), set(filter(None, args.only.split(","))))
    elif args.command == "evaluate":
        reference = "old" if args.old_pipeline else ("oracle" if args.oracle else None)
        evaluate(args.outdir, args.tongban, args.json, set(filter(None, args.only.split(","))), reference)
    else:
        for s in SCENES:
            print(f"{s['name']:<22} {s['mode']:<13} {s['paper']:<6} {s['note']}")


if __name__ == "__main__":
    main()
