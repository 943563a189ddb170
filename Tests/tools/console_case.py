"""The `case` scenario of browser_e2e.py: one whole case at the counter through the console's case workflow, at
1366×768, checked item by item against the console issue (1–10), then a second applicant after the first.

Applicant A (the resident specimen card, 李华): new case, card placed, record revealed with a typed reason, a batch
scanned (营业执照), a document captured (身份证复印件), the 收件通知书 filled from the card and from the case's
materials, printed (on A4) and delivered. Every real click, typed field and scroll the driver needs for that is
counted (the checks' own actions are not). Then the checks that need the case (scan batches, problems, English),
the card lifted, 新办件, a new case number: no trace of A may be left. Applicant B (the HK/Macao/Taiwan card, 陈大文)
then fills from the card through the reason dialog (spaces refused), scans and prints.

Each check is recorded under its item; an item passes when all its checks pass. A phase that cannot go on (an
element missing, a wait that ran out) fails its items with the reason and the scenario carries on with the next.
"""
import asyncio
import glob
import json
import os
import re
import shutil
import subprocess
import time
from datetime import datetime, timedelta, timezone

# No batch on screen and 开始扫描 usable again.
BATCH_CLOSED = ("(!document.querySelector('#scan-batch') || document.querySelector('#scan-batch').hidden)"
                " && document.querySelectorAll('#scan-pages li[data-page]').length === 0 && !document.querySelector('#scan-start').disabled")
