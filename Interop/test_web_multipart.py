"""Resumable (multipart) uploads from the upload page in a real, headless Chromium against `hoist serve`
(started here on free ports of 127.0.0.1, HOIST_MAX_SIZE 64 MiB), as in test_web_chromium.py.

The file is a real JPEG of about 40 MiB (Pillow noise at quality 100), so it goes multipart
(8 MiB parts, four in parallel, each hashed in a Web Worker and bound to its SHA-256). Part PUTs are
counted in the page by a script that Chromium runs before each document (CDP
Page.addScriptToEvaluateOnNewDocument), so every page load counts its own.

1. reload in the middle: over a throttled connection (DevTools network conditions) the page is
   reloaded once storage holds some parts and lacks others; the reloaded page finds the upload in
   localStorage, picking the same file again resumes it: it PUTs exactly the parts that GET
   …/parts listed as missing, the object has the file's bytes, the record is forgotten, and the
   image worker verifies (or processes) it;
2. offline and online in the middle: the page says it is offline, sends nothing while offline, and
   finishes by itself once the connection is back, without a reload and without a failure;
3. Cancel in the middle: the upload is aborted on the server (DELETE; GET …/parts then answers 404),
   nothing is stored under its key, and the page forgets it.

Env: HOIST_BIN (default .build/debug/hoist), HOIST_ARTIFACTS (screenshots; default a kept folder
under /tmp), CHROMIUM, CHROMEDRIVER, INTEROP_VERBOSE=1 (with -s).
"""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
import time

import pytest
import requests

from api_common import FAST, HoistServerProcess
from api_common import store_s3_client as s3_client
from interop_common import Results, fail_check, tally, temp_dir
from test_web_chromium import Page, get_object, make_driver, page_token, uploads_of

MiB = 1024 * 1024
LIMITS = {**FAST, "HOIST_MAX_SIZE": str(64 * MiB)}

# Counts this document's part PUTs (the URLs carry partNumber=), in window.__partPuts.
COUNT_PART_PUTS = """
window.__partPuts = [];
const open = XMLHttpRequest.prototype.open;
XMLHttpRequest.prototype.open = function (method, url, ...rest) {
  const m = /[?&]partNumber=(\\d+)/.exec(String(url));
  if (method === 'PUT' && m) window.__partPuts.push(Number(m[1]));
  return open.call(this, method, url, ...rest);
};
"""


