"""The upload page and hoist-upload.js in a real, headless Chromium (Debian's chromium and
chromium-driver, driven by selenium), against `hoist serve` started here on free ports of 127.0.0.1.

The page's origin (the API's port) differs from the store's, as in production, so every PUT is a
real cross-origin request with a CORS preflight. Objects are checked in the store with boto3 and
the store's own credentials.

1. the page: limits from GET /policy, labelled controls, keyboard sign-in with a dev token;
2. a JPEG (file picker) and a PNG (dropped on the drop zone): both progress bars reach 100 %, the
   gallery shows both through pre-signed GETs, the objects have the right type and bytes;
3. a file over the size limit and a text file renamed .jpg are refused before any request;
4. a 5 MiB PNG over a throttled connection (DevTools network conditions): several intermediate
   progress values, a rate and a time left;
5. cancel mid-upload: no object in the store; then Retry uploads it; five files at once: at most
   three in flight;
6. screenshots after the uploads (desktop and phone width; no horizontal scrolling on the phone);
7. an expired URL (a second server with HOIST_URL_EXPIRY=1; the test holds the first PUT back past
   the expiry): renewed once, then the upload succeeds;
8. the statuses the image worker will add (processed with dimensions, rejected with a reason, an
   unknown one), fed to the page by rewriting its API answers: shown, and nothing breaks;
9. a third server whose HOIST_CORS_ORIGINS lists another app's origin, not its own: Hoist's page
   is refused by the bucket's CORS rules and explains it; the other app's page (served here) imports
   /hoist-upload.js cross-origin and uploads through it.

The servers are the suite's fixtures (conftest.py). Env: HOIST_BIN (default .build/debug/hoist),
HOIST_ARTIFACTS (where screenshots go; default a folder under /tmp that is kept), CHROMIUM,
CHROMEDRIVER, INTEROP_VERBOSE=1 (with -s).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
import shutil
import struct
import tempfile
import time
import zlib

import pytest

from api_common import HoistServerProcess, keys_under, tiny_jpeg  # noqa: E402
from api_common import store_s3_client as s3_client  # noqa: E402
from interop_common import Results, fail_check, tally, temp_dir  # noqa: E402

BUCKET = "article-images"
MiB = 1024 * 1024


# --- files -------------------------------------------------------------------------------------------

def png(width: int, height: int, pixel, level: int = 9) -> bytes:
    """A truecolour PNG; `pixel(x, y)` gives (r, g, b)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = b"".join(b"\x00" + bytes(c for x in range(width) for c in pixel(x, y)) for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, level)) + chunk(b"IEND", b""))


def noise_png(width: int, height: int, seed: int) -> bytes:
    """A PNG of random pixels, stored uncompressed: about width*height*3 bytes."""
    rng = random.Random(seed)
    raw = rng.randbytes(width * height * 3)
    rows = b"".join(b"\x00" + raw[y * width * 3:(y + 1) * width * 3] for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows, 0)) + chunk(b"IEND", b""))