ITEMS = ["1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "sequence"]
ITEM_TITLES = {
    "1": "从身份证填入 leaves the materials rows alone",
    "2": "new case forgets the applicant; fill-from-card asks a reason, refuses spaces, audits it as typed",
    "3": "scan batches: confirm before replacing, batch shows its case, finishing for another case asks",
    "4": "no raw JS errors after a second Alt+F and after 放弃本批 (which asks); buttons of a gone batch disabled",
    "5": "print validation cleared after a good print; scanner-busy stays visible; print jobs near the print button",
    "6": "problems in one language, no internals; invalid fields marked; 男/女, 长期, form titles, no paths, China time",
    "7": "1366×768: short page, print and delivery reachable, devices and events in the drawer",
    "8": "materials: notice rows from attachments, operator and defaults, thumbnails, viewer, delete/undo, labels",
    "9": "printed on A4",
    "10": "demo devices say 模拟; camera scene",
    "sequence": "two applicants: no trace of A, then B's case works",
}

A = {"card": "resident", "name": "李华", "id": "11010519491231002X", "masked": "110105********002X", "sex": "女"}
B = {"card": "hkMacaoTaiwan", "name": "陈大文", "sex": "男"}
OPERATOR_FALLBACK = "演示柜员"
# Rows of the case's deliveries; the first wave's outbox table keeps the flow going on the old console.
DELIVERIES = "#deliveries tr[data-attachment], #outbox-table tbody tr[data-attachment]"
# The case's materials; the first wave listed captures only (#captures) and told of a finished batch in #scan-status.
HAS_MATERIAL = ("(name) => [...document.querySelectorAll('#materials li[data-attachment], #captures li')].some(li => li.innerText.includes(name))"
                " || (name === '营业执照' && !document.querySelector('#materials') && /PDF/.test(document.querySelector('#scan-status')?.innerText ?? ''))")

CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")


def q(selector):
    return json.dumps(selector)


def visible(selector):
    """JS: the element exists, is rendered and no ancestor is [hidden]."""
    return (f"(e => !!e && !e.closest('[hidden]') && e.getClientRects().length > 0"
            f" && getComputedStyle(e).visibility !== 'hidden')(document.querySelector({q(selector)}))")


def text_of(selector):
    return f"(document.querySelector({q(selector)})?.innerText ?? '')"


class Checks:
    def __init__(self):
        self.items = {item: [] for item in ITEMS}

    def check(self, item, name, passed, detail=None):
        entry = {"check": name, "pass": bool(passed)}
        if detail is not None:
            entry["detail"] = detail
        self.items[item].append(entry)
        return bool(passed)

    def summary(self):
        result = {}
        for item, checks in self.items.items():
            passed = bool(checks) and all(check["pass"] for check in checks)
            result[item] = {"pass": passed, "title": ITEM_TITLES[item],
                            "failed": [c for c in checks if not c["pass"]] or ([] if checks else ["not checked"]),
                            "checks": len(checks)}
        return result


class Case:
    def __init__(self, browser, tongban, clerk, pin, artefacts, findings, spool, audit_db, step_failed):
        self.b = browser
        self.tongban = tongban
        self.clerk = clerk
        self.pin = pin
        self.artefacts = artefacts
        self.findings = findings
        self.spool = spool
        self.audit_db = audit_db
        self.StepFailed = step_failed
        self.checks = Checks()
        self.figures = {}
        stamp = datetime.now().strftime("%m%d%H%M%S")
        self.case_a = f"SX2026{stamp}1"
        self.case_b = f"SX2026{stamp}2"
        self.case_other = f"SX2026{stamp}9"
        self.a_attachments = []
        self.a_images = []
        self.a_pdf = None
        self.print_started = time.time()

    # ---- helpers -------------------------------------------------------------------------------------------------

    def check(self, *arguments):
        return self.checks.check(*arguments)

    async def phase(self, name, items, action):
        """Runs one phase; a step that cannot be done fails the phase's items and the scenario goes on."""
        started = time.monotonic()
        try:
            await action()
        except (self.StepFailed, asyncio.TimeoutError) as failure:
            reason = str(failure) or type(failure).__name__
            for item in items:
                self.check(item, f"phase '{name}' completed", False, reason[:500])
            try:
                await self.b.screenshot(f"failed-{name}")
            except Exception:
                pass
            await self.close_dialogs()
        self.findings.setdefault("phases", {})[name] = round(time.monotonic() - started, 1)

    async def close_dialogs(self):
        """After a failed phase: dialogs left open are answered no/closed so the next phase starts clean."""
        for dialog, button in (("#confirm", "#confirm-no"), ("#reason-dialog", "#reason-cancel"), ("#viewer", "#viewer-close")):
            try:
                if await self.b.evaluate(visible(dialog)):
                    await self.b.evaluate(f"document.querySelector({q(button)})?.click()")
            except Exception:
                pass

    async def soft_wait(self, expression, timeout):
        """Waits for `expression` up to `timeout` s; its value, or None (a question whose answer may be no)."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.b.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(0.15)

    async def wait(self, expression, what, timeout=90):
        return await self.b.wait_for(expression, what, timeout)

    async def exists(self, selector):
        return await self.b.evaluate(f"!!document.querySelector({q(selector)})")

    async def is_visible(self, selector):
        return await self.b.evaluate(visible(selector))

    async def answer_confirm(self, yes, timeout=6):
        """Answers #confirm if it shows within `timeout` s; returns its text, or None when nothing asked."""
        asked = await self.soft_wait(f"{visible('#confirm')} && {text_of('#confirm-text')} || ({visible('#confirm')} && '?')", timeout)
        if asked:
            await self.b.click("#confirm-yes" if yes else "#confirm-no")
            await self.soft_wait(f"!{visible('#confirm')}", 10)
        return asked

    async def raw_error_text(self):
        """JS error text that reached the page: anywhere for 'Cannot read properties', in messages for undefined/null."""
        return await self.b.evaluate("""(() => {
            const found = [];
            const body = document.body.innerText;
            for (const phrase of ['Cannot read properties', 'is not a function', 'is not defined', '[object Object]', 'TypeError']) {
                if (body.includes(phrase)) found.push(phrase);
            }
            const messages = [...document.querySelectorAll('.message, .problem, .field-error, [id$=-status], #notice, #print-jobs, #deliveries')];
            for (const element of messages) {
                const text = element.innerText || '';
                if (/\\bundefined\\b|\\bnull\\b|\\bNaN\\b/.test(text)) found.push(`${element.id || element.className}: ${text.slice(0, 120)}`);
            }
            return found;
        })()""")

    async def problems_now(self):
        """Every problem shown: visible .message[data-code] elements (and the field errors), their visible text."""
        return await self.b.evaluate("""[...document.querySelectorAll('.message[data-code], .field-error, .problem')]
            .filter((e) => !e.closest('[hidden]') && e.getClientRects().length > 0 && e.innerText.trim())
            .map((e) => ({id: e.id || e.className, code: e.dataset.code ?? null, text: e.innerText.trim(),
                          all: e.textContent.trim()}))""")

    def language_leaks(self, problems, language, allowed=()):
        """Words of the other language in problem texts (case numbers and typed values are allowed)."""
        leaks = []
        for problem in problems:
            text = problem["text"]
            for value in allowed:
                text = text.replace(value, " ")
            if language == "zh":
                # Latin words of three or more small letters (PDF, USB, A4, Alt+P and case numbers pass).
                words = [w for w in re.findall(r"[A-Za-z][A-Za-z'-]{2,}", text) if not w.isupper() and w not in ("Alt",)]
                if words:
                    leaks.append({"text": problem["text"][:200], "english": words[:8]})
            elif CJK.search(text):
                leaks.append({"text": problem["text"][:200], "chinese": CJK.findall(text)[:8]})
        return leaks

    def internals(self, problems):
        return [p["all"][:200] for p in problems if "systemctl" in p["all"] or "GET /v1/" in p["all"] or "POST /v1/" in p["all"]]

    async def set_value(self, selector, value):
        """Sets a field by script (a check's setup, not the clerk's typing)."""
        await self.b.evaluate(f"""(() => {{ const e = document.querySelector({q(selector)});
            e.value = {json.dumps(value)}; e.dispatchEvent(new Event('input', {{bubbles: true}}));
            e.dispatchEvent(new Event('change', {{bubbles: true}})); }})()""")

    async def network_reveals(self):
        return [url for url in self.b.requests if "/v1/idcard/records/" in url and "reveal=" in url]

    async def materials_rows(self):
        return await self.b.evaluate("""[...document.querySelectorAll('#notice-form tbody tr')].map((row) =>
            Object.fromEntries([...row.querySelectorAll('input, select')].map((input) => [input.name, input.value])))""")

    async def materials_tiles(self):
        return await self.b.evaluate("""[...document.querySelectorAll('#materials li[data-attachment]')].map((li) => {
            const img = li.querySelector('img.thumb');
            const tile = li.querySelector('.thumb');
            return {id: li.dataset.attachment, case: li.dataset.case, text: li.innerText.replace(/\\s+/g, ' ').trim(),
                    thumb: img ? (img.complete && img.naturalWidth > 0 ? 'image' : 'image not loaded')
                               : tile ? 'tile' : 'none', src: img?.src ?? null};
        })""")

    async def field(self, name):
        return await self.b.evaluate(f"document.querySelector('#notice-form [name={name}]:not(tbody *)')?.value ?? null")

    # ---- the scenario ----------------------------------------------------------------------------------------------

    async def run(self):
        b = self.b
        await b.send("Network.enable")
        await b.viewport(1366, 768)
        try:  # the console must show China time whatever the machine's zone
            await b.send("Emulation.setTimezoneOverride", timezoneId="UTC")
        except self.StepFailed:
            pass
        await b.navigate(f"{self.tongban}/console")
        await b.wait_for("!document.querySelector('#signin').hidden", "the console's sign-in")
        await b.type("#signin-clerk", self.clerk)
        await b.type("#signin-pin", self.pin)
        await b.click("#signin-submit")
        await b.wait_for("document.body.dataset.ready === 'true'", "the console to connect")
        self.clerk_name = await b.evaluate("document.querySelector('#clerk-name').textContent")
        await b.screenshot("signed-in")

        await self.phase("start", ["7", "10"], self.check_start)
        b.counting = True
        b.reset_counts()
        await self.phase("case A", ["1", "2", "5", "6", "8", "9", "sequence"], self.case_a_flow)
        b.counting = False
        self.figures["wholeCase"] = dict(b.counts)
        await self.phase("case A shown", ["5", "6", "7", "8", "9"], self.check_case_a)
        await self.phase("other template", ["1", "8"], self.check_receipt_notice)
        await self.phase("batch questions", ["3", "4"], self.check_batches)
        await self.phase("scanner busy", ["5"], self.check_scanner_busy)
        await self.phase("other case's batch", ["3"], self.check_batch_of_other_case)
        await self.phase("english", ["6"], self.check_english)
        await self.phase("next applicant", ["2", "sequence"], self.next_applicant)
        await self.phase("case B", ["2", "sequence"], self.case_b_flow)
        self.check("4", "no uncaught exceptions in the page", not b.exceptions, b.exceptions[:5])
        raw = await self.raw_error_text()
        self.check("4", "no raw JS error text on the page at the end", not raw, raw)
        await b.screenshot("end")

        self.findings["items"] = self.checks.summary()
        self.findings["figures"] = self.figures
        self.findings["checks"] = self.checks.items
        failed = [item for item, result in self.findings["items"].items() if not result["pass"]]
        self.findings["failedItems"] = failed
        return failed

    # ---- phases ----------------------------------------------------------------------------------------------------

    async def check_start(self):
        b = self.b
        # 10: the demo's devices say they are simulated; the simulated camera has a scene to choose.
        chips = await b.evaluate("""[...document.querySelectorAll('#status-strip .device-chip')].map((chip) =>
            ({class: chip.dataset.class, state: chip.dataset.state, text: chip.innerText.replace(/\\s+/g, ' ').trim()}))""")
        self.figures["chips"] = chips
        for kind in ("scanner", "printer", "idcard", "camera"):
            chip = [c for c in chips if c["class"] == kind]
            must = kind in ("scanner", "printer")
            if must or chip:
                self.check("10", f"{kind} chip says 模拟", chip and all("模拟" in c["text"] for c in chip), chip)
        options = await b.evaluate("""({scanner: document.querySelector('#scan-device')?.selectedOptions[0]?.textContent ?? null,
            printer: document.querySelector('#printer-select')?.selectedOptions[0]?.textContent ?? null})""")
        self.check("10", "scanner and printer options say 模拟", all(v and "模拟" in v for v in options.values()), options)
        self.check("10", "#camera-scene exists for the simulated camera", await self.exists("#camera-scene"),
                   await b.evaluate("[...document.querySelectorAll('#camera-scene option')].map(o => o.textContent)"))
        # 7: devices and events live in a drawer, closed at first.
        drawer = await b.evaluate(f"""({{exists: !!document.querySelector('#drawer'), shown: {visible('#drawer')},
            devices: !!document.querySelector('#drawer #devices'), events: !!document.querySelector('#drawer #events')}})""")
        self.check("7", "#drawer exists, holds #devices and #events", drawer["exists"] and drawer["devices"] and drawer["events"], drawer)
        self.check("7", "#drawer hidden by default", drawer["exists"] and not drawer["shown"], drawer)
        await b.click("#drawer-toggle")
        opened = await self.soft_wait(f"{visible('#drawer')} && {visible('#devices')}", 10)
        self.check("7", "#drawer-toggle opens the drawer", opened)
        await b.screenshot("drawer-open")
        await b.click("#drawer-toggle" if await self.is_visible("#drawer-toggle") else "#drawer-close")
        closed = await self.soft_wait(f"!{visible('#drawer')}", 10)
        if not closed and await self.exists("#drawer-close"):
            await b.click("#drawer-close")
            closed = await self.soft_wait(f"!{visible('#drawer')}", 10)
        self.check("7", "the drawer closes again", closed)

    async def case_a_flow(self):
        b = self.b
        if self.check("sequence", "新办件 (#new-case) exists", await self.exists("#new-case")):
            await b.click("#new-case")
            await self.answer_confirm(True, timeout=2)
        await b.type("#case-number", self.case_a)
        # The applicant's card on the reader (the demo's stand-in for the applicant: not counted).
        with b.uncounted():
            await b.wait_for(visible("#sim-place"), "the simulated reader")
            await b.choose("#sim-card", A["card"])
            await b.click("#sim-place")
        masked = await self.wait("document.querySelector('#idcard-record dd') && [...document.querySelectorAll('#idcard-record dd')].map(d => d.textContent)",
                                 "the card to be read")
        self.figures["maskedA"] = masked
        await b.type("#reveal-reason", "核对 申请人身份 A")
        await b.click("#reveal")
        revealed = await self.wait(f"[...document.querySelectorAll('#idcard-record dd')].some(d => d.textContent.includes({q(A['id'])}))"
                                   " && [...document.querySelectorAll('#idcard-record dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])",
                                   "the record shown in full")
        self.figures["revealedA"] = revealed
        reveals = await self.network_reveals()
        self.check("2", "the typed reveal reason is sent with %20, not '+'",
                   reveals and all("+" not in url.split("reason=")[1].split("&")[0] for url in reveals if "reason=" in url)
                   and any("%20" in url for url in reveals), reveals[-2:])
        self.check("6", "性别 shows 女 (not female)", any(v == A["sex"] for _, v in revealed) and not any(
            v and v.lower() in ("male", "female", "1", "2") for k, v in revealed if k and "性别" in k), revealed)
        self.check("6", "有效期止 shows 长期 for the long-term card", any(k and "有效期止" in k and v == "长期" for k, v in revealed), revealed)
        self.a_images += await b.evaluate("[...document.querySelectorAll('img')].map(i => i.src).filter(s => s && !s.includes('/console/'))")

        # A batch of the applicant's 营业执照 from the feeder.
        await b.type("#scan-material", "营业执照")
        pages = await b.evaluate("Number(document.querySelector('#scan-max')?.value) || 0")
        if not 1 <= pages <= 4:
            await b.type("#scan-max", "2")
            pages = 2
        self.figures["scanPages"] = pages
        await b.click("#scan-start")
        await self.wait(f"document.querySelectorAll('#scan-pages li[data-page]').length === {pages} && !document.querySelector('#scan-finish').disabled",
                        f"{pages} scanned pages", timeout=180)
        with b.uncounted():
            await self.check_batch_shown(self.case_a)
            await self.phase("page tools", ["8"], self.check_page_tools)
        await b.click("#scan-finish")
        await self.answer_confirm(True, timeout=1)  # none expected: the batch is of the header's case
        await self.wait(f"({HAS_MATERIAL})('营业执照')", "the batch in the case's materials", timeout=120)
        # A document captured by the camera: the applicant's 身份证复印件.
        await b.type("#capture-material", "身份证复印件")
        if await b.evaluate("document.querySelector('#capture-mode').value") != "document":
            await b.choose("#capture-mode", "document")
        await b.click("#capture")
        await self.wait(f"({HAS_MATERIAL})('身份证复印件')", "the capture in the case's materials", timeout=120)
        with b.uncounted():
            await self.phase("materials panel", ["8"], self.check_materials_panel)

        # The 收件通知书 from the card and the case's materials.
        if await b.evaluate("document.querySelector('#notice-template').value") != "intake-notice":
            await b.choose("#notice-template", "intake-notice")
        await b.click("#notice-fill")
        if await self.soft_wait(visible("#reason-dialog"), 2):  # the card is revealed already: it should not ask
            self.figures["fillAskedAgain"] = True
            await b.type("#reason-input", "填写收件通知书")
            await b.click("#reason-ok")
        await self.wait(f"document.querySelector('#notice-form [name=applicantName]')?.value === {q(A['name'])}",
                        "the applicant's name from the card")
        rows = await self.materials_rows()
        if not any(r.get("name") == "营业执照" for r in rows) and await self.exists("#notice-materials"):
            await b.click("#notice-materials")
            await self.soft_wait("[...document.querySelectorAll('#notice-form tbody input[name=name]')].some(i => i.value === '营业执照')", 15)
        rows = await self.materials_rows()
        self.figures["materialsRowsA"] = rows
        self.check("1", "收件通知书: the first 材料名称 row is not the applicant's name",
                   not rows or rows[0].get("name") != A["name"], rows[:3])
        self.check("1", "收件通知书: no 材料名称 row holds the applicant's name", all(r.get("name") != A["name"] for r in rows), rows)
        scan_row = [r for r in rows if r.get("name") == "营业执照"]
        self.check("8", "notice materials list the scanned batch with its page count",
                   scan_row and str(scan_row[0].get("pages")) == str(pages), rows)
        self.check("8", "notice materials list the captured 身份证复印件", any(r.get("name") == "身份证复印件" for r in rows), rows)
        operator = await b.evaluate("document.querySelector('#operator').value.trim()") or self.clerk_name or OPERATOR_FALLBACK
        clerk_field = await self.field("clerk")
        self.check("8", "收件人 (clerk) filled from the header's 经办人", clerk_field == operator, {"clerk": clerk_field, "operator": operator})
        with b.uncounted():
            await self.phase("validation", ["5", "6"], self.check_validation)
        await self.type_required({"matterName": "食品经营许可证核发", "handlingUnit": "示范市市场监督管理局", "clerk": operator})
        self.print_started = time.time()
        await b.click("#notice-print")
        state = await self.wait("(() => { const li = document.querySelector('#print-jobs li[data-job]');"
                                " return li && ['completed', 'failed', 'canceled'].includes(li.dataset.state) && li.dataset.state; })()",
                                "the print job to end", timeout=150)
        self.check("sequence", "A's notice printed", state == "completed", state)
        with b.uncounted():
            problems = await self.problems_now()
            cleared = await b.evaluate("""({invalid: document.querySelectorAll('#notice-form .invalid, #notice-form [aria-invalid=true]').length,
                fieldErrors: [...document.querySelectorAll('#notice-form .field-error')].filter(e => !e.closest('[hidden]') && e.getClientRects().length && e.innerText.trim()).length,
                printStatusCode: document.querySelector('#print-status')?.dataset.code ?? null})""")
            self.check("5", "the validation error is cleared after a successful print",
                       not cleared["invalid"] and not cleared["fieldErrors"] and not cleared["printStatusCode"], {**cleared, "problems": problems})
        # Everything of the case delivered.
        delivered = await self.soft_wait(f"[...document.querySelectorAll({q(DELIVERIES)})].filter(r => r.dataset.state === 'delivered'"
                                         f").length >= 3", 150)
        self.check("sequence", "A's scan, capture and notice delivered", delivered,
                   await b.evaluate(f"[...document.querySelectorAll({q(DELIVERIES)})].map(r => r.dataset.state + ' ' + r.innerText.replace(/\\s+/g, ' '))"))
        self.a_attachments = await b.evaluate("[...document.querySelectorAll('#materials li[data-attachment]')].map(li => li.dataset.attachment)")
        self.a_images += await b.evaluate("[...document.querySelectorAll('img')].map(i => i.src).filter(s => s && !s.includes('/console/'))")

    async def type_required(self, values):
        """Types the form's required fields the console left empty (as the clerk must)."""
        empty = await self.b.evaluate("""[...document.querySelectorAll('#notice-form > label.required > [name]')]
            .filter((input) => !input.value.trim()).map((input) => input.name)""")
        for name in empty:
            await self.b.type(f"#notice-form > label > [name={name}]", values.get(name, "示范"))

    async def check_batch_shown(self, case_number):
        batch_case = await self.b.evaluate("document.querySelector('#scan-batch')?.dataset.case ?? null")
        self.check("3", "the batch shows its case (#scan-batch[data-case])",
                   batch_case == case_number and await self.is_visible("#scan-batch"), batch_case)

    async def check_page_tools(self):
        labels = await self.b.evaluate("""(() => { const li = document.querySelector('#scan-pages li[data-page]');
            const text = (s) => li?.querySelector(s)?.innerText.trim() ?? null;
            return {rotate: text('.rotate'), rescan: text('.rescan'), delete: text('.delete'), earlier: text('.earlier'), later: text('.later')}; })()""")
        words = re.compile(r"[A-Za-z\u4e00-\u9fff]")
        self.check("8", "rotate and rescan have distinct visible text labels",
                   labels["rotate"] and labels["rescan"] and labels["rotate"] != labels["rescan"]
                   and words.search(labels["rotate"]) and words.search(labels["rescan"]), labels)
        thumbs = await self.soft_wait("[...document.querySelectorAll('#scan-pages li[data-page] img')].length > 0 &&"
                                      " [...document.querySelectorAll('#scan-pages li[data-page] img')].every(i => i.complete && i.naturalWidth > 0)", 30)
        self.check("8", "the batch's pages show thumbnails", thumbs)

    async def check_materials_panel(self):
        b = self.b
        loaded = await self.soft_wait("""[...document.querySelectorAll('#materials li[data-attachment]')].length >= 2 &&
            [...document.querySelectorAll('#materials li[data-attachment]')].every((li) => {
                const img = li.querySelector('img.thumb');
                return img ? img.complete && img.naturalWidth > 0 : !!li.querySelector('.thumb'); })""", 30)
        tiles = await self.materials_tiles()
        self.figures["materialsA"] = tiles
        self.check("8", "every attachment in #materials has a thumbnail (or a tile)", loaded and all(t["thumb"] in ("image", "tile") for t in tiles), tiles)
        self.check("8", "#materials items name their case", tiles and all(t["case"] == self.case_a for t in tiles), [t["case"] for t in tiles])
        # Large view.
        await b.click("#materials li[data-attachment] button.view")
        shown = await self.soft_wait(f"{visible('#viewer')} && (document.querySelector('#viewer img, #viewer iframe, #viewer embed, #viewer object')?.tagName ?? 'shown')", 20)
        self.check("8", "the large view #viewer opens", shown, shown)
        if shown:
            await b.screenshot("viewer")
            await b.click("#viewer-close")
            self.check("8", "the viewer closes", await self.soft_wait(f"!{visible('#viewer')}", 10))
        # Delete, then undo: a capture taken for it and deleted at once (a delivered material cannot be deleted, and
        # the demo's archive delivers within about a second).
        await self.set_value("#capture-material", "补充材料")
        await b.click("#capture")
        target = await self.wait("""(() => { const li = [...document.querySelectorAll('#materials li[data-attachment]')]
            .find((li) => li.innerText.includes('补充材料')); return li && li.dataset.attachment; })()""", "the capture to delete", timeout=120)
        selector = f"#materials li[data-attachment={q(target)}]"
        state = await b.evaluate(f"document.querySelector('#deliveries tr[data-attachment={q(target)}]')?.dataset.state ?? null")
        await b.click(f"{selector} button.delete")
        # Why it leaves the case is the clerk's to say (it goes to the audit log): the reason dialog, sent empty first.
        reason_asked = await self.soft_wait(visible("#reason-dialog"), 10)
        self.check("8", "delete asks the clerk for a reason", bool(reason_asked), reason_asked)
        if reason_asked:
            await b.click("#reason-ok")
            refused = await self.soft_wait(f"{visible('#reason-dialog')} && document.querySelector('#reason-input').getAttribute('aria-invalid') === 'true'", 5)
            self.check("8", "a delete without a reason is not sent", bool(refused), refused)
            await b.type("#reason-input", "拍错了，重拍")
            await b.click("#reason-ok")
        gone = await self.soft_wait(f"!document.querySelector({q(selector)}) && 'gone' || document.querySelector('#materials-status')?.dataset.code", 20)
        self.check("8", "delete removes the attachment from #materials", gone == "gone",
                   {"reasonAsked": bool(reason_asked), "deliveryStateWhenClicked": state, "result": gone})
        if gone == "gone":
            undo = await self.soft_wait(visible("#undo-button"), 10)
            if undo:
                await b.click("#undo-button")
            back = await self.soft_wait(f"!!document.querySelector({q(selector)})", 30)
            self.check("8", "#undo-button restores it", undo and back, {"undoShown": bool(undo)})
        else:
            self.check("8", "#undo-button restores it", False, "nothing was deleted")
        await self.set_value("#capture-material", "身份证复印件")
        # Delivered materials: the delete offered should work or not be offered (informative).
        self.figures["deleteOfferedForDelivered"] = await b.evaluate("""[...document.querySelectorAll('#deliveries tr[data-state=delivered]')]
            .map((row) => document.querySelector(`#materials li[data-attachment="${row.dataset.attachment}"] button.delete`))
            .filter((button) => button && !button.disabled).length""")

    async def check_validation(self):
        """Print with 申请事项 empty: refused, the field marked, the problem in Chinese without internals."""
        b = self.b
        saved = await self.field("matterName")
        await self.set_value("#notice-form [name=matterName]", "")
        await b.click("#notice-print")
        marked = await self.soft_wait("""(() => { const input = document.querySelector('#notice-form [name=matterName]');
            return input && input.classList.contains('invalid') && input.getAttribute('aria-invalid') === 'true'; })()""", 20)
        problems = await self.problems_now()
        self.figures["validationProblemZh"] = problems
        field_error = await b.evaluate("""[...document.querySelectorAll('#notice-form .field-error')]
            .filter(e => !e.closest('[hidden]') && e.getClientRects().length && e.innerText.trim()).map(e => e.innerText)""")
        self.check("6", "a missing required field is highlighted (.invalid[aria-invalid=true] + .field-error)", marked and field_error,
                   {"fieldError": field_error, "problems": problems})
        self.check("6", "zh: the problem has no English", problems and not self.language_leaks(problems, "zh", [self.case_a]),
                   self.language_leaks(problems, "zh", [self.case_a]) or problems)
        self.check("6", "no systemctl / GET /v1/ in problems", not self.internals(problems), self.internals(problems))
        jobs = await b.evaluate("document.querySelectorAll('#print-jobs li[data-job]').length")
        self.check("5", "nothing printed with a required field missing", jobs == 0, jobs)
        await b.screenshot("print-validation", full=True, small=True)
        if saved:
            await self.set_value("#notice-form [name=matterName]", saved)

    async def check_case_a(self):
        b = self.b
        # 6: the print job is named by the form's title; the delivery list shows no file paths; times in China time.
        jobs = await b.evaluate("[...document.querySelectorAll('#print-jobs li[data-job]')].map(li => li.innerText.replace(/\\s+/g, ' ').trim())")
        self.check("6", "the print job shows 收件通知书, not intake-notice", jobs and "收件通知书" in jobs[0] and "intake-notice" not in " ".join(jobs), jobs)
        rows = await b.evaluate("[...document.querySelectorAll('#deliveries tr[data-attachment]')].map(r => r.innerText.replace(/\\s+/g, ' ').trim())")
        paths = [r for r in rows if re.search(r"/[\w.-]+/|\.pdf\b|\.jpe?g\b", r, re.I)]
        self.check("6", "the delivery list shows no file paths", rows and not paths, paths or rows)
        await self.phase("times", ["6"], self.check_times)
        # 9: the printed PDF is A4.
        await self.check_printed_pdf()
        # 5 and 7 at 1366×768.
        # Steps that scroll inside themselves hide content as a long page would: their overflow is reported too.
        self.figures["stepOverflow1366x768"] = await b.evaluate("""Object.fromEntries([...document.querySelectorAll('main section.step, #case-materials')]
            .map((e) => [e.id, {visible: e.clientHeight, content: e.scrollHeight}]))""")
        scroll_height = await b.evaluate("document.documentElement.scrollHeight")
        self.figures["scrollHeight1366x768"] = scroll_height
        self.check("7", "scrollHeight ≤ 1.6 × 768 at 1366×768", scroll_height <= 1.6 * 768, scroll_height)
        for selector in ("#notice-print", "#deliveries"):
            reachable = await b.evaluate(f"""(() => {{ const e = document.querySelector({q(selector)});
                if (!e || e.closest('[hidden]') || !e.getClientRects().length) return false;
                e.scrollIntoView({{block: 'center'}});
                const r = e.getBoundingClientRect();
                const hit = document.elementFromPoint(r.x + Math.min(r.width / 2, 40), r.y + Math.min(r.height / 2, 10));
                return !!hit && (e.contains(hit) || hit.contains(e)); }})()""")
            self.check("7", f"{selector} reachable (shown and not covered)", reachable)
        gap = await b.evaluate("""(() => { const button = document.querySelector('#notice-print'), jobs = document.querySelector('#print-jobs');
            if (!button || !jobs) return null;
            button.scrollIntoView({block: 'start'});
            return Math.round(jobs.getBoundingClientRect().top - button.getBoundingClientRect().top); })()""")
        self.figures["printJobsBelowPrintButtonPx"] = gap
        self.check("5", "#print-jobs within one screen of the print button", gap is not None and abs(gap) < 768, gap)
        await b.evaluate("window.scrollTo(0, 0)")
        path = await b.screenshot("whole-case-1366x768", full=True, small=True)
        self.figures["screenshot1366"] = os.path.basename(path)
        await b.viewport(1920, 1080)
        await self.soft_wait("document.documentElement.clientWidth === 1920", 5)
        self.figures["scrollHeight1920x1080"] = await b.evaluate("document.documentElement.scrollHeight")
        path = await b.screenshot("whole-case-1920x1080", full=True, small=True)
        self.figures["screenshot1920"] = os.path.basename(path)
        await b.viewport(1366, 768)

    async def check_times(self):
        b = self.b
        drawer = await self.exists("#drawer-toggle")
        if drawer:
            await b.click("#drawer-toggle")
            await self.soft_wait(visible("#events"), 10)
        shown = await b.evaluate("""[...document.querySelectorAll('#events li, #materials li, #deliveries tr, #print-jobs li, #captures li')]
            .map(e => e.innerText).join('\\n')""")
        if drawer:
            await b.click("#drawer-toggle" if await self.is_visible("#drawer-toggle") else "#drawer-close")
            await self.soft_wait(f"!{visible('#drawer')}", 10)
        now_china = datetime.now(timezone.utc) + timedelta(hours=8)
        now_utc = datetime.now(timezone.utc)
        times = re.findall(r"(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])", shown)
        iso = re.findall(r"\d{4}-\d\d-\d\dT\d\d:\d\d[:\d.]*Z?", shown)

        def near(hour, minute, reference):
            shown_minutes = int(hour) * 60 + int(minute)
            now_minutes = reference.hour * 60 + reference.minute
            return min((shown_minutes - now_minutes) % 1440, (now_minutes - shown_minutes) % 1440) <= 20

        china = [t for t in times if near(t[0], t[1], now_china)]
        utc = [t for t in times if near(t[0], t[1], now_utc)]
        self.figures["timesShown"] = [":".join(x for x in t if x) for t in times[:8]]
        self.check("6", "times shown are China time (UTC+8), none in UTC or ISO form",
                   china and not utc and not iso, {"shown": self.figures["timesShown"], "iso": iso[:3],
                                                  "chinaNow": now_china.strftime("%H:%M"), "utcNow": now_utc.strftime("%H:%M")})

    async def check_printed_pdf(self):
        if not self.spool or not os.path.isdir(self.spool):
            self.check("9", "the printed PDF found in the spool", False, f"no spool directory: {self.spool}")
            return
        found = None
        deadline = time.monotonic() + 60
        while not found and time.monotonic() < deadline:
            for path in sorted(glob.glob(os.path.join(self.spool, "*")), key=os.path.getmtime, reverse=True):
                if os.path.getmtime(path) < self.print_started - 5 or not os.path.isfile(path):
                    continue
                text = subprocess.run(["pdftotext", "-l", "1", path, "-"], capture_output=True, text=True).stdout
                if self.case_a in text:
                    found = path
                    break
            if not found:
                await asyncio.sleep(1)
        if not found:
            self.check("9", "the printed PDF found in the spool", False, f"no PDF naming {self.case_a} in {self.spool}")
            return
        info = subprocess.run(["pdfinfo", found], capture_output=True, text=True).stdout
        size = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts(.*)", info)
        width, height = (float(size.group(1)), float(size.group(2))) if size else (0, 0)
        self.figures["printedPdf"] = {"file": os.path.basename(found), "pageSize": size.group(0) if size else info[:200]}
        self.check("9", "the printed PDF is A4 (595×842 pt)", abs(width - 595.3) < 2 and abs(height - 841.9) < 2, self.figures["printedPdf"])
        base = os.path.join(self.artefacts, "printed-notice")
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", found, base], check=False)
        self.a_pdf = found
        self.findings["printedPdfPath"] = found
        # The media the job was sent with: CUPS's control file of the job (its job-name carries the print's id).
        job = re.search(rb"tongban_([0-9a-f-]{36})", os.path.basename(found).encode())
        media, control_file = [], None
        cups = os.path.join(os.path.dirname(self.spool), "spool")
        deadline = time.monotonic() + 30
        while job and not control_file and time.monotonic() < deadline:
            for control in glob.glob(os.path.join(cups, "c*")):
                try:
                    data = open(control, "rb").read()
                except OSError:
                    continue
                if job.group(1) in data:
                    control_file = control
                    media = sorted(set(m.decode() for m in re.findall(rb"(iso_a\d_[\dx]+mm|na_letter_8\.5x11in|na_legal_8\.5x14in)", data)))
                    break
            if not control_file:
                await asyncio.sleep(1)
        self.figures["jobMedia"] = {"controlFile": control_file and os.path.basename(control_file), "media": media}
        self.check("9", "the job asked for iso_a4_210x297mm (CUPS job attributes)", media == ["iso_a4_210x297mm"] if control_file else True,
                   self.figures["jobMedia"] if control_file else "CUPS's control file of the job not readable (informative only)")

    async def check_receipt_notice(self):
        """申请材料接收通知书: filling from the card leaves the materials alone, the default 转报时限 shows."""
        b = self.b
        await b.choose("#notice-template", "receipt-notice")
        await self.wait("!!document.querySelector('#notice-form [name=forwardDays]')", "the receipt notice's form")
        forward = await self.field("forwardDays")
        self.check("8", "form defaults visible (forwardDays = 2 in receipt-notice)", forward == "2", forward)
        await b.click("#notice-fill")
        if await self.soft_wait(visible("#reason-dialog"), 2):
            await b.type("#reason-input", "填写申请材料接收通知书")
            await b.click("#reason-ok")
        await self.wait(f"document.querySelector('#notice-form [name=applicantName]')?.value === {q(A['name'])}",
                        "the receipt notice filled from the card")
        rows = await self.materials_rows()
        self.check("1", "申请材料接收通知书: no 材料名称 row holds the applicant's name", all(r.get("name") != A["name"] for r in rows), rows)
        await b.choose("#notice-template", "intake-notice")

    async def check_batches(self):
        """3: 开始扫描 over an unfinished batch asks; 4: a second Alt+F and 放弃本批 leave no raw error."""
        b = self.b
        await self.set_value("#scan-max", "1")
        await b.click("#scan-start")
        await self.wait("document.querySelectorAll('#scan-pages li[data-page]').length >= 1 && !document.querySelector('#scan-finish').disabled",
                        "a one-page batch", timeout=180)
        before = await b.evaluate("[...document.querySelectorAll('#scan-pages li[data-page]')].map(li => li.dataset.page)")
        await b.click("#scan-start")
        asked = await self.answer_confirm(False, timeout=6)
        await self.soft_wait("false", 1.5)  # a replaced batch would show its first new page within this
        after = await b.evaluate("[...document.querySelectorAll('#scan-pages li[data-page]')].map(li => li.dataset.page)")
        self.check("3", "开始扫描 with an unfinished batch asks (#confirm)", asked, asked)
        self.check("3", "answering no keeps the batch", after == before, {"before": before, "after": after})
        # Two Alt+F at once: the first finishes the batch, the second must find nothing to do, quietly.
        await b.key("f", "KeyF")
        await b.key("f", "KeyF")
        await self.answer_confirm(True, timeout=1.5)
        await self.wait("document.querySelectorAll('#scan-pages li[data-page]').length === 0", "the batch to be finished", timeout=120)
        await self.soft_wait("false", 1)
        await b.key("f", "KeyF")
        await self.soft_wait("false", 1)
        raw = await self.raw_error_text()
        self.check("4", "no raw JS error text after a second Alt+F", not raw, raw)
        self.check("4", "no exception after a second Alt+F", not b.exceptions, b.exceptions[:3])
        self.check("4", "batch buttons disabled once the batch is finished", await self.batch_buttons_off())
        # 放弃本批 asks first, then the batch is gone and its buttons are off.
        await b.click("#scan-start")
        await self.answer_confirm(True, timeout=1.5)
        await self.wait("document.querySelectorAll('#scan-pages li[data-page]').length >= 1 && !document.querySelector('#scan-discard').disabled",
                        "a batch to discard", timeout=180)
        await b.click("#scan-discard")
        asked = await self.answer_confirm(True, timeout=6)
        self.check("4", "放弃本批 asks first (#confirm)", asked, asked)
        await self.wait(BATCH_CLOSED, "the batch to be discarded", timeout=120)
        await self.soft_wait("false", 1)
        raw = await self.raw_error_text()
        self.check("4", "no raw JS error text after 放弃本批", not raw, raw)
        self.check("4", "no exception after 放弃本批", not b.exceptions, b.exceptions[:3])
        self.check("4", "batch buttons disabled for a discarded batch", await self.batch_buttons_off())
        await self.set_value("#scan-max", str(self.figures.get("scanPages", 2)))

    async def batch_buttons_off(self):
        return await self.b.evaluate("""['#scan-more', '#scan-finish', '#scan-discard'].every((s) => {
            const e = document.querySelector(s); return !e || e.disabled || e.closest('[hidden]') || !e.getClientRects().length; })""")

    async def check_scanner_busy(self):
        """A second scan while one runs: the problem shows and stays (not overwritten within 100 ms)."""
        b = self.b
        await self.set_value("#scan-max", "6")
        await b.click("#scan-start")
        await self.answer_confirm(True, timeout=1.5)
        await self.wait("document.querySelector('#scan-batch')?.dataset.state === 'scanning' || "
                        "(document.querySelectorAll('#scan-pages li[data-page]').length >= 1 && document.querySelector('#scan-finish').disabled)"
                        " || /扫描中|Scanning/.test(document.querySelector('#scan-status').innerText + (document.querySelector('#scan-progress-text')?.innerText ?? ''))",
                        "a scan running", timeout=120)
        if await b.evaluate("document.querySelector('#scan-start').disabled"):
            await b.key("s", "KeyS")
            how = "Alt+S (开始扫描 disabled while scanning)"
        else:
            await b.click("#scan-start")
            how = "click"
        # Sampled every ~20 ms until two more pages came in after the problem showed (each page redraws the batch,
        # which must not replace the problem), or 6 s.
        samples = []
        started = time.monotonic()
        asked = False
        pages_then = None
        while time.monotonic() - started < 6:
            if not asked and await self.is_visible("#confirm"):
                asked = True
                await b.click("#confirm-yes")  # go ahead: the scanner is still busy with the running batch
            sample = await b.evaluate("""(() => { const s = document.querySelector('#scan-status');
                return [s.innerText.trim(), s.dataset.code ?? null, document.querySelectorAll('#scan-pages li[data-page]').length]; })()""")
            samples.append((round(time.monotonic() - started, 3), sample[0], sample[1]))
            if sample[1] and pages_then is None:
                pages_then = sample[2]
            if pages_then is not None and (sample[2] >= pages_then + 2 or sample[2] >= 6):
                break
            await asyncio.sleep(0.02)
        problems = [s for s in samples if s[2]]
        busy = [s for s in problems if re.search(r"busy|忙|占用|正在", (s[2] or "") + s[1], re.I)]
        # Each problem text, once shown, must stay at least 100 ms (or until sampling ended).
        runs, overwritten = [], []
        for sample in samples:
            if runs and runs[-1]["text"] == sample[1]:
                runs[-1]["until"] = sample[0]
            else:
                runs.append({"text": sample[1], "code": sample[2], "from": sample[0], "until": sample[0]})
        for index, run in enumerate(runs):
            # A problem may give way to another problem, never to progress while the batch scans on.
            if run["code"] and index + 1 < len(runs) and not runs[index + 1]["code"]:
                overwritten.append({**run, "replacedBy": runs[index + 1]["text"][:60], "after": round(runs[index + 1]["from"] - run["from"], 3)})
        self.figures["scannerBusy"] = {"how": how, "confirmAsked": asked, "runs": [{**r, "text": r["text"][:80]} for r in runs][:10]}
        self.check("5", "a scanner-busy problem shows for a second scan", busy, self.figures["scannerBusy"])
        self.check("5", "the scanner-busy problem stays while the batch scans on (not overwritten by progress)", busy and not overwritten,
                   [{**r, "text": r["text"][:80]} for r in overwritten] or None)
        problems = await self.problems_now()
        self.check("6", "no systemctl / GET /v1/ in the scanner problem", not self.internals(problems), self.internals(problems))
        self.check("6", "zh: the scanner problem has no English", not self.language_leaks(problems, "zh", [self.case_a]),
                   self.language_leaks(problems, "zh", [self.case_a]))
        await b.screenshot("scanner-busy")
        # Leave no batch behind.
        await self.wait("!document.querySelector('#scan-discard').disabled || document.querySelectorAll('#scan-pages li[data-page]').length === 0",
                        "the running batch to allow discarding", timeout=120)
        if not await b.evaluate("document.querySelector('#scan-discard').disabled"):
            await b.click("#scan-discard")
            await self.answer_confirm(True, timeout=6)
        await self.wait(BATCH_CLOSED, "the running batch to be discarded (the scanner stops after its page)", timeout=180)
        await self.set_value("#scan-max", "1")

    async def check_batch_of_other_case(self):
        """A batch of case A, finished while the header says another case: the console asks."""
        b = self.b
        await b.click("#scan-start")
        await self.answer_confirm(True, timeout=1.5)
        await self.wait("document.querySelectorAll('#scan-pages li[data-page]').length >= 1 && !document.querySelector('#scan-finish').disabled",
                        "a batch of case A", timeout=180)
        await b.type("#case-number", self.case_other)
        asked_on_change = await self.answer_confirm(True, timeout=2)
        batch_case = await b.evaluate("document.querySelector('#scan-batch')?.dataset.case ?? null")
        if await self.is_visible("#scan-finish") and not await b.evaluate("document.querySelector('#scan-finish').disabled"):
            await b.click("#scan-finish")
            asked = await self.answer_confirm(False, timeout=6)
            self.check("3", "finishing a batch of another case than the header's asks", asked,
                       {"asked": asked, "batchCase": batch_case, "askedOnCaseChange": asked_on_change})
            if await b.evaluate("!document.querySelector('#scan-discard').disabled"):
                await b.click("#scan-discard")
                await self.answer_confirm(True, timeout=6)
        else:
            self.check("3", "finishing a batch of another case than the header's asks", bool(asked_on_change),
                       {"batch left the screen on the case change": True, "askedOnCaseChange": asked_on_change})
        await self.soft_wait(BATCH_CLOSED, 120)
        await b.type("#case-number", self.case_a)
        await self.answer_confirm(True, timeout=2)

    async def check_english(self):
        b = self.b
        await b.click("#language")
        await self.wait("document.documentElement.lang.startsWith('en')", "the English console")
        await self.set_value("#notice-form [name=matterName]", "")
        await b.click("#notice-print")
        await self.soft_wait("document.querySelector('#notice-form [name=matterName]')?.getAttribute('aria-invalid') === 'true'"
                             " || document.querySelector('#print-status')?.dataset.code", 20)
        problems = await self.problems_now()
        self.figures["validationProblemEn"] = problems
        leaks = self.language_leaks(problems, "en", [self.case_a, A["name"], "食品经营许可证核发", "示范市市场监督管理局"])
        self.check("6", "en: the problem has no Chinese", problems and not leaks, leaks or problems)
        self.check("6", "en: no systemctl / GET /v1/", not self.internals(problems), self.internals(problems))
        await b.screenshot("english-problem")
        await self.set_value("#notice-form [name=matterName]", "食品经营许可证核发")
        await b.click("#language")
        await self.wait("document.documentElement.lang.startsWith('zh')", "the Chinese console again")

    async def next_applicant(self):
        """A's card lifted, 新办件, B's case number: nothing of A may be left on the page."""
        b = self.b
        await b.click("#sim-lift")
        await self.soft_wait("/取走|removed/i.test(document.querySelector('#idcard-status').innerText)", 20)
        if await self.exists("#new-case"):
            await b.click("#new-case")
            await self.answer_confirm(True, timeout=3)
        await b.type("#case-number", self.case_b)
        await self.answer_confirm(True, timeout=2)
        # Given time to redraw (up to 10 s): A's name and number gone from the page, or the time is up.
        await self.soft_wait(f"!document.documentElement.outerHTML.includes({q(A['id'])}) && !document.documentElement.outerHTML.includes({q(A['name'])})", 10)
        traces = await b.evaluate(f"""(() => {{
            const needles = {json.dumps([A['name'], A['id'], A['masked'], self.case_a] + self.a_attachments)};
            const html = document.documentElement.outerHTML;
            const inHtml = needles.filter((n) => n && html.includes(n));
            const values = [...document.querySelectorAll('input, textarea, select')].map((e) => e.value);
            const inValues = needles.filter((n) => n && values.some((v) => v.includes(n)));
            const images = {json.dumps(self.a_images)};
            const srcs = [...document.querySelectorAll('img, source, video, embed, object, iframe, a')]
                .map((e) => e.src || e.currentSrc || e.data || e.href || '').filter(Boolean);
            const oldImages = srcs.filter((s) => images.includes(s) || s.startsWith('blob:') || s.startsWith('data:image/jpeg'));
            const storage = Object.entries({{...sessionStorage}}).concat(Object.entries({{...localStorage}}))
                .filter(([k, v]) => needles.some((n) => n && String(v).includes(n))).map(([k]) => k);
            return {{inHtml, inValues, oldImages: oldImages.slice(0, 5), storage}};
        }})()""")
        self.figures["tracesOfA"] = traces
        self.check("2", "after 新办件 A's unmasked record is gone", A["id"] not in traces["inHtml"] and A["name"] not in traces["inHtml"], traces)
        self.check("sequence", "no trace of A in the page (name, ID number, case number, attachments)", not traces["inHtml"], traces["inHtml"])
        self.check("sequence", "no trace of A in any field's value", not traces["inValues"], traces["inValues"])
        self.check("sequence", "no picture of A's captures or photo left", not traces["oldImages"], traces["oldImages"])
        self.check("sequence", "no trace of A in the tab's storage", not traces["storage"], traces["storage"])
        await b.screenshot("new-case-clean", full=True, small=True)

    async def case_b_flow(self):
        b = self.b
        await b.choose("#sim-card", B["card"])
        await b.click("#sim-place")
        await self.wait("document.querySelector('#idcard-record dd') && [...document.querySelectorAll('#idcard-record dd')].some(d => d.textContent.includes('陈') || d.textContent.includes('*'))",
                        "B's card to be read")
        before = len(await self.network_reveals())
        await b.click("#notice-fill")
        asked = await self.soft_wait(visible("#reason-dialog"), 10)
        self.check("2", "从身份证填入 asks for a reason (#reason-dialog)", asked)
        if asked:
            await b.type("#reason-input", "   ")
            await b.click("#reason-ok")
            refused = await self.soft_wait(f"{visible('#reason-dialog')} && ({text_of('#reason-message')} || document.querySelector('#reason-input').getAttribute('aria-invalid') === 'true' || 'still open')", 5)
            await self.soft_wait("false", 1)
            sent = (await self.network_reveals())[before:]
            filled = await self.field("applicantName")
            self.check("2", "a reason of spaces is refused", refused and not sent and filled != B["name"],
                       {"dialog": refused, "revealsSent": sent, "applicantName": filled})
            await b.type("#reason-input", "核对 收件通知书 B")
            await b.click("#reason-ok")
        await self.wait(f"document.querySelector('#notice-form [name=applicantName]')?.value === {q(B['name'])}", "B's name from the card")
        sent = (await self.network_reveals())[before:]
        reasons = [url.split("reason=")[1].split("&")[0] for url in sent if "reason=" in url]
        self.figures["revealReasonsB"] = reasons
        self.check("2", "the dialog's reason is sent as typed (%20, no '+')", reasons and all("+" not in r and "%20" in r for r in reasons), reasons)
        if self.audit_db and os.path.exists(self.audit_db):
            audit = subprocess.run(["sqlite3", self.audit_db, "SELECT detail FROM audit WHERE action = 'idcard.reveal' ORDER BY sequence DESC LIMIT 1"],
                                   capture_output=True, text=True).stdout.strip()
            self.check("2", "the audit log holds the reason as typed", "核对 收件通知书 B" in audit, audit[:300])
        record = await b.evaluate("[...document.querySelectorAll('#idcard-record dt')].map((dt) => [dt.textContent, dt.nextElementSibling?.textContent])")
        self.check("6", "性别 shows 男 for B", any(v == B["sex"] for _, v in record), record)
        rows = await self.materials_rows()
        self.check("1", "B: no 材料名称 row holds the applicant's name", all(r.get("name") != B["name"] for r in rows), rows)
        self.check("sequence", "B's notice lists none of A's materials", not any(r.get("name") in ("营业执照", "身份证复印件") for r in rows), rows)
        # B's batch, then the notice.
        await b.type("#scan-material", "户口簿")
        await self.set_value("#scan-max", "1")
        await b.click("#scan-start")
        await self.answer_confirm(True, timeout=1.5)
        await self.wait("document.querySelectorAll('#scan-pages li[data-page]').length === 1 && !document.querySelector('#scan-finish').disabled",
                        "B's scanned page", timeout=180)
        await self.check_batch_shown(self.case_b)
        await b.click("#scan-finish")
        await self.answer_confirm(True, timeout=1)
        await self.wait(f"({HAS_MATERIAL})('户口簿')", "B's batch in the materials", timeout=120)
        tiles = await self.materials_tiles()
        self.check("sequence", "B's materials are B's only", tiles and all(t["case"] == self.case_b for t in tiles)
                   and not any("营业执照" in t["text"] for t in tiles), tiles)
        rows = await self.materials_rows()
        if not any(r.get("name") == "户口簿" for r in rows) and await self.exists("#notice-materials"):
            await b.click("#notice-materials")
            await self.soft_wait("[...document.querySelectorAll('#notice-form tbody input[name=name]')].some(i => i.value === '户口簿')", 15)
        await self.type_required({"matterName": "港澳台居民居住证换领", "handlingUnit": "示范市公安局出入境管理支队",
                                  "clerk": await b.evaluate("document.querySelector('#operator').value.trim()") or self.clerk_name})
        jobs_before = await b.evaluate("document.querySelectorAll('#print-jobs li[data-job]').length")
        await b.click("#notice-print")
        state = await self.wait("(() => { const li = document.querySelector('#print-jobs li[data-job]');"
                                " return li && ['completed', 'failed', 'canceled'].includes(li.dataset.state) && li.dataset.state; })()",
                                "B's print job to end", timeout=150)
        self.check("sequence", "B's notice printed", state == "completed", {"state": state, "jobsBefore": jobs_before})
        delivered = await self.soft_wait(f"[...document.querySelectorAll({q(DELIVERIES)})].filter(r => r.dataset.state === 'delivered').length >= 2", 150)
        rows = await b.evaluate(f"[...document.querySelectorAll({q(DELIVERIES)})].map(r => r.dataset.state + ' ' + r.innerText.replace(/\\s+/g, ' '))")
        self.check("sequence", "B's batch and notice delivered, none of A's listed", delivered and not any("营业执照" in r for r in rows), rows)
        await b.screenshot("case-b-done", full=True, small=True)


async def case_scenario(browser, tongban, clerk, pin, artefacts, findings, spool, audit_db, step_failed):
    case = Case(browser, tongban, clerk, pin, artefacts, findings, spool, audit_db, step_failed)
    findings["cases"] = {"A": case.case_a, "B": case.case_b}
    failed = await case.run()
    return failed


def publish(artefacts, results, findings, compare=None):
    """A small set of the run's pictures for Benchmarks/results/console (≤ 6 PNGs under 400 KB each) and its README
    with the figures the driver counted."""
    os.makedirs(results, exist_ok=True)
    for old in glob.glob(os.path.join(results, "*.png")):
        os.remove(old)
    for name in ("whole-case-1366x768", "whole-case-1920x1080", "print-validation", "new-case-clean", "case-b-done"):
        matches = sorted(glob.glob(os.path.join(artefacts, f"*-small-{name}.png")))
        if matches:
            shutil.copy(matches[-1], os.path.join(results, f"{name}.png"))
    pdf = findings.get("printedPdfPath")
    if pdf and os.path.exists(pdf):
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", "-singlefile", pdf,
                        os.path.join(results, "printed-notice")], check=False)
    pictures = sorted(glob.glob(os.path.join(results, "*.png")))
    figures = findings.get("figures", {})
    case = figures.get("wholeCase", {})
    old = {}
    if compare and os.path.exists(compare):  # the same scenario's findings against the first wave's console
        with open(compare) as file:
            old = json.loads(file.read().strip().splitlines()[-1])
    old_case = old.get("figures", {}).get("wholeCase", {})
    items = findings.get("items", {})
    lines = [
        "# The console's case workflow: what a whole case takes",
        "",
        "Measured by `Tests/tools/browser_e2e.py case` (scenario in `Tests/tools/console_case.py`) driving headless Chromium",
        "over CDP against `tongban serve --demo` with the rig's SANE test scanner and CUPS/ippeveprinter printer, at 1366×768.",
        f"Run {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC. Every real mouse click, every field typed with",
        "`Input.insertText`, every `<select>` choice and every scroll the driver needed to reach an element (not wholly in",
        "sight: outside the viewport or clipped by a panel that scrolls) is counted for applicant A's case: 新办件, case number,",
        "the card revealed with a typed reason, a 3-page batch scanned (营业执照), a document captured (身份证复印件), 收件通知书",
        "filled from the card and from the case's materials, the two required fields typed, printed, delivered. Placing the",
        "demo card and the checks' own actions are not counted.",
        "",
        "| | first wave (old console) | now |",
        "|---|---|---|",
        f"| clicks | ~30 | {case.get('clicks', '?')} (+ {case.get('choices', '?')} `<select>` choice) |",
        f"| typed fields | ~16 | {case.get('typedFields', '?')} |",
        f"| scrolls | 6 | {case.get('scrolls', '?')} |",
        f"| shortcut keys | | {case.get('keys', '?')} |",
        f"| `scrollHeight` at 1366×768 | | {figures.get('scrollHeight1366x768', '?')} px (limit 1.6 × 768 = 1229) |",
        f"| `scrollHeight` at 1920×1080 | | {figures.get('scrollHeight1920x1080', '?')} px |",
        "",
        "The page is one screen whose steps scroll inside themselves when they overflow; their heights (visible / content) at",
        f"1366×768 after the case: `{json.dumps(figures.get('stepOverflow1366x768', {}))}`.",
        f"Print jobs list {figures.get('printJobsBelowPrintButtonPx', '?')} px below the print button's top. Printed PDF:",
        f"{figures.get('printedPdf', {}).get('pageSize', '?')}; CUPS job media {figures.get('jobMedia', {}).get('media', '?')}.",
        "",
        "Items of the console issue (pass/fail in this run):",
        "",
    ]
    for item, result in items.items():
        lines.append(f"- {item}: {'pass' if result['pass'] else 'FAIL'} — {result['title']}"
                     + ("" if result["pass"] else f" (failed: {'; '.join(c['check'] if isinstance(c, dict) else c for c in result['failed'])})"))
    if old:
        lines += ["", "The same scenario against the first wave's console (console.js/index.html/console.css and SDK of cfb533a,",
                  "served by the same binary): it needed "
                  f"{old_case.get('clicks', '?')} clicks, {old_case.get('typedFields', '?')} typed fields and {old_case.get('scrolls', '?')} scrolls"
                  " as far as it got (it cannot finish the case the same way: no 新办件, no materials list, 收件人 typed by hand), "
                  f"scrollHeight {old.get('figures', {}).get('scrollHeight1366x768', '?')} px at 1366×768; items failed there: "
                  f"{', '.join(old.get('failedItems', []))}."]
    lines += ["", "Pictures (full size, or scaled down by Chromium where a PNG would exceed 400 KB):", ""]
    for picture in pictures:
        lines.append(f"- `{os.path.basename(picture)}` ({os.path.getsize(picture) // 1024} KB)")
    lines.append("")
    with open(os.path.join(results, "README.md"), "w") as file:
        file.write("\n".join(lines))
    return [f"{os.path.basename(p)} {os.path.getsize(p) // 1024} KB" for p in pictures]
