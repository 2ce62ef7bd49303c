"""`hoist api` with the Ceph Object Gateway (radosgw) as its S3: the proof that the upload API works
against a real S3 nobody here wrote.

Creates a bucket on radosgw with boto3, starts `hoist api` ($HOIST_BIN) signing for it (path-style,
HOIST_AUTH=dev, a temporary data folder, a free port), then over real HTTP:

- the flow: POST /upload-url → PUT of a real JPEG to radosgw with exactly the returned headers → the
  object is there with the right type, size and bytes (boto3) → GET /download-url → the bytes; 403
  for another user;
- the bad-PUT rows of the attack table, each refused by radosgw (its S3 error code is printed):
  another length, type or checksum header than was signed, missing signed headers, a tampered
  signature or key, the upload URL used for a GET, and an expired URL (a second `hoist api` with
  HOIST_URL_EXPIRY=1);
- what radosgw really does with the signed `If-None-Match: *` on a second PUT to the same URL, and
  with a body that does not match the signed `x-amz-checksum-sha256` (Ceph 16 "Pacific" predates
  S3's flexible checksums): both are checked against the behaviour observed on Debian 12's Ceph
  16.2, so a change shows up as a failure to look at.

The gateway is the suite's `ceph` fixture (Interop/ceph.sh start, or RGW_ENDPOINT when given).
Env: RGW_ACCESS_KEY / RGW_SECRET_KEY (default: the start script's), HOIST_BIN (default
.build/debug/hoist), INTEROP_VERBOSE=1 (with -s) to print passing checks.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import time

import pytest

from api_common import (  # noqa: E402
    UUID_RE,
    APIClient,
    HoistServerProcess,
    describe,
    error_of,
    get_url,
    one_bit_flipped,
    put_twice,
    put_url,
    signed_headers_of,
    tiny_jpeg,
    try_bad_puts,
)
from interop_common import Results, fail_check, flip_one, tally  # noqa: E402
from processes import RGW_ACCESS_KEY as AK, RGW_SECRET_KEY as SK  # noqa: E402
from store_common import REGION, s3_error  # noqa: E402

ENDPOINT = "http://127.0.0.1:7480"  # the `ceph` fixture's gateway, set by `rgw`
CODES: dict[str, str] = {}


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def s3_client():
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3", endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id=AK, aws_secret_access_key=SK,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
                      request_checksum_calculation="when_required", response_checksum_validation="when_required",
                      connect_timeout=10, read_timeout=60))


class Ceph:
    def __init__(self, bucket: str):
        self.s3 = s3_client()
        self.bucket = bucket

    def head(self, key: str) -> dict | None:
        from botocore.exceptions import ClientError

        try:
            return self.s3.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise

    def read(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def empty_and_delete(self) -> None:
        keys = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket):
            keys += [o["Key"] for o in page.get("Contents", [])]
        for i in range(0, len(keys), 500):
            self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys[i:i + 500]]})
        self.s3.delete_bucket(Bucket=self.bucket)


def api_env(bucket: str, **extra: str) -> dict:
    env = {"HOIST_AUTH": "dev", "HOIST_S3_ENDPOINT": ENDPOINT, "HOIST_S3_ADDRESSING": "path", "HOIST_BUCKET": bucket,
           "HOIST_REGION": REGION, "AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK,
           "HOIST_RATE_PER_MINUTE": "1000000", "HOIST_RATE_BURST": "1000000"}
    env.update(extra)
    return env


def expect_ok(R: Results, name: str, resp) -> dict | None:
    try:
        body = resp.json()
    except ValueError:
        body = None
    ok = resp.status_code == 200 and isinstance(body, dict)
    R.check(f"{name} -> 200", ok, describe(resp))
    return body if ok else None


def refused(R: Results, ceph: Ceph, name: str, resp, key: str, status: int, codes: tuple[str, ...]) -> None:
    err = s3_error(resp.body) or {}
    CODES[name] = f"{resp.status} {err.get('Code')}" + (f" ({err.get('Message')})" if err.get("Message") else "")
    R.check(f"radosgw refuses {name} -> {status} {'/'.join(codes)}", resp.status == status and err.get("Code") in codes,
            resp.describe())
    R.check(f"radosgw refuses {name}: no object written", ceph.head(key) is None, key)


def flow(R: Results, srv: HoistServerProcess, ceph: Ceph) -> None:
    api = APIClient(srv.api)
    alice, bob = srv.token("alice"), srv.token("bob")
    R.check("hoist api printed a dev token", bool(srv.dev_token), srv.log_tail())
    jpeg = tiny_jpeg(64, 48, seed=5)
    digest = sha256_b64(jpeg)

    # With a checksum.
    body = expect_ok(R, "POST /upload-url (JPEG, size and checksum)",
                     api.upload_url(alice, {"contentType": "image/jpeg", "size": len(jpeg), "checksumSHA256": digest}))
    if body:
        key, url = body["key"], body["uploadUrl"]
        R.check("uploadUrl is radosgw's path-style URL of the key", url.startswith(f"{ENDPOINT}/{ceph.bucket}/{key}?"), url)
        R.check("key is articles/<articleId>/raw/<uuid>.jpg",
                re.fullmatch(rf"articles/{re.escape(body.get('articleId', ''))}/raw/[0-9a-f-]{{36}}\.jpg", key) is not None
                and bool(UUID_RE.match(body.get("articleId", ""))), key)
        R.check("signed headers: content-length, content-type, host, if-none-match, x-amz-checksum-sha256",
                signed_headers_of(url) == ["content-length", "content-type", "host", "if-none-match",
                                           "x-amz-checksum-sha256"], str(signed_headers_of(url)))
        put = api.session.put(url, data=jpeg, headers=body["headers"], timeout=30)
        R.check("radosgw accepts the PUT with the returned headers -> 200", put.status_code == 200,
                f"HTTP {put.status_code} {put.content[:600]!r}")
        head = ceph.head(key)
        R.check("HEAD (boto3): the object is there", head is not None, key)
        if head:
            R.check("HEAD: Content-Type image/jpeg", head.get("ContentType") == "image/jpeg", str(head.get("ContentType")))
            R.check("HEAD: Content-Length", head.get("ContentLength") == len(jpeg), str(head.get("ContentLength")))
            R.check("HEAD: ETag is the MD5", head.get("ETag", "").strip('"') == hashlib.md5(jpeg).hexdigest(),
                    str(head.get("ETag")))
            got = ceph.read(key)
            R.check("GET (boto3): SHA-256 of the stored bytes is the JPEG's",
                    hashlib.sha256(got).digest() == hashlib.sha256(jpeg).digest(), f"{len(got)} bytes")

        dl = expect_ok(R, "GET /download-url (owner)", api.get("/download-url", alice, params={"key": key})) or {}
        if dl.get("downloadUrl"):
            R.check("download URL is radosgw's", dl["downloadUrl"].startswith(f"{ENDPOINT}/{ceph.bucket}/{key}?"),
                    dl["downloadUrl"])
            got = get_url(dl["downloadUrl"])
            R.check("radosgw serves the download URL: the bytes", got.status == 200 and got.body == jpeg,
                    got.describe(200))
            R.check("radosgw serves the download URL: Content-Type image/jpeg", got.h("content-type") == "image/jpeg",
                    str(got.headers))
            bad = get_url(re.sub(r"X-Amz-Signature=([0-9a-f]+)",
                                 lambda m: "X-Amz-Signature=" + flip_one(m.group(1), True), dl["downloadUrl"]))
            err = s3_error(bad.body) or {}
            CODES["a download URL with a tampered signature"] = f"{bad.status} {err.get('Code')}"
            R.check("radosgw refuses a download URL with a tampered signature -> 403 SignatureDoesNotMatch",
                    bad.status == 403 and err.get("Code") == "SignatureDoesNotMatch", bad.describe())
        resp = api.get("/download-url", bob, params={"key": key})
        code, _ = error_of(resp)
        R.check("GET /download-url as another user -> 403 forbidden", resp.status_code == 403 and code == "forbidden",
                describe(resp))

    # Without a checksum.
    png = tiny_jpeg(32, 32, seed=6)
    body = expect_ok(R, "POST /upload-url (size, no checksum)", api.upload_url(alice, {"contentType": "image/jpeg",
                                                                                      "size": len(png)}))
    if body:
        put = api.session.put(body["uploadUrl"], data=png, headers=body["headers"], timeout=30)
        R.check("radosgw accepts the PUT without checksum -> 200", put.status_code == 200,
                f"HTTP {put.status_code} {put.content[:600]!r}")
        head = ceph.head(body["key"])
        R.check("the object without checksum is there", head is not None and head.get("ContentLength") == len(png),
                str(head))


def bad_puts(R: Results, srv: HoistServerProcess, ceph: Ceph) -> None:
    api = APIClient(srv.api)
    alice = srv.token("alice")
    jpeg = tiny_jpeg(64, 48, seed=7)
    digest = sha256_b64(jpeg)
    altered = one_bit_flipped(jpeg)

    def fresh(label: str, with_checksum: bool = True):
        body = {"contentType": "image/jpeg", "size": len(jpeg)}
        if with_checksum:
            body["checksumSHA256"] = digest
        r = expect_ok(R, f"POST /upload-url for the '{label}' PUT", api.upload_url(alice, body))
        return (r["uploadUrl"], r["key"], dict(r["headers"])) if r else None

    sig = ("SignatureDoesNotMatch",)
    labels = ["a shorter body (length not as signed)", "a longer body (length not as signed)",
              "another Content-Type (image/png)", "another Content-Type (text/html)",
              "another checksum header than was signed", "no checksum header", "no If-None-Match",
              "If-None-Match other than *", "a tampered signature", "a longer X-Amz-Expires",
              "a shorter body, no checksum in the URL", "another Content-Type, no checksum in the URL"]
    try_bad_puts(R, jpeg, [(label, 403, sig) for label in labels], fresh,
                 lambda label, resp, key, status, codes: refused(R, ceph, label, resp, key, status, codes), ceph.head)

    got = fresh("GET instead of PUT")
    if got:
        url, key, headers = got
        resp = get_url(url)
        err = s3_error(resp.body) or {}
        CODES["GET with the upload URL"] = f"{resp.status} {err.get('Code')}"
        R.check("radosgw refuses GET with the upload URL -> 403 SignatureDoesNotMatch",
                resp.status == 403 and err.get("Code") == "SignatureDoesNotMatch", resp.describe())

    # A body that does not match the signed x-amz-checksum-sha256. AWS S3 answers 400 BadDigest. Ceph 16
    # has no flexible checksums: the header is only a signed header to it, and the body is stored.
    got = fresh("another body with the signed checksum")
    if got:
        url, key, headers = got
        resp = put_url(url, headers, altered)
        err = s3_error(resp.body) or {}
        CODES["another body with the signed checksum"] = f"{resp.status} {err.get('Code')}"
        head = ceph.head(key)
        if resp.status == 400:
            R.check("radosgw refuses another body with the signed checksum -> 400 BadDigest (and stores nothing)",
                    err.get("Code") == "BadDigest" and head is None, resp.describe())
        else:
            R.info("radosgw does NOT verify x-amz-checksum-sha256: a body that does not match the signed checksum "
                   f"was answered {resp.status} and stored ({head and head.get('ContentLength')} bytes); only the "
                   "signed Content-Length and Content-Type hold there, the checksum is for AWS S3 and hoist store")
            stored = ceph.read(key) if head else b""
            R.check("radosgw (observed behaviour of Ceph 16): a body not matching the signed checksum is stored as sent",
                    resp.status == 200 and stored == altered, resp.describe())

    # If-None-Match: * on a pre-signed PUT: a second PUT to the same URL.
    twice = put_twice(R, fresh, jpeg)
    if twice:
        key, again = twice
        err = s3_error(again.body) or {}
        CODES["a second PUT to the same URL (If-None-Match: *)"] = f"{again.status} {err.get('Code')}"
        R.check("radosgw enforces the signed If-None-Match: * -> 412 PreconditionFailed on a second PUT",
                again.status == 412 and err.get("Code") == "PreconditionFailed", again.describe())
        head = ceph.head(key)
        R.check("after the second PUT: the first object is unchanged",
                head is not None and head.get("ETag", "").strip('"') == hashlib.md5(jpeg).hexdigest(), str(head))
    # The same with a different body of the same length (and no checksum in the URL, so only the condition can stop it).
    got = fresh("twice, other bytes", with_checksum=False)
    if got:
        url, key, headers = got
        first = put_url(url, headers, jpeg)
        again = put_url(url, headers, altered)
        err = s3_error(again.body) or {}
        CODES["a second PUT of other bytes to the same URL"] = f"{again.status} {err.get('Code')}"
        R.check("radosgw: a second PUT of other bytes -> 412 PreconditionFailed, object unchanged",
                first.status == 200 and again.status == 412 and err.get("Code") == "PreconditionFailed"
                and ceph.read(key) == jpeg, f"first {first.status}; second {again.describe()}")
    # Control: If-None-Match: * against an object written by someone else first (boto3), before the URL is used.
    got = fresh("object already there")
    if got:
        url, key, headers = got
        ceph.s3.put_object(Bucket=ceph.bucket, Key=key, Body=b"written first", ContentType="text/plain")
        resp = put_url(url, headers, jpeg)
        err = s3_error(resp.body) or {}
        CODES["PUT with If-None-Match: * over an object written by boto3"] = f"{resp.status} {err.get('Code')}"
        R.check("radosgw: If-None-Match: * over an existing object -> 412, object kept",
                resp.status == 412 and ceph.read(key) == b"written first", resp.describe())


@pytest.fixture(scope="module")
def rgw(ceph):
    """A fresh bucket on the suite's gateway (emptied and deleted after), and the codes radosgw gave."""
    global ENDPOINT
    ENDPOINT = ceph.endpoint
    R = tally(__file__)
    bucket = f"hoist-api-{secrets.token_hex(4)}"
    gw = Ceph(bucket)
    try:
        gw.s3.create_bucket(Bucket=bucket)
    except Exception as exc:  # noqa: BLE001
        fail_check(R, f"create bucket {bucket} on radosgw (boto3)", str(exc))
    R.info(f"radosgw {ENDPOINT}, bucket {bucket}")
    yield gw
    try:
        gw.empty_and_delete()
    except Exception as exc:  # noqa: BLE001
        R.info(f"could not delete bucket {bucket}: {exc}")
    for row, got in CODES.items():
        R.info(f"radosgw answered {got} to: {row}")


