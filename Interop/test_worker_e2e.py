"""After the upload, end to end on `hoist serve`: storage events, the image worker, its records.

- A real JPEG and PNG (made with Pillow) go up through POST /upload-url and their pre-signed PUTs;
  their records reach `processed` with the right pixel sizes, and the responsive variants (WebP
  and AVIF at the configured widths up to the image's own) are listed with pre-signed URLs that
  fetch images of exactly the listed widths and formats, with no EXIF; `thumbnail`/`web` name the
  narrowest and widest WebP; a placeholder data URL under 1 KB.
- Responsive: a 2000x1500 JPEG with a GPS position gets 320/640/1280/1920 in both formats and
  `locationRemoved: true`; a 500x400 PNG gets only 320; an 800x600 HEIC with GPS (libvips/libheif)
  is processed like a JPEG: 320/640, `locationRemoved: true`, and GET /policy lists HEIC/HEIF.
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

import base64
import hashlib
import io
import shutil
import time

import pytest

from api_common import (FAST, BUCKET, APIClient, HoistServerProcess, gps_jpeg, head, is_rejection_marker, keys_under,  # noqa: E402
                        noisy_picture, parse_metrics, picture, put_url, store_s3_client as s3_client, upload, wait_for)
from interop_common import Results, fail_check, tally  # noqa: E402


@pytest.fixture(scope="module", autouse=True)
def vipsthumbnail():
    """The worker shrinks images with vipsthumbnail (libvips-tools)."""
    if not shutil.which("vipsthumbnail"):
        fail_check(tally(__file__), "vipsthumbnail is installed (apt-get install libvips-tools)", "not on PATH")


def fetch_image(url: str):
    """GETs a pre-signed URL and opens the body with Pillow: (status, image or None, error text)."""
    import requests
    from PIL import Image

    resp = requests.get(url, timeout=30)
    if resp.status_code != 200:
        return resp.status_code, None, resp.text[:200]
    try:
        image = Image.open(io.BytesIO(resp.content))
        image.load()
        return 200, image, ""
    except Exception as exc:  # noqa: BLE001 - a broken image is the failure being checked
        return 200, None, str(exc)


def check_variants(R: Results, name: str, item: dict, width: int, height: int, widths: list[int],
                   formats: tuple[str, ...] = ("webp", "avif")) -> None:
    """The listing's variants: the planned widths in each format, fetched through their URLs, of the
    listed (and expected) sizes, in the listed format; `thumbnail`/`web` name the narrowest and widest WebP."""
    variants = item.get("variants") or []
    listed = [(v.get("format"), v.get("width")) for v in variants]
    expected = [(f, min(w, width)) for w in widths for f in formats]
    R.check(f"{name}: variants {widths} in {'/'.join(formats)}, narrowest first", listed == expected, f"{listed} != {expected}")
    prefix = item["key"].split("/raw/")[0] + "/processed/"
    for v in variants:
        status, image, error = fetch_image(v.get("url", ""))
        w = v.get("width", 0)
        expected_h = round(height * w / width)
        got = (image.format, image.size) if image else (None, error)
        R.check(f"{name}: {v.get('format')} {w} px fetched through its URL: {v.get('format').upper()} {w}x{expected_h}",
                status == 200 and image is not None and image.format == {"webp": "WEBP", "avif": "AVIF"}.get(v.get("format"))
                and image.size[0] == w and abs(image.size[1] - expected_h) <= 1 and v.get("height") == image.size[1],
                f"status {status}, got {got}, listed {v}")
        R.check(f"{name}: {v.get('format')} {w} px key under articles/<id>/processed/<uuid>/ with its media type",
                v.get("key", "").startswith(prefix) and v.get("contentType") == f"image/{v.get('format')}", str(v))
        if image is not None:
            R.check(f"{name}: {v.get('format')} {w} px carries no EXIF", not image.getexif() and "exif" not in image.info,
                    str(dict(image.getexif())))
    derived = item.get("derived") or {}
    webp = [v for v in variants if v.get("format") == "webp"]
    if webp:
        R.check(f"{name}: derived thumbnail/web are the narrowest and widest WebP",
                (derived.get("thumbnail") or {}).get("key") == webp[0]["key"] and (derived.get("web") or {}).get("key") == webp[-1]["key"],
                str(derived))
    placeholder = item.get("placeholder") or ""
    ok = placeholder.startswith("data:image/webp;base64,") and len(placeholder) < 1024
    size = None
    if ok:
        from PIL import Image

        tiny = Image.open(io.BytesIO(base64.b64decode(placeholder.split(",", 1)[1])))
        size = tiny.size
        ok = tiny.format == "WEBP" and max(tiny.size) <= 32
    R.check(f"{name}: a placeholder data URL under 1 KB, a WebP at most 32 px", ok, f"{len(placeholder)} chars, {size}")


def heic_from(jpeg: bytes) -> bytes:
    """The JPEG as an iPhone-style HEIC (HEVC in HEIF, EXIF kept), made by libvips with libheif."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        with open(f"{d}/in.jpg", "wb") as f:
            f.write(jpeg)
        subprocess.run(["vips", "copy", f"{d}/in.jpg", f"{d}/out.heic[Q=50]"], check=True, capture_output=True, timeout=120)
        with open(f"{d}/out.heic", "rb") as f:
            return f.read()


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
        check_variants(R, "JPEG", j, 1200, 800, [320, 640])
    if p.get("status") == "processed":
        check_variants(R, "PNG", p, 500, 700, [320])
    R.check("JPEG and PNG without GPS: locationRemoved false", j.get("locationRemoved") is False and p.get("locationRemoved") is False,
            f"{j.get('locationRemoved')} {p.get('locationRemoved')}")
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


