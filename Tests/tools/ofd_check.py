#!/usr/bin/env python3
"""Checks an OFD file (GB/T 33190-2016) that Tongban wrote, and reads it back with an independent reader (easyofd).

usage: .venv/bin/python Tests/tools/ofd_check.py FILE.ofd [--reference PAGE_IMAGE] [--expect-text PHRASE ...]
                                                         [--save-render PNG]

Prints exactly one JSON line on stdout and exits 0 when every check passed, 1 otherwise:
  {"file", "ok", "problems": [str], "pages": int, "text": [str per page], "customData": {Name: value},
   "customTags": bool, "rendered": bool, "similarity": float|null}

1. Structure (zipfile + ElementTree): OFD.xml (root {http://www.ofdspec.org/2016}OFD, Version, DocType="OFD",
   DocInfo with DocID (32 hex characters, the standard's UUID) and CreationDate (xs:date), DocRoot ->
   Document.xml); Document.xml (CommonData/MaxUnitID, PageArea/PhysicalBox, Pages/Page whose BaseLoc exists);
   each page's Content.xml (parses, has or inherits a PhysicalBox); the PublicRes/DocumentRes files (Res/@BaseLoc;
   every MultiMedia's MediaFile exists, JPEG starts FF D8);
   every ImageObject/@ResourceID is a MultiMedia, every TextObject/@Font a PublicRes Font; IDs unique, >= 1 and
   <= MaxUnitID; the CustomTags file and each CustomTag's FileLoc exist ("customTags": true); DocInfo CustomDatas.
   Locations (ST_Loc) are relative to the folder of the file that names them, or to the package root when they start
   with "/"; a Res's MediaFile is relative to that Res's BaseLoc.
2. Text: per page, the TextCode texts in document order, concatenated (the invisible text layer).
3. easyofd: OFD().read(...) parses the package; its pages and texts must match the structure's; DrawPDF(data).draw_pdf()
   draws it to PDF (called directly: DrawPDF.__call__ hides any exception behind a blank "ofd 格式错误" page) and
   OFD().pdf2img() renders the first page ("rendered"); a blank render of a page 1 that has images is a problem
   (easyofd cannot place an image whose CTM rotates it). easyofd numbers pages by the first number in each Page
   BaseLoc, so a document of several pages needs Page_0, Page_1, ... With --reference, the render and the reference
   are turned grey, resized to 200 px wide (the reference's aspect), and similarity = 1 - mean |difference| / 255;
   below 0.85 is a problem. easyofd never reads Fill="false": it draws all text in the hard-coded font "宋体",
   which it registers only from a simsun.ttc; without that font (as on our machines) it draws no text at all; with
   it, it would draw the invisible layer visibly.
4. --expect-text: each phrase, with all white space removed, must occur in one page's text (white space removed too).

easyofd writes a copy of the package into the current directory and unzips it to the path before the first "." of that
directory (then deletes it), so it is run in a fresh temporary directory whose path has no ".".
"""
import argparse
import json
import logging
import os
import posixpath
import re
import shutil
import sys
import tempfile
import traceback
import zipfile
import xml.etree.ElementTree as ET

NS = "http://www.ofdspec.org/2016"
SIMILARITY_MIN = 0.85
SIMILARITY_WIDTH = 200


def q(tag):
    return "{%s}%s" % (NS, tag)


def local(tag):
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


class Package:
    """The zip and the problems found in it."""

    def __init__(self, zf, problems):
        self.zf = zf
        self.names = set(zf.namelist())
        self.problems = problems
        self.unprefixed = []  # OFD files whose elements are not written with the "ofd:" prefix
        self.first_page_images = []  # CTM of each ImageObject on page 1

    def problem(self, text):
        self.problems.append(text)

    def resolve(self, base_dir, loc):
        """Zip entry name for an ST_Loc named in a file whose folder is base_dir ('' for the root)."""
        loc = (loc or "").strip().replace("\\", "/")
        path = loc[1:] if loc.startswith("/") else posixpath.join(base_dir, loc)
        path = posixpath.normpath(path) if path else path
        if path.startswith("../") or path == "..":
            return None
        return path.lstrip("/")

    def exists(self, path):
        return path in self.names

    def xml(self, path, what):
        """Parsed root element of path, or None with a problem."""
        if path is None or path not in self.names:
            self.problem(f"{what}: {path!r} is not in the package")
            return None
        try:
            data = self.zf.read(path)
        except Exception as e:  # bad CRC, unsupported compression
            self.problem(f"{what}: {path} cannot be read: {e}")
            return None
        try:
            root = ET.fromstring(data)
        except ET.ParseError as e:
            self.problem(f"{what}: {path} is not well-formed XML: {e}")
            return None
        if root.tag.startswith("{" + NS + "}"):
            # easyofd (xmltodict without namespace processing) and several other readers look elements up by the
            # literal "ofd:" prefix.
            m = re.search(rb"<\s*([A-Za-z_][\w.-]*:)?" + re.escape(local(root.tag).encode()) + rb"[\s>/]", data)
            if m and m.group(1) != b"ofd:":
                self.unprefixed.append(path)
        return root