class Files:
    def __init__(self) -> None:
        self.dir = temp_dir("hoist-web-files-")
        self.jpeg = self.write("harbour.jpg", tiny_jpeg(320, 240, seed=7))
        self.png = self.write("diagram.png", png(240, 160, lambda x, y: (x, (x + y) % 256, 255 - y)))
        self.big = self.write("big-5mib.png", noise_png(1280, 1366, seed=1))
        self.big2 = self.write("cancel-me.png", noise_png(1280, 1366, seed=2))
        self.small = self.write("small.jpg", tiny_jpeg(64, 48, seed=3))
        self.small2 = self.write("elsewhere.jpg", tiny_jpeg(64, 48, seed=4))
        self.over = self.write("over-limit.jpg", b"\xff\xd8\xff\xe0" + bytes(10 * MiB - 3))
        self.text = self.write("notes.jpg", b"Shopping list:\n- milk\n- bread\nThis is a text file renamed .jpg.\n")

    def write(self, name: str, data: bytes) -> str:
        path = os.path.join(self.dir, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    @staticmethod
    def read(path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()


# --- the browser ----------------------------------------------------------------------------------------

def make_driver(profile_dir: str):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000",
                f"--user-data-dir={profile_dir}", "--no-first-run", "--disable-extensions", "--disable-background-networking"):
        options.add_argument(arg)
    service = Service(executable_path=os.environ.get("CHROMEDRIVER") or shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_script_timeout(30)
    return driver


class Page:
    """The upload page of one server in the browser."""

    def __init__(self, driver, srv: HoistServerProcess):
        self.d = driver
        self.srv = srv

    def js(self, script: str, *args):
        return self.d.execute_script(script, *args)

    def wait(self, what: str, predicate, timeout: float = 30.0, interval: float = 0.1):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = predicate()
            except Exception as exc:  # noqa: BLE001 - a page still loading
                last = exc
                time.sleep(interval)
                continue
            if last:
                return last
            time.sleep(interval)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what} (last: {last!r})")

    def open(self) -> None:
        self.d.get(self.srv.api + "/")
        self.wait("the page to be ready", lambda: self.js("return document.body.dataset.ready === '1'"))

    def sign_in_with_keyboard(self, name: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        field = self.d.find_element(By.ID, "dev-name")
        field.clear()
        field.send_keys(name, Keys.ENTER)
        self.wait("signed in", lambda: self.js("return !document.getElementById('signed-in').hidden"))

    def pick(self, *paths: str) -> None:
        from selenium.webdriver.common.by import By

        self.d.find_element(By.ID, "file-input").send_keys("\n".join(paths))

    def drop(self, path: str, type_: str) -> None:
        data = base64.b64encode(Files.read(path)).decode()
        self.js("""
            const [b64, name, type] = arguments;
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type }));
            const zone = document.getElementById('drop');
            zone.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        """, data, os.path.basename(path), type_)

    def entry(self, name: str) -> dict | None:
        return self.js("""
            const li = [...document.querySelectorAll('li.file')].reverse().find((e) => e.dataset.name === arguments[0]);
            if (!li) return null;
            return { state: li.dataset.state, progress: li.dataset.progress ?? null, bar: li.querySelector('progress').value,
                     key: li.dataset.key ?? null, message: li.querySelector('.message').textContent,
                     numbers: li.querySelector('.numbers').textContent, renewed: li.dataset.renewed ?? null,
                     errorCode: li.dataset.errorCode ?? null, serverStatus: li.dataset.serverStatus ?? null,
                     id: li.id };
        """, name)

    def wait_state(self, name: str, states: tuple[str, ...], timeout: float = 30.0) -> dict:
        return self.wait(f"{name} in state {states}",
                         lambda: (lambda e: e if e and e["state"] in states else None)(self.entry(name)), timeout)

    def click_in(self, name: str, cls: str) -> None:
        from selenium.webdriver.common.by import By

        li_id = self.entry(name)["id"]
        self.d.find_element(By.CSS_SELECTOR, f"#{li_id} button.{cls}").click()

    def click(self, element_id: str) -> None:
        from selenium.webdriver.common.by import By

        self.d.find_element(By.ID, element_id).click()

    def gallery(self) -> list[dict]:
        return self.js("""
            return [...document.querySelectorAll('#gallery figure')].map((f) => {
              const img = f.querySelector('img');
              return { key: f.dataset.key, status: f.dataset.status, loaded: !!img && img.complete && img.naturalWidth > 0,
                       width: img ? img.naturalWidth : 0, alt: img ? img.alt : null,
                       src: img ? img.src : null };
            });
        """)

    def article(self) -> str:
        return self.js("return document.getElementById('article-id').textContent")


# --- the store ----------------------------------------------------------------------------------------------

def get_object(s3, key: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        obj = s3.get_object(Bucket=BUCKET, Key=key)
        return {"type": obj["ContentType"], "body": obj["Body"].read()}
    except ClientError as exc:
        if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
            return None
        raise


def uploads_of(srv: HoistServerProcess, token: str, article: str) -> list[dict]:
    import requests

    resp = requests.get(f"{srv.api}/articles/{article}/uploads", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return resp.json().get("uploads", []) if resp.status_code == 200 else []


def page_token(page: Page) -> str:
    return page.js("return sessionStorage.getItem('hoist.token')")


# --- scenarios ----------------------------------------------------------------------------------------------

def check_page(R: Results, page: Page) -> None:
    limits = page.js("return document.getElementById('limits').textContent")
    R.check("the page shows the server's limits (GET /policy)", "10 MiB" in limits and "JPEG" in limits, limits)
    unlabelled = page.js("""
        const named = (e) => (e.labels && e.labels.length > 0) || e.getAttribute('aria-label') || e.textContent.trim();
        return [...document.querySelectorAll('input, textarea, button, progress')].filter((e) => !named(e)).map((e) => e.outerHTML);
    """)
    R.check("every control has a label or a name", unlabelled == [], "\n".join(unlabelled))
    focus = page.js("""
        const input = document.getElementById('file-input');
        const before = getComputedStyle(document.getElementById('drop')).outlineStyle;
        document.getElementById('dev-name').focus();
        return { tabIndex: input.tabIndex, display: getComputedStyle(input).display, before };
    """)
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.common.action_chains import ActionChains
    # Tab from the name field: sign-in button, "Paste a token", then the file input.
    ActionChains(page.d).send_keys(Keys.TAB, Keys.TAB, Keys.TAB).perform()
    reached = page.js("return [document.activeElement.id, getComputedStyle(document.getElementById('drop')).outlineStyle]")
    R.check("the file picker is reached with Tab, and the drop zone shows the focus",
            focus["tabIndex"] == 0 and focus["display"] != "none" and reached[0] == "file-input"
            and focus["before"] == "none" and reached[1] == "solid", f"{focus}; after Tab: {reached}")
    external = page.js("""
        return [...document.querySelectorAll('script[src], link[href], img[src]')].map((e) => e.src || e.href)
               .filter((u) => u && !u.startsWith('data:') && new URL(u).origin !== location.origin);
    """)
    R.check("nothing is loaded from another origin (no CDN, no fonts)", external == [], str(external))
    R.check("dev mode: the sign-in button is shown", page.js("return !document.getElementById('dev-form').hidden"))
    page.sign_in_with_keyboard("alice")
    who = page.js("return document.getElementById('who').textContent")
    R.check("signed in with the keyboard (name, Enter): 'Signed in as alice.'", who == "Signed in as alice.", who)


def two_images(R: Results, page: Page, files: Files, s3) -> dict:
    page.pick(files.jpeg)
    page.drop(files.png, "image/png")
    jpeg_name, png_name = os.path.basename(files.jpeg), os.path.basename(files.png)
    page.wait_state(jpeg_name, ("ready",))
    page.wait_state(png_name, ("ready",))
    previews = page.js("return [...document.querySelectorAll('li.file img.preview')].map((i) => i.complete && i.naturalWidth)")
    R.check("both files show a preview", len(previews) == 2 and all(previews), str(previews))
    button = page.js("return document.getElementById('upload-all').textContent")
    R.check("the upload button counts the files", button == "Upload 2 files", button)
    t0 = time.monotonic()
    page.click("upload-all")
    results = {}
    for name, path, type_ in ((jpeg_name, files.jpeg, "image/jpeg"), (png_name, files.png, "image/png")):
        try:
            e = page.wait_state(name, ("done", "failed"), timeout=30)
        except TimeoutError as exc:
            R.check(f"{name}: uploaded", False, str(exc))
            continue
        results[name] = e
        R.check(f"{name}: uploaded", e["state"] == "done", str(e))
        R.check(f"{name}: its progress bar reached 100 %", e["bar"] == 100 and e["progress"] == "100", str(e))
        R.check(f"{name}: the numbers say 100 %", e["numbers"].startswith("100% ·"), e["numbers"])
        obj = get_object(s3, e["key"] or "")
        R.check(f"{name}: the object is in the store with type {type_} and the file's bytes",
                obj is not None and obj["type"] == type_ and obj["body"] == Files.read(path),
                f"key {e['key']}: {None if obj is None else (obj['type'], len(obj['body']))}")
    R.info(f"two images uploaded in {time.monotonic() - t0:.2f} s")
    keys = {e["key"] for e in results.values()}
    try:
        shown = page.wait("both images in the gallery",
                          lambda: (lambda g: g if keys <= {f["key"] for f in g if f["loaded"]} else None)(page.gallery()), timeout=20)
        R.check("the gallery shows both images, loaded through pre-signed GET URLs of the store",
                all(f["src"].startswith(page.srv.store + f"/{BUCKET}/") and "X-Amz-Signature=" in f["src"]
                    for f in shown if f["key"] in keys), json.dumps(shown)[:800])
    except TimeoutError as exc:
        R.check("the gallery shows both images, loaded through pre-signed GET URLs of the store", False, str(exc))
    try:
        e = page.wait("the server's status on the file", lambda: page.entry(jpeg_name)["serverStatus"], timeout=10)
        R.check("each file shows its status from GET /articles/{id}/uploads", bool(e), str(page.entry(jpeg_name)))
    except TimeoutError as exc:
        R.check("each file shows its status from GET /articles/{id}/uploads", False, str(exc))
    # The image worker's verdict reaches the page without a reload (the page polls the listing).
    page.js("window.__hoistSamePage = true")
    seen: dict[str, list] = {jpeg_name: [], png_name: []}

    def both_processed():
        for name in seen:
            status = (page.entry(name) or {}).get("serverStatus")
            if status and (not seen[name] or seen[name][-1] != status):
                seen[name].append(status)
        return all(v and v[-1] == "processed" for v in seen.values())
    try:
        page.wait("both files processed by the worker", both_processed, timeout=30, interval=0.05)
        ok = True
    except TimeoutError:
        ok = False
    R.check("the page shows the worker's status change to processed without a reload",
            ok and page.js("return window.__hoistSamePage === true"), str(seen))
    figures = {f["key"]: f["status"] for f in page.gallery()}
    R.check("the gallery's figures carry the processed status", all(figures.get(k) == "processed" for k in keys), str(figures))
    return results


def rejected_by_worker(R: Results, page: Page, files: Files) -> None:
    """A PNG whose header is right but whose pixels are garbage: the browser's checks pass, the upload
    lands, and the worker's `rejected` verdict (with its reason) appears on the page without a reload."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    broken = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
              + chunk(b"IDAT", b"these bytes are not deflate data" * 8) + chunk(b"IEND", b""))
    path = files.write("broken-pixels.png", broken)
    name = os.path.basename(path)
    page.js("window.__hoistSamePage = true")
    page.pick(path)
    page.wait_state(name, ("ready",))
    page.click("upload-all")
    e = page.wait_state(name, ("done", "failed"), timeout=30)
    R.check("broken pixels: the browser's checks pass and the upload lands", e["state"] == "done", str(e))
    try:
        page.wait("the worker's verdict", lambda: (page.entry(name) or {}).get("serverStatus") == "rejected", timeout=30)
        ok = True
    except TimeoutError:
        ok = False
    text = page.js("const li = [...document.querySelectorAll('li.file')].find((l) => l.textContent.includes(arguments[0]));"
                   "return li ? li.textContent : ''", name)
    R.check("broken pixels: the page shows 'rejected' and the reason, without a reload",
            ok and "could not be decoded" in text and page.js("return window.__hoistSamePage === true"), text[:400])


def refused(R: Results, page: Page, files: Files) -> None:
    token = page_token(page)
    article = page.article()
    before = len(uploads_of(page.srv, token, article))
    page.pick(files.over, files.text)
    over = page.wait_state(os.path.basename(files.over), ("refused", "ready"))
    text = page.wait_state(os.path.basename(files.text), ("refused", "ready"))
    R.check("a file over the size limit is refused before upload, with the sizes",
            over["state"] == "refused" and "over the 10 MiB limit" in over["message"], str(over))
    R.check("a text file renamed .jpg is refused: 'not an image: it looks like text'",
            text["state"] == "refused" and "not an image: it looks like text" in text["message"]
            and "image/jpeg" in text["message"], str(text))
    disabled = page.js("return document.getElementById('upload-all').disabled")
    R.check("with only refused files, Upload is disabled", disabled is True)
    page.js("document.getElementById('upload-all').disabled = false; document.getElementById('upload-all').click()")
    time.sleep(1.0)
    after = len(uploads_of(page.srv, token, article))
    R.check("no upload URL was asked for the refused files", after == before, f"{before} -> {after} records")
    page.click("clear")
    left = page.js("return document.querySelectorAll('li.file[data-state=refused]').length")
    R.check("'Clear the list' removes the refused files", left == 0, str(left))


def throttled(R: Results, page: Page, files: Files, s3, artifacts: str) -> dict | None:
    name = os.path.basename(files.big)
    size = os.path.getsize(files.big)
    page.d.set_network_conditions(offline=False, latency=5, download_throughput=50 * MiB, upload_throughput=1 * MiB)
    try:
        page.pick(files.big)
        page.wait_state(name, ("ready",))
        t0 = time.monotonic()
        page.click("upload-all")
        values, numbers = [], []
        shot = None
        deadline = time.monotonic() + 60
        e = None
        while time.monotonic() < deadline:
            e = page.entry(name)
            if e["progress"] is not None and (not values or values[-1] != int(e["progress"])):
                values.append(int(e["progress"]))
                numbers.append(e["numbers"])
            if e["state"] in ("done", "failed"):
                break
            if shot is None and e["progress"] is not None and int(e["progress"]) >= 40:
                shot = os.path.join(artifacts, "web-uploading.png")
                page.d.save_screenshot(shot)
                print(f"screenshot: {shot}")
            time.sleep(0.1)
        elapsed = time.monotonic() - t0
    finally:
        page.d.delete_network_conditions()
    intermediate = sorted({v for v in values if 0 < v < 100})
    R.info(f"5 MiB at 1 MiB/s: {elapsed:.1f} s; progress values seen {values}")
    R.info(f"progress texts, e.g. {numbers[len(numbers) // 2] if numbers else None!r}")
    R.check(f"{name} ({size} bytes, throttled): uploaded", e is not None and e["state"] == "done", str(e))
    R.check("throttled upload reports several intermediate progress values (>= 4 between 0 and 100)",
            len(intermediate) >= 4, str(values))
    R.check("progress values never go down", values == sorted(values), str(values))
    R.check("the upload took as long as the throttle implies (>= 3 s for 5 MiB at 1 MiB/s)", elapsed >= 3.0, f"{elapsed:.1f} s")
    R.check("the page showed a rate and a time left while uploading",
            any(re.search(r"\d+% · .* of .* · [\d.]+ (KiB|MiB)/s · \d+ s left", n) for n in numbers), "\n".join(numbers[:10]))
    obj = get_object(s3, (e or {}).get("key") or "")
    R.check("the 5 MiB object is in the store, byte for byte",
            obj is not None and hashlib.sha256(obj["body"]).digest() == hashlib.sha256(Files.read(files.big)).digest(),
            f"{None if obj is None else len(obj['body'])} bytes")
    return e


def cancel(R: Results, page: Page, files: Files, s3) -> dict:
    name = os.path.basename(files.big2)
    page.d.set_network_conditions(offline=False, latency=5, download_throughput=50 * MiB, upload_throughput=512 * 1024)
    try:
        page.pick(files.big2)
        page.wait_state(name, ("ready",))
        page.click("upload-all")
        e = page.wait(f"{name} past 10 %", lambda: (lambda x: x if x["progress"] and int(x["progress"]) >= 10 else None)(page.entry(name)),
                      timeout=30)
        page.click_in(name, "cancel")
        e = page.wait_state(name, ("cancelled", "done", "failed"), timeout=10)
    finally:
        page.d.delete_network_conditions()
    key = e.get("key")
    R.check("cancel mid-upload: the file is cancelled", e["state"] == "cancelled", str(e))
    time.sleep(1.5)
    article = page.article()
    R.check("cancel mid-upload: no object in the store", key is not None and get_object(s3, key) is None
            and key not in keys_under(s3, f"articles/{article}/"), f"key {key}")
    retry_visible = page.js("""
        const li = [...document.querySelectorAll('li.file')].find((e) => e.dataset.name === arguments[0]);
        return !li.querySelector('button.retry').hidden""", name)
    R.check("a cancelled file offers Retry", retry_visible is True)
    page.click_in(name, "retry")
    e = page.wait_state(name, ("done", "failed"), timeout=60)
    obj = get_object(s3, e.get("key") or "")
    R.check("Retry uploads the cancelled file (a new URL, the file's bytes in the store)",
            e["state"] == "done" and e["key"] != key and obj is not None and obj["body"] == Files.read(files.big2), str(e))
    return e


def concurrency(R: Results, page: Page, files: Files, s3) -> None:
    """Five files at once over a throttled connection: at most three are in flight, the rest wait."""
    paths = [files.write(f"batch-{i}.png", noise_png(256, 256, seed=10 + i)) for i in range(5)]
    names = [os.path.basename(p) for p in paths]
    page.d.set_network_conditions(offline=False, latency=5, download_throughput=50 * MiB, upload_throughput=256 * 1024)
    busy = ("hashing", "requesting", "uploading", "renewing", "retrying")
    most, queued_while_full = 0, False
    try:
        page.pick(*paths)
        for name in names:
            page.wait_state(name, ("ready",))
        page.click("upload-all")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = page.js("return [...document.querySelectorAll('li.file')].filter((li) => li.dataset.name.startsWith('batch-'))"
                             ".map((li) => li.dataset.state)")
            active = sum(1 for st in states if st in busy)
            most = max(most, active)
            queued_while_full = queued_while_full or (active == 3 and "queued" in states)
            if all(st in ("done", "failed", "cancelled") for st in states):
                break
            time.sleep(0.05)
    finally:
        page.d.delete_network_conditions()
    R.info(f"five files at once: at most {most} in flight")
    R.check("at most 3 files upload at a time, the others wait (queued)", most == 3 and queued_while_full,
            f"at most {most} in flight; queued while 3 in flight: {queued_while_full}")
    done = [page.entry(n) for n in names]
    R.check("all five files uploaded, each object with its bytes",
            all(e["state"] == "done" and (get_object(s3, e["key"]) or {}).get("body") == Files.read(p) for e, p in zip(done, paths)),
            str([e["state"] for e in done]))
    for name in names:
        page.click_in(name, "remove")


def screenshots(R: Results, page: Page, artifacts: str) -> None:
    try:
        page.wait("every uploaded image in the gallery",
                  lambda: (lambda g: len(g) >= 4 and all(f["loaded"] for f in g))(page.gallery()), timeout=20)
    except TimeoutError as exc:
        R.check("the gallery shows the four uploaded images", False, str(exc))
    page.d.set_window_size(1280, 1700)
    time.sleep(0.5)
    desktop = os.path.join(artifacts, "web-after-uploads.png")
    R.check("screenshot saved (desktop)", page.d.save_screenshot(desktop) and os.path.getsize(desktop) > 10000, desktop)
    print(f"screenshot: {desktop}")
    page.d.set_window_size(390, 1600)
    time.sleep(0.5)
    overflow = page.js("return [document.documentElement.scrollWidth, window.innerWidth]")
    R.check("phone width (390 px): no horizontal scrolling", overflow[0] <= overflow[1], str(overflow))
    phone = os.path.join(artifacts, "web-phone.png")
    R.check("screenshot saved (phone)", page.d.save_screenshot(phone) and os.path.getsize(phone) > 10000, phone)
    print(f"screenshot: {phone}")
    page.d.set_window_size(1280, 1000)


# Rewrites the page's GET /articles/{id}/uploads answers as the image worker (issue 7) will make them:
# statuses past `pending`, a reason, dimensions, fields and statuses this page does not know.
FUTURE_STATUSES = """
const overrides = arguments[0];
const uploader = window.hoistUploader;
window.__realFetch = uploader.fetch;
uploader.fetch = async (url, init) => {
  const response = await window.__realFetch(url, init);
  if (!/\\/articles\\/[^/]+\\/uploads$/.test(new URL(url, location.href).pathname) || !response.ok) return response;
  const body = await response.json();
  for (const item of body.uploads) Object.assign(item, overrides[item.key] ?? {});
  body.worker = { version: 2 };
  return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } });
};
"""


def future_statuses(R: Results, page: Page, uploaded: dict) -> None:
    """The page shows statuses it polls, and tolerates those and fields it does not know."""
    big, cancelled, jpeg = (uploaded.get(n) for n in ("big-5mib.png", "cancel-me.png", "harbour.jpg"))
    if not (big and cancelled and jpeg):
        R.check("future statuses: the earlier uploads are there to rewrite", False, str(uploaded))
        return
    page.js(FUTURE_STATUSES, {
        big: {"status": "processed", "width": 1280, "height": 1366, "sha256": "x", "derived": [{"name": "thumb", "extra": 1}]},
        cancelled: {"status": "rejected", "reason": "not an image (magic bytes)"},
        jpeg: {"status": "quarantined", "labels": {"nested": True}},
    })
    try:
        page.click("refresh")
        page.wait("the rewritten statuses", lambda: (page.entry("cancel-me.png") or {}).get("serverStatus") == "rejected", timeout=10)
        badges = page.js("""return Object.fromEntries([...document.querySelectorAll('li.file')].map(
            (li) => [li.dataset.name, li.querySelector('.badge') && li.querySelector('.badge').textContent]))""")
        R.check("each file shows the polled status, with the reason of a rejection",
                badges.get("big-5mib.png") == "processed" and badges.get("cancel-me.png") == "rejected: not an image (magic bytes)",
                str(badges))
        gallery = page.gallery()
        by_key = {f["key"]: f for f in gallery}
        caption = page.js("const f = [...document.querySelectorAll('#gallery figure')].find((e) => e.dataset.key === arguments[0]);"
                          "return f ? f.querySelector('figcaption').textContent : null", big)
        R.check("a processed image shows its dimensions in the gallery", caption is not None and "1280×1366" in caption, str(caption))
        R.check("a rejected image leaves the gallery", cancelled not in by_key, str(list(by_key)))
        # The refresh gives the image a new pre-signed URL: wait for it to load again.
        try:
            shown = page.wait("the quarantined image loaded again",
                              lambda: (lambda f: f if f and f.get("loaded") else None)(
                                  {g["key"]: g for g in page.gallery()}.get(jpeg)), timeout=15)
        except TimeoutError:
            shown = {g["key"]: g for g in page.gallery()}.get(jpeg)
        R.check("an unknown status and unknown fields are shown, not fatal",
                (shown or {}).get("status") == "quarantined" and bool((shown or {}).get("loaded")), str(shown))
        status = page.js("return document.getElementById('gallery-status').textContent")
        # The rewritten one, plus the one the worker really rejected (the broken-pixels scenario).
        real = sum(1 for u in uploads_of(page.srv, page_token(page), page.article()) if u.get("status") == "rejected")
        R.check("the gallery counts the rejections", f"{1 + real} rejected" in status, f"{status} (really rejected: {real})")
    finally:
        page.js("window.hoistUploader.fetch = window.__realFetch")


# Holds the first PUT back until the 1 s URL has expired, to just after a whole second, so the
# renewed URL (whose X-Amz-Date is whole seconds) has most of its one second left.
HOLD_FIRST_PUT = """
window.__puts = 0;
const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send;
XMLHttpRequest.prototype.open = function (method, ...rest) { this.__method = method; return open.call(this, method, ...rest); };
XMLHttpRequest.prototype.send = function (body) {
  if (this.__method !== 'PUT') return send.call(this, body);
  window.__puts += 1;
  if (window.__puts > 1) return send.call(this, body);
  const at = Date.now() + 2000;
  setTimeout(() => send.call(this, body), 2000 + (1000 - (at % 1000)) + 50);
};
"""


def expired(R: Results, driver, files: Files, servers) -> None:
    srv = servers.start("serve", env={"HOIST_URL_EXPIRY": "1"})
    page = Page(driver, srv)
    page.open()
    page.sign_in_with_keyboard("carol")
    page.js(HOLD_FIRST_PUT)
    name = os.path.basename(files.small)
    page.pick(files.small)
    page.wait_state(name, ("ready",))
    page.click("upload-all")
    e = page.wait_state(name, ("done", "failed"), timeout=30)
    puts = page.js("return window.__puts")
    R.check("expired URL: the upload succeeds", e["state"] == "done", str(e))
    R.check("expired URL: renewed once (two PUTs, the page says so)",
            puts == 2 and e["renewed"] == "1" and "expired" in e["message"], f"PUTs {puts}; {e}")
    s3 = s3_client(srv)
    records = uploads_of(srv, page_token(page), page.article())
    keys = [r["key"] for r in records]
    stored = keys_under(s3, f"articles/{page.article()}/raw/")  # the worker adds processed/ copies
    R.check("expired URL: two URLs were issued; only the second key holds the object",
            len(keys) == 2 and stored == [e["key"]] and get_object(s3, e["key"])["body"] == Files.read(files.small),
            f"records {keys}; stored {stored}")


APP_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Another app</title><link rel="icon" href="data:,"></head>
<body>
<label>Photo <input type="file" id="photo" accept="image/*"></label>
<script type="module">
  import { HoistUploader } from '%(api)s/hoist-upload.js';
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  const uploader = new HoistUploader({ apiBase: '%(api)s', token });
  document.getElementById('photo').addEventListener('change', async (e) => {
    try {
      const result = await uploader.upload(e.target.files[0], {
        onProgress: ({ percent }) => { document.body.dataset.percent = String(percent); },
      });
      document.body.dataset.key = result.key;
    } catch (error) {
      document.body.dataset.error = `${error.code}: ${error.message}`;
    }
  });
  document.body.dataset.ready = '1';
</script>
</body></html>
"""


def serve_folder(folder: str):
    """A static file server for FOLDER on a free port of 127.0.0.1, in a thread of this process."""
    import functools
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:  # noqa: D102 - no access log on the test's output
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=folder))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def cross_origin(R: Results, driver, files: Files, servers) -> None:
    """Another app's page (its own origin, listed in HOIST_CORS_ORIGINS) imports /hoist-upload.js from
    Hoist and uploads, as the README's plain-HTML example; Hoist's own page, not listed, is refused."""
    folder = temp_dir("hoist-web-app-")
    app = serve_folder(folder)
    app_origin = f"http://127.0.0.1:{app.server_address[1]}"
    try:
        srv = servers.start("serve", env={"HOIST_CORS_ORIGINS": app_origin})
        s3 = s3_client(srv)
        # 1. Hoist's own page is not in the list: the store refuses its preflight, and the page says why.
        page = Page(driver, srv)
        page.open()
        page.sign_in_with_keyboard("dave")
        name = os.path.basename(files.small2)
        page.pick(files.small2)
        page.wait_state(name, ("ready",))
        page.click("upload-all")
        e = page.wait_state(name, ("done", "failed"), timeout=30)
        R.check("a page origin the bucket's CORS rules do not list: the upload fails with code 'cors'",
                e["state"] == "failed" and e["errorCode"] == "cors", str(e))
        R.check("... and the message names CORS, the page's origin and what to configure",
                "CORS" in e["message"] and srv.api in e["message"] and "HOIST_CORS_ORIGINS" in e["message"]
                and "Failed to fetch" not in e["message"], e["message"])
        R.check("... and nothing was stored", keys_under(s3, "articles/") == [])

        # 2. The listed app: module import, POST /upload-url and the PUT are all cross-origin.
        with open(os.path.join(folder, "index.html"), "w", encoding="utf-8") as f:
            f.write(APP_PAGE % {"api": srv.api})
        token = srv.token("erin")
        driver.get(f"{app_origin}/index.html#token={token}")
        other = Page(driver, srv)
        other.wait("the app page to import hoist-upload.js", lambda: other.js("return document.body.dataset.ready === '1'"), timeout=15)
        from selenium.webdriver.common.by import By

        driver.find_element(By.ID, "photo").send_keys(files.small)
        result = other.wait("the app's upload", lambda: other.js(
            "return document.body.dataset.key || document.body.dataset.error || null"), timeout=30)
        obj = get_object(s3, result) if result.startswith("articles/") else None
        R.check("an app on a listed origin imports /hoist-upload.js from Hoist and uploads through it (README example)",
                obj is not None and obj["body"] == Files.read(files.small) and obj["type"] == "image/jpeg", str(result))
    finally:
        app.shutdown()


