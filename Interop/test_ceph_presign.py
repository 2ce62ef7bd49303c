"""Hoist's pre-signed URLs against the Ceph Object Gateway (radosgw), an S3 nobody here wrote.

URLs come from `hoist presign`; the requests go out with http.client exactly as
given (no client-side path normalisation, only the headers we choose). Good
URLs must be accepted (and a GET must return the exact bytes); tampered,
expired, or misused ones (another Content-Type or Content-Length) must be
refused with 403/400, and the S3 error code radosgw gave is printed.

The gateway is the suite's `ceph` fixture (Interop/ceph.sh start, or RGW_ENDPOINT when given).
Env: RGW_ACCESS_KEY / RGW_SECRET_KEY (default: the start script's), HOIST_BIN (default
.build/debug/hoist), INTEROP_VERBOSE=1 (with -s) to print passing checks too.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import http.client
import json
import os
import re
import secrets
import urllib.parse

import pytest

from interop_common import Results, amz_date, clean_env, fail_check, flip_one, run_hoist, tally, utcnow  # noqa: E402
from processes import RGW_ACCESS_KEY as AK, RGW_SECRET_KEY as SK  # noqa: E402
from store_common import REGION  # noqa: E402

ENDPOINT = "http://127.0.0.1:7480"  # the `ceph` fixture's gateway, set by `rgw`

KEYS = [
    "photo.png",
    "articles/3f1c2a9e/raw/0b1c2d3e.png",
    "photos/my photo+1.jpg",
    "a+b c%d=e&f?g#h.png",
    "ünïcødé/文件名.png",
    "emoji 😀 🎉.png",
    "dots/../x.png",
    "double//slash.png",
    "~tilde_under-score.png",
    " leading space.png",
    "k" * 300 + ".png",
]

CODES_SEEN: dict[str, set] = {}


def presign(R: Results, label: str, method: str, bucket: str, key: str, *extra: str,
            ak: str = AK, sk: str = SK, date: dt.datetime | None = None, expires: int = 300) -> dict | None:
    """`hoist presign --json`; returns the parsed output or None (a failed check) if hoist failed."""
    args = ["presign", method, bucket, key, "--endpoint", ENDPOINT, "--region", REGION,
            "--expires", str(expires), "--json", *extra]
    if date is not None:
        args += ["--date", amz_date(date)]
    proc = run_hoist(args, clean_env(AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk))
    try:
        out = json.loads(proc.stdout) if proc.returncode == 0 else None
    except ValueError:
        out = None
    if out is None or "url" not in out:
        R.check(f"{label}: hoist presign", False,
                f"hoist {' '.join(args)}\nexit {proc.returncode}\nstdout {proc.stdout[:800]!r}\nstderr {proc.stderr[:800]!r}")
        return None
    return out


def send(method: str, url: str, headers: dict | list | None = None, body: bytes | None = None):
    """One raw HTTP request; returns (status, headers dict, body bytes, S3 error code or '')."""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
    target = parts.path + ("?" + parts.query if parts.query else "")
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        items = headers.items() if isinstance(headers, dict) else (headers or [])
        names = set()
        for name, value in items:
            conn.putheader(name, value)
            names.add(name.lower())
        if body is not None and "content-length" not in names:
            conn.putheader("Content-Length", str(len(body)))
        elif body is None and method in ("PUT", "POST") and "content-length" not in names:
            conn.putheader("Content-Length", "0")
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        rheaders = {k.lower(): v for k, v in resp.getheaders()}
        status = resp.status
    finally:
        conn.close()
    m = re.search(rb"<Code>([^<]*)</Code>", data)
    return status, rheaders, data, (m.group(1).decode() if m else "")


def with_query_value(url: str, name: str, fn) -> str:
    parts = urllib.parse.urlsplit(url)
    pairs = [p.split("=", 1) if "=" in p else [p, ""] for p in parts.query.split("&")]
    query = "&".join(f"{k}={fn(v) if k == name else v}" for k, v in pairs)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def tamper_path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    head, _, last = parts.path.rpartition("/")
    try:
        path = head + "/" + flip_one(last)
    except ValueError:
        path = flip_one(parts.path)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def other_expiry(v: str) -> str:
    return str(int(v) - 1) if int(v) > 1 else "2"


def refused(R: Results, name: str, result, allowed=(400, 403)) -> None:
    status, _, data, code = result
    CODES_SEEN.setdefault(name.split(": ", 1)[-1].split(" [")[0], set()).add(f"{status} {code}")
    R.check(name, status in allowed, f"expected HTTP {'/'.join(map(str, allowed))}; got {status} {code} "
            f"{data[:300]!r}" if status not in allowed else f"refused: {status} {code}")


def accepted(R: Results, name: str, result, want=(200,), extra: str = "") -> bool:
    status, _, data, code = result
    return R.check(name, status in want, f"expected HTTP {want}; got {status} {code} {data[:400]!r}{extra}"
                   if status not in want else f"{status}")


def probe_if_none_match(R: Results, s3, bucket: str) -> bool:
    """Does this radosgw honour If-None-Match: * on PUT? Asked with plain boto3 calls, not assumed."""
    from botocore.exceptions import ClientError
    s3.put_object(Bucket=bucket, Key="probe-if-none-match", Body=b"1", IfNoneMatch="*")
    try:
        s3.put_object(Bucket=bucket, Key="probe-if-none-match", Body=b"2", IfNoneMatch="*")
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        R.info(f"radosgw honours If-None-Match: * on PUT (second PUT: HTTP {status} "
               f"{exc.response.get('Error', {}).get('Code')})")
        return status == 412
    R.info("radosgw does NOT honour If-None-Match: * on PUT (the second PUT overwrote): "
           "URLs still bind the header, but no 412 is expected")
    return False


def run(R: Results, s3, bucket: str) -> None:
    now = utcnow()
    if_none_match = probe_if_none_match(R, s3, bucket)
    for i, key in enumerate(KEYS):
        body = (f"hoist interop {i} {key}\n".encode() + bytes(range(256)) + secrets.token_bytes(64))
        label = f"key {key[:60]!r}"
        put = presign(R, label, "PUT", bucket, key, "--content-type", "image/png", "--content-length",
                      str(len(body)), "--if-none-match", "*")
        get = presign(R, label, "GET", bucket, key)
        head = presign(R, label, "HEAD", bucket, key)
        if not (put and get and head):
            continue
        hdrs = dict(put.get("headers") or {})
        R.check(f"{label}: presign --json headers to send", {k.lower(): v for k, v in hdrs.items()} == {
            "content-type": "image/png", "content-length": str(len(body)), "if-none-match": "*"}, repr(hdrs))
        # Misuse first (nothing is stored yet), then the real upload.
        refused(R, f"{label}: PUT with another Content-Type [image/jpeg]",
                send("PUT", put["url"], {**hdrs, "Content-Type": "image/jpeg"}, body))
        refused(R, f"{label}: PUT with another Content-Length [one byte more]",
                send("PUT", put["url"], {**{k: v for k, v in hdrs.items() if k.lower() != "content-length"}},
                     body + b"!"))
        refused(R, f"{label}: PUT without the bound If-None-Match",
                send("PUT", put["url"], {k: v for k, v in hdrs.items() if k.lower() != "if-none-match"}, body))
        refused(R, f"{label}: PUT with tampered signature",
                send("PUT", with_query_value(put["url"], "X-Amz-Signature", lambda v: flip_one(v, hex_only=True)),
                     hdrs, body))
        refused(R, f"{label}: PUT with tampered path", send("PUT", tamper_path(put["url"]), hdrs, body))
        refused(R, f"{label}: PUT with tampered X-Amz-Expires",
                send("PUT", with_query_value(put["url"], "X-Amz-Expires", other_expiry), hdrs, body))
        if not accepted(R, f"{label}: PUT accepted", send("PUT", put["url"], hdrs, body)):
            continue
        status, _, _, code = send("PUT", put["url"], hdrs, b"x" * len(body))
        CODES_SEEN.setdefault("second PUT with If-None-Match: *", set()).add(f"{status} {code}")
        if if_none_match:
            R.check(f"{label}: second PUT refused by If-None-Match: *", status == 412, f"got {status} {code}"
                    if status != 412 else "412")
        else:
            # The URL still worked as a URL; put the original bytes back for the GET below.
            R.check(f"{label}: second PUT (If-None-Match not enforced) still signed correctly", status == 200,
                    f"got {status} {code}")
            send("PUT", put["url"], hdrs, body)
        status, rh, data, code = send("GET", get["url"])
        R.check(f"{label}: GET returns the exact bytes", status == 200 and data == body,
                f"status {status} {code}; {len(data)} bytes, expected {len(body)}; first bytes {data[:80]!r}")
        status, rh, data, code = send("HEAD", head["url"])
        R.check(f"{label}: HEAD accepted, Content-Length and type as uploaded",
                status == 200 and rh.get("content-length") == str(len(body)) and rh.get("content-type") == "image/png",
                f"status {status} {code}; headers {rh}")
        refused(R, f"{label}: GET with tampered signature",
                send("GET", with_query_value(get["url"], "X-Amz-Signature", lambda v: flip_one(v, hex_only=True))))
        refused(R, f"{label}: GET with tampered path", send("GET", tamper_path(get["url"])))
        refused(R, f"{label}: GET with tampered X-Amz-Expires",
                send("GET", with_query_value(get["url"], "X-Amz-Expires", other_expiry)))
        refused(R, f"{label}: GET with an extra query parameter", send("GET", get["url"] + "&x-hoist=1"))
        refused(R, f"{label}: GET URL used for DELETE", send("DELETE", get["url"]))
        if i % 3 == 0:
            old = presign(R, label, "GET", bucket, key, date=now - dt.timedelta(hours=2), expires=60)
            if old:
                refused(R, f"{label}: GET expired [signed 2 h ago, 60 s]", send("GET", old["url"]))

    key = "photos/my photo+1.jpg"
    body = b"\x89PNG\r\n\x1a\nshort one"
    # Clock-related and credential-related refusals.
    expired = presign(R, "expiry", "GET", bucket, key, date=now - dt.timedelta(seconds=61), expires=60)
    if expired:
        refused(R, "GET expired [signed 61 s ago, 60 s]", send("GET", expired["url"]))
    fresh = presign(R, "expiry", "GET", bucket, key, date=now - dt.timedelta(seconds=10), expires=60)
    if fresh:
        accepted(R, "GET signed 10 s ago, 60 s: still valid", send("GET", fresh["url"]))
    week = presign(R, "expiry", "GET", bucket, key, expires=604800)
    if week:
        accepted(R, "GET with --expires 604800 (7 days)", send("GET", week["url"]))
    wrong = presign(R, "credentials", "GET", bucket, key, sk=SK[:-1] + ("X" if SK[-1] != "X" else "Y"))
    if wrong:
        refused(R, "GET signed with a wrong secret key", send("GET", wrong["url"]))
    unknown = presign(R, "credentials", "GET", bucket, key, ak="AKIAHOISTUNKNOWN0000")
    if unknown:
        refused(R, "GET signed with an unknown access key", send("GET", unknown["url"]))
    # Untrimmed header values: the client sends them as given, the signature uses the trimmed form.
    note = presign(R, "meta", "PUT", bucket, "meta.png", "--content-type", "image/png",
                   "-H", "x-amz-meta-note:   several   spaces  here ", "-H", "Cache-Control: max-age=60")
    if note:
        accepted(R, "PUT with an untrimmed x-amz-meta header",
                 send("PUT", note["url"], note.get("headers") or {}, body))
        r = s3.head_object(Bucket=bucket, Key="meta.png")
        R.info(f"radosgw stored x-amz-meta-note as {r.get('Metadata', {}).get('note')!r}, "
               f"Cache-Control {r.get('CacheControl')!r}")
        refused(R, "PUT with another x-amz-meta value", send("PUT", note["url"], {
            **(note.get("headers") or {}), "x-amz-meta-note": "other"}, body))
    # x-amz-checksum-sha256 bound into the signature.
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    cs = presign(R, "checksum", "PUT", bucket, "checksum.png", "--content-type", "image/png",
                 "--checksum-sha256", digest)
    if cs:
        accepted(R, "PUT with a bound x-amz-checksum-sha256", send("PUT", cs["url"], cs.get("headers") or {}, body))
        other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
        refused(R, "PUT sending another x-amz-checksum-sha256 than the signed one",
                send("PUT", cs["url"], {**(cs.get("headers") or {}), "x-amz-checksum-sha256": other}, body))
        status, _, _, code = send("PUT", cs["url"], cs.get("headers") or {}, body[:-1] + b"?")
        R.info(f"radosgw, body not matching the signed x-amz-checksum-sha256: HTTP {status} {code} "
               + ("(checksum not verified by this radosgw)" if status == 200 else "(refused)"))
    # Scope region: radosgw's zonegroup is 'default'; see what it does with other regions.
    for region in ("eu-west-1", "us-west-2"):
        proc = run_hoist(["presign", "GET", bucket, key, "--endpoint", ENDPOINT, "--region", region],
                         clean_env(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK))
        if proc.returncode == 0:
            status, _, _, code = send("GET", proc.stdout.strip())
            R.info(f"radosgw, URL scoped to region {region}: HTTP {status} {code}")
    # Future signing date.
    future = presign(R, "future", "GET", bucket, key, date=now + dt.timedelta(hours=1), expires=60)
    if future:
        status, _, _, code = send("GET", future["url"])
        R.info(f"radosgw, URL signed for one hour in the future: HTTP {status} {code}")
    # DELETE, then GET gives 404.
    dele = presign(R, "delete", "DELETE", bucket, "photo.png")
    get = presign(R, "delete", "GET", bucket, "photo.png")
    if dele and get:
        accepted(R, "DELETE pre-signed", send("DELETE", dele["url"]), want=(200, 204))
        status, _, _, code = send("GET", get["url"])
        R.check("GET after DELETE is 404 NoSuchKey", status == 404 and code == "NoSuchKey", f"got {status} {code}")
    # Multipart initiation: POST ?uploads, pre-signed.
    mp = presign(R, "multipart", "POST", bucket, "big video.mp4", "--query", "uploads=", "--content-type", "video/mp4")
    if mp:
        status, _, data, code = send("POST", mp["url"], mp.get("headers") or {})
        m = re.search(rb"<UploadId>([^<]+)</UploadId>", data)
        R.check("POST ?uploads pre-signed starts a multipart upload", status == 200 and m is not None,
                f"got {status} {code} {data[:300]!r}")
        if m:
            upload_id = m.group(1).decode()
            part = presign(R, "multipart", "PUT", bucket, "big video.mp4", "--query", "partNumber=1",
                           "--query", f"uploadId={upload_id}")
            if part:
                accepted(R, "PUT part 1 pre-signed (partNumber, uploadId signed)",
                         send("PUT", part["url"], part.get("headers") or {}, b"p" * 1024))
                refused(R, "PUT part with tampered partNumber",
                        send("PUT", with_query_value(part["url"], "partNumber", lambda v: "2"),
                             part.get("headers") or {}, b"p" * 1024))
            try:
                s3.abort_multipart_upload(Bucket=bucket, Key="big video.mp4", UploadId=upload_id)
            except Exception as exc:  # cleanup only
                R.info(f"abort_multipart_upload: {exc}")


@pytest.fixture(scope="module")
def rgw(ceph):
    """(boto3 client, a fresh bucket) on the suite's gateway; the bucket is emptied and deleted after."""
    global ENDPOINT
    ENDPOINT = ceph.endpoint
    R = tally(__file__)
    import boto3
    from botocore.config import Config
    s3 = boto3.session.Session().client(
        "s3", endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id=AK, aws_secret_access_key=SK,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}))
    bucket = f"hoist-interop-{secrets.token_hex(4)}"
    try:
        s3.create_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001
        fail_check(R, f"create bucket {bucket} with boto3", repr(exc))
    R.info(f"radosgw at {ENDPOINT}, bucket {bucket}")
    yield s3, bucket
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001
        R.info(f"cleanup of {bucket} incomplete: {exc}")
    for what, seen in sorted(CODES_SEEN.items()):
        R.info(f"radosgw's answer to a refused request, {what}: {', '.join(sorted(seen))}")


def test_presigned_urls_on_radosgw(checks, rgw):
    s3, bucket = rgw
    run(checks, s3, bucket)