@pytest.fixture(scope="module")
def api_on_ceph(rgw, module_servers):
    """`hoist api` signing for radosgw (HOIST_S3_ENDPOINT), its start and its stop counted as checks."""
    srv = module_servers.start("api", env=api_env(rgw.bucket), check="hoist api (HOIST_S3_ENDPOINT=radosgw) starts")
    yield srv
    module_servers.stop(srv, check="hoist api stops on SIGTERM with status 0")


def test_flow(checks, api_on_ceph, rgw):
    flow(checks, api_on_ceph, rgw)


def test_bad_puts(checks, api_on_ceph, rgw):
    bad_puts(checks, api_on_ceph, rgw)


def test_expired(checks, rgw, servers):
    srv = servers.start("api", env=api_env(rgw.bucket, HOIST_URL_EXPIRY="1"), check="hoist api (HOIST_URL_EXPIRY=1) starts")
    R = checks
    api = APIClient(srv.api)
    jpeg = tiny_jpeg(64, 48, seed=8)
    r = expect_ok(R, "expiry: POST /upload-url", api.upload_url(srv.token("erin"), {"contentType": "image/jpeg",
                                                                                  "size": len(jpeg)}))
    if r:
        R.check("expiry: expiresIn 1", r.get("expiresIn") == 1, str(r))
        time.sleep(2.5)
        refused(R, rgw, "an expired URL", put_url(r["uploadUrl"], r["headers"], jpeg), r["key"], 403,
                ("AccessDenied",))
