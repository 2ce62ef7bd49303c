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
boto3, requests and Pillow. Talks to 127.0.0.1 only; the servers are the suite's fixtures'.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import time

import pytest

from api_common import (FAST, BUCKET, APIClient, HoistServerProcess, head, is_rejection_marker, keys_under,  # noqa: E402
                        noisy_picture, parse_metrics, picture, put_url, store_s3_client as s3_client, upload, wait_for)
from interop_common import Results, fail_check, tally  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def vipsthumbnail():
    """The worker shrinks images with vipsthumbnail (libvips-tools)."""
    if not shutil.which("vipsthumbnail"):
        fail_check(tally(__file__), "vipsthumbnail is installed (apt-get install libvips-tools)", "not on PATH")


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


def test_flow(checks, servers) -> None:
    srv = servers.start("serve", env=FAST, check="hoist serve starts")
    try:
        flow(checks, srv)
    finally:
        servers.stop(srv, check="hoist serve stops on SIGTERM with status 0")


def test_crash(checks, servers) -> None:
    R = checks
    srv = servers.start("serve", env={**FAST, "HOIST_MAX_SIZE": str(64 << 20)}, check="crash: hoist serve starts")
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
    srv.kill9()
    R.info(f"crash: killed hoist serve with {done_before} of 16 processed")
    R.check("crash: the kill came while the worker was busy (some processed, not all)", 0 < done_before < 16,
            f"{done_before} processed")

    again = servers.start("serve", env={**FAST, "HOIST_MAX_SIZE": str(64 << 20)}, data_dir=srv.data_dir,
                          check="crash: hoist serve restarts on the same data")
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
        servers.stop(again, check="crash: restarted hoist serve stops on SIGTERM")


def test_expiry(checks, servers) -> None:
    R = checks
    srv = servers.start("serve", env={**FAST, "HOIST_URL_EXPIRY": "1", "HOIST_PENDING_GRACE": "0"},
                        check="expiry: hoist serve (HOIST_URL_EXPIRY=1, HOIST_PENDING_GRACE=0) starts")
    api = APIClient(srv.api)
    token = srv.token("lee")
    resp = api.upload_url(token, {"contentType": "image/png", "size": 100})
    issued = resp.json()
    items = wait_for(api, token, issued["articleId"], [issued["key"]], timeout=20, done=("expired",))
    R.check("expiry: a URL never used becomes expired", items.get(issued["key"], {}).get("status") == "expired",
            str(items.get(issued["key"])))
