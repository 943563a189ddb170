#!/usr/bin/python3
"""Synthetic document-camera pictures: a page or card laid on a textured desk, seen in perspective, with the
corners known. ImageMagick (convert) does the drawing and the warping; nothing here looks for the corners.

  desk_photos.py set OUTDIR COUNT PAGE.png     COUNT photos of PAGE: OUTDIR/photo-N.jpg and OUTDIR/corners-N.txt
                                               (four "x y" lines: top-left, top-right, bottom-right, bottom-left,
                                               in pixel edges)
  desk_photos.py card OUTDIR                   an ID card specimen, both sides: OUTDIR/card-front.png, card-back.png
  desk_photos.py scene OUT.jpg PAGE.png SEED   one photo of PAGE (the simulated camera's scenes)
"""
import math
import os
import random
import subprocess
import sys

WIDTH, HEIGHT = 1280, 960
FONT = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC:style=Regular"], capture_output=True, text=True).stdout


def size_of(path):
    out = subprocess.run(["identify", "-format", "%w %h", path], capture_output=True, text=True, check=True).stdout
    w, h = out.split()
    return int(w), int(h)


def background(path, seed):
    """Desks: wood-like plasma, blurred noise (cloth), a dark gradient with grain; all darker than paper."""
    kind = seed % 3
    if kind == 0:
        spec = ["-size", f"{WIDTH}x{HEIGHT}", "-seed", str(seed), "plasma:#3a2614-#7a5232", "-blur", "0x2"]
    elif kind == 1:
        spec = ["-size", f"{WIDTH}x{HEIGHT}", "xc:#4a5260", "-seed", str(seed), "-attenuate", "2.5", "+noise", "Gaussian", "-blur", "0x1.2"]
    else:
        spec = ["-size", f"{WIDTH}x{HEIGHT}", "gradient:#2c3440-#6a6058", "-seed", str(seed), "-attenuate", "1.5", "+noise", "Uniform"]
    subprocess.run(["convert", *spec, path], check=True)


# The camera: a pinhole with its principal point at the picture's centre and this horizontal field of view.
FIELD_OF_VIEW = 60.0


def quad(rng, page_w, page_h):
    """Where the page's corners land: the page lying on the desk, turned and shifted, seen by a pinhole camera tilted
    forward by a few degrees (so the far edge is shorter, as a real camera sees it: a true perspective); wholly in
    view, a margin from the picture's edges."""
    while True:
        corners = placed(rng, page_w, page_h)
        if all(8 <= x <= WIDTH - 8 and 8 <= y <= HEIGHT - 8 for x, y in corners):
            return corners


def placed(rng, page_w, page_h):
    """One random placement of the page (its corners may fall outside the picture)."""
    target_h = HEIGHT * rng.uniform(0.55, 0.82)
    scale = target_h / max(page_h, page_w * 0.9)
    w, h = page_w * scale, page_h * scale
    angle = math.radians(rng.uniform(-25, 25))
    pitch = math.radians(rng.uniform(0, 20))
    focal = WIDTH / 2 / math.tan(math.radians(FIELD_OF_VIEW / 2))
    ox = rng.uniform(-0.12, 0.12) * WIDTH
    oy = rng.uniform(-0.08, 0.08) * HEIGHT
    cos, sin = math.cos(angle), math.sin(angle)
    corners = []
    for x, y in [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]:
        # On the desk plane (at the camera's focal distance, where a pixel of the page is a pixel of the picture)…
        px, py = ox + x * cos - y * sin, oy + x * sin + y * cos
        # …which is tilted by `pitch` about the picture's horizontal axis, then projected.
        depth = focal + py * math.sin(pitch)
        corners.append((WIDTH / 2 + focal * px / depth, HEIGHT / 2 + focal * py * math.cos(pitch) / depth))
    return corners


