#!/usr/bin/env python3
"""After the upload, end to end on `hoist serve`: storage events, the image worker, its records.

- A real JPEG and PNG (made with Pillow) go up through POST /upload-url and their pre-signed PUTs;
  their records reach `processed` with the right pixel sizes, and the derived images (thumbnail,
  web) exist in the store, are valid WebP images no larger than their boxes, with the original's
  aspect ratio, and can be fetched through the pre-signed URLs the listing gives.
- A text file uploaded as image/jpeg is `rejected` with a reason; the object is moved to
  `quarantine/` (same bytes), its key keeps an empty marker, and its still-valid upload URL
  cannot write the key again (412).
- /metrics counts the outcomes and the time-to-processed histogram.
- Crash: 16 uploads, `hoist serve` killed with SIGKILL while the worker is busy, restarted on the
  same data folder: every record ends `processed`, with exactly its two derived images, nothing
  quarantined, no event left in the queue.
- Abandoned intents: with a 1 s URL lifetime and no grace, a URL never used becomes `expired`.

Needs the built `hoist` ($HOIST_BIN, default .build/debug/hoist), `vipsthumbnail` (libvips-tools),
boto3, requests and Pillow. Talks to 127.0.0.1 only; stops only the servers it started.
Last line: `worker e2e: N passed, N failed`.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from api_common import (APIClient, HoistServerProcess, check_api_binary, keys_under, parse_metrics, put_url,  # noqa: E402
                        store_s3_client as s3_client)
from interop_common import Results  # noqa: E402

BUCKET = "article-images"
FAST = {"HOIST_RATE_PER_MINUTE": "1000000", "HOIST_RATE_BURST": "1000000"}


def picture(fmt: str, width: int, height: int, seed: int = 0) -> bytes:
    """A real image with some structure (a gradient and a few bars), encoded by Pillow."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height))
    pixels = image.load()
    for y in range(0, height, 4):
        for x in range(0, width, 4):
            colour = ((x * 255 // width + seed * 40) % 256, (y * 255 // height) % 256, (seed * 70) % 256)
            for dy in range(4):
                for dx in range(4):
                    if x + dx < width and y + dy < height:
                        pixels[x + dx, y + dy] = colour
    draw = ImageDraw.Draw(image)
    for i in range(5):
        draw.rectangle([i * width // 6, 0, i * width // 6 + width // 20, height], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format=fmt, quality=85) if fmt == "JPEG" else image.save(out, format=fmt)
    return out.getvalue()


def noisy_picture(fmt: str, width: int, height: int) -> bytes:
    """A large, busy image (noise): slow to decode and shrink, so the worker is busy for a while."""
    from PIL import Image

    image = Image.merge("RGB", [Image.effect_noise((width, height), 60 + 20 * i) for i in range(3)])
    out = io.BytesIO()
    image.save(out, format=fmt, quality=90) if fmt == "JPEG" else image.save(out, format=fmt)
    return out.getvalue()


def upload(api: APIClient, token: str, body: bytes, content_type: str, article: str | None = None) -> dict:
    """POST /upload-url with type, size and SHA-256, then the pre-signed PUT. Returns the API's answer."""
    request = {"contentType": content_type, "size": len(body),
               "checksumSHA256": base64.b64encode(hashlib.sha256(body).digest()).decode()}
    if article:
        request["articleId"] = article
    resp = api.upload_url(token, request)
    if resp.status_code != 200:
        raise RuntimeError(f"POST /upload-url -> {resp.status_code}: {resp.text[:300]}")
    issued = resp.json()
    put = put_url(issued["uploadUrl"], issued["headers"], body)
    if put.status != 200:
        raise RuntimeError(f"PUT -> {put.status}: {put.body[:300]!r}")
    return issued


def wait_for(api: APIClient, token: str, article: str, keys: list[str], timeout: float = 60.0,
             done=("processed", "rejected")) -> dict[str, dict]:
    """Polls the article's listing until every key has a status in `done` (or the time is up)."""
    deadline = time.monotonic() + timeout
    items: dict[str, dict] = {}
    while time.monotonic() < deadline:
        resp = api.get(f"/articles/{article}/uploads", token)
        if resp.status_code == 200:
            items = {u["key"]: u for u in resp.json().get("uploads", [])}
            if all(items.get(k, {}).get("status") in done for k in keys):
                return items
        time.sleep(0.1)
    return items


def is_rejection_marker(head_response: dict | None) -> bool:
    """Whether a HEAD answer is the empty object a rejected upload's key keeps."""
    return (head_response is not None and head_response.get("ContentLength") == 0
            and head_response.get("ContentType") == "application/x-hoist-rejected")


def head(s3, key: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        return s3.head_object(Bucket=BUCKET, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def check_derived(R: Results, name: str, item: dict, width: int, height: int) -> None:
    """The listing's derived images: fetched through their URLs, valid WebP, within their boxes."""
    import requests
    from PIL import Image

    derived = item.get("derived") or {}
    R.check(f"{name}: thumbnail and web copies listed", set(derived) == {"thumbnail", "web"}, str(item))
    for variant, box in (("thumbnail", 320), ("web", 1600)):
        entry = derived.get(variant) or {}
        if not entry.get("url"):
            continue
        resp = requests.get(entry["url"], timeout=30)
        ok = resp.status_code == 200
        size = None
        if ok:
            try:
                image = Image.open(io.BytesIO(resp.content))
                image.load()
                size = image.size
                ok = image.format == "WEBP"
            except Exception as exc:  # noqa: BLE001 - a broken image is the failure being checked
                ok, size = False, str(exc)
        expected_w = min(width, box) if width >= height else round(width * min(height, box) / height)
        expected_h = min(height, box) if height >= width else round(height * min(width, box) / width)
        R.check(f"{name}: {variant} is a valid WebP of about {expected_w}x{expected_h} (fits {box}px, keeps the ratio)",
                ok and isinstance(size, tuple) and abs(size[0] - expected_w) <= 1 and abs(size[1] - expected_h) <= 1,
                f"status {resp.status_code}, size {size}, key {entry.get('key')}")
        R.check(f"{name}: {variant} key under articles/<id>/processed/<uuid>/",
                entry.get("key", "").startswith(item["key"].split("/raw/")[0] + "/processed/"), entry.get("key", ""))


def flow(R: Results, srv: HoistServerProcess) -> None:
    api = APIClient(srv.api)
    token = srv.token("wanda")
    s3 = s3_client(srv)
    jpeg = picture("JPEG", 1200, 800, seed=1)
    png = picture("PNG", 500, 700, seed=2)
    text = b"Dear diary, this is not a picture at all.\n" * 20
    first = upload(api, token, jpeg, "image/jpeg")
    article = first["articleId"]
    second = upload(api, token, png, "image/png", article)
    bogus = upload(api, token, text, "image/jpeg", article)
    keys = [first["key"], second["key"], bogus["key"]]
    items = wait_for(api, token, article, keys)
    j, p, t = (items.get(k, {}) for k in keys)

    R.check("JPEG: processed, 1200x800", j.get("status") == "processed" and (j.get("width"), j.get("height")) == (1200, 800), str(j))
    R.check("PNG: processed, 500x700", p.get("status") == "processed" and (p.get("width"), p.get("height")) == (500, 700), str(p))
    R.check("JPEG: uploadedAt ≤ processedAt", bool(j.get("uploadedAt")) and j.get("uploadedAt", "") <= j.get("processedAt", ""), str(j))
    if j.get("status") == "processed":
        check_derived(R, "JPEG", j, 1200, 800)
    if p.get("status") == "processed":
        check_derived(R, "PNG", p, 500, 700)
    got = s3.get_object(Bucket=BUCKET, Key=first["key"])["Body"].read()
    R.check("JPEG: the original stays, byte for byte", hashlib.sha256(got).digest() == hashlib.sha256(jpeg).digest())

    R.check("text as image/jpeg: rejected, with the reason", t.get("status") == "rejected"
            and "text, not an image" in (t.get("reason") or ""), str(t))
    marker = head(s3, bogus["key"])
    R.check("text as image/jpeg: its key keeps only the empty rejection marker", is_rejection_marker(marker), str(marker)[:300])
    again = put_url(bogus["uploadUrl"], bogus["headers"], text)
    R.check("text as image/jpeg: its still-valid upload URL cannot write the key again (412)", again.status == 412,
            f"{again.status} {again.body[:200]!r}")
    quarantined = None
    try:
        quarantined = s3.get_object(Bucket=BUCKET, Key="quarantine/" + bogus["key"])["Body"].read()
    except Exception as exc:  # noqa: BLE001
        quarantined = exc
    R.check("text as image/jpeg: kept under quarantine/, same bytes", quarantined == text, repr(quarantined)[:200])
    R.check("text as image/jpeg: no derived images", not t.get("derived"), str(t))

    metrics = parse_metrics(api.get("/metrics").text)
    R.check("/metrics: hoist_uploads_total processed ≥ 2, rejected ≥ 1",
            metrics.get('hoist_uploads_total{outcome="processed"}', 0) >= 2
            and metrics.get('hoist_uploads_total{outcome="rejected"}', 0) >= 1, str({k: v for k, v in metrics.items() if "uploads_total" in k}))
    R.check("/metrics: time to processed observed twice or more", metrics.get("hoist_upload_to_processed_seconds_count", 0) >= 2)
    R.check("/metrics: time to uploaded observed three times or more", metrics.get("hoist_upload_to_uploaded_seconds_count", 0) >= 3)
    R.check("/metrics: object PUTs seen, queue depth and worker failures exported",
            all(name in metrics for name in ("hoist_object_puts_seen_total", "hoist_queue_depth", "hoist_worker_failures_total",
                                             "hoist_queue_oldest_event_age_seconds")), ", ".join(sorted(metrics))[:600])


def crash(R: Results) -> None:
    srv = HoistServerProcess("serve", env={**FAST, "HOIST_MAX_SIZE": str(64 << 20)})
    why = srv.start()
    if not R.check("crash: hoist serve starts", why is None, why or ""):
        return
    api = APIClient(srv.api)
    token = srv.token("kim")
    images = [noisy_picture("JPEG" if i % 2 else "PNG", 2400 + i * 10, 1600) for i in range(16)]
    issued = [upload(api, token, images[0], "image/png")]
    article = issued[0]["articleId"]
    for i, body in enumerate(images[1:], start=1):
        issued.append(upload(api, token, body, "image/jpeg" if i % 2 else "image/png", article))
    # Kill while the worker is busy: as soon as the first upload is processed.
    deadline = time.monotonic() + 30
    done_before = 0
    while done_before == 0 and time.monotonic() < deadline:
        listing = api.get(f"/articles/{article}/uploads", token).json().get("uploads", [])
        done_before = sum(1 for u in listing if u.get("status") == "processed")
        time.sleep(0.02)
    os.kill(srv.pid, signal.SIGKILL)
    srv.proc.wait()
    srv.proc = None
    R.info(f"crash: killed hoist serve with {done_before} of 16 processed")
    R.check("crash: the kill came while the worker was busy (some processed, not all)", 0 < done_before < 16,
            f"{done_before} processed")

    again = HoistServerProcess("serve", env={**FAST, "HOIST_MAX_SIZE": str(64 << 20)}, data_dir=srv.data_dir)
    why = again.start()
    if not R.check("crash: hoist serve restarts on the same data", why is None, why or ""):
        return
    try:
        api = APIClient(again.api)
        token = again.token("kim")
        keys = [i["key"] for i in issued]
        items = wait_for(api, token, article, keys, timeout=90)
        statuses = [items.get(k, {}).get("status") for k in keys]
        R.check("crash: all 16 records end processed", statuses == ["processed"] * 16, str(statuses))
        s3 = s3_client(again)
        derived = keys_under(s3, f"articles/{article}/processed/")
        per_upload: dict[str, int] = {}
        for key in derived:
            uuid = key.split("/")[3]
            per_upload[uuid] = per_upload.get(uuid, 0) + 1
        R.check("crash: exactly two derived images per upload, no strays",
                len(derived) == 32 and set(per_upload.values()) == {2} and len(per_upload) == 16, f"{len(derived)} keys: {per_upload}")
        R.check("crash: nothing quarantined", keys_under(s3, "quarantine/") == [])
        time.sleep(6)  # the depth gauge is sampled every 5 s
        metrics = parse_metrics(api.get("/metrics").text)
        R.check("crash: no event left in the queue", metrics.get("hoist_queue_depth") == 0, str(metrics.get("hoist_queue_depth")))
    finally:
        rc, graceful = again.stop()
        R.check("crash: restarted hoist serve stops on SIGTERM", graceful and rc == 0, f"rc {rc}")
        shutil.rmtree(srv.data_dir, ignore_errors=True)


def expiry(R: Results) -> None:
    srv = HoistServerProcess("serve", env={**FAST, "HOIST_URL_EXPIRY": "1", "HOIST_PENDING_GRACE": "0"})
    why = srv.start()
    if not R.check("expiry: hoist serve (HOIST_URL_EXPIRY=1, HOIST_PENDING_GRACE=0) starts", why is None, why or ""):
        return
    try:
        api = APIClient(srv.api)
        token = srv.token("lee")
        resp = api.upload_url(token, {"contentType": "image/png", "size": 100})
        issued = resp.json()
        items = wait_for(api, token, issued["articleId"], [issued["key"]], timeout=20, done=("expired",))
        R.check("expiry: a URL never used becomes expired", items.get(issued["key"], {}).get("status") == "expired",
                str(items.get(issued["key"])))
    finally:
        srv.stop()


def main() -> int:
    R = Results("worker e2e")
    why = check_api_binary()
    if why:
        R.check("hoist binary", False, why)
        return R.finish()
    if not shutil.which("vipsthumbnail"):
        R.check("vipsthumbnail is installed (apt-get install libvips-tools)", False)
        return R.finish()
    srv = HoistServerProcess("serve", env=FAST)
    why = srv.start()
    if not R.check("hoist serve starts", why is None, why or ""):
        return R.finish()
    try:
        flow(R, srv)
    except Exception:  # noqa: BLE001 - report and go on with the other sections
        import traceback
        R.check("section flow ran to the end", False, traceback.format_exc()[-2000:])
    finally:
        rc, graceful = srv.stop()
        R.check("hoist serve stops on SIGTERM with status 0", graceful and rc == 0, f"rc {rc}; {srv.log_tail(600)!r}")
    for section in (crash, expiry):
        try:
            section(R)
        except Exception:  # noqa: BLE001
            import traceback
            R.check(f"section {section.__name__} ran to the end", False, traceback.format_exc()[-2000:])
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