def folder(path):
    return posixpath.dirname(path)


def numbers(text, count=None):
    try:
        values = [float(v) for v in (text or "").split()]
    except ValueError:
        return None
    if count is not None and len(values) != count:
        return None
    return values


def box(element, what, pkg):
    """The 4 numbers of an ST_Box element's text, or None with a problem."""
    if element is None:
        return None
    values = numbers(element.text, 4)
    if values is None or values[2] <= 0 or values[3] <= 0:
        pkg.problem(f"{what}: PhysicalBox {element.text!r} is not 'x y width height' with a positive size")
        return None
    return values


def delta_count(delta):
    """Number of offsets an ST_Array DeltaX/DeltaY expands to ('g n d' is n offsets of d), or None if malformed."""
    tokens = (delta or "").split()
    count, i = 0, 0
    while i < len(tokens):
        if tokens[i] == "g":
            if i + 2 >= len(tokens):
                return None
            try:
                n = int(tokens[i + 1])
                float(tokens[i + 2])
            except ValueError:
                return None
            count += n
            i += 3
        else:
            try:
                float(tokens[i])
            except ValueError:
                return None
            count += 1
            i += 1
    return count


def check_structure(path, result):
    problems = result["problems"]
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        problems.append(f"{path}: no such file")
        return None
    except zipfile.BadZipFile as e:
        problems.append(f"not a zip package: {e}")
        return None
    pkg = Package(zf, problems)
    infos = zf.infolist()
    seen = set()
    for info in infos:
        if info.filename in seen:
            pkg.problem(f"zip: entry {info.filename} appears twice")
        seen.add(info.filename)
        if info.filename.startswith("/") or "\\" in info.filename or ".." in info.filename.split("/"):
            pkg.problem(f"zip: entry name {info.filename!r} is not a plain relative path")
    try:
        bad = zf.testzip()
        if bad:
            pkg.problem(f"zip: entry {bad} fails its CRC check")
    except Exception as e:
        pkg.problem(f"zip: cannot be read: {e}")
        return pkg

    ofd = pkg.xml("OFD.xml", "OFD.xml")
    if ofd is None:
        return pkg
    if ofd.tag != q("OFD"):
        pkg.problem(f"OFD.xml: root element is {ofd.tag}, not {q('OFD')}")
        return pkg
    if not ofd.get("Version"):
        pkg.problem("OFD.xml: OFD has no Version")
    elif ofd.get("Version") != "1.0":
        pkg.problem(f"OFD.xml: Version is {ofd.get('Version')!r}; GB/T 33190-2016 fixes it to '1.0'")
    if ofd.get("DocType") != "OFD":
        pkg.problem(f"OFD.xml: DocType is {ofd.get('DocType')!r}, not 'OFD'")
    bodies = ofd.findall(q("DocBody"))
    if not bodies:
        pkg.problem("OFD.xml: no DocBody")
        return pkg
    body = bodies[0]
    info = body.find(q("DocInfo"))
    if info is None:
        pkg.problem("OFD.xml: DocBody has no DocInfo")
    else:
        doc_id = (info.findtext(q("DocID")) or "").strip()
        if not doc_id:
            pkg.problem("OFD.xml: DocInfo has no DocID")
        elif not re.fullmatch(r"[0-9A-Fa-f]{32}", doc_id):
            pkg.problem(f"OFD.xml: DocID {doc_id!r} is not the 32-character UUID the standard asks for")
        created = info.findtext(q("CreationDate"))
        if created is None or not created.strip():
            pkg.problem("OFD.xml: DocInfo has no CreationDate")
        elif not re.fullmatch(r"-?\d{4,}-\d{2}-\d{2}(Z|[+-]\d{2}:\d{2})?", created.strip()):
            pkg.problem(f"OFD.xml: CreationDate {created!r} is not an xs:date (YYYY-MM-DD)")
        for data in info.findall(q("CustomDatas") + "/" + q("CustomData")):
            name = data.get("Name")
            if not name:
                pkg.problem("OFD.xml: a CustomData has no Name")
                continue
            result["customData"][name] = data.text or ""
    doc_root_loc = (body.findtext(q("DocRoot")) or "").strip()
    if not doc_root_loc:
        pkg.problem("OFD.xml: DocBody has no DocRoot")
        return pkg
    for tag in ("Signatures",):
        loc = body.findtext(q(tag))
        if loc and not pkg.exists(pkg.resolve("", loc)):
            pkg.problem(f"OFD.xml: {tag} {loc!r} is not in the package")

    doc_path = pkg.resolve("", doc_root_loc)
    doc = pkg.xml(doc_path, "DocRoot")
    if doc is None:
        return pkg
    if doc.tag != q("Document"):
        pkg.problem(f"{doc_path}: root element is {doc.tag}, not {q('Document')}")
        return pkg
    doc_dir = folder(doc_path)
    common = doc.find(q("CommonData"))
    max_id, default_box = None, None
    public_res, document_res = [], []
    if common is None:
        pkg.problem(f"{doc_path}: no CommonData")
    else:
        max_text = common.findtext(q("MaxUnitID"))
        if max_text is None:
            pkg.problem(f"{doc_path}: CommonData has no MaxUnitID")
        else:
            try:
                max_id = int(max_text.strip())
            except ValueError:
                pkg.problem(f"{doc_path}: MaxUnitID {max_text!r} is not an integer")
        area = common.find(q("PageArea"))
        if area is None or area.find(q("PhysicalBox")) is None:
            pkg.problem(f"{doc_path}: CommonData has no PageArea/PhysicalBox")
        else:
            default_box = box(area.find(q("PhysicalBox")), doc_path, pkg)
        public_res = [(e.text or "").strip() for e in common.findall(q("PublicRes"))]
        document_res = [(e.text or "").strip() for e in common.findall(q("DocumentRes"))]

    ids = {}  # ID -> where it was declared

    def declare(element, where):
        value = element.get("ID")
        if value is None:
            pkg.problem(f"{where}: {local(element.tag)} has no ID")
            return None
        try:
            number = int(value)
        except ValueError:
            pkg.problem(f"{where}: {local(element.tag)} ID {value!r} is not an integer")
            return None
        if number < 1:
            pkg.problem(f"{where}: {local(element.tag)} ID {value} (0 is the invalid ID; IDs start at 1)")
        if max_id is not None and number > max_id:
            pkg.problem(f"{where}: {local(element.tag)} ID {value} is above MaxUnitID {max_id}")
        if number in ids:
            pkg.problem(f"{where}: {local(element.tag)} ID {value} is already used by {ids[number]}")
        else:
            ids[number] = f"{local(element.tag)} in {where}"
        return number

    fonts, media = set(), set()
    for kind, locs in (("PublicRes", public_res), ("DocumentRes", document_res)):
        for loc in locs:
            res_path = pkg.resolve(doc_dir, loc)
            res = pkg.xml(res_path, f"{doc_path} {kind}")
            if res is None:
                continue
            if res.tag != q("Res"):
                pkg.problem(f"{res_path}: root element is {res.tag}, not {q('Res')}")
                continue
            if res.get("BaseLoc") is None:
                pkg.problem(f"{res_path}: Res has no BaseLoc (required)")
            base = pkg.resolve(folder(res_path), res.get("BaseLoc") or "")
            for element in res.iter():
                if element is not res and element.get("ID") is not None:
                    declare(element, res_path)
            for font in res.iter(q("Font")):
                if not font.get("FontName"):
                    pkg.problem(f"{res_path}: Font {font.get('ID')} has no FontName")
                font_file = font.findtext(q("FontFile"))
                if font_file and not pkg.exists(pkg.resolve(base, font_file)):
                    pkg.problem(f"{res_path}: Font {font.get('ID')} FontFile {pkg.resolve(base, font_file)} is missing")
                if kind == "PublicRes" and font.get("ID"):
                    fonts.add(font.get("ID").strip())
            for mm in res.iter(q("MultiMedia")):
                mid = (mm.get("ID") or "").strip()
                if mm.get("Type") not in ("Image", "Audio", "Video"):
                    pkg.problem(f"{res_path}: MultiMedia {mid} Type is {mm.get('Type')!r}, not Image/Audio/Video")
                if mid:
                    media.add(mid)
                media_file = (mm.findtext(q("MediaFile")) or "").strip()
                if not media_file:
                    pkg.problem(f"{res_path}: MultiMedia {mid} has no MediaFile")
                    continue
                media_path = pkg.resolve(base, media_file)
                if not pkg.exists(media_path):
                    pkg.problem(f"{res_path}: MultiMedia {mid} MediaFile {media_path} is not in the package")
                    continue
                head = pkg.zf.read(media_path)[:8]
                fmt = (mm.get("Format") or posixpath.splitext(media_file)[1].lstrip(".")).upper()
                if fmt in ("JPEG", "JPG") and head[:2] != b"\xff\xd8":
                    pkg.problem(f"{res_path}: MultiMedia {mid} {media_path} is not a JPEG (starts {head[:4].hex()})")
                if fmt == "PNG" and head != b"\x89PNG\r\n\x1a\n":
                    pkg.problem(f"{res_path}: MultiMedia {mid} {media_path} is not a PNG (starts {head[:4].hex()})")
                if fmt in ("TIFF", "TIF") and head[:4] not in (b"II*\x00", b"MM\x00*"):
                    pkg.problem(f"{res_path}: MultiMedia {mid} {media_path} is not a TIFF (starts {head[:4].hex()})")

    pages = doc.findall(q("Pages") + "/" + q("Page"))
    if doc.find(q("Pages")) is None or not pages:
        pkg.problem(f"{doc_path}: no Pages/Page")
    result["pages"] = len(pages)
    for number, page in enumerate(pages, start=1):
        declare(page, f"{doc_path} Pages")
        loc = page.get("BaseLoc")
        if not loc:
            pkg.problem(f"{doc_path}: Page {page.get('ID')} has no BaseLoc")
            result["text"].append("")
            continue
        page_path = pkg.resolve(doc_dir, loc)
        content = pkg.xml(page_path, f"page {number}")
        texts = []
        if content is not None:
            if content.tag != q("Page"):
                pkg.problem(f"{page_path}: root element is {content.tag}, not {q('Page')}")
            physical = content.find(q("Area") + "/" + q("PhysicalBox"))
            if physical is not None:
                box(physical, page_path, pkg)
            elif default_box is None:
                pkg.problem(f"{page_path}: no Area/PhysicalBox and the document has no PageArea to inherit")
            for element in content.iter():
                if element is not content and element.get("ID") is not None:
                    declare(element, page_path)
                name = element.tag
                if name in (q("ImageObject"), q("TextObject"), q("PathObject"), q("CompositeObject")):
                    if numbers(element.get("Boundary"), 4) is None:
                        pkg.problem(f"{page_path}: {local(name)} {element.get('ID')} Boundary "
                                    f"{element.get('Boundary')!r} is not 'x y width height' (required)")
                if name == q("ImageObject"):
                    if number == 1:
                        pkg.first_page_images.append(element.get("CTM") or "")
                    rid = (element.get("ResourceID") or "").strip()
                    if rid not in media:
                        pkg.problem(f"{page_path}: ImageObject {element.get('ID')} ResourceID {rid!r} is not a "
                                    f"MultiMedia of the document's resources")
                elif name == q("TextObject"):
                    font = (element.get("Font") or "").strip()
                    if font not in fonts:
                        pkg.problem(f"{page_path}: TextObject {element.get('ID')} Font {font!r} is not a Font of "
                                    f"PublicRes")
                    if numbers(element.get("Size"), 1) is None:
                        pkg.problem(f"{page_path}: TextObject {element.get('ID')} Size {element.get('Size')!r} "
                                    f"is not a number (required)")
                    for code in element.iter(q("TextCode")):
                        text = code.text or ""
                        texts.append(text)
                        for axis in ("DeltaX", "DeltaY"):
                            if code.get(axis) is None:
                                continue
                            count = delta_count(code.get(axis))
                            if count is None:
                                pkg.problem(f"{page_path}: TextObject {element.get('ID')} {axis} "
                                            f"{code.get(axis)!r} is not an ST_Array of numbers / 'g n d'")
                            elif count > max(len(text) - 1, 0):
                                pkg.problem(f"{page_path}: TextObject {element.get('ID')} {axis} has {count} "
                                            f"offsets for {len(text)} characters (at most {max(len(text) - 1, 0)})")
        result["text"].append("".join(texts))

    for tag in ("Annotations", "Attachments", "Extensions"):
        loc = doc.findtext(q(tag))
        if loc and not pkg.exists(pkg.resolve(doc_dir, loc)):
            pkg.problem(f"{doc_path}: {tag} {pkg.resolve(doc_dir, loc)} is not in the package")

    tags_loc = doc.findtext(q("CustomTags"))
    if tags_loc is not None:
        tags_path = pkg.resolve(doc_dir, tags_loc.strip())
        tags = pkg.xml(tags_path, f"{doc_path} CustomTags")
        if tags is not None:
            good = True
            if tags.tag != q("CustomTags"):
                pkg.problem(f"{tags_path}: root element is {tags.tag}, not {q('CustomTags')}")
                good = False
            for tag in tags.findall(q("CustomTag")):
                if not tag.get("NameSpace"):
                    pkg.problem(f"{tags_path}: a CustomTag has no NameSpace (required)")
                    good = False
                schema = tag.findtext(q("SchemaLoc"))
                if schema and not pkg.exists(pkg.resolve(folder(tags_path), schema.strip())):
                    pkg.problem(f"{tags_path}: SchemaLoc {schema!r} is not in the package")
                    good = False
                file_loc = tag.findtext(q("FileLoc"))
                if not file_loc or not file_loc.strip():
                    pkg.problem(f"{tags_path}: a CustomTag has no FileLoc")
                    good = False
                    continue
                tag_path = pkg.resolve(folder(tags_path), file_loc.strip())
                if pkg.xml(tag_path, f"{tags_path} CustomTag {tag.get('NameSpace')}") is None:
                    good = False
            result["customTags"] = good
    if pkg.unprefixed:
        pkg.problem(f"{', '.join(pkg.unprefixed)}: the OFD namespace is not written with the 'ofd:' prefix, which "
                    f"easyofd (and other readers) match literally")
    return pkg