def photo(page, out_jpg, seed, corners_txt=None):
    rng = random.Random(seed)
    page_w, page_h = size_of(page)
    corners = quad(rng, page_w, page_h)
    tmp = out_jpg + ".tmp"
    background(tmp + "-bg.png", seed)
    pairs = [(0, 0), (page_w, 0), (page_w, page_h), (0, page_h)]
    distort = " ".join(f"{sx},{sy} {dx:.3f},{dy:.3f}" for (sx, sy), (dx, dy) in zip(pairs, corners))
    # The page, lit a little unevenly (paper under a desk lamp is never flat white).
    subprocess.run(["convert", page, "-alpha", "set", "-virtual-pixel", "transparent", "-background", "none",
                    "-extent", f"{max(WIDTH, page_w)}x{max(HEIGHT, page_h)}",
                    "-distort", "Perspective", distort, "-crop", f"{WIDTH}x{HEIGHT}+0+0", "+repage",
                    "-modulate", str(88 + seed % 10), tmp + "-fg.png"], check=True)
    subprocess.run(["convert", tmp + "-bg.png", tmp + "-fg.png", "-composite", "-quality", "90", out_jpg], check=True)
    for suffix in ("-bg.png", "-fg.png"):
        os.remove(tmp + suffix)
    if corners_txt:
        with open(corners_txt, "w") as f:
            f.write("\n".join(f"{x:.3f} {y:.3f}" for x, y in corners) + "\n")


def card(outdir):
    """An ID card specimen (ID-1, 85.6 × 54 mm at 10 px/mm, corners rounded at 3.18 mm as ISO/IEC 7810 has them),
    front and back; a made-up person, marked 样本."""
    common = ["-size", "856x540", "gradient:#eef3f6-#d8e6ee", "-font", FONT, "-fill", "#203040"]
    subprocess.run(["convert", *common,
                    "-pointsize", "30", "-annotate", "+60+90", "姓名  李华",
                    "-annotate", "+60+150", "性别  女    民族  汉",
                    "-annotate", "+60+210", "出生  1949 年 12 月 31 日",
                    "-annotate", "+60+270", "住址  北京市东城区样本路 1 号",
                    "-annotate", "+60+470", "公民身份号码  11010519491231002X",
                    "-fill", "#b8c4cc", "-draw", "rectangle 600,70 800,330",
                    "-fill", "#c03030", "-pointsize", "44", "-annotate", "+640+420", "样本",
                    os.path.join(outdir, "card-front.png")], check=True)
    rounded(os.path.join(outdir, "card-front.png"))
    subprocess.run(["convert", *common,
                    "-fill", "#a03030", "-draw", "circle 120,120 120,50",
                    "-fill", "#203040", "-pointsize", "40", "-annotate", "+260+110", "中华人民共和国",
                    "-pointsize", "56", "-annotate", "+260+190", "居民身份证",
                    "-pointsize", "26", "-annotate", "+120+400", "签发机关  北京市公安局东城分局",
                    "-annotate", "+120+460", "有效期限  2020.01.01-长期",
                    "-fill", "#c03030", "-pointsize", "44", "-annotate", "+640+300", "样本",
                    os.path.join(outdir, "card-back.png")], check=True)
    rounded(os.path.join(outdir, "card-back.png"))


def rounded(path):
    """Cuts the card's corners round (radius 31.8 px = 3.18 mm): transparent outside, so the desk shows there."""
    subprocess.run(["convert", path, "(", "-size", "856x540", "xc:none", "-fill", "white",
                    "-draw", "roundrectangle 0,0 855,539 31.8,31.8", ")", "-compose", "DstIn", "-composite", path], check=True)


def main():
    command = sys.argv[1]
    if command == "set":
        outdir, count, page = sys.argv[2], int(sys.argv[3]), sys.argv[4]
        for n in range(count):
            photo(page, f"{outdir}/photo-{n}.jpg", 1000 + n, f"{outdir}/corners-{n}.txt")
    elif command == "card":
        card(sys.argv[2])
    elif command == "scene":
        photo(sys.argv[3], sys.argv[2], int(sys.argv[4]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