def responsive(R: Results, srv: HoistServerProcess) -> None:
    api = APIClient(srv.api)
    token = srv.token("rosa")
    photo = gps_jpeg(2000, 1500)
    small = picture("PNG", 500, 400, seed=3)
    heic = heic_from(gps_jpeg(800, 600))
    policy = api.get("/policy").json()
    R.check("GET /policy allows image/heic and image/heif (libvips decodes HEIC here)",
            {"image/heic", "image/heif"} <= set(policy.get("allowedTypes", [])), str(policy))
    first = upload(api, token, photo, "image/jpeg")
    article = first["articleId"]
    second = upload(api, token, small, "image/png", article)
    third = upload(api, token, heic, "image/heic", article)
    items = wait_for(api, token, article, [first["key"], second["key"], third["key"]], timeout=120)
    big, little = items.get(first["key"], {}), items.get(second["key"], {})
    phone = items.get(third["key"], {})
    R.check("800x600 HEIC with GPS: processed, 800x600, locationRemoved true",
            phone.get("status") == "processed" and (phone.get("width"), phone.get("height")) == (800, 600)
            and phone.get("locationRemoved") is True, str(phone)[:400])
    if phone.get("status") == "processed":
        check_variants(R, "800x600 HEIC", phone, 800, 600, [320, 640])
    R.check("2000x1500 JPEG with GPS: processed", big.get("status") == "processed", str(big)[:300])
    R.check("500x400 PNG: processed", little.get("status") == "processed", str(little)[:300])
    if big.get("status") == "processed":
        check_variants(R, "2000x1500", big, 2000, 1500, [320, 640, 1280, 1920])
    if little.get("status") == "processed":
        check_variants(R, "500x400", little, 500, 400, [320])
        R.check("500x400: no variant wider than 500", all(v["width"] <= 500 for v in little.get("variants") or []),
                str(little.get("variants")))
    R.check("2000x1500 JPEG with GPS: locationRemoved true, and no position in the listing",
            big.get("locationRemoved") is True and not [k for k in big if "gps" in k.lower() or k.lower().startswith(("lat", "lon"))],
            str(sorted(big)))
    R.check("500x400 PNG: locationRemoved false", little.get("locationRemoved") is False, str(little.get("locationRemoved")))


def test_responsive(checks, servers) -> None:
    srv = servers.start("serve", env=FAST, check="responsive: hoist serve starts")
    try:
        responsive(checks, srv)
    finally:
        servers.stop(srv, check="responsive: hoist serve stops on SIGTERM with status 0")


# The crash test keeps two WebP variants per upload (HOIST_VARIANT_WIDTHS=320,1600, HOIST_VARIANT_FORMATS=webp):
# 16 busy 2400-pixel images in four widths of AVIF would take minutes on a small machine.
CRASH_ENV = {**FAST, "HOIST_MAX_SIZE": str(64 << 20), "HOIST_VARIANT_WIDTHS": "320,1600", "HOIST_VARIANT_FORMATS": "webp"}


def test_crash(checks, servers) -> None:
    R = checks
    srv = servers.start("serve", env=CRASH_ENV, check="crash: hoist serve starts")
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

    again = servers.start("serve", env=CRASH_ENV, data_dir=srv.data_dir,
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