def quiet_easyofd():
    """Import easyofd with its loguru output cut to warnings (it logs at DEBUG and prints to stdout)."""
    try:
        from loguru import logger
        logger.remove()
        logger.add(sys.stderr, level="WARNING")
    except ImportError:
        pass
    import easyofd
    from easyofd import OFD
    from easyofd.draw import DrawPDF
    return easyofd, OFD, DrawPDF


class Captured(logging.Handler):
    """Collects the warnings easyofd's draw_chars logs (and swallows) through the logging module."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def check_easyofd(data, result, reference, save_render, first_page_images):
    problems = result["problems"]
    try:
        easyofd, OFD, DrawPDF = quiet_easyofd()
    except Exception as e:
        problems.append(f"easyofd cannot be imported: {type(e).__name__}: {e}")
        return
    workdir = None
    for parent in (None, "/tmp"):
        candidate = tempfile.mkdtemp(prefix="ofdcheck_", dir=parent)
        if "." not in candidate:
            workdir = candidate
            break
        os.rmdir(candidate)
    if workdir is None:
        problems.append("easyofd not run: no temporary directory without a '.' in its path (easyofd unzips to the "
                        "path before the first '.' of its working directory and deletes it)")
        return
    cwd = os.getcwd()
    captured = Captured()
    logging.getLogger().addHandler(captured)
    try:
        os.chdir(workdir)
        reader = OFD()
        try:
            reader.read(data, fmt="binary")
        except Exception as e:
            traceback.print_exc()
            problems.append(f"easyofd cannot parse the package: {type(e).__name__}: {e}")
            return
        parsed = reader.data[0]
        page_info = parsed.get("page_info") or {}
        numbers_seen = sorted(page_info)
        if len(page_info) != result["pages"]:
            problems.append(f"easyofd reads {len(page_info)} page(s), the package has {result['pages']}")
        elif len(page_info) > 1 and numbers_seen != list(range(len(page_info))):
            problems.append(f"easyofd numbers the pages {numbers_seen} (the first number in each Page BaseLoc); it "
                            f"needs 0..{len(page_info) - 1} to size and separate the pages")
        for index, number in enumerate(numbers_seen):
            texts = "".join(str(t.get("text", "")) for t in page_info[number].get("text_list") or [])
            if index < len(result["text"]) and texts != result["text"][index]:
                problems.append(f"easyofd reads page {index + 1} text {texts!r}, the structure has "
                                f"{result['text'][index]!r}")
        try:
            drawer = DrawPDF(reader.data)
            drawer.draw_pdf()  # not DrawPDF(): that catches every exception and returns a blank "ofd 格式错误" page
            pdf = drawer.pdf_io.getvalue()
        except Exception as e:
            traceback.print_exc()
            problems.append(f"easyofd cannot draw the package: {type(e).__name__}: {e}")
            return
        for message in captured.messages:
            print(f"easyofd: {message}", file=sys.stderr)
            if message.startswith(("文本绘制失败", "处理文本块失败", "计算坐标失败", "处理 CTM")):
                problems.append(f"easyofd could not draw some text: {message}")
        try:
            images = reader.pdf2img(pdf)
        except Exception as e:
            traceback.print_exc()
            problems.append(f"easyofd cannot render its PDF: {type(e).__name__}: {e}")
            return
        if len(images) != result["pages"]:
            problems.append(f"easyofd renders {len(images)} page(s), the package has {result['pages']}")
        if not images:
            return
        result["rendered"] = True
        rendered = images[0]
    finally:
        os.chdir(cwd)
        logging.getLogger().removeHandler(captured)
        shutil.rmtree(workdir, ignore_errors=True)
    low, high = rendered.convert("L").getextrema()
    if first_page_images and high - low < 8:
        rotated = [ctm for ctm in first_page_images
                   if (m := numbers(ctm, 6)) and (m[1] != 0 or m[2] != 0 or m[0] < 0 or m[3] < 0)]
        problems.append(f"easyofd drew nothing on page 1 although it has {len(first_page_images)} ImageObject(s)"
                        + (f"; easyofd cannot place an image whose CTM rotates or flips it ({rotated[0]})"
                           if rotated else ""))
    if save_render:
        try:
            rendered.save(save_render)
        except Exception as e:
            problems.append(f"cannot save the render to {save_render}: {e}")
    if reference:
        compare(rendered, reference, result)


def compare(rendered, reference, result):
    from PIL import Image
    try:
        ref = Image.open(reference)
        ref.load()
    except Exception as e:
        result["problems"].append(f"reference image {reference} cannot be read: {e}")
        return
    width = SIMILARITY_WIDTH
    height = max(1, round(width * ref.height / ref.width))
    a = ref.convert("L").resize((width, height), Image.LANCZOS)
    b = rendered.convert("L").resize((width, height), Image.LANCZOS)
    pa, pb = a.tobytes(), b.tobytes()
    mean = sum(abs(x - y) for x, y in zip(pa, pb)) / len(pa)
    similarity = round(1 - mean / 255, 4)
    result["similarity"] = similarity
    if similarity < SIMILARITY_MIN:
        result["problems"].append(f"the easyofd render of page 1 differs from {reference}: similarity {similarity} "
                                  f"< {SIMILARITY_MIN}")


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file")
    parser.add_argument("--reference", help="image of page 1 to compare the easyofd render with")
    parser.add_argument("--expect-text", nargs="+", default=[], metavar="PHRASE",
                        help="phrases that must occur in the text layer")
    parser.add_argument("--save-render", metavar="PNG", help="also save easyofd's render of page 1 here")
    args = parser.parse_args(argv)

    # Only the JSON line goes to stdout: easyofd print()s and MuPDF may write there, so fd 1 points at stderr
    # until the end.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    sys.stdout.flush()
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    result = {"file": args.file, "ok": False, "problems": [], "pages": 0, "text": [], "customData": {},
              "customTags": False, "rendered": False, "similarity": None}
    try:
        pkg = check_structure(args.file, result)
        if pkg is not None:
            with open(args.file, "rb") as f:
                data = f.read()
            check_easyofd(data, result, args.reference, args.save_render, pkg.first_page_images)
        elif args.reference:
            result["problems"].append("no render to compare with the reference: the file is not an OFD package")
        squeezed = ["".join(t.split()) for t in result["text"]]
        for phrase in args.expect_text:
            wanted = "".join(phrase.split())
            if wanted and not any(wanted in t for t in squeezed):
                result["problems"].append(f"text {phrase!r} is not in the text layer")
    except Exception as e:
        traceback.print_exc()
        result["problems"].append(f"checker error: {type(e).__name__}: {e}")
    result["ok"] = not result["problems"]
    out.write(json.dumps(result, ensure_ascii=False) + "\n")
    out.flush()
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