class Web:
    """What the scenarios share: the browser, the page of the main `hoist serve`, its store, the files."""

    def __init__(self, driver, srv: HoistServerProcess, artifacts: str):
        self.driver = driver
        self.srv = srv
        self.page = Page(driver, srv)
        self.s3 = s3_client(srv)
        self.files = Files()
        self.artifacts = artifacts
        self.uploaded: dict[str, str] = {}

    def keep(self, name: str, entry) -> None:
        if entry and entry.get("state") == "done":
            self.uploaded[name] = entry["key"]


@pytest.fixture(scope="module")
def web(module_servers):
    """Headless Chromium on the upload page of a `hoist serve`; the browser quits after the module."""
    R = tally(__file__)
    artifacts = os.environ.get("HOIST_ARTIFACTS") or tempfile.mkdtemp(prefix="hoist-web-artifacts-")
    os.makedirs(artifacts, exist_ok=True)
    srv = module_servers.start("serve")
    try:
        driver = make_driver(temp_dir("hoist-chromium-profile-"))
    except Exception as exc:  # noqa: BLE001
        fail_check(R, "chromium and chromedriver start (apt-get install chromium chromium-driver; pip install selenium)",
                   repr(exc))
    try:
        R.info(f"browser: {driver.capabilities.get('browserName')} {driver.capabilities.get('browserVersion')}")
        w = Web(driver, srv, artifacts)
        w.page.open()
        yield w
        try:
            logs = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
        except Exception:  # noqa: BLE001 - logs are informative only
            logs = []
        R.info("browser console errors (expected: 404s of articles not uploaded to yet, the expired and the "
               f"CORS-refused PUT): {len(logs)}")
        for entry in logs[:10]:
            R.info(f"  console: {entry.get('message', '')[:160]}")
    finally:
        driver.quit()


def test_page(checks, web):
    check_page(checks, web.page)


def test_two_images(checks, web):
    for name, entry in two_images(checks, web.page, web.files, web.s3).items():
        web.keep(name, entry)


def test_refused(checks, web):
    refused(checks, web.page, web.files)


def test_rejected_by_worker(checks, web):
    rejected_by_worker(checks, web.page, web.files)


def test_throttled(checks, web):
    web.keep("big-5mib.png", throttled(checks, web.page, web.files, web.s3, web.artifacts))


def test_cancel(checks, web):
    web.keep("cancel-me.png", cancel(checks, web.page, web.files, web.s3))


def test_concurrency(checks, web):
    concurrency(checks, web.page, web.files, web.s3)


def test_screenshots(checks, web):
    screenshots(checks, web.page, web.artifacts)


def test_future_statuses(checks, web):
    future_statuses(checks, web.page, web.uploaded)


def test_expired(checks, web, servers):
    expired(checks, web.driver, web.files, servers)


def test_cross_origin(checks, web, servers):
    cross_origin(checks, web.driver, web.files, servers)