def noise_jpeg(width: int = 5700, height: int = 3800) -> bytes:
    """A real JPEG of noise at quality 100: about 40 MiB at this size, six parts of the 8 MiB plan."""
    from PIL import Image

    image = Image.merge("RGB", [Image.effect_noise((width, height), 60 + 20 * i) for i in range(3)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=100)
    return out.getvalue()


class Big:
    """The 40 MiB JPEG, written once for the module (two names, so that each scenario is its own file)."""

    def __init__(self) -> None:
        self.dir = temp_dir("hoist-web-multipart-")
        self.data = noise_jpeg()
        self.sha = hashlib.sha256(self.data).digest()
        self.paths = {}
        for name in ("big-reload.jpg", "big-offline.jpg", "big-cancel.jpg"):
            path = os.path.join(self.dir, name)
            with open(path, "wb") as f:
                f.write(self.data)
            self.paths[name] = path


def resume_records(page: Page) -> list[dict]:
    return page.js("""
        return Object.keys(localStorage).filter((k) => k.startsWith('hoist.upload.'))
                     .map((k) => JSON.parse(localStorage.getItem(k)));
    """)


def listed_parts(srv: HoistServerProcess, token: str, upload_id: str) -> dict:
    resp = requests.get(f"{srv.api}/multipart-uploads/{upload_id}/parts", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return resp.json() if resp.status_code == 200 else {"error": resp.status_code, "body": resp.text[:300]}


def parts_done(entry: dict | None) -> int:
    """The parts the page says storage holds ("… · part N of M stored")."""
    import re

    m = re.search(r"part (\d+) of (\d+) stored", (entry or {}).get("numbers") or "")
    return int(m.group(1)) if m else 0


def wait_processed(R: Results, page: Page, key: str, label: str) -> None:
    try:
        item = page.wait(f"{label}: the worker's verdict", lambda: next(
            (u for u in uploads_of(page.srv, page_token(page), page.article())
             if u.get("key") == key and u.get("status") in ("processed", "verified", "rejected")), None), timeout=120, interval=1.0)
    except TimeoutError as exc:
        item = {"error": str(exc)}
    R.check(f"{label}: the upload reaches processed (or verified) with the image's size",
            item.get("status") in ("processed", "verified") and item.get("width") == 5700 and item.get("height") == 3800,
            str(item)[:400])


def reload_in_the_middle(R: Results, page: Page, big: Big, s3, artifacts: str) -> None:
    name = "big-reload.jpg"
    path = big.paths[name]
    page.d.set_network_conditions(offline=False, latency=5, download_throughput=50 * MiB, upload_throughput=6 * MiB)
    try:
        page.pick(path)
        e = page.wait_state(name, ("ready",), timeout=30)
        page.click("upload-all")
        # Reload once storage holds a part, and before it holds them all.
        e = page.wait(f"{name}: a part stored", lambda: (lambda x: x if parts_done(x) >= 1 or x["state"] in ("done", "failed") else None)(
            page.entry(name)), timeout=120)
        before = resume_records(page)
        puts_before = page.js("return window.__partPuts.slice()")
        shot = os.path.join(artifacts, "web-multipart-before-reload.png")
        page.d.save_screenshot(shot)
        page.d.refresh()
        page.wait("the reloaded page to be ready", lambda: page.js("return document.body.dataset.ready === '1'"))
    finally:
        page.d.delete_network_conditions()
    R.info(f"reloaded at: {e['numbers']!r}; part PUTs started before the reload: {sorted(puts_before)}")
    R.check("before the reload: the upload is multipart and some but not all of its parts are stored",
            e["state"] not in ("done", "failed") and 1 <= parts_done(e) < 6, str(e))
    R.check("before the reload: the upload is remembered in localStorage (upload id, key, part size)",
            len(before) == 1 and before[0].get("uploadId") and before[0].get("partSize") == 8 * MiB and before[0].get("size") == len(big.data),
            str(before))
    if len(before) != 1:
        return
    record = before[0]
    after_reload = resume_records(page)
    R.check("after the reload: the record is still there", [r.get("uploadId") for r in after_reload] == [record["uploadId"]], str(after_reload))
    token = page_token(page)
    R.check("after the reload: still signed in (sessionStorage), the same article (#article=…)",
            bool(token) and page.article() == record.get("articleId"), f"{page.article()} vs {record.get('articleId')}")
    listed = listed_parts(page.srv, token, record["uploadId"])
    missing = listed.get("missingParts") or []
    R.info(f"storage holds parts {[p['partNumber'] for p in listed.get('parts', [])]}; missing {missing}")
    R.check("GET …/parts: storage holds some parts and lacks others", 0 < len(missing) < 6 and listed.get("partCount") == 6, str(listed)[:400])

    # The same file, picked again: the page finds the interrupted upload and resumes it by itself.
    page.pick(path)
    try:
        e = page.wait_state(name, ("done", "failed"), timeout=180)
    except TimeoutError as exc:
        R.check(f"{name}: the resumed upload completes", False, str(exc))
        return
    puts = page.js("return window.__partPuts.slice()")
    data = page.js("const li = [...document.querySelectorAll('li.file')].reverse().find((l) => l.dataset.name === arguments[0]);"
                   "return li ? { ...li.dataset } : null", name) or {}
    R.info(f"after the reload the page PUT parts {sorted(puts)}; it says: {e['message']!r}")
    R.check(f"{name}: the resumed upload completes", e["state"] == "done", str(e))
    R.check("the page resumed the same upload (the record's upload id, 'resuming')",
            data.get("resumed") == "1" and data.get("uploadId") == record["uploadId"] and data.get("resumable") == record["uploadId"], str(data))
    R.check("after the reload only the missing parts were PUT, each once",
            sorted(puts) == sorted(missing), f"PUT {sorted(puts)}; missing {sorted(missing)}")
    R.check("the page counts them: parts sent now + parts already stored = 6",
            data.get("partsSent") == str(len(missing)) and data.get("partsResumed") == str(6 - len(missing))
            and "already stored" in e["message"], f"{data}; {e['message']}")
    obj = get_object(s3, e.get("key") or "")
    R.check("the object is in the store, byte for byte, as image/jpeg",
            obj is not None and hashlib.sha256(obj["body"]).digest() == big.sha and obj["type"] == "image/jpeg",
            f"{None if obj is None else (len(obj['body']), obj['type'])}")
    R.check("the completed upload is forgotten (no record left in localStorage)", resume_records(page) == [], str(resume_records(page)))
    done = listed_parts(page.srv, token, record["uploadId"])
    R.check("GET …/parts says completed", done.get("status") == "completed", str(done)[:300])
    wait_processed(R, page, e["key"], "after the reload")


def offline_in_the_middle(R: Results, page: Page, big: Big, s3, artifacts: str) -> None:
    name = "big-offline.jpg"
    path = big.paths[name]
    page.click("new-article")
    throttle = dict(latency=5, download_throughput=50 * MiB, upload_throughput=6 * MiB)
    page.d.set_network_conditions(offline=False, **throttle)
    try:
        page.pick(path)
        page.wait_state(name, ("ready",), timeout=30)
        page.click("upload-all")
        e = page.wait(f"{name}: under way", lambda: (lambda x: x if (x["progress"] and int(x["progress"]) >= 15)
                                                     or x["state"] in ("done", "failed") else None)(page.entry(name)), timeout=120)
        progress_at_cut = int(e["progress"] or 0)
        page.d.set_network_conditions(offline=True, **throttle)
        try:
            off = page.wait_state(name, ("offline", "done", "failed"), timeout=30)
        except TimeoutError as exc:
            off = {"state": "timeout", "error": str(exc)}
        R.check("offline in the middle: the page says it is offline and waits (no failure)",
                off["state"] == "offline" and "Offline" in off.get("message", ""), str(off))
        time.sleep(1.0)
        held = page.entry(name)
        puts_offline = page.js("return window.__partPuts.length")
        time.sleep(3.0)
        still = page.entry(name)
        page.d.save_screenshot(os.path.join(artifacts, "web-multipart-offline.png"))
        R.check("while offline nothing more is sent (progress and PUTs stand still for 3 s)",
                still["state"] == "offline" and still["progress"] == held["progress"]
                and page.js("return window.__partPuts.length") == puts_offline, f"{held} -> {still}")
        page.d.set_network_conditions(offline=False, **throttle)
        try:
            e = page.wait_state(name, ("done", "failed"), timeout=180)
        except TimeoutError as exc:
            e = {"state": "timeout", "error": str(exc)}
    finally:
        page.d.delete_network_conditions()
    R.info(f"went offline at {progress_at_cut} %; part PUTs {page.js('return window.__partPuts.slice()')}")
    R.check("back online: the upload finishes by itself", e["state"] == "done" and "Uploaded." in e.get("message", ""), str(e))
    obj = get_object(s3, e.get("key") or "")
    R.check("... and the object is in the store, byte for byte",
            obj is not None and hashlib.sha256(obj["body"]).digest() == big.sha, f"{None if obj is None else len(obj['body'])}")
    R.check("... and no record is left in localStorage", resume_records(page) == [], str(resume_records(page)))
    if e.get("key"):
        wait_processed(R, page, e["key"], "after offline and online")


def cancel_in_the_middle(R: Results, page: Page, big: Big, s3) -> None:
    name = "big-cancel.jpg"
    page.click("new-article")
    page.d.set_network_conditions(offline=False, latency=5, download_throughput=50 * MiB, upload_throughput=4 * MiB)
    try:
        page.pick(big.paths[name])
        page.wait_state(name, ("ready",), timeout=30)
        page.click("upload-all")
        e = page.wait(f"{name}: under way", lambda: (lambda x: x if (x["progress"] and int(x["progress"]) >= 5)
                                                     or x["state"] in ("done", "failed") else None)(page.entry(name)), timeout=120)
        records = resume_records(page)
        page.click_in(name, "cancel")
        e = page.wait_state(name, ("cancelled", "done", "failed"), timeout=30)
    finally:
        page.d.delete_network_conditions()
    R.check("cancel mid-upload (multipart): the file is cancelled", e["state"] == "cancelled", str(e))
    upload_id = records[0].get("uploadId") if len(records) == 1 else None
    R.check("... the upload was remembered while it ran", upload_id is not None, str(records))
    if upload_id:
        try:
            gone = page.wait("the upload aborted on the server", lambda: listed_parts(page.srv, page_token(page), upload_id).get("error") == 404,
                             timeout=10)
        except TimeoutError:
            gone = False
        R.check("... and aborted on the server (DELETE): GET …/parts answers 404", bool(gone),
                str(listed_parts(page.srv, page_token(page), upload_id))[:300])
    R.check("... nothing is stored under its key", get_object(s3, records[0].get("key", "") if records else "") is None)
    R.check("... and the page forgot it (no record in localStorage)", resume_records(page) == [], str(resume_records(page)))


class Web:
    def __init__(self, driver, srv: HoistServerProcess, artifacts: str):
        self.driver = driver
        self.page = Page(driver, srv)
        self.s3 = s3_client(srv)
        self.artifacts = artifacts
        self.big = Big()


@pytest.fixture(scope="module")
def web(module_servers):
    """Headless Chromium on the upload page of a `hoist serve` (64 MiB limit); quits after the module."""
    R = tally(__file__)
    artifacts = os.environ.get("HOIST_ARTIFACTS") or tempfile.mkdtemp(prefix="hoist-web-artifacts-")
    os.makedirs(artifacts, exist_ok=True)
    srv = module_servers.start("serve", env=LIMITS)
    try:
        driver = make_driver(temp_dir("hoist-chromium-profile-"))
    except Exception as exc:  # noqa: BLE001
        fail_check(R, "chromium and chromedriver start (apt-get install chromium chromium-driver; pip install selenium)", repr(exc))
    try:
        driver.set_script_timeout(60)
        driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": COUNT_PART_PUTS})
        w = Web(driver, srv, artifacts)
        R.info(f"the JPEG has {len(w.big.data)} bytes ({len(w.big.data) / MiB:.1f} MiB)")
        w.page.open()
        w.page.sign_in_with_keyboard("mia")
        yield w
    finally:
        driver.quit()


def test_reload_in_the_middle(checks, web):
    reload_in_the_middle(checks, web.page, web.big, web.s3, web.artifacts)


def test_offline_in_the_middle(checks, web):
    offline_in_the_middle(checks, web.page, web.big, web.s3, web.artifacts)


def test_cancel_in_the_middle(checks, web):
    cancel_in_the_middle(checks, web.page, web.big, web.s3)
