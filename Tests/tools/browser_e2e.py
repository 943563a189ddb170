#!/usr/bin/python3
"""Drives headless Chromium over the DevTools protocol through Tongban's console, the SDK example page, and a
page from an origin Tongban does not allow. Clicks are real mouse events at the element's place on the page;
text is typed with Input.insertText. A screenshot of each step goes to the artefacts folder.

usage: browser_e2e.py console|example|foreign|case --tongban URL --artefacts DIR [--page URL] [--case NO]
                      [--clerk demo --pin 000000] [--spool DIR] [--audit-db FILE] [--results DIR]
`case` (Tests/tools/console_case.py) works a whole case, and then a second applicant's, through the console at
1366×768, checking the console issue item by item; it counts the clicks, typed fields and scrolls the case needed.
The console is signed in to through its own form (the demo clerk by default); the clerk's credential is the session
key the SDK keeps in the tab's sessionStorage (`tongban.sessionKey`), never a cookie. The example page must be served by
Examples/case-system/server.py, whose /assertion signs the page's credential.
Prints one JSON line of findings per scenario; exits 0 when every step worked, 1 with the failed step otherwise.
Uses Debian's python3 with python3-websockets.
"""
import argparse
import asyncio
import base64
import contextlib
import ctypes
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

import websockets


def die_with_parent():
    """Chromium gets SIGKILL when this driver dies, even by SIGKILL (a test that gives up kills the driver)."""
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


class StepFailed(Exception):
    pass


class Browser:
    """One headless Chromium with one page, spoken to over its DevTools WebSocket."""

    def __init__(self, artefacts):
        self.artefacts = artefacts
        self.profile = tempfile.mkdtemp(prefix="tongban-chromium-")
        self.process = None
        self.socket = None
        self.next_id = 0
        self.pending = {}
        self.events = asyncio.Queue()
        self.exceptions = []
        self.console_errors = []
        self.shots = 0
        self.requests = []  # URLs of the page's requests (once the Network domain is enabled)
        # What the clerk's hands do, while `counting`: real clicks, fields typed, <select> choices, shortcut keys, and
        # the scrolls needed because the element to click was not (wholly) in the viewport.
        self.counting = False
        self.reset_counts()
        self.width, self.height = 1400, 1000

    def reset_counts(self):
        self.counts = {"clicks": 0, "typedFields": 0, "choices": 0, "keys": 0, "scrolls": 0}

    def count(self, what):
        if self.counting:
            self.counts[what] += 1

    @contextlib.contextmanager
    def uncounted(self):
        """Actions of a check (or the demo's stand-ins for the applicant), not of the clerk's case."""
        was, self.counting = self.counting, False
        try:
            yield
        finally:
            self.counting = was

    async def viewport(self, width, height):
        await self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.width, self.height = width, height

    async def start(self):
        self.process = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", f"--user-data-dir={self.profile}", "--window-size=1400,1000",
             "--disable-features=MediaRouter", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
             "--autoplay-policy=no-user-gesture-required", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=die_with_parent)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().strip():
                break
            await asyncio.sleep(0.1)
        port = open(port_file).read().split("\n")[0]
        targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
        page = next(target for target in targets if target["type"] == "page")
        self.socket = await websockets.connect(page["webSocketDebuggerUrl"], max_size=None)
        self.reader = asyncio.create_task(self.read())
        for domain in ("Page", "Runtime"):
            await self.send(f"{domain}.enable")

    async def read(self):
        async for message in self.socket:
            data = json.loads(message)
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
            elif data.get("method") == "Runtime.exceptionThrown":
                details = data["params"]["exceptionDetails"]
                self.exceptions.append(details.get("exception", {}).get("description") or details.get("text"))
            elif data.get("method") == "Runtime.consoleAPICalled" and data["params"]["type"] == "error":
                self.console_errors.append(" ".join(str(a.get("value", a.get("description", ""))) for a in data["params"]["args"]))
            elif data.get("method") == "Network.requestWillBeSent":
                self.requests.append(data["params"]["request"]["url"])
            elif str(data.get("method", "")).startswith("Network."):
                pass
            else:
                await self.events.put(data)

    async def send(self, method, **params):
        self.next_id += 1
        future = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        await self.socket.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        answer = await asyncio.wait_for(future, 60)
        if "error" in answer:
            raise StepFailed(f"{method}: {answer['error']}")
        return answer.get("result", {})

    async def navigate(self, url):
        """Loads `url` and waits for the new document (the old one is marked, so its own 'complete' does not count)."""
        try:
            await self.evaluate("window.__leaving = true")
        except StepFailed:
            pass
        await self.send("Page.navigate", url=url)
        await self.wait_for("!window.__leaving && document.readyState === 'complete'", what=f"{url} to load")

    async def evaluate(self, expression):
        result = await self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise StepFailed(f"evaluate {expression!r}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    async def wait_for(self, expression, what, timeout=90):
        """Polls `expression` until it is truthy; a guard against hanging, not a timing assertion."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise StepFailed(f"waited {timeout} s for {what} ({expression})")
            await asyncio.sleep(0.2)

    async def click(self, selector, counted=True):
        """A real left click at the middle of the element's visible part, after scrolling it into view: counted as a
        scroll when it was not wholly in sight (outside the viewport, or clipped by a scrolling panel). A click that
        would land on another element (a dialog, a drawer over it) fails rather than click what is on top."""
        box = await self.evaluate(f"""(() => {{
            const element = document.querySelector({json.dumps(selector)});
            if (!element) return null;
            const sight = () => {{
                const rect = element.getBoundingClientRect();
                let [top, bottom, left, right] = [rect.top, rect.bottom, rect.left, rect.right];
                for (let parent = element.parentElement; parent; parent = parent.parentElement) {{
                    const style = getComputedStyle(parent);
                    if (!/auto|scroll|hidden/.test(style.overflowX + style.overflowY)) continue;
                    const clip = parent.getBoundingClientRect();
                    [top, bottom, left, right] = [Math.max(top, clip.top), Math.min(bottom, clip.bottom), Math.max(left, clip.left), Math.min(right, clip.right)];
                }}
                [top, bottom, left, right] = [Math.max(top, 0), Math.min(bottom, innerHeight), Math.max(left, 0), Math.min(right, innerWidth)];
                return {{rect, top, bottom, left, right,
                         whole: top <= rect.top + 1 && bottom >= rect.bottom - 1 && left <= rect.left + 1 && right >= rect.right - 1}};
            }};
            let seen = sight();
            const scrolled = !seen.whole;
            if (scrolled) {{ element.scrollIntoView({{block: 'center', inline: 'nearest'}}); seen = sight(); }}
            const x = (seen.left + seen.right) / 2, y = (seen.top + seen.bottom) / 2;
            const hit = document.elementFromPoint(x, y);
            const covered = !hit || !(element === hit || element.contains(hit) || (element.control ?? null) === hit || hit.contains(element) && hit.tagName === 'LABEL');
            return {{x, y, disabled: !!element.disabled, hidden: seen.rect.width === 0 || seen.rect.height === 0 || seen.bottom <= seen.top,
                    scrolled, covered, by: covered && hit ? (hit.id ? '#' + hit.id : hit.tagName.toLowerCase() + (hit.className ? '.' + String(hit.className).split(' ')[0] : '')) : null}};
        }})()""")
        if box is None or box["hidden"]:
            raise StepFailed(f"{selector} is not on the page")
        if box["disabled"]:
            raise StepFailed(f"{selector} is disabled")
        if box["covered"]:
            raise StepFailed(f"{selector} is covered by {box['by']}")
        if box["scrolled"]:
            self.count("scrolls")
        if counted:
            self.count("clicks")
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"], button="left", clickCount=1)

    async def type(self, selector, text):
        """Focuses the field, selects what it holds and types over it; leaving the field fires its change event."""
        await self.click(selector, counted=False)
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).select()")
        self.count("typedFields")
        await self.send("Input.insertText", text=text)
        await self.evaluate(f"document.querySelector({json.dumps(selector)}).blur()")

    async def choose(self, selector, value):
        """Picks an option of a <select> (by script: one choice, counted as such)."""
        self.count("choices")
        await self.evaluate(f"""(() => {{ const select = document.querySelector({json.dumps(selector)});
            select.value = {json.dumps(value)}; select.dispatchEvent(new Event('change')); }})()""")

    async def key(self, key, code, modifiers=1):
        """A key press with modifiers (1 = Alt)."""
        self.count("keys")
        for kind in ("keyDown", "keyUp"):
            await self.send("Input.dispatchKeyEvent", type=kind, key=key, code=code, modifiers=modifiers)

    async def screenshot(self, name, full=False, small=False):
        """The viewport (or, `full`, the whole page); `small` also keeps a copy under 400 KB (scaled down by Chromium
        as far as needed; named small-…), for results kept in the repository."""
        self.shots += 1
        params = {"format": "png", "captureBeyondViewport": True}
        width, height = self.width, self.height
        if full or small:
            metrics = await self.send("Page.getLayoutMetrics")
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            width, height = int(size["width"]), int(size["height"])
        if full:
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        result = await self.send("Page.captureScreenshot", **params)
        os.makedirs(self.artefacts, exist_ok=True)
        path = os.path.join(self.artefacts, f"{self.shots:02d}-{name}.png")
        with open(path, "wb") as file:
            file.write(base64.b64decode(result["data"]))
        if small:
            shown = height if full else min(height, self.height)
            scale = 1.0
            for _ in range(6):
                result = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                                         clip={"x": 0, "y": 0, "width": width, "height": shown, "scale": scale})
                data = base64.b64decode(result["data"])
                if len(data) < 390_000:
                    break
                scale *= 0.8
            with open(os.path.join(self.artefacts, f"{self.shots:02d}-small-{name}.png"), "wb") as file:
                file.write(data)
        return path

    async def stop(self):
        if self.socket:
            await self.socket.close()
        if self.process:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


async def sign_in(browser, clerk, pin):
    """Signs in through the console's own form: the clerk and PIN typed, a real click on 登录. Returns the name shown."""
    await browser.wait_for("!document.querySelector('#signin').hidden", "the console's sign-in")
    await browser.type("#signin-clerk", clerk)
    await browser.type("#signin-pin", pin)
    await browser.click("#signin-submit")
    return await browser.wait_for(
        "document.querySelector('#signin').hidden && document.querySelector('#clerk-name').textContent", "the clerk to be signed in")


SIGN_IN_CODE = "!document.querySelector('#signin').hidden && document.querySelector('#signin-message').dataset.code"
# The clerk's session key, which the SDK keeps in the tab's sessionStorage (no cookie carries it).
SESSION_KEY = "sessionStorage.getItem('tongban.sessionKey')"


async def session_cookies(browser, tongban):
    """Names of the cookies the browser holds for the service: none may carry the clerk's session (cookies are not
    scoped by port, so any program on another loopback port would be sent them)."""
    try:
        cookies = await browser.send("Network.getCookies", urls=[tongban])
    except StepFailed:  # a Chromium that answers it only with the Network domain enabled
        await browser.send("Network.enable")
        cookies = await browser.send("Network.getCookies", urls=[tongban])
    return [cookie["name"] for cookie in cookies.get("cookies", [])]


async def console_scenario(browser, tongban, case_number, clerk, pin, findings):
    await browser.navigate(f"{tongban}/console")
    # Nobody signed in yet: the sign-in covers the page; in demo mode it names the demo clerk.
    await browser.wait_for("!document.querySelector('#signin').hidden", "the console's sign-in")
    findings["signInFirst"] = await browser.evaluate("document.body.dataset.ready !== 'true'")
    findings["demoHint"] = await browser.evaluate(
        "!document.querySelector('#signin-demo').hidden && document.querySelector('#signin-demo').textContent")
    await browser.screenshot("console-sign-in")
    # A wrong PIN is refused with the service's answer in words next to the form.
    await browser.type("#signin-clerk", clerk)
    await browser.type("#signin-pin", "999999" if pin != "999999" else "999998")
    await browser.click("#signin-submit")
    findings["wrongPin"] = await browser.wait_for(
        f"({SIGN_IN_CODE}) && [document.querySelector('#signin-message').dataset.code, document.querySelector('#signin-message').textContent]",
        "the wrong PIN to be refused")
    await browser.screenshot("console-sign-in-refused")
    findings["clerkName"] = await sign_in(browser, clerk, pin)
    await browser.wait_for("document.body.dataset.ready === 'true'", "the console to connect")
    # The credential is the session key the sign-in answered, kept in this tab's sessionStorage; no cookie is set.
    findings["sessionKeyStored"] = await browser.evaluate(f"/^tbs_[0-9a-f]{{64}}$/.test({SESSION_KEY} ?? '')")
    if not findings["sessionKeyStored"]:
        raise StepFailed(f"the session key is not in sessionStorage: {await browser.evaluate(SESSION_KEY)!r}")
    findings["cookies"] = await session_cookies(browser, tongban)
    if findings["cookies"]:
        raise StepFailed(f"the sign-in set cookies: {findings['cookies']}")
    await browser.type("#case-number", case_number)
    await browser.screenshot("console-connected")

    # ID card: the demo's reader gets a card from the console's own button; the record shows masked.
    await browser.wait_for("!document.querySelector('#idcard-sim').hidden", "the simulated reader to be listed")
    await browser.choose("#sim-card", "resident")
    await browser.click("#sim-place")
    masked = await browser.wait_for("document.querySelector('#idcard-record dd') && [...document.querySelectorAll('#idcard-record dd')].map(d => d.textContent)",
                                    "the card to be read")
    findings["maskedRecord"] = masked
    await browser.screenshot("idcard-read-masked")
    await browser.click("#reveal")  # no reason: the form refuses (required field), nothing is revealed
    try:  # refused in words beside the field (or by the browser's own check of a required field)
        await browser.wait_for("document.querySelector('#reveal-reason').getAttribute('aria-invalid') === 'true'"
                               " || !document.querySelector('#mask').hidden", "the reveal without a reason to be refused", timeout=10)
    except StepFailed:
        pass
    findings["revealedWithoutReason"] = await browser.evaluate("!document.querySelector('#mask').hidden")
    await browser.type("#reveal-reason", "核对申请表 checking the application form")
    await browser.click("#reveal")
    findings["revealedRecord"] = await browser.wait_for(
        "!document.querySelector('#mask').hidden && [...document.querySelectorAll('#idcard-record dd')].map(d => d.textContent)",
        "the record to be shown in full")
    await browser.screenshot("idcard-revealed")

    # Scanning: three pages from the feeder, thumbnails as they arrive; one turned, two swapped; finished to a PDF.
    await browser.choose("#scan-dpi", "150")
    await browser.type("#scan-max", "3")
    await browser.click("#scan-start")
    await browser.wait_for("document.querySelectorAll('#scan-pages li').length === 3 && !document.querySelector('#scan-finish').disabled",
                           "three scanned pages", timeout=180)
    # The thumbnails load as <img>s: their URLs carry the session key (?session=), as no header can be set there.
    findings["thumbnailsShown"] = await browser.wait_for(
        "[...document.querySelectorAll('#scan-pages li img')].every((img) => img.complete && img.naturalWidth > 0)"
        " && [...document.querySelectorAll('#scan-pages li img')].every((img) => new URL(img.src).searchParams.has('session'))",
        "the thumbnails to show")
    first = await browser.evaluate("document.querySelector('#scan-pages li').dataset.page")
    await browser.click("#scan-pages li:first-child button.rotate")
    await browser.wait_for("document.querySelector('#scan-pages li:first-child img').style.transform.includes('90deg')", "the page to turn")
    await browser.click("#scan-pages li:first-child button.later")  # move the first page later
    await browser.wait_for(f"document.querySelectorAll('#scan-pages li')[1].dataset.page === {json.dumps(first)}", "the pages to swap")
    await browser.screenshot("scan-three-pages")
    await browser.key("f", "KeyF")  # Alt+F finishes the batch
    findings["scanStatus"] = await browser.wait_for(
        "document.querySelector('#scan-pages li') === null && document.querySelector('#scan-status').textContent.includes('PDF')"
        " && document.querySelector('#scan-status').textContent", "the scan to become a PDF attachment")
    await browser.screenshot("scan-finished")

    # Camera: the live preview shows, a document is captured (found, straightened) into an attachment.
    await browser.click("#camera-toggle")
    await browser.wait_for("document.querySelector('#camera-preview').naturalWidth > 0", "the live preview")
    await browser.choose("#capture-mode", "document")
    await browser.click("#capture")
    # The case's materials (#materials) list the scan and the capture.
    findings["captureStatus"] = await browser.wait_for(
        "document.querySelectorAll('#materials li[data-attachment]').length === 2 && document.querySelector('#capture-status').textContent",
        "the document capture", timeout=120)
    await browser.screenshot("camera-document-captured")
    # The capture shows as a thumbnail through the attachment's URL (with the session key), or as a tile.
    findings["captureShown"] = await browser.wait_for(
        "(() => { const li = [...document.querySelectorAll('#materials li[data-attachment]')].at(-1); const img = li?.querySelector('img.thumb');"
        " return img ? img.complete && img.naturalWidth > 0 && 'image' : li?.querySelector('.thumb') && 'tile'; })()",
        "the captured picture to show")
    await browser.click("#camera-toggle")

    # Printing: the receipt notice, filled from the card, previewed, printed and followed to the end.
    await browser.choose("#notice-template", "receipt-notice")
    await browser.click("#notice-fill")
    if await browser.evaluate("!!document.querySelector('#reason-dialog') && !document.querySelector('#reason-dialog').hidden"):
        await browser.type("#reason-input", "填写通知书")  # asked when the record is not shown in full
        await browser.click("#reason-ok")
    findings["filledApplicant"] = await browser.wait_for(
        "document.querySelector('#notice-form input[name=applicantName]').value", "the applicant's name from the card")
    await browser.type("#notice-form input[name=matterName]", "食品经营许可证核发")
    await browser.type("#notice-form input[name=handlingUnit]", "示范市市场监督管理局")
    await browser.type("#notice-form input[name=receivingUnit]", "示范市政务服务中心")
    await browser.type("#notice-form fieldset[data-list=materials] tbody input[name=name]", "申请书")
    await browser.click("#notice-preview")
    await browser.wait_for("document.querySelector('#notice-image').naturalWidth > 0", "the notice preview")
    await browser.screenshot("notice-preview")
    await browser.click("#notice-print")
    findings["printState"] = await browser.wait_for(
        "document.querySelector('#print-jobs li[data-state=completed]') && 'completed'", "the print job to complete", timeout=120)
    await browser.screenshot("notice-printed")

    # Outbox: everything captured for the case delivered (scan PDF, document, notice).
    await browser.wait_for("document.querySelectorAll('#deliveries tr[data-attachment][data-state=delivered]').length >= 3",
                           "three deliveries", timeout=120)
    findings["outbox"] = await browser.evaluate(
        "[...document.querySelectorAll('#deliveries tr[data-attachment]')].map(r => [...r.cells].slice(0, 3).map(c => c.innerText.replace(/\\s+/g, ' ')).join(' | '))")
    await browser.screenshot("outbox-delivered")

    # English at Alt+L, back with the same keys.
    await browser.key("l", "KeyL")
    findings["englishHeading"] = await browser.wait_for(
        "document.querySelector('#scanning h3, #scanning h2').textContent === 'Scanning' && 'Scanning'", "the English console")
    await browser.screenshot("console-english")
    await browser.key("l", "KeyL")

    # A reload of the page keeps the clerk signed in: the SDK finds the live key in sessionStorage, session() says so.
    await browser.evaluate("window.beforeReload = true")  # the old document must not answer for the new one
    await browser.navigate(f"{tongban}/console")
    findings["afterReload"] = await browser.wait_for(
        "!window.beforeReload && (document.body.dataset.ready === 'true' && document.querySelector('#signin').hidden ? 'signed in'"
        " : !document.querySelector('#signin').hidden && 'sign-in shown')", "the console to load again")
    if findings["afterReload"] != "signed in":
        raise StepFailed("after a reload the console asked to sign in again, with a live session key")
    findings["clerkAfterReload"] = await browser.evaluate("document.querySelector('#clerk-name').textContent")
    await browser.wait_for("!document.querySelector('#idcard-sim').hidden", "the devices after the reload")
    await browser.screenshot("console-reloaded")

    # The session ends behind the console's back (as when it expires): the clerk's next action is refused and the
    # sign-in comes back, saying why; signing in again carries on. Ending it takes the key, as any call does.
    findings["sessionEnded"] = await browser.evaluate(
        f"fetch('/v1/session', {{method: 'DELETE', headers: {{Authorization: 'Bearer ' + {SESSION_KEY}}}}}).then(r => r.status)")
    await browser.click("#sim-lift")
    findings["expiredSignIn"] = await browser.wait_for(SIGN_IN_CODE, "the sign-in after the session ended")
    # The refused key is forgotten: sessionStorage no longer holds it.
    findings["keyAfterExpiry"] = await browser.evaluate(SESSION_KEY)
    if findings["keyAfterExpiry"] is not None:
        raise StepFailed("the refused session key is still in sessionStorage")
    await browser.screenshot("console-session-ended")
    await sign_in(browser, clerk, pin)

    # Signing out: the sign-in covers the page again, and a state-changing call the page still makes is refused.
    await browser.click("#signout")
    await browser.wait_for("!document.querySelector('#signin').hidden && !document.querySelector('#signin-message').dataset.code",
                           "the sign-in after signing out")
    findings["keyAfterSignOut"] = await browser.evaluate(SESSION_KEY)
    if findings["keyAfterSignOut"] is not None:
        raise StepFailed("signed out, the session key is still in sessionStorage")
    await browser.evaluate("document.querySelector('#sim-place').click()")  # the button under the sign-in, clicked by script
    findings["afterSignOut"] = await browser.wait_for(SIGN_IN_CODE, "the call after signing out to be refused")
    findings["idcardStatusAfterSignOut"] = await browser.evaluate("document.querySelector('#idcard-status').dataset.code")
    await browser.screenshot("console-signed-out")


async def example_scenario(browser, page, case_number, findings):
    await browser.navigate(page)
    await browser.wait_for("document.body.dataset.connected === 'true'", "the example to connect through the SDK")
    await browser.type("input[name=caseNumber]", case_number)
    # The demo button shows once the page has listed the devices (one more call, with its assertion).
    await browser.wait_for("!document.querySelector('#place-card').hidden", "the example to list the devices")
    await browser.click("#place-card")
    findings["applicant"] = await browser.wait_for(
        "document.body.dataset.cardRead === 'true' && document.querySelector('input[name=idNumber]').value"
        " + ' ' + document.querySelector('input[name=applicantName]').value", "the form to fill from the card")
    await browser.screenshot("example-card")
    await browser.click("#scan")
    await browser.wait_for("document.querySelectorAll('#attachments tbody tr').length === 1", "the scan attachment", timeout=180)
    await browser.click("#capture")
    await browser.wait_for("document.querySelectorAll('#attachments tbody tr').length === 2", "the captured document", timeout=120)
    await browser.click("#print")
    await browser.wait_for("document.body.dataset.printed === 'true'", "the printed notice", timeout=120)
    await browser.wait_for("document.querySelectorAll('#attachments tbody tr[data-state=delivered]').length === 3",
                           "the three attachments delivered", timeout=120)
    findings["attachments"] = await browser.evaluate(
        "[...document.querySelectorAll('#attachments tbody tr')].map(r => [...r.cells].map(c => c.textContent).join(' | '))")
    findings["problemShown"] = await browser.evaluate("!document.querySelector('#problem').hidden")
    await browser.screenshot("example-delivered")

    # The SDK's event stream after a drop: it reconnects by itself and replays what happened meanwhile, once.
    base = page.split("?tongban=")[1]
    findings["resume"] = await browser.evaluate(f"""(async () => {{
        const {{ Tongban }} = await import({json.dumps(base + '/sdk/tongban.js')});
        const assertion = async () => (await (await fetch('/assertion')).json()).assertion;
        const client = await Tongban.connect({{ baseUrl: {json.dumps(base)}, assertion, reconnectDelayMs: 6000 }});
        const states = [];
        client.on('connection', (event) => states.push({{ ...event.data, at: Date.now() }}));
        const seen = [];
        client.on('idcard.*', (event) => seen.push(event));
        client._socket.close();  // the stream drops; the card is lifted and placed while it is away
        await client.simulateCard('lift');
        await new Promise((resolve) => setTimeout(resolve, 1500));  // the reader notices the card gone
        await client.simulateCard('place', 'resident');
        const read = await client.waitFor('idcard.read', () => true, {{ timeoutMs: 30000 }});
        const reopened = states.find((state) => state.state === 'open');
        await new Promise((resolve) => setTimeout(resolve, 500));
        client.close();
        const sequences = seen.map((event) => event.sequence);
        return {{ states: states.map((state) => state.state + (state.resumed ? ' resumed' : '')),
                  readBeforeReconnect: Date.parse(read.time) < reopened.at,
                  duplicates: sequences.length - new Set(sequences).size, types: seen.map((event) => event.type) }};
    }})()""")


async def foreign_scenario(browser, page, tongban, case_number, findings):
    """A page of an origin Tongban does not list: the SDK cannot load, reads and writes fail, the stream is refused."""
    await browser.navigate(page)
    findings["connection"] = await browser.wait_for(
        "document.querySelector('#connection').textContent.startsWith('Tongban is not reachable')"
        " && document.querySelector('#connection').textContent", "the example to report Tongban unreachable")
    findings["read"] = await browser.evaluate(
        f"fetch({json.dumps(tongban + '/v1/devices')}).then(r => 'status ' + r.status, e => 'blocked: ' + e.name)")
    findings["preflighted"] = await browser.evaluate(
        f"fetch({json.dumps(tongban + '/v1/sim/idcard')}, {{method: 'POST', headers: {{'Content-Type': 'application/json'}},"
        " body: JSON.stringify({action: 'place'})}).then(r => 'status ' + r.status, e => 'blocked: ' + e.name)")
    # A 'simple' request the browser sends without a preflight (its answer unreadable): the service must refuse it.
    await browser.evaluate(
        f"fetch({json.dumps(tongban + '/v1/attachments?case=' + case_number + '&material=x&kind=other&fileName=x.txt')},"
        " {method: 'POST', mode: 'no-cors', headers: {'Content-Type': 'text/plain'}, body: 'forged'}).then(() => 'sent', () => 'failed')")
    ws = tongban.replace("http", "ws", 1) + "/v1/events"
    findings["eventStream"] = await browser.evaluate(f"""new Promise((resolve) => {{
        const socket = new WebSocket({json.dumps(ws)});
        socket.onopen = () => {{ socket.close(); resolve('opened'); }};
        socket.onerror = () => resolve('refused');
        setTimeout(() => resolve('no answer'), 10000);
    }})""")
    # With an assertion its own backend signed (server.py's key, which Tongban does not trust; nor its origin).
    assertion = "fetch('/assertion').then((r) => r.json()).then((a) => a.assertion, () => null)"
    findings["callWithAssertion"] = await browser.evaluate(
        f"{assertion}.then((jwt) => jwt === null ? 'no assertion' : fetch({json.dumps(tongban + '/v1/sim/idcard')}, {{method: 'POST',"
        " headers: {'Content-Type': 'application/json', Authorization: 'Bearer ' + jwt}, body: JSON.stringify({action: 'place'})})"
        ".then(r => 'status ' + r.status, e => 'blocked: ' + e.name))")
    findings["eventStreamWithAssertion"] = await browser.evaluate(f"""{assertion}.then((jwt) => jwt === null ? 'no assertion'
        : new Promise((resolve) => {{
            const socket = new WebSocket({json.dumps(ws)} + '?assertion=' + encodeURIComponent(jwt));
            socket.onopen = () => {{ socket.close(); resolve('opened'); }};
            socket.onerror = () => resolve('refused');
            setTimeout(() => resolve('no answer'), 10000);
        }}))""")
    await browser.screenshot("foreign-origin-refused")


JANUS_SUBSCRIBER = """(async () => {
    const base = JANUS, room = ROOM, feed = FEED;
    const post = async (path, body) => (await fetch(base + path, { method: 'POST',
        body: JSON.stringify({ ...body, transaction: Math.random().toString(36).slice(2) }) })).json();
    const session = (await post('', { janus: 'create' })).data.id;
    const handle = (await post(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.videoroom' })).data.id;
    const joined = await post(`/${session}/${handle}`, { janus: 'message', body: { request: 'join', room, ptype: 'subscriber', streams: [{ feed }] } });
    if (joined.janus === 'error') return { error: JSON.stringify(joined) };
    let offer = null, failure = null;
    for (let round = 0; round < 10 && !offer && !failure; round++) {
        const events = [].concat(await (await fetch(`${base}/${session}?maxev=5`)).json());
        for (const event of events) {
            if (event.jsep) offer = event.jsep;
            if (event.plugindata?.data?.error) failure = event.plugindata.data.error;
        }
    }
    if (!offer) return { error: failure ?? 'no offer from Janus' };
    const pc = new RTCPeerConnection();
    await pc.setRemoteDescription(offer);
    await pc.setLocalDescription(await pc.createAnswer());
    await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve();
        pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
        setTimeout(resolve, 5000);
    });
    const startedAt = performance.now();
    await post(`/${session}/${handle}`, { janus: 'message', body: { request: 'start', room }, jsep: pc.localDescription });
    const inbound = async (kind) => [...(await pc.getStats()).values()].find((s) => s.type === 'inbound-rtp' && s.kind === kind) ?? {};
    let firstFrameMs = null;
    for (let i = 0; i < 200 && firstFrameMs === null; i++) {
        if ((await inbound('video')).framesDecoded > 0) firstFrameMs = Math.round(performance.now() - startedAt);
        else await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const video = await inbound('video'), audio = await inbound('audio');
    pc.close();
    await post(`/${session}`, { janus: 'destroy' });
    return { firstFrameMs, framesDecoded: video.framesDecoded ?? 0, width: video.frameWidth, height: video.frameHeight,
             framesPerSecond: video.framesPerSecond, audioPackets: audio.packetsReceived ?? 0,
             audioSamples: audio.totalSamplesReceived ?? 0, connection: pc.connectionState };
})()"""


JANUS_PUBLISHER = """(async () => {
    const base = JANUS, room = ROOM;
    const post = async (path, body) => (await fetch(base + path, { method: 'POST',
        body: JSON.stringify({ ...body, transaction: Math.random().toString(36).slice(2) }) })).json();
    const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
    const session = (await post('', { janus: 'create' })).data.id;
    const handle = (await post(`/${session}`, { janus: 'attach', plugin: 'janus.plugin.videoroom' })).data.id;
    const pc = new RTCPeerConnection();
    for (const track of stream.getTracks()) pc.addTrack(track, stream);
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((resolve) => {
        if (pc.iceGatheringState === 'complete') resolve();
        pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') resolve(); };
        setTimeout(resolve, 5000);
    });
    await post(`/${session}/${handle}`, { janus: 'message', body: { request: 'joinandconfigure', room, ptype: 'publisher',
        display: 'remote clerk (chromium)' }, jsep: pc.localDescription });
    let answer = null, feed = null, failure = null;
    for (let round = 0; round < 10 && !answer && !failure; round++) {
        for (const event of [].concat(await (await fetch(`${base}/${session}?maxev=5`)).json())) {
            if (event.jsep) { answer = event.jsep; feed = event.plugindata?.data?.id; }
            if (event.plugindata?.data?.error) failure = event.plugindata.data.error;
        }
    }
    if (!answer) return { error: failure ?? 'no answer from Janus' };
    await pc.setRemoteDescription(answer);
    window.publisher = { pc, session, post };
    // Keep the session alive while Tongban subscribes.
    window.keepalive = setInterval(() => post(`/${session}`, { janus: 'keepalive' }), 10000);
    return { feed: String(feed) };
})()"""


async def janus_publish_scenario(browser, janus, room, seconds, findings):
    """The remote clerk's browser publishes Chromium's fake camera and microphone into the room for `seconds`."""
    await browser.navigate(f"{janus}/info")
    script = JANUS_PUBLISHER.replace("JANUS", json.dumps(janus)).replace("ROOM", str(room))
    published = await browser.evaluate(script)
    if published.get("error"):
        raise StepFailed(published["error"])
    findings["feed"] = published["feed"]
    print(json.dumps({"feed": published["feed"]}), flush=True)
    await asyncio.sleep(seconds)
    findings["sent"] = await browser.evaluate("""(async () => {
        const stats = [...(await publisher.pc.getStats()).values()].filter((s) => s.type === 'outbound-rtp');
        return stats.map((s) => `${s.kind} ${s.packetsSent}`);
    })()""")


async def answer_scenario(browser, tongban, office, talk, decline_first, findings):
    """A clerk without Tongban answers in the browser: online for the office, (declines a first call,) rings, answers
    with Chromium's fake camera and microphone, sees and hears the caller, and is hung up on by the calling counter."""
    await browser.navigate(f"{tongban}/console/answer.html?office={office}&counter=browser-1")
    await browser.click("#online button[type=submit]")
    await browser.wait_for("document.querySelector('#status').dataset.state === 'online'", "the browser to be online")
    print(json.dumps({"online": True}), flush=True)
    if decline_first:
        findings["declinedRing"] = await browser.wait_for(
            "!document.querySelector('#ring').hidden && document.querySelector('#ring-text').textContent", "the first call to ring", timeout=60)
        await browser.click("#decline")
        findings["afterDecline"] = await browser.wait_for(
            "document.querySelector('#status').dataset.state === 'ended' && document.querySelector('#ring').hidden"
            " && document.querySelector('#status').textContent", "the page to show the call declined")
        print(json.dumps({"declined": True}), flush=True)
    findings["ring"] = await browser.wait_for("!document.querySelector('#ring').hidden && document.querySelector('#ring-text').textContent",
                                              "the call to ring", timeout=60)
    await browser.screenshot("answer-ringing")
    await browser.click("#accept")
    findings["acceptToFirstFrameMs"] = await browser.wait_for("""(async () => {
        const pc = window.answerer.receiving();
        if (!pc) return null;
        const video = [...(await pc.getStats()).values()].find((s) => s.type === 'inbound-rtp' && s.kind === 'video');
        return video?.framesDecoded > 0 ? Math.round(performance.now() - window.answerer.call.acceptedAt) : null;
    })()""", "the caller's first decoded frame", timeout=30)
    print(json.dumps({"firstFrame": findings["acceptToFirstFrameMs"]}), flush=True)
    received = """(async () => {
        const stats = [...(await window.answerer.receiving().getStats()).values()];
        const video = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'video') ?? {};
        const audio = stats.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio') ?? {};
        return { framesDecoded: video.framesDecoded ?? 0, width: video.frameWidth, height: video.frameHeight,
                 audioPackets: audio.packetsReceived ?? 0, audioSamples: audio.totalSamplesReceived ?? 0, at: performance.now() };
    })()"""
    before = await browser.evaluate(received)
    await asyncio.sleep(talk)
    findings["received"] = await browser.evaluate(received)
    elapsed = (findings["received"]["at"] - before["at"]) / 1000
    findings["decodedFramesPerSecond"] = round((findings["received"]["framesDecoded"] - before["framesDecoded"]) / elapsed, 1)
    # What the clerk sees: every video of the caller on the page (its camera, and its document camera when shown).
    findings["videosShown"] = await browser.evaluate("""[...document.querySelectorAll('video:not(#local)')]
        .filter((video) => video.videoWidth > 0).map((video) => `${video.id || video.className} ${video.videoWidth}x${video.videoHeight}`)""")
    await browser.screenshot("answer-connected")
    print(json.dumps({"talking": True}), flush=True)
    findings["ended"] = await browser.wait_for("document.querySelector('#status').dataset.state === 'ended' && document.querySelector('#status').textContent",
                                               "the caller to hang up", timeout=60)
    await browser.screenshot("answer-ended")


async def janus_scenario(browser, janus, room, feed, findings):
    """The remote clerk's browser subscribes to a feed in a Janus VideoRoom and reports what it decoded."""
    await browser.navigate(f"{janus}/info")  # same origin as Janus's API
    script = JANUS_SUBSCRIBER.replace("JANUS", json.dumps(janus)).replace("ROOM", str(room)).replace("FEED", str(feed))
    findings["subscriber"] = await browser.evaluate(script)
    if findings["subscriber"].get("error"):
        raise StepFailed(findings["subscriber"]["error"])


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["console", "example", "foreign", "case", "janus", "janus-publish", "answer"])
    parser.add_argument("--office")
    parser.add_argument("--talk", type=float, default=3, help="answer: seconds of talk measured")
    parser.add_argument("--decline-first", action="store_true", help="answer: decline the first call, answer the next")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--janus")
    parser.add_argument("--room", type=int)
    parser.add_argument("--feed", type=int)
    parser.add_argument("--tongban", default="")
    parser.add_argument("--page")
    parser.add_argument("--case", default="WEB2026112200001")
    parser.add_argument("--clerk", default="demo", help="console: the clerk to sign in as (the demo clerk by default)")
    parser.add_argument("--pin", default="000000", help="console: that clerk's PIN")
    parser.add_argument("--artefacts", required=True)
    parser.add_argument("--spool", default=os.environ.get("TONGBAN_RIG_IPP_SPOOL") or rig_setting("TONGBAN_RIG_IPP_SPOOL"),
                        help="case: ippeveprinter's spool folder, where the printed PDFs land (the rig's by default)")
    parser.add_argument("--audit-db", help="case: the service's tongban.sqlite, to read the reveal's audited reason")
    parser.add_argument("--results", help="case: where to copy a small set of the pictures (Benchmarks/results/console)")
    parser.add_argument("--compare", help="case: findings (JSON) of a run against the first wave's console, for the README")
    arguments = parser.parse_args()
    artefacts = os.path.join(arguments.artefacts, arguments.scenario)
    os.makedirs(artefacts, exist_ok=True)
    browser = Browser(artefacts)
    findings = {"scenario": arguments.scenario}
    status = 0
    try:
        await browser.start()
        if arguments.scenario == "console":
            await console_scenario(browser, arguments.tongban, arguments.case, arguments.clerk, arguments.pin, findings)
        elif arguments.scenario == "example":
            await example_scenario(browser, arguments.page, arguments.case, findings)
        elif arguments.scenario == "answer":
            await answer_scenario(browser, arguments.tongban, arguments.office, arguments.talk, arguments.decline_first, findings)
        elif arguments.scenario == "janus-publish":
            await janus_publish_scenario(browser, arguments.janus, arguments.room, arguments.seconds, findings)
        elif arguments.scenario == "janus":
            await janus_scenario(browser, arguments.janus, arguments.room, arguments.feed, findings)
        elif arguments.scenario == "case":
            import console_case
            failed = await console_case.case_scenario(browser, arguments.tongban, arguments.clerk, arguments.pin, artefacts,
                                                      findings, arguments.spool, arguments.audit_db, StepFailed)
            if arguments.results:
                findings["published"] = console_case.publish(artefacts, arguments.results, findings, arguments.compare)
            if failed:
                status = 1
        else:
            await foreign_scenario(browser, arguments.page, arguments.tongban, arguments.case, findings)
    except (StepFailed, asyncio.TimeoutError) as failure:
        findings["failed"] = str(failure) or type(failure).__name__
        try:
            findings["page"] = await browser.evaluate("document.body.innerText.slice(0, 3000)")
            await browser.screenshot("failure")
        except Exception:  # the page itself may be what failed
            pass
        status = 1
    finally:
        findings["exceptions"] = browser.exceptions
        findings["consoleErrors"] = browser.console_errors
        await browser.stop()
    print(json.dumps(findings, ensure_ascii=False), flush=True)
    return status


def rig_setting(name):
    """A setting of the test rig (.rig/env at the top of the repository), or None."""
    try:
        with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".rig", "env")) as file:
            for line in file:
                if line.startswith(f"{name}="):
                    return line.split("=", 1)[1].strip()
    except OSError:
        pass
    return None


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    sys.exit(asyncio.run(main()))
