"""`hoist store` (or any S3 endpoint) driven by boto3, and by raw HTTP where boto3 cannot say it.

Without S3_ENDPOINT the suite's `s3_target` fixture starts `hoist store --data <temp> --port <free>
--host 127.0.0.1` (HOIST_BIN, default .build/debug/hoist; credentials through HOIST_STORE_ACCESS_KEY /
HOIST_STORE_SECRET_KEY) and stops it with SIGTERM at the end (after a restart check).
With S3_ENDPOINT (and S3_ACCESS_KEY / S3_SECRET_KEY, default the AWS documentation pair) it
runs against that endpoint instead, e.g. the Ceph Object Gateway from Interop/ceph.sh:

    S3_ENDPOINT=http://127.0.0.1:7480 pytest Interop/test_store_boto3.py

Every expectation is what Amazon S3 does; where another S3 (radosgw) differs, its check fails
and that is the peer's difference, not a reason to change the expectation.

Covers: buckets; put/get/head/copy/delete; ranges; conditional GET/HEAD; If-None-Match: * on PUT;
metadata; ETag = quoted MD5; Content-MD5, x-amz-checksum-*, x-amz-content-sha256 integrity;
ListObjects V1/V2 (prefix, delimiter, start-after, marker, max-keys, continuation, encoding-type=url,
fetch-owner, 1,500 keys paginated); DeleteObjects; CORS configuration, preflight and response
headers; pre-signed URLs (accepted, tampered, expired, other Content-Type/Length); anonymous and
badly signed requests; S3 XML errors and x-amz-request-id everywhere; awkward keys; 20 MiB objects;
boto3's upload paths (checksum header, aws-chunked trailer) and hand-made aws-chunked uploads with
chunk signatures (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER], STREAMING-UNSIGNED-PAYLOAD-TRAILER);
multipart uploads (upload_file in small parts, pre-signed upload_part URLs, ListParts and
ListMultipartUploads pagination, completion errors, UploadPartCopy, abort); lifecycle configuration;
browser POST forms from generate_presigned_post (accepted; oversize, undersize, wrong key prefix,
wrong Content-Type, expired, tampered and uncovered fields refused); versioning (Enabled and Suspended,
version ids on writes, reads, copies and deletes by version, delete markers, ListObjectVersions paged
with key and version-id markers, the null version).

Env: S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, HOIST_BIN, INTEROP_VERBOSE=1 (with -s: print passes too).
One test per section: `pytest Interop/test_store_boto3.py -k "listing or cors"` runs only those.
"""

from __future__ import annotations

import base64
import concurrent.futures as cf
import contextlib
import datetime as dt
import email.utils
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import tempfile
import time
import urllib.parse
import zlib

import pytest

from interop_common import fail_check, flip_one, frozen_botocore_clock, hoist_bin, tally, temp_dir, utcnow  # noqa: E402
from processes import StoreProcess, free_port  # noqa: E402
from store_common import (  # noqa: E402
    EMPTY_SHA256,
    REGION,
    RawResponse,
    Target,
    aws_chunked_body,
    b64,
    boto3_client,
    md5_b64,
    quote_key,
    quoted_md5,
    raw_request,
    s3_error,
    seed_signature,
    sha256_b64,
    sign_headers,
    signing_key,
)

import boto3  # noqa: E402
import botocore  # noqa: E402
import requests  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

R = tally(__file__)
RUN = secrets.token_hex(3)
VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "SigV4Tests", "Resources", "vectors", "s3")


def bname(tag: str) -> str:
    return f"hoist-{tag}-{RUN}"


class Ctx:
    def __init__(self, t: Target):
        self.t = t
        self.ep = t.endpoint
        self.s3 = boto3_client(t, checksum="when_supported")
        self.s3r = boto3_client(t, checksum="when_required")
        self.responses = 0
        self.missing_request_id: list[str] = []
        self.buckets: list[str] = []
        for c in (self.s3, self.s3r):
            c.meta.events.register("after-call.s3", self._after_call)

    def client(self, **kw):
        c = boto3_client(self.t, **kw)
        c.meta.events.register("after-call.s3", self._after_call)
        return c

    def _after_call(self, http_response=None, model=None, **_):
        if http_response is None:
            return
        self.responses += 1
        if not http_response.headers.get("x-amz-request-id"):
            self.missing_request_id.append(f"boto3 {model.name if model else '?'} -> HTTP {http_response.status_code}")

    def raw(self, method: str, path: str, headers=None, body=None, **kw) -> RawResponse:
        r = raw_request(self.ep, method, path, headers, body, **kw)
        self._track_raw(method, path, r)
        return r

    def _track_raw(self, method, path, r: RawResponse):
        self.responses += 1
        if not r.h("x-amz-request-id"):
            self.missing_request_id.append(f"{method} {path[:120]} -> HTTP {r.status}")

    def signed(self, method: str, path: str, headers=None, body: bytes | None = None, payload_hash=None,
               access_key=None, secret_key=None, **kw) -> RawResponse:
        h = sign_headers(self.ep, method, path, headers, body, access_key or self.t.access_key,
                         secret_key or self.t.secret_key, payload_hash)
        return self.raw(method, path, h, body, **kw)

    def url_get(self, url: str, headers=None, method="GET", body=None) -> RawResponse:
        """Send a pre-signed URL as it is (raw path and query)."""
        u = urllib.parse.urlsplit(url)
        return self.raw(method, u.path + ("?" + u.query if u.query else ""), headers or {}, body)

    def bucket(self, tag: str) -> str:
        b = bname(tag)
        self.s3.create_bucket(Bucket=b)
        self.buckets.append(b)
        return b


# --- check helpers ---------------------------------------------------------------------------

def status_of(e: ClientError) -> int:
    return e.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


def code_of(e: ClientError) -> str:
    return e.response.get("Error", {}).get("Code", "")


def err_text(e: BaseException) -> str:
    if isinstance(e, ClientError):
        return f"HTTP {status_of(e)} {code_of(e)} {e.response.get('Error', {}).get('Message', '')!r}"
    return f"{type(e).__name__}: {e}"


def ok(name: str, fn, req: str, check=None, want_status: int | None = None):
    """Call fn(); pass when it succeeds (and check(resp) returns '' / None). Returns the response or None."""
    try:
        resp = fn()
    except Exception as e:  # noqa: BLE001
        R.check(name, False, f"request: {req}\nexpected: success\ngot: {err_text(e)}")
        return None
    if want_status is not None:
        st = resp.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if st != want_status:
            R.check(name, False, f"request: {req}\nexpected: HTTP {want_status}\ngot: HTTP {st}")
            return resp
    problem = check(resp) if check else ""
    R.check(name, not problem, f"request: {req}\n{problem}" if problem else "")
    return resp


def err(name: str, fn, req: str, status: int, code: str | tuple | None):
    """Call fn(); pass when it raises ClientError with STATUS and CODE (None: any code)."""
    codes = (code,) if isinstance(code, str) else code
    try:
        resp = fn()
    except ClientError as e:
        good = status_of(e) == status and (codes is None or code_of(e) in codes)
        R.check(name, good, "" if good else f"request: {req}\nexpected: HTTP {status} {code or ''}\ngot: {err_text(e)}")
        return e
    except Exception as e:  # noqa: BLE001
        R.check(name, False, f"request: {req}\nexpected: HTTP {status} {code or ''}\ngot: {err_text(e)}")
        return None
    st = resp.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(resp, dict) else "?"
    R.check(name, False, f"request: {req}\nexpected: HTTP {status} {code or ''}\ngot: success, HTTP {st}")
    return None


def raw_expect(name: str, r: RawResponse, req: str, status: int, code: str | tuple | None = None,
               xml: bool = True) -> bool:
    """Raw response has STATUS and, when given, S3 error CODE in an XML body."""
    codes = (code,) if isinstance(code, str) else code
    e = s3_error(r.body)
    got_code = e.get("Code") if e else None
    good = r.status == status and (codes is None or got_code in codes)
    return R.check(name, good, "" if good else
                   f"request: {req}\nexpected: HTTP {status} {code or ''}\ngot: {r.describe()}")


def check_error_body(name: str, r: RawResponse, req: str, code: str) -> None:
    """The S3 error format: XML <Error> with Code, Message, Resource, RequestId = x-amz-request-id."""
    e = s3_error(r.body)
    problems = []
    if e is None:
        problems.append("body is not XML")
    else:
        if e["_root"] != "Error":
            problems.append(f"root element is <{e['_root']}>, not <Error>")
        if e.get("Code") != code:
            problems.append(f"Code is {e.get('Code')!r}, expected {code!r}")
        for f in ("Message", "Resource", "RequestId"):
            if not e.get(f):
                problems.append(f"<{f}> missing or empty")
        rid = r.h("x-amz-request-id")
        if not rid:
            problems.append("no x-amz-request-id header")
        elif e.get("RequestId") and e.get("RequestId") != rid:
            problems.append(f"<RequestId> {e.get('RequestId')!r} differs from x-amz-request-id {rid!r}")
    ct = (r.h("content-type") or "").split(";")[0].strip()
    if ct not in ("application/xml", "text/xml"):
        problems.append(f"Content-Type is {r.h('content-type')!r}, expected application/xml")
    R.check(name, not problems, "" if not problems else f"request: {req}\n" + "\n".join(problems) +
            f"\ngot: {r.describe()}")


def eq(label: str, got, want) -> str:
    return "" if got == want else f"{label}: expected {want!r}, got {got!r}\n"


def body_of(resp) -> bytes:
    return resp["Body"].read()


def hdrs(resp) -> dict:
    return resp.get("ResponseMetadata", {}).get("HTTPHeaders", {})


HTTP_DATE = re.compile(r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                       r"\d{4} \d\d:\d\d:\d\d GMT$")


# --- sections --------------------------------------------------------------------------------

def sec_buckets(c: Ctx) -> None:
    s3 = c.s3
    b = bname("bkt")
    ok("CreateBucket", lambda: s3.create_bucket(Bucket=b), f"PUT /{b}", want_status=200)
    c.buckets.append(b)
    r = ok("HeadBucket existing", lambda: s3.head_bucket(Bucket=b), f"HEAD /{b}", want_status=200)
    ok("ListBuckets includes the new bucket with CreationDate and Owner",
       lambda: s3.list_buckets(), "GET /",
       lambda resp: ("" if any(x["Name"] == b and isinstance(x.get("CreationDate"), dt.datetime)
                               for x in resp.get("Buckets", [])) else f"bucket {b} not listed: {resp.get('Buckets')}\n")
       + ("" if resp.get("Owner", {}).get("ID") else f"no Owner/ID: {resp.get('Owner')}\n"))
    ok("GetBucketLocation is empty (us-east-1)", lambda: s3.get_bucket_location(Bucket=b), f"GET /{b}?location",
       lambda resp: eq("LocationConstraint", resp.get("LocationConstraint"), None))
    # us-east-1 answers 200 to re-creating your own bucket; other regions 409 BucketAlreadyOwnedByYou.
    try:
        s3.create_bucket(Bucket=b)
        R.check("CreateBucket again (own bucket): 200 in us-east-1 or 409 BucketAlreadyOwnedByYou", True)
    except ClientError as e:
        R.check("CreateBucket again (own bucket): 200 in us-east-1 or 409 BucketAlreadyOwnedByYou",
                status_of(e) == 409 and code_of(e) == "BucketAlreadyOwnedByYou",
                f"request: PUT /{b} (exists, ours)\nexpected: 200 or 409 BucketAlreadyOwnedByYou\ngot: {err_text(e)}")
    for bad in ("Upper_Case-" + RUN, "ab", "-starts-with-dash-" + RUN, "has..dots-" + RUN, "192.168.5.4"):
        err(f"CreateBucket invalid name {bad!r} -> InvalidBucketName", lambda bad=bad: s3.create_bucket(Bucket=bad),
            f"PUT /{bad}", 400, "InvalidBucketName")
    missing = bname("missing")
    err("HeadBucket missing -> 404", lambda: s3.head_bucket(Bucket=missing), f"HEAD /{missing}", 404, None)
    err("DeleteBucket missing -> NoSuchBucket", lambda: s3.delete_bucket(Bucket=missing), f"DELETE /{missing}",
        404, "NoSuchBucket")
    err("ListObjectsV2 missing bucket -> NoSuchBucket", lambda: s3.list_objects_v2(Bucket=missing),
        f"GET /{missing}?list-type=2", 404, "NoSuchBucket")
    err("PutObject missing bucket -> NoSuchBucket", lambda: s3.put_object(Bucket=missing, Key="k", Body=b"x"),
        f"PUT /{missing}/k", 404, "NoSuchBucket")
    err("GetObject missing bucket -> NoSuchBucket", lambda: s3.get_object(Bucket=missing, Key="k"),
        f"GET /{missing}/k", 404, "NoSuchBucket")
    ok("PutObject into the bucket", lambda: s3.put_object(Bucket=b, Key="dir/keep", Body=b"x"), f"PUT /{b}/dir/keep")
    err("DeleteBucket not empty -> BucketNotEmpty", lambda: s3.delete_bucket(Bucket=b), f"DELETE /{b} (holds dir/keep)",
        409, "BucketNotEmpty")
    ok("HeadBucket after the refused delete", lambda: s3.head_bucket(Bucket=b), f"HEAD /{b}")
    ok("DeleteObject", lambda: s3.delete_object(Bucket=b, Key="dir/keep"), f"DELETE /{b}/dir/keep", want_status=204)
    ok("DeleteBucket empty -> 204", lambda: s3.delete_bucket(Bucket=b), f"DELETE /{b}", want_status=204)
    c.buckets.remove(b)
    err("HeadBucket after delete -> 404", lambda: s3.head_bucket(Bucket=b), f"HEAD /{b}", 404, None)
    ok("ListBuckets no longer lists it", lambda: s3.list_buckets(), "GET /",
       lambda resp: "" if all(x["Name"] != b for x in resp.get("Buckets", [])) else f"{b} still listed\n")
    # A deleted bucket's name can be used again.
    ok("CreateBucket again after delete", lambda: s3.create_bucket(Bucket=b), f"PUT /{b}", want_status=200)
    ok("DeleteBucket again", lambda: s3.delete_bucket(Bucket=b), f"DELETE /{b}", want_status=204)


def sec_objects(c: Ctx, b: str) -> None:
    s3 = c.s3
    raw_body = b"hello hoist, " * 100
    body = gzip.compress(raw_body)
    key = "obj/basic.txt.gz"
    meta = {"color": "blue", "Mixed-Case": "Value With Spaces"}
    put_req = (f"PUT /{b}/{key} with Content-Type, Cache-Control, Content-Disposition, Content-Encoding: gzip, "
               f"x-amz-meta-color, x-amz-meta-Mixed-Case")
    t_before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(seconds=2)
    put = ok("PutObject with metadata", lambda: s3.put_object(
        Bucket=b, Key=key, Body=body, ContentType="text/plain; charset=utf-8", CacheControl="max-age=60, private",
        ContentDisposition='attachment; filename="basic.txt"', ContentEncoding="gzip", Metadata=meta), put_req,
        want_status=200)
    if put:
        R.check("PutObject ETag is the quoted hex MD5", put.get("ETag") == quoted_md5(body),
                f"request: {put_req}\nexpected ETag {quoted_md5(body)}\ngot {put.get('ETag')!r}")
    want_meta = {"color": "blue", "mixed-case": "Value With Spaces"}

    def check_meta(resp, with_body):
        p = ""
        if with_body:
            p += eq("body", body_of(resp), body)
        p += eq("ContentLength", resp.get("ContentLength"), len(body))
        p += eq("ETag", resp.get("ETag"), quoted_md5(body))
        p += eq("ContentType", resp.get("ContentType"), "text/plain; charset=utf-8")
        p += eq("CacheControl", resp.get("CacheControl"), "max-age=60, private")
        p += eq("ContentDisposition", resp.get("ContentDisposition"), 'attachment; filename="basic.txt"')
        p += eq("ContentEncoding", resp.get("ContentEncoding"), "gzip")
        p += eq("Metadata (names lower-cased as S3 returns them)", resp.get("Metadata"), want_meta)
        p += eq("AcceptRanges", resp.get("AcceptRanges"), "bytes")
        lm_raw = hdrs(resp).get("last-modified", "")
        if not HTTP_DATE.match(lm_raw):
            p += f"Last-Modified header {lm_raw!r} is not an RFC 7231 IMF-fixdate\n"
        lm = resp.get("LastModified")
        now = dt.datetime.now(dt.timezone.utc)
        if not (isinstance(lm, dt.datetime) and t_before <= lm <= now + dt.timedelta(seconds=2)):
            p += f"LastModified {lm!r} not between {t_before} and now {now}\n"
        return p

    ok("GetObject returns body, ETag and every stored header", lambda: s3.get_object(Bucket=b, Key=key),
       f"GET /{b}/{key}", lambda r: check_meta(r, True))
    ok("HeadObject returns the same headers", lambda: s3.head_object(Bucket=b, Key=key), f"HEAD /{b}/{key}",
       lambda r: check_meta(r, False))
    # Defaults
    ok("PutObject without Content-Type", lambda: s3.put_object(Bucket=b, Key="obj/notype", Body=b"abc"),
       f"PUT /{b}/obj/notype (no Content-Type)")
    ok("Content-Type defaults to binary/octet-stream", lambda: s3.head_object(Bucket=b, Key="obj/notype"),
       f"HEAD /{b}/obj/notype", lambda r: eq("ContentType", r.get("ContentType"), "binary/octet-stream"))
    # Zero bytes
    ok("PutObject empty body", lambda: s3.put_object(Bucket=b, Key="obj/empty", Body=b""), f"PUT /{b}/obj/empty",
       lambda r: eq("ETag", r.get("ETag"), quoted_md5(b"")))
    ok("GetObject empty body", lambda: s3.get_object(Bucket=b, Key="obj/empty"), f"GET /{b}/obj/empty",
       lambda r: eq("body", body_of(r), b"") + eq("ContentLength", r.get("ContentLength"), 0))
    # Overwrite
    ok("PutObject overwrite", lambda: s3.put_object(Bucket=b, Key="obj/over", Body=b"first"), f"PUT /{b}/obj/over")
    ok("PutObject overwrite (second)", lambda: s3.put_object(Bucket=b, Key="obj/over", Body=b"second, longer"),
       f"PUT /{b}/obj/over")
    ok("GetObject after overwrite has the new bytes", lambda: s3.get_object(Bucket=b, Key="obj/over"),
       f"GET /{b}/obj/over", lambda r: eq("body", body_of(r), b"second, longer")
       + eq("ETag", r.get("ETag"), quoted_md5(b"second, longer")))
    # Delete
    ok("DeleteObject -> 204", lambda: s3.delete_object(Bucket=b, Key="obj/over"), f"DELETE /{b}/obj/over",
       want_status=204)
    ok("DeleteObject missing key -> 204", lambda: s3.delete_object(Bucket=b, Key="obj/over"),
       f"DELETE /{b}/obj/over (already gone)", want_status=204)
    err("GetObject deleted -> NoSuchKey", lambda: s3.get_object(Bucket=b, Key="obj/over"), f"GET /{b}/obj/over",
        404, "NoSuchKey")
    err("HeadObject deleted -> 404", lambda: s3.head_object(Bucket=b, Key="obj/over"), f"HEAD /{b}/obj/over",
        404, None)
    # Copy
    src = {"Bucket": b, "Key": key}
    cp = ok("CopyObject (metadata copied)", lambda: s3.copy_object(Bucket=b, Key="obj/copy", CopySource=src),
            f"PUT /{b}/obj/copy x-amz-copy-source: /{b}/{key}")
    if cp:
        R.check("CopyObject result ETag equals the source ETag",
                cp.get("CopyObjectResult", {}).get("ETag") == quoted_md5(body)
                and isinstance(cp.get("CopyObjectResult", {}).get("LastModified"), dt.datetime),
                f"CopyObjectResult {cp.get('CopyObjectResult')!r}, expected ETag {quoted_md5(body)} and LastModified")
    ok("GetObject of the copy: same bytes and headers", lambda: s3.get_object(Bucket=b, Key="obj/copy"),
       f"GET /{b}/obj/copy", lambda r: check_meta(r, True))
    ok("CopyObject MetadataDirective=REPLACE", lambda: s3.copy_object(
        Bucket=b, Key="obj/copy2", CopySource=src, MetadataDirective="REPLACE", ContentType="application/json",
        Metadata={"new": "1"}), f"PUT /{b}/obj/copy2 x-amz-metadata-directive: REPLACE")
    ok("Copy with REPLACE has only the new metadata", lambda: s3.head_object(Bucket=b, Key="obj/copy2"),
       f"HEAD /{b}/obj/copy2", lambda r: eq("ContentType", r.get("ContentType"), "application/json")
       + eq("Metadata", r.get("Metadata"), {"new": "1"}) + eq("ETag", r.get("ETag"), quoted_md5(body)))
    err("CopyObject missing source key -> NoSuchKey", lambda: s3.copy_object(
        Bucket=b, Key="obj/copy3", CopySource={"Bucket": b, "Key": "obj/none"}),
        f"PUT /{b}/obj/copy3 x-amz-copy-source: /{b}/obj/none", 404, "NoSuchKey")
    err("CopyObject missing source bucket -> NoSuchBucket", lambda: s3.copy_object(
        Bucket=b, Key="obj/copy3", CopySource={"Bucket": bname("nosrc"), "Key": "x"}),
        f"PUT /{b}/obj/copy3 x-amz-copy-source: /{bname('nosrc')}/x", 404, "NoSuchBucket")
    err("CopyObject onto itself without changes -> InvalidRequest", lambda: s3.copy_object(
        Bucket=b, Key=key, CopySource=src), f"PUT /{b}/{key} x-amz-copy-source: same object", 400, "InvalidRequest")
    ok("CopyObject onto itself with REPLACE is allowed", lambda: s3.copy_object(
        Bucket=b, Key="obj/copy2", CopySource={"Bucket": b, "Key": "obj/copy2"}, MetadataDirective="REPLACE",
        ContentType="text/csv"), f"PUT /{b}/obj/copy2 from itself, REPLACE")
    ok("Self-copy REPLACE changed the Content-Type", lambda: s3.head_object(Bucket=b, Key="obj/copy2"),
       f"HEAD /{b}/obj/copy2", lambda r: eq("ContentType", r.get("ContentType"), "text/csv"))
    awkward_src = "src dir/a+b %20 ü?#.txt"
    ok("PutObject awkward copy source", lambda: s3.put_object(Bucket=b, Key=awkward_src, Body=b"awk"),
       f"PUT /{b}/{quote_key(awkward_src)}")
    ok("CopyObject from an awkward key", lambda: s3.copy_object(
        Bucket=b, Key="obj/from-awkward", CopySource={"Bucket": b, "Key": awkward_src}),
        f"PUT /{b}/obj/from-awkward x-amz-copy-source: /{b}/{quote_key(awkward_src)}")
    ok("Copy of the awkward key has its bytes", lambda: s3.get_object(Bucket=b, Key="obj/from-awkward"),
       f"GET /{b}/obj/from-awkward", lambda r: eq("body", body_of(r), b"awk"))


def sec_ranges(c: Ctx, b: str) -> None:
    s3 = c.s3
    data = bytes(range(100))
    key = "range/obj"
    s3.put_object(Bucket=b, Key=key, Body=data)
    cases = [("bytes=0-9", data[0:10], "bytes 0-9/100"), ("bytes=-5", data[95:], "bytes 95-99/100"),
             ("bytes=10-", data[10:], "bytes 10-99/100"), ("bytes=95-200", data[95:], "bytes 95-99/100"),
             ("bytes=99-99", data[99:], "bytes 99-99/100"), ("bytes=-500", data, "bytes 0-99/100")]
    for rng, want, cr in cases:
        ok(f"GET Range {rng} -> 206 {cr}", lambda rng=rng: s3.get_object(Bucket=b, Key=key, Range=rng),
           f"GET /{b}/{key} Range: {rng}",
           lambda r, want=want, cr=cr: eq("body", body_of(r), want) + eq("ContentRange", r.get("ContentRange"), cr)
           + eq("ContentLength", r.get("ContentLength"), len(want)) + eq("ETag", r.get("ETag"), quoted_md5(data)),
           want_status=206)
    for rng in ("bytes=100-", "bytes=200-300"):
        e = err(f"GET Range {rng} -> 416 InvalidRange", lambda rng=rng: s3.get_object(Bucket=b, Key=key, Range=rng),
                f"GET /{b}/{key} Range: {rng} (object is 100 bytes)", 416, "InvalidRange")
    for bad in ("bytes=abc", "bytes=5-2"):
        ok(f"GET Range {bad!r} (invalid) is ignored as S3 does -> 200 whole object",
           lambda bad=bad: s3.get_object(Bucket=b, Key=key, Range=bad), f"GET /{b}/{key} Range: {bad}",
           lambda r: eq("body", body_of(r), data), want_status=200)
    r = c.signed("GET", f"/{b}/{key}", {"Range": "bytes=100-"})
    if raw_expect("raw GET Range bytes=100- -> 416 InvalidRange", r, f"GET /{b}/{key} Range: bytes=100-", 416,
                  "InvalidRange"):
        check_error_body("416 error body is S3 XML", r, f"GET /{b}/{key} Range: bytes=100-", "InvalidRange")


def sec_conditional(c: Ctx, b: str) -> None:
    s3 = c.s3
    key = "cond/obj"
    data = b"conditional"
    s3.put_object(Bucket=b, Key=key, Body=data)
    h = s3.head_object(Bucket=b, Key=key)
    etag, lm = h["ETag"], h["LastModified"].astimezone(dt.timezone.utc)
    before = lm - dt.timedelta(days=1)
    for op, fn in (("GET", s3.get_object), ("HEAD", s3.head_object)):
        ok(f"{op} If-Match: matching ETag -> 200", lambda fn=fn: fn(Bucket=b, Key=key, IfMatch=etag),
           f"{op} /{b}/{key} If-Match: {etag}", want_status=200)
        err(f"{op} If-Match: other ETag -> 412", lambda fn=fn: fn(Bucket=b, Key=key, IfMatch='"0123456789abcdef"'),
            f"{op} /{b}/{key} If-Match: \"0123456789abcdef\"", 412,
            "PreconditionFailed" if op == "GET" else None)
        e = err(f"{op} If-None-Match: matching ETag -> 304", lambda fn=fn: fn(Bucket=b, Key=key, IfNoneMatch=etag),
                f"{op} /{b}/{key} If-None-Match: {etag}", 304, None)
        if e is not None and status_of(e) == 304:
            R.check(f"{op} 304 carries the ETag", hdrs(e.response).get("etag") == etag,
                    f"request: {op} /{b}/{key} If-None-Match: {etag}\nexpected ETag header {etag}\n"
                    f"got headers {hdrs(e.response)}")
        ok(f"{op} If-None-Match: other ETag -> 200", lambda fn=fn: fn(Bucket=b, Key=key, IfNoneMatch='"other"'),
           f"{op} /{b}/{key} If-None-Match: \"other\"", want_status=200)
        err(f"{op} If-Modified-Since: Last-Modified -> 304", lambda fn=fn: fn(Bucket=b, Key=key, IfModifiedSince=lm),
            f"{op} /{b}/{key} If-Modified-Since: {email.utils.format_datetime(lm, usegmt=True)} (= Last-Modified)",
            304, None)
        ok(f"{op} If-Modified-Since: a day earlier -> 200", lambda fn=fn: fn(Bucket=b, Key=key,
                                                                              IfModifiedSince=before),
           f"{op} /{b}/{key} If-Modified-Since: Last-Modified - 1 day", want_status=200)
        err(f"{op} If-Unmodified-Since: a day earlier -> 412",
            lambda fn=fn: fn(Bucket=b, Key=key, IfUnmodifiedSince=before),
            f"{op} /{b}/{key} If-Unmodified-Since: Last-Modified - 1 day", 412,
            "PreconditionFailed" if op == "GET" else None)
        ok(f"{op} If-Unmodified-Since: Last-Modified -> 200", lambda fn=fn: fn(Bucket=b, Key=key,
                                                                                IfUnmodifiedSince=lm),
           f"{op} /{b}/{key} If-Unmodified-Since: = Last-Modified", want_status=200)
        # S3's documented precedence (RFC 7232): If-Match true wins over If-Unmodified-Since false;
        # If-None-Match false wins over If-Modified-Since true.
        ok(f"{op} If-Match true + If-Unmodified-Since false -> 200",
           lambda fn=fn: fn(Bucket=b, Key=key, IfMatch=etag, IfUnmodifiedSince=before),
           f"{op} /{b}/{key} If-Match: {etag}, If-Unmodified-Since: a day before Last-Modified", want_status=200)
        err(f"{op} If-None-Match false + If-Modified-Since true -> 304",
            lambda fn=fn: fn(Bucket=b, Key=key, IfNoneMatch=etag, IfModifiedSince=before),
            f"{op} /{b}/{key} If-None-Match: {etag}, If-Modified-Since: a day before", 304, None)
    # If-None-Match: * on PUT
    k2 = "cond/once"
    ok("PutObject If-None-Match: * (new key) -> 200",
       lambda: s3.put_object(Bucket=b, Key=k2, Body=b"first", IfNoneMatch="*"), f"PUT /{b}/{k2} If-None-Match: *",
       want_status=200)
    err("PutObject If-None-Match: * (existing key) -> 412 PreconditionFailed",
        lambda: s3.put_object(Bucket=b, Key=k2, Body=b"second", IfNoneMatch="*"),
        f"PUT /{b}/{k2} If-None-Match: * (exists)", 412, "PreconditionFailed")
    ok("The refused PUT left the first bytes", lambda: s3.get_object(Bucket=b, Key=k2), f"GET /{b}/{k2}",
       lambda r: eq("body", body_of(r), b"first"))


def sec_integrity(c: Ctx, b: str) -> None:
    s3r, s3 = c.s3r, c.s3
    data = b"integrity payload " * 50
    other = b"something else"

    def bad_digest(name: str, key: str, req: str, **checksum) -> None:
        """A PUT whose digest header is of other bytes: 400 BadDigest, and nothing stored."""
        err(name, lambda: s3r.put_object(Bucket=b, Key=key, Body=data, **checksum), f"PUT /{b}/{key} {req}", 400,
            "BadDigest")
        err("...and nothing was stored", lambda: s3r.head_object(Bucket=b, Key=key), f"HEAD /{b}/{key}", 404, None)

    ok("PutObject with correct Content-MD5", lambda: s3r.put_object(Bucket=b, Key="int/md5-ok", Body=data,
                                                                     ContentMD5=md5_b64(data)),
       f"PUT /{b}/int/md5-ok Content-MD5: right")
    bad_digest("PutObject Content-MD5 mismatch -> 400 BadDigest", "int/md5-bad", "Content-MD5: md5 of other bytes",
               ContentMD5=md5_b64(other))
    err("PutObject Content-MD5 not base64 of 16 bytes -> 400 InvalidDigest",
        lambda: s3r.put_object(Bucket=b, Key="int/md5-junk", Body=data, ContentMD5="bm90IGFuIG1kNQ=="),
        f"PUT /{b}/int/md5-junk Content-MD5: base64('not an md5')", 400, "InvalidDigest")
    put = ok("PutObject with correct ChecksumSHA256",
             lambda: s3r.put_object(Bucket=b, Key="int/sha-ok", Body=data, ChecksumSHA256=sha256_b64(data)),
             f"PUT /{b}/int/sha-ok x-amz-checksum-sha256: right")
    if put is not None:
        R.check("PutObject echoes x-amz-checksum-sha256", put.get("ChecksumSHA256") == sha256_b64(data),
                f"request: PUT /{b}/int/sha-ok x-amz-checksum-sha256: {sha256_b64(data)}\n"
                f"expected the response header x-amz-checksum-sha256: {sha256_b64(data)} (as S3 sends)\n"
                f"got {put.get('ChecksumSHA256')!r}")
    bad_digest("PutObject ChecksumSHA256 mismatch -> 400 BadDigest", "int/sha-bad",
               "x-amz-checksum-sha256: sha256 of other bytes", ChecksumSHA256=sha256_b64(other))
    bad_digest("PutObject ChecksumCRC32 mismatch -> 400 BadDigest", "int/crc-bad",
               "x-amz-checksum-crc32: crc32 of other bytes", ChecksumCRC32=b64(zlib.crc32(other).to_bytes(4, "big")))
    # x-amz-content-sha256 (the signed payload hash) must match the body.
    path = f"/{b}/int/content-sha-bad"
    r = c.signed("PUT", path, {"Content-Type": "text/plain"}, data,
                 payload_hash=hashlib.sha256(other).hexdigest())
    raw_expect("PUT with signed x-amz-content-sha256 of other bytes -> 400 XAmzContentSHA256Mismatch", r,
               f"PUT {path} x-amz-content-sha256: sha256(other) (signed), body {len(data)} bytes", 400,
               "XAmzContentSHA256Mismatch")
    err("...and nothing was stored", lambda: s3r.head_object(Bucket=b, Key="int/content-sha-bad"),
        f"HEAD {path}", 404, None)
    r = c.signed("PUT", f"/{b}/int/unsigned", {"Content-Type": "text/plain"}, data, payload_hash="UNSIGNED-PAYLOAD")
    if raw_expect("PUT with header auth and x-amz-content-sha256: UNSIGNED-PAYLOAD -> 200", r,
                  f"PUT /{b}/int/unsigned x-amz-content-sha256: UNSIGNED-PAYLOAD", 200):
        R.check("...its ETag is the MD5", r.h("etag") == quoted_md5(data), f"ETag {r.h('etag')!r}")
    r = c.signed("PUT", f"/{b}/int/not-hex", {}, data, payload_hash="not-a-sha256")
    raw_expect("PUT with x-amz-content-sha256: not-a-sha256 -> 400", r,
               f"PUT /{b}/int/not-hex x-amz-content-sha256: not-a-sha256 (signed)", 400,
               ("InvalidArgument", "XAmzContentSHA256Mismatch"))
    # Plain HTTP chunked transfer without aws-chunked, a signature that binds no length: a stream of
    # unknown length (`curl -T -`), taken whole.
    h = sign_headers(c.ep, "PUT", f"/{b}/int/te-chunked", {}, None, c.t.access_key, c.t.secret_key,
                     payload_hash="UNSIGNED-PAYLOAD")
    r = c.raw("PUT", f"/{b}/int/te-chunked", h, data, encode_chunked=True)
    R.check("PUT with Transfer-Encoding: chunked, no Content-Length, unsigned payload -> 200 with the MD5 ETag",
            r.status == 200 and r.h("etag") == quoted_md5(data), r.describe(300))
    got = c.s3.get_object(Bucket=b, Key="int/te-chunked")["Body"].read() if r.status == 200 else b""
    R.check("...the object is the streamed bytes", got == data, f"{len(got)} bytes read back of {len(data)}")


def sec_listing(c: Ctx, b: str) -> None:
    s3 = c.s3
    keys = ["a/1", "a/2", "a/b/3", "b/1", "c", "d/e/f", "e f+g%h", "ü/x"]
    with cf.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda k: s3.put_object(Bucket=b, Key=k, Body=k.encode()), keys))
    allk = sorted(keys, key=lambda k: k.encode())
    ckeys = lambda r: [x["Key"] for x in r.get("Contents", [])]  # noqa: E731
    cps = lambda r: [x["Prefix"] for x in r.get("CommonPrefixes", [])]  # noqa: E731

    def v2(name, want_keys, want_cps=(), trunc=False, **kw):
        return ok(f"ListObjectsV2 {name}", lambda: s3.list_objects_v2(Bucket=b, **kw), f"GET /{b}?list-type=2 {kw}",
                  lambda r: eq("keys", ckeys(r), list(want_keys)) + eq("CommonPrefixes", cps(r), list(want_cps))
                  + eq("IsTruncated", r.get("IsTruncated"), trunc)
                  + eq("KeyCount", r.get("KeyCount"), len(want_keys) + len(want_cps)))

    r = v2("all", allk)
    if r:
        x = r["Contents"][0]
        R.check("ListObjectsV2 entries have Key, Size, ETag, LastModified, StorageClass STANDARD, no Owner",
                x.get("Size") == len(x["Key"].encode()) and x.get("ETag") == quoted_md5(x["Key"].encode())
                and isinstance(x.get("LastModified"), dt.datetime) and x.get("StorageClass") == "STANDARD"
                and "Owner" not in x, repr(x))
        R.check("ListObjectsV2 echoes Name, MaxKeys 1000", r.get("Name") == b and r.get("MaxKeys") == 1000,
                f"Name {r.get('Name')!r} MaxKeys {r.get('MaxKeys')!r}")
    v2("prefix a/", ["a/1", "a/2", "a/b/3"], Prefix="a/")
    v2("delimiter /", ["c", "e f+g%h"], ["a/", "b/", "d/", "ü/"], Delimiter="/")
    v2("prefix a/ delimiter /", ["a/1", "a/2"], ["a/b/"], Prefix="a/", Delimiter="/")
    v2("start-after a/2", [k for k in allk if k.encode() > b"a/2"], StartAfter="a/2")
    v2("start-after the last key", [], StartAfter="ü/x")
    v2("prefix with no match", [], Prefix="nothing/")
    v2("prefix d/ delimiter e (any string)", [], ["d/e"], Prefix="d/", Delimiter="e")
    r = ok("ListObjectsV2 fetch-owner=true", lambda: s3.list_objects_v2(Bucket=b, FetchOwner=True),
           f"GET /{b}?list-type=2&fetch-owner=true",
           lambda r: "" if all(x.get("Owner", {}).get("ID") for x in r.get("Contents", []))
           else f"entries without Owner/ID: {r.get('Contents', [])[:2]}\n")
    # max-keys and continuation
    r1 = v2("max-keys 3 (page 1)", allk[:3], trunc=True, MaxKeys=3)
    if r1 and r1.get("NextContinuationToken"):
        tok = r1["NextContinuationToken"]
        ok("ListObjectsV2 continuation-token (page 2)",
           lambda: s3.list_objects_v2(Bucket=b, MaxKeys=3, ContinuationToken=tok),
           f"GET /{b}?list-type=2&max-keys=3&continuation-token=…",
           lambda r: eq("keys", ckeys(r), allk[3:6]) + eq("ContinuationToken echoed", r.get("ContinuationToken"), tok))
    elif r1:
        R.check("ListObjectsV2 max-keys 3 gives a NextContinuationToken", False, repr(r1)[:500])
    v2("max-keys 3 with delimiter counts prefixes", ["c"], ["a/", "b/"], trunc=True, Delimiter="/", MaxKeys=3)
    err("ListObjectsV2 bad continuation-token -> 400 InvalidArgument",
        lambda: s3.list_objects_v2(Bucket=b, ContinuationToken="not-a-token"),
        f"GET /{b}?list-type=2&continuation-token=not-a-token", 400, "InvalidArgument")
    err("ListObjectsV2 max-keys=-1 -> 400 InvalidArgument", lambda: s3.list_objects_v2(Bucket=b, MaxKeys=-1),
        f"GET /{b}?list-type=2&max-keys=-1", 400, "InvalidArgument")
    # encoding-type=url, asked for explicitly (boto3 then leaves the keys as the server sent them)
    def encoded(vals):
        bad = [v for v in vals if " " in v or not v.isascii()]
        return f"values not URL-encoded (raw space or non-ASCII): {bad}\n" if bad else ""
    dec = urllib.parse.unquote_plus  # what botocore applies to encoding-type=url answers
    ok("ListObjectsV2 encoding-type=url (explicit): Prefix, Delimiter, CommonPrefixes encoded",
       lambda: s3.list_objects_v2(Bucket=b, EncodingType="url", Prefix="e f", Delimiter="+"),
       f"GET /{b}?list-type=2&encoding-type=url&prefix=e%20f&delimiter=%2B",
       lambda r: eq("EncodingType", r.get("EncodingType"), "url")
       + eq("Prefix decoded", dec(r.get("Prefix", "")), "e f")
       + eq("Delimiter decoded", dec(r.get("Delimiter", "")), "+")
       + eq("CommonPrefixes decoded", [dec(p) for p in cps(r)], ["e f+"])
       + encoded([r.get("Prefix", "")] + cps(r)))
    ok("ListObjectsV2 encoding-type=url (explicit): keys encoded", lambda: s3.list_objects_v2(Bucket=b, EncodingType="url"),
       f"GET /{b}?list-type=2&encoding-type=url",
       lambda r: eq("keys decoded with unquote_plus (as botocore does)", [dec(k) for k in ckeys(r)], allk)
       + encoded(ckeys(r)))
    # ListObjects (V1)
    r = ok("ListObjects all (entries have Owner)", lambda: s3.list_objects(Bucket=b), f"GET /{b}",
           lambda r: eq("keys", ckeys(r), allk) + eq("IsTruncated", r.get("IsTruncated"), False)
           + ("" if all(x.get("Owner", {}).get("ID") for x in r.get("Contents", [])) else "entries without Owner\n"))
    ok("ListObjects prefix + delimiter", lambda: s3.list_objects(Bucket=b, Prefix="a/", Delimiter="/"),
       f"GET /{b}?prefix=a/&delimiter=/",
       lambda r: eq("keys", ckeys(r), ["a/1", "a/2"]) + eq("CommonPrefixes", cps(r), ["a/b/"]))
    ok("ListObjects marker", lambda: s3.list_objects(Bucket=b, Marker="b/1"), f"GET /{b}?marker=b/1",
       lambda r: eq("keys", ckeys(r), [k for k in allk if k.encode() > b"b/1"]) + eq("Marker", r.get("Marker"), "b/1"))
    ok("ListObjects max-keys 2 delimiter / -> NextMarker", lambda: s3.list_objects(Bucket=b, MaxKeys=2, Delimiter="/"),
       f"GET /{b}?max-keys=2&delimiter=/",
       lambda r: eq("CommonPrefixes", cps(r), ["a/", "b/"]) + eq("IsTruncated", r.get("IsTruncated"), True)
       + eq("NextMarker", r.get("NextMarker"), "b/"))
    ok("ListObjects max-keys 2 -> truncated", lambda: s3.list_objects(Bucket=b, MaxKeys=2), f"GET /{b}?max-keys=2",
       lambda r: eq("keys", ckeys(r), allk[:2]) + eq("IsTruncated", r.get("IsTruncated"), True))
    ok("ListObjects encoding-type=url (explicit)", lambda: s3.list_objects(Bucket=b, EncodingType="url"),
       f"GET /{b}?encoding-type=url",
       lambda r: eq("EncodingType", r.get("EncodingType"), "url")
       + eq("keys (unquote_plus)", [dec(k) for k in ckeys(r)], allk) + encoded(ckeys(r)))


def sec_pagination(c: Ctx, b: str) -> None:
    s3 = c.s3
    # 1,500 keys in 150 "folders" of 10; every 25th folder has a space, an accented letter and a '+'.
    keys = []
    for i in range(1500):
        d, j = divmod(i, 10)
        keys.append(f"pg/{d:03d}{' é+' if d % 25 == 0 else ''}/{j}")
    t0 = time.monotonic()
    errors = []

    def put(k):
        try:
            s3.put_object(Bucket=b, Key=k, Body=b"")
        except Exception as e:  # noqa: BLE001
            errors.append(f"{k}: {err_text(e)}")
    with cf.ThreadPoolExecutor(16) as ex:
        list(ex.map(put, keys))
    R.check("PUT 1,500 keys (16 threads)", not errors, "\n".join(errors[:10]))
    R.info(f"1,500 PUTs took {time.monotonic() - t0:.1f} s")
    want = sorted(keys, key=lambda k: k.encode())
    want_cps = sorted({k.rsplit("/", 1)[0] + "/" for k in keys}, key=lambda k: k.encode())

    def collect(name, pages, field, sub):
        got, npages = [], 0
        for page in pages:
            npages += 1
            got += [x[sub] for x in page.get(field, [])]
        return got, npages

    def pcheck(name, op, field, sub, expect, req, **kw):
        try:
            got, n = collect(name, s3.get_paginator(op).paginate(Bucket=b, **kw), field, sub)
        except Exception as e:  # noqa: BLE001
            R.check(name, False, f"request: {req}\ngot: {err_text(e)}")
            return
        dup = len(got) - len(set(got))
        R.check(name, got == expect,
                f"request: {req}\nexpected {len(expect)} entries in order; got {len(got)} ({dup} duplicates, "
                f"{len(set(expect) - set(got))} missing, in order: {got == sorted(got, key=lambda k: k.encode())}); "
                f"first difference at "
                f"{next((i for i, (x, y) in enumerate(zip(got, expect)) if x != y), min(len(got), len(expect)))}")
        R.info(f"{name}: {n} pages")

    pcheck("V2 paginator, page size 100: all 1,500 keys once, in order", "list_objects_v2", "Contents", "Key", want,
           f"GET /{b}?list-type=2&prefix=pg/&max-keys=100 + continuation tokens", Prefix="pg/",
           PaginationConfig={"PageSize": 100})
    pcheck("V2 paginator, default page size", "list_objects_v2", "Contents", "Key", want,
           f"GET /{b}?list-type=2&prefix=pg/ + continuation tokens", Prefix="pg/")
    pcheck("V1 paginator, page size 100: all 1,500 keys once, in order", "list_objects", "Contents", "Key", want,
           f"GET /{b}?prefix=pg/&max-keys=100 + markers", Prefix="pg/", PaginationConfig={"PageSize": 100})
    pcheck("V2 paginator with delimiter, page size 7: 150 prefixes once", "list_objects_v2", "CommonPrefixes",
           "Prefix", want_cps, f"GET /{b}?list-type=2&prefix=pg/&delimiter=/&max-keys=7 + tokens", Prefix="pg/",
           Delimiter="/", PaginationConfig={"PageSize": 7})
    pcheck("V1 paginator with delimiter, page size 7: 150 prefixes once", "list_objects", "CommonPrefixes",
           "Prefix", want_cps, f"GET /{b}?prefix=pg/&delimiter=/&max-keys=7 + NextMarker", Prefix="pg/",
           Delimiter="/", PaginationConfig={"PageSize": 7})
    ok("V2 max-keys 1000 cap: first page has 1000 keys", lambda: s3.list_objects_v2(Bucket=b, MaxKeys=5000),
       f"GET /{b}?list-type=2&max-keys=5000",
       lambda r: eq("keys on page", len(r.get("Contents", [])), 1000) + eq("IsTruncated", r.get("IsTruncated"), True))
    ok("V2 start-after in the middle", lambda: s3.list_objects_v2(Bucket=b, StartAfter=want[1233], MaxKeys=1000),
       f"GET /{b}?list-type=2&start-after={want[1233]}",
       lambda r: eq("keys", [x["Key"] for x in r.get("Contents", [])], want[1234:]))
    # delete them all with DeleteObjects (1,000 per request)
    errs = []
    for i in range(0, len(keys), 1000):
        try:
            r = s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]], "Quiet": True})
            errs += r.get("Errors", [])
        except Exception as e:  # noqa: BLE001
            errs.append(err_text(e))
    R.check("DeleteObjects 1,000 + 500 keys (Quiet)", not errs, repr(errs[:5]))
    ok("…and the prefix is empty", lambda: s3.list_objects_v2(Bucket=b, Prefix="pg/"), f"GET /{b}?list-type=2&prefix=pg/",
       lambda r: eq("KeyCount", r.get("KeyCount"), 0))


def sec_multidelete(c: Ctx, b: str) -> None:
    for label, s3 in (("when_supported", c.s3), ("when_required", c.s3r)):
        keys = [f"md/{label}/{i}" for i in range(5)] + [f"md/{label}/a&b<c>\"'", f"md/{label}/sp ace+ü"]
        for k in keys:
            s3.put_object(Bucket=b, Key=k, Body=b"x")
        missing = f"md/{label}/never-existed"
        objs = [{"Key": k} for k in keys + [missing]]
        ok(f"DeleteObjects Quiet=false ({label}): every key reported Deleted, missing ones too",
           lambda s3=s3, objs=objs: s3.delete_objects(Bucket=b, Delete={"Objects": objs, "Quiet": False}),
           f"POST /{b}?delete ({len(objs)} keys, XML special characters, Quiet=false)",
           lambda r, keys=keys, missing=missing: eq("Deleted keys", sorted(x["Key"] for x in r.get("Deleted", [])),
                                                    sorted(keys + [missing])) + eq("Errors", r.get("Errors", []), []))
        ok(f"…objects gone ({label})", lambda s3=s3, label=label: s3.list_objects_v2(Bucket=b, Prefix=f"md/{label}/"),
           f"GET /{b}?list-type=2&prefix=md/{label}/", lambda r: eq("KeyCount", r.get("KeyCount"), 0))
        for k in keys[:3]:
            s3.put_object(Bucket=b, Key=k, Body=b"x")
        ok(f"DeleteObjects Quiet=true ({label}): no Deleted entries",
           lambda s3=s3, keys=keys: s3.delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in keys[:3]],
                                                                         "Quiet": True}),
           f"POST /{b}?delete (3 keys, Quiet=true)",
           lambda r: eq("Deleted", r.get("Deleted", []), []) + eq("Errors", r.get("Errors", []), []))
        ok(f"…objects gone ({label}, quiet)",
           lambda s3=s3, label=label: s3.list_objects_v2(Bucket=b, Prefix=f"md/{label}/"),
           f"GET /{b}?list-type=2&prefix=md/{label}/", lambda r: eq("KeyCount", r.get("KeyCount"), 0))
    # The old way: Content-MD5 instead of a flexible checksum (raw request).
    c.s3.put_object(Bucket=b, Key="md/raw/1", Body=b"x")
    xml = (b'<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
           b"<Object><Key>md/raw/1</Key></Object></Delete>")
    r = c.signed("POST", f"/{b}?delete", {"Content-MD5": md5_b64(xml), "Content-Type": "application/xml"}, xml)
    if raw_expect("DeleteObjects with Content-MD5 (older SDKs) -> 200", r, f"POST /{b}?delete Content-MD5", 200):
        R.check("…response lists md/raw/1 as Deleted", b"<Key>md/raw/1</Key>" in r.body and b"<Deleted>" in r.body,
                r.describe())
    r = c.signed("POST", f"/{b}?delete", {"Content-MD5": md5_b64(b"other")}, xml)
    raw_expect("DeleteObjects with a wrong Content-MD5 -> 400 BadDigest", r, f"POST /{b}?delete Content-MD5 wrong",
               400, "BadDigest")
    junk = b"<Delete><Object><Key>unterminated"
    r = c.signed("POST", f"/{b}?delete", {"Content-MD5": md5_b64(junk)}, junk)
    raw_expect("DeleteObjects with malformed XML -> 400 MalformedXML", r, f"POST /{b}?delete (broken XML)", 400,
               "MalformedXML")
    err("DeleteObjects on a missing bucket -> NoSuchBucket",
        lambda: c.s3.delete_objects(Bucket=bname("nomd"), Delete={"Objects": [{"Key": "x"}]}),
        f"POST /{bname('nomd')}?delete", 404, "NoSuchBucket")


CORS_RULES = [
    {"ID": "app", "AllowedOrigins": ["https://app.example.com", "http://*.example.org"],
     "AllowedMethods": ["GET", "PUT", "HEAD"], "AllowedHeaders": ["Content-Type", "x-amz-*"],
     "ExposeHeaders": ["ETag", "x-amz-request-id"], "MaxAgeSeconds": 3000},
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
]


def preflight(c: Ctx, path: str, origin: str | None, method: str | None, headers: str | None = None):
    h = {}
    if origin is not None:
        h["Origin"] = origin
    if method is not None:
        h["Access-Control-Request-Method"] = method
    if headers is not None:
        h["Access-Control-Request-Headers"] = headers
    r = requests.options(c.ep + path, headers=h, timeout=30)
    c.responses += 1
    if not r.headers.get("x-amz-request-id"):
        c.missing_request_id.append(f"OPTIONS {path} -> HTTP {r.status_code}")
    return r


def csv_set(v: str | None) -> set:
    return {x.strip().lower() for x in (v or "").split(",") if x.strip()}


def sec_cors(c: Ctx, b: str) -> None:
    s3 = c.s3
    s3.put_object(Bucket=b, Key="cors/obj", Body=b"cors body")
    path = f"/{b}/cors/obj"
    err("GetBucketCors before any -> 404 NoSuchCORSConfiguration", lambda: s3.get_bucket_cors(Bucket=b),
        f"GET /{b}?cors", 404, "NoSuchCORSConfiguration")
    r = preflight(c, path, "https://app.example.com", "GET")
    R.check("Preflight on a bucket without CORS -> 403", r.status_code == 403,
            f"request: OPTIONS {path} Origin: https://app.example.com, ACRM GET\nexpected 403\n"
            f"got {r.status_code} {dict(r.headers)} {r.content[:300]!r}")
    ok("PutBucketCors (2 rules)", lambda: s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": CORS_RULES}),
       f"PUT /{b}?cors", want_status=200)
    ok("GetBucketCors returns the rules", lambda: s3.get_bucket_cors(Bucket=b), f"GET /{b}?cors",
       lambda r: eq("CORSRules", r.get("CORSRules"), CORS_RULES))
    err("PutBucketCors with an unsupported method -> 400 InvalidRequest", lambda: s3.put_bucket_cors(
        Bucket=b, CORSConfiguration={"CORSRules": [{"AllowedOrigins": ["*"], "AllowedMethods": ["PATCH"]}]}),
        f"PUT /{b}?cors AllowedMethod PATCH", 400, "InvalidRequest")

    req = f"OPTIONS {path} Origin: https://app.example.com, Access-Control-Request-Method: PUT, " \
          f"Access-Control-Request-Headers: content-type,x-amz-meta-owner"
    r = preflight(c, path, "https://app.example.com", "PUT", "content-type,x-amz-meta-owner")
    p = ""
    if r.status_code != 200:
        p += f"status {r.status_code}, expected 200\n"
    p += eq("Access-Control-Allow-Origin", r.headers.get("Access-Control-Allow-Origin"), "https://app.example.com")
    if "put" not in csv_set(r.headers.get("Access-Control-Allow-Methods")):
        p += f"Access-Control-Allow-Methods {r.headers.get('Access-Control-Allow-Methods')!r} lacks PUT\n"
    if not {"content-type", "x-amz-meta-owner"} <= csv_set(r.headers.get("Access-Control-Allow-Headers")):
        p += f"Access-Control-Allow-Headers {r.headers.get('Access-Control-Allow-Headers')!r} lacks the requested ones\n"
    p += eq("Access-Control-Max-Age", r.headers.get("Access-Control-Max-Age"), "3000")
    if csv_set(r.headers.get("Access-Control-Expose-Headers")) != {"etag", "x-amz-request-id"}:
        p += f"Access-Control-Expose-Headers {r.headers.get('Access-Control-Expose-Headers')!r}, expected ETag, x-amz-request-id\n"
    R.check("Preflight allowed (origin, method, headers) -> 200 with every CORS header", not p,
            f"request: {req}\n{p}got headers {dict(r.headers)}")
    R.check("Preflight Access-Control-Allow-Methods lists the matching rule's methods (GET, PUT, HEAD) as S3 does",
            csv_set(r.headers.get("Access-Control-Allow-Methods")) == {"get", "put", "head"},
            f"request: {req}\ngot Access-Control-Allow-Methods {r.headers.get('Access-Control-Allow-Methods')!r}")
    R.check("Preflight for a listed (not '*') origin has Access-Control-Allow-Credentials: true, as S3 sends",
            r.headers.get("Access-Control-Allow-Credentials") == "true",
            f"request: {req}\ngot Access-Control-Allow-Credentials {r.headers.get('Access-Control-Allow-Credentials')!r}")
    R.check("Preflight response has Vary: Origin", "origin" in csv_set(r.headers.get("Vary")),
            f"request: {req}\nVary {r.headers.get('Vary')!r}")
    r = preflight(c, path, "http://cdn.example.org", "HEAD")
    R.check("Preflight wildcard origin http://*.example.org matches http://cdn.example.org -> 200",
            r.status_code == 200 and r.headers.get("Access-Control-Allow-Origin") == "http://cdn.example.org",
            f"got {r.status_code} ACAO {r.headers.get('Access-Control-Allow-Origin')!r} {r.content[:200]!r}")
    r = preflight(c, path, "https://other.test", "GET")
    R.check("Preflight via the '*' rule (any origin, GET) -> 200, Allow-Origin *",
            r.status_code == 200 and r.headers.get("Access-Control-Allow-Origin") == "*",
            f"got {r.status_code} ACAO {r.headers.get('Access-Control-Allow-Origin')!r} {r.content[:200]!r}")
    for origin, method, hdr, why in (
            ("https://other.test", "PUT", None, "origin only allowed GET"),
            ("https://app.example.com", "DELETE", None, "method not allowed"),
            ("https://app.example.com", "PUT", "x-not-allowed", "header not allowed"),
            ("http://example.org", "PUT", None, "'http://*.example.org' needs something before '.example.org'"),
            ("https://app.example.com.evil.test", "PUT", None, "origin with a suffix"),
            ("https://cdn.example.org", "PUT", None, "scheme differs from http://*.example.org")):
        r = preflight(c, path, origin, method, hdr)
        e = s3_error(r.content) or {}
        R.check(f"Preflight refused ({why}) -> 403", r.status_code == 403 and
                "Access-Control-Allow-Origin" not in r.headers,
                f"request: OPTIONS {path} Origin: {origin}, ACRM {method}, ACRH {hdr}\nexpected 403 without "
                f"Access-Control-Allow-Origin\ngot {r.status_code} {dict(r.headers)} {r.content[:300]!r}")
        R.check(f"…its body is S3 XML with Code AccessForbidden ({why})", e.get("Code") == "AccessForbidden",
                f"body {r.content[:300]!r}")
    r = preflight(c, path, None, "GET")
    R.check("Preflight without Origin -> 400", r.status_code == 400,
            f"request: OPTIONS {path} (no Origin)\ngot {r.status_code} {r.content[:300]!r}")
    r = preflight(c, path, "https://app.example.com", None)
    R.check("Preflight without Access-Control-Request-Method -> 400", r.status_code == 400,
            f"request: OPTIONS {path} Origin only\ngot {r.status_code} {r.content[:300]!r}")
    # CORS headers on real responses (pre-signed GETs, so the browser-like request carries only Origin)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "cors/obj"}, ExpiresIn=300)
    r = c.url_get(url, {"Origin": "https://app.example.com"})
    p = "" if r.status == 200 else f"status {r.status}\n"
    p += eq("Access-Control-Allow-Origin", r.h("access-control-allow-origin"), "https://app.example.com")
    if csv_set(r.h("access-control-expose-headers")) != {"etag", "x-amz-request-id"}:
        p += f"Access-Control-Expose-Headers {r.h('access-control-expose-headers')!r}\n"
    if "origin" not in csv_set(r.h("vary")):
        p += f"Vary {r.h('vary')!r} lacks Origin\n"
    R.check("GET with an allowed Origin carries Allow-Origin, Expose-Headers, Vary", not p,
            f"request: GET (pre-signed) {path} Origin: https://app.example.com\n{p}got {r.describe(200)}")
    r = c.url_get(url, {"Origin": "https://other.test"})
    R.check("GET from any origin via the '*' rule: Allow-Origin *", r.status == 200 and
            r.h("access-control-allow-origin") == "*",
            f"request: GET (pre-signed) {path} Origin: https://other.test\ngot {r.describe(200)}")
    r = c.url_get(url)
    R.check("GET without Origin has no CORS headers", r.status == 200 and not r.h("access-control-allow-origin"),
            f"got {r.describe(200)}")
    murl = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "cors/missing"}, ExpiresIn=300)
    r = c.url_get(murl, {"Origin": "https://app.example.com"})
    R.check("Error response (404 NoSuchKey) with an allowed Origin carries Allow-Origin", r.status == 404 and
            r.h("access-control-allow-origin") == "https://app.example.com",
            f"request: GET (pre-signed) /{b}/cors/missing Origin: https://app.example.com\ngot {r.describe(300)}")
    purl = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "cors/put"}, ExpiresIn=300)
    r = c.url_get(purl, {"Origin": "https://other.test"}, method="PUT", body=b"x")
    R.check("PUT from an origin allowed only GET: stored but no Allow-Origin", r.status == 200 and
            not r.h("access-control-allow-origin"),
            f"request: PUT (pre-signed) /{b}/cors/put Origin: https://other.test\ngot {r.describe(300)}")
    ok("DeleteBucketCors -> 204", lambda: s3.delete_bucket_cors(Bucket=b), f"DELETE /{b}?cors", want_status=204)
    err("GetBucketCors after delete -> 404 NoSuchCORSConfiguration", lambda: s3.get_bucket_cors(Bucket=b),
        f"GET /{b}?cors", 404, "NoSuchCORSConfiguration")
    r = preflight(c, path, "https://app.example.com", "GET")
    R.check("Preflight after DeleteBucketCors -> 403", r.status_code == 403,
            f"request: OPTIONS {path}\ngot {r.status_code} {dict(r.headers)}")


def with_query(url: str, name: str, fn) -> str:
    u = urllib.parse.urlsplit(url)
    pairs = [p.split("=", 1) for p in u.query.split("&")]
    q = "&".join(f"{k}={fn(v) if k == name else v}" for k, v in pairs)
    return urllib.parse.urlunsplit((u.scheme, u.netloc, u.path, q, ""))


def sec_presigned(c: Ctx, b: str) -> None:
    s3 = c.s3
    data = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(300)
    key = "pre/photo one+1.png"
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": key, "ContentType": "image/png"},
                                        ExpiresIn=300)
    get_url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": key}, ExpiresIn=300)
    req = f"PUT (pre-signed, Content-Type bound) /{b}/{quote_key(key)}"
    r = c.url_get(with_query(put_url, "X-Amz-Signature", lambda v: flip_one(v, hex_only=True)),
                  {"Content-Type": "image/png"}, "PUT", data)
    raw_expect("Pre-signed PUT, one signature digit changed -> 403 SignatureDoesNotMatch", r, req + " tampered", 403,
               "SignatureDoesNotMatch")
    r = c.url_get(put_url, {"Content-Type": "image/jpeg"}, "PUT", data)
    raw_expect("Pre-signed PUT sent with another Content-Type -> 403 SignatureDoesNotMatch", r,
               req + " sent with Content-Type: image/jpeg", 403, "SignatureDoesNotMatch")
    r = c.url_get(put_url, {}, "PUT", data)
    raw_expect("Pre-signed PUT sent without the bound Content-Type -> 403 SignatureDoesNotMatch", r,
               req + " sent without Content-Type", 403, "SignatureDoesNotMatch")
    u = urllib.parse.urlsplit(put_url)
    tampered_path = urllib.parse.urlunsplit((u.scheme, u.netloc, u.path.replace("photo", "phot0"), u.query, ""))
    r = c.url_get(tampered_path, {"Content-Type": "image/png"}, "PUT", data)
    raw_expect("Pre-signed PUT to another key -> 403 SignatureDoesNotMatch", r, req + " key changed", 403,
               "SignatureDoesNotMatch")
    r = c.url_get(with_query(put_url, "X-Amz-Expires", lambda v: "3600"), {"Content-Type": "image/png"}, "PUT", data)
    raw_expect("Pre-signed PUT with X-Amz-Expires raised -> 403 SignatureDoesNotMatch", r, req + " X-Amz-Expires=3600",
               403, "SignatureDoesNotMatch")
    err("…none of them stored anything", lambda: s3.head_object(Bucket=b, Key=key), f"HEAD /{b}/{quote_key(key)}",
        404, None)
    r = c.url_get(put_url, {"Content-Type": "image/png"}, "PUT", data)
    if raw_expect("Pre-signed PUT made by boto3 accepted", r, req, 200):
        R.check("…ETag is the MD5", r.h("etag") == quoted_md5(data), f"ETag {r.h('etag')!r}")
    r = c.url_get(get_url)
    R.check("Pre-signed GET made by boto3 returns the bytes", r.status == 200 and r.body == data
            and r.h("content-type") == "image/png", f"request: GET (pre-signed) /{b}/{quote_key(key)}\ngot {r.describe(100)}")
    r = c.url_get(with_query(get_url, "X-Amz-Signature", lambda v: flip_one(v, hex_only=True)))
    if raw_expect("Pre-signed GET tampered -> 403 SignatureDoesNotMatch", r, "GET (pre-signed, signature changed)",
                  403, "SignatureDoesNotMatch"):
        check_error_body("SignatureDoesNotMatch body is S3 XML", r, "GET (pre-signed, signature changed)",
                         "SignatureDoesNotMatch")
    r = c.url_get(get_url, method="HEAD")
    raw_expect("Pre-signed GET URL used for HEAD -> 403", r, "HEAD with a URL signed for GET", 403, None)
    # expiry
    short = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": key}, ExpiresIn=1)
    time.sleep(2.2)
    r = c.url_get(short)
    if raw_expect("Pre-signed GET, ExpiresIn=1, used after 2 s -> 403 AccessDenied", r, "GET (pre-signed, expired)",
                  403, "AccessDenied"):
        check_error_body("expired URL body is S3 XML", r, "GET (pre-signed, expired)", "AccessDenied")
    short_put = s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "pre/expired"}, ExpiresIn=1)
    time.sleep(2.2)
    r = c.url_get(short_put, {}, "PUT", b"late")
    raw_expect("Pre-signed PUT, ExpiresIn=1, used after 2 s -> 403 AccessDenied", r, "PUT (pre-signed, expired)", 403,
               "AccessDenied")
    week = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": key}, ExpiresIn=604801)
    r = c.url_get(week)
    raw_expect("Pre-signed URL with X-Amz-Expires=604801 -> 400 AuthorizationQueryParametersError", r,
               "GET (pre-signed, X-Amz-Expires=604801)", 400, "AuthorizationQueryParametersError")
    with frozen_botocore_clock(utcnow() + dt.timedelta(hours=1)):
        future = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": key}, ExpiresIn=300)
    r = c.url_get(future)
    raw_expect("Pre-signed URL dated an hour ahead -> 403 AccessDenied", r, "GET (pre-signed, X-Amz-Date now+1h)",
               403, "AccessDenied")
    unknown = c.client(access_key="AKIAUNKNOWNKEY000000")
    r = c.url_get(unknown.generate_presigned_url("get_object", Params={"Bucket": b, "Key": key}, ExpiresIn=300))
    raw_expect("Pre-signed URL with an unknown access key -> 403 InvalidAccessKeyId", r, "GET (pre-signed, unknown key)",
               403, "InvalidAccessKeyId")
    wrong = c.client(secret_key=c.t.secret_key + "x")
    r = c.url_get(wrong.generate_presigned_url("get_object", Params={"Bucket": b, "Key": key}, ExpiresIn=300))
    raw_expect("Pre-signed URL with the wrong secret -> 403 SignatureDoesNotMatch", r, "GET (pre-signed, wrong secret)",
               403, "SignatureDoesNotMatch")
    # The URL Hoist's API hands out: Content-Type, Content-Length, x-amz-checksum-sha256 and If-None-Match bound.
    k2 = "pre/bound.png"
    url = s3.generate_presigned_url("put_object", Params={
        "Bucket": b, "Key": k2, "ContentType": "image/png", "ContentLength": len(data),
        "ChecksumSHA256": sha256_b64(data), "IfNoneMatch": "*"}, ExpiresIn=300)
    h = {"Content-Type": "image/png", "Content-Length": str(len(data)), "x-amz-checksum-sha256": sha256_b64(data),
         "If-None-Match": "*"}
    breq = f"PUT (pre-signed, binds content-type;content-length;if-none-match;x-amz-checksum-sha256) /{b}/{k2}"
    r = c.url_get(url, {**h, "Content-Length": str(len(data) + 1)}, "PUT", data + b"!")
    raw_expect("Bound pre-signed PUT with one byte more -> 403 SignatureDoesNotMatch", r, breq + " body+1 byte", 403,
               "SignatureDoesNotMatch")
    r = c.url_get(url, h, "PUT", data[:-1] + bytes([data[-1] ^ 1]))
    raw_expect("Bound pre-signed PUT, same length, other bytes -> 400 BadDigest", r,
               breq + " last byte flipped (checksum mismatch)", 400, "BadDigest")
    if r.status == 200:  # wrongly stored: remove it so that the checks below test what they say
        s3.delete_object(Bucket=b, Key=k2)
    r = c.url_get(url, {k: v for k, v in h.items() if k != "If-None-Match"}, "PUT", data)
    raw_expect("Bound pre-signed PUT without If-None-Match -> 403 SignatureDoesNotMatch", r,
               breq + " If-None-Match left out", 403, "SignatureDoesNotMatch")
    r = c.url_get(url, h, "PUT", data)
    raw_expect("Bound pre-signed PUT accepted", r, breq, 200)
    r = c.url_get(url, h, "PUT", data)
    raw_expect("Bound pre-signed PUT replayed -> 412 PreconditionFailed (If-None-Match: *)", r, breq + " again", 412,
               "PreconditionFailed")


def sec_auth(c: Ctx, b: str) -> None:
    c.s3.put_object(Bucket=b, Key="auth/obj", Body=b"secret")
    for method, path, body in (("GET", f"/{b}/auth/obj", None), ("HEAD", f"/{b}/auth/obj", None),
                               ("GET", f"/{b}", None), ("GET", "/", None), ("PUT", f"/{b}/auth/anon", b"anon"),
                               ("DELETE", f"/{b}/auth/obj", None)):
        r = c.raw(method, path, {}, body)
        good = r.status == 403 and (method == "HEAD" or (s3_error(r.body) or {}).get("Code") == "AccessDenied")
        R.check(f"Anonymous {method} {path.replace(b, '<bucket>')} -> 403 AccessDenied", good,
                f"request: {method} {path} (no Authorization)\nexpected 403 AccessDenied\ngot {r.describe(300)}")
        if method == "GET" and path.endswith("obj") and good:
            check_error_body("AccessDenied body is S3 XML", r, f"GET {path} anonymous", "AccessDenied")
    anon = c.client(unsigned=True)
    err("boto3 UNSIGNED get_object -> 403 AccessDenied", lambda: anon.get_object(Bucket=b, Key="auth/obj"),
        f"GET /{b}/auth/obj unsigned", 403, "AccessDenied")
    ok("…object still there after the anonymous DELETE", lambda: c.s3.get_object(Bucket=b, Key="auth/obj"),
       f"GET /{b}/auth/obj", lambda r: eq("body", body_of(r), b"secret"))
    wrong = c.client(secret_key=c.t.secret_key[:-1] + ("x" if c.t.secret_key[-1] != "x" else "y"))
    for name, fn, req in (("get_object", lambda: wrong.get_object(Bucket=b, Key="auth/obj"), f"GET /{b}/auth/obj"),
                          ("put_object", lambda: wrong.put_object(Bucket=b, Key="auth/w", Body=b"w"),
                           f"PUT /{b}/auth/w"),
                          ("list_buckets", lambda: wrong.list_buckets(), "GET /"),
                          ("list_objects_v2", lambda: wrong.list_objects_v2(Bucket=b), f"GET /{b}?list-type=2")):
        err(f"Wrong secret: {name} -> 403 SignatureDoesNotMatch", fn, req + " signed with a wrong secret", 403,
            "SignatureDoesNotMatch")
    err("Wrong secret: head_object -> 403", lambda: wrong.head_object(Bucket=b, Key="auth/obj"),
        f"HEAD /{b}/auth/obj wrong secret", 403, None)
    unknown = c.client(access_key="AKIAUNKNOWNKEY000000")
    err("Unknown access key -> 403 InvalidAccessKeyId", lambda: unknown.get_object(Bucket=b, Key="auth/obj"),
        f"GET /{b}/auth/obj key AKIAUNKNOWNKEY000000", 403, "InvalidAccessKeyId")
    err("Unknown access key: put_object -> 403 InvalidAccessKeyId",
        lambda: unknown.put_object(Bucket=b, Key="auth/u", Body=b"u"), f"PUT /{b}/auth/u unknown key", 403,
        "InvalidAccessKeyId")
    with frozen_botocore_clock(utcnow() - dt.timedelta(minutes=20)):
        err("Request signed 20 minutes ago -> 403 RequestTimeTooSkewed",
            lambda: c.s3.get_object(Bucket=b, Key="auth/obj"), f"GET /{b}/auth/obj X-Amz-Date now-20min", 403,
            "RequestTimeTooSkewed")
    # A signed header changed after signing.
    h = sign_headers(c.ep, "PUT", f"/{b}/auth/hdr", {"Content-Type": "text/plain", "x-amz-meta-a": "1"}, b"hdr",
                     c.t.access_key, c.t.secret_key)
    h["x-amz-meta-a"] = "2"
    r = c.raw("PUT", f"/{b}/auth/hdr", h, b"hdr")
    raw_expect("Signed x-amz-meta header changed after signing -> 403 SignatureDoesNotMatch", r,
               f"PUT /{b}/auth/hdr x-amz-meta-a altered", 403, "SignatureDoesNotMatch")
    # An x-amz-* header sent but not signed: S3 requires every x-amz-* header to be signed.
    h = sign_headers(c.ep, "PUT", f"/{b}/auth/unsigned-meta", {}, b"m", c.t.access_key, c.t.secret_key)
    h["x-amz-meta-sneaky"] = "1"
    r = c.raw("PUT", f"/{b}/auth/unsigned-meta", h, b"m")
    raw_expect("x-amz-meta-* header not in SignedHeaders -> 403 AccessDenied", r,
               f"PUT /{b}/auth/unsigned-meta with an unsigned x-amz-meta-sneaky", 403,
               ("AccessDenied", "SignatureDoesNotMatch"))
    # Header auth without x-amz-content-sha256
    h = sign_headers(c.ep, "GET", f"/{b}/auth/obj", {}, None, c.t.access_key, c.t.secret_key)
    h = {k: v for k, v in h.items() if k.lower() != "x-amz-content-sha256"}
    r = c.raw("GET", f"/{b}/auth/obj", h)
    raw_expect("Header auth without x-amz-content-sha256 -> 400 InvalidRequest", r,
               f"GET /{b}/auth/obj (x-amz-content-sha256 not sent, not signed)", 400, ("InvalidRequest",))
    r = c.raw("GET", f"/{b}/auth/obj", {"Authorization": "AWS4-HMAC-SHA256 nonsense"})
    raw_expect("Malformed Authorization header -> 400 AuthorizationHeaderMalformed", r,
               f"GET /{b}/auth/obj Authorization: AWS4-HMAC-SHA256 nonsense", 400,
               ("AuthorizationHeaderMalformed", "InvalidArgument"))


def _read_response(sock, buf: bytes) -> tuple[int, dict, bytes, bytes]:
    """Read one HTTP/1.1 response from SOCK (BUF: bytes already read). Returns (status, headers, body, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed after {buf[:200]!r}")
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdr = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdr[k.strip().lower()] = v.strip()
    if status in (100, 204, 304) or status < 200:
        return status, hdr, b"", buf
    if hdr.get("transfer-encoding", "").lower() == "chunked":
        while b"0\r\n\r\n" not in buf:
            chunk = sock.recv(65536)
            if not chunk:
                break
            buf += chunk
        body, _, buf = buf.partition(b"0\r\n\r\n")
        return status, hdr, body, buf
    n = int(hdr.get("content-length", "0"))
    while len(buf) < n:
        chunk = sock.recv(65536)
        if not chunk:
            break
        buf += chunk
    return status, hdr, buf[:n], buf[n:]


def expect_continue_probe(c: Ctx, name: str, path: str, secret: str, want_status: int, want_code: str) -> None:
    """PUT with Expect: 100-continue that the server must refuse before the body; the client then withholds
    the body (as botocore does on a final status) and sends its next request on the same connection."""
    import socket
    body = b"x" * 1000
    h = sign_headers(c.ep, "PUT", path, {"Expect": "100-continue", "Content-Length": str(len(body))}, body,
                     c.t.access_key, secret)
    u = urllib.parse.urlsplit(c.ep)
    sock = socket.create_connection((u.hostname, u.port), timeout=5)
    problems = []
    try:
        head = f"PUT {path} HTTP/1.1\r\nHost: {u.netloc}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in h.items()
                                                                       if k.lower() != "host") + "\r\n"
        sock.sendall(head.encode())
        status, hdr, rbody, rest = _read_response(sock, b"")
        if status == 100:
            # Allowed by HTTP, but S3 answers such a request at once; send the body and go on.
            R.info(f"{name}: the server sent 100 Continue before refusing (allowed by HTTP; S3 refuses at once)")
            sock.sendall(body)
            status, hdr, rbody, rest = _read_response(sock, rest)
        code = (s3_error(rbody) or {}).get("Code")
        if status != want_status or code != want_code:
            problems.append(f"first response: expected {want_status} {want_code}, got {status} {code} {rbody[:200]!r}")
        closing = "close" in hdr.get("connection", "").lower()
        if not closing:
            g = sign_headers(c.ep, "GET", f"/{bname('nob')}/k", {}, None, c.t.access_key, c.t.secret_key)
            req2 = f"GET /{bname('nob')}/k HTTP/1.1\r\nHost: {u.netloc}\r\n" + "".join(
                f"{k}: {v}\r\n" for k, v in g.items() if k.lower() != "host") + "\r\n"
            try:
                sock.sendall(req2.encode())
                st2, hdr2, body2, _ = _read_response(sock, rest)
                code2 = (s3_error(body2) or {}).get("Code")
                if st2 != 404 or code2 != "NoSuchBucket" or not hdr2.get("x-amz-request-id"):
                    problems.append(
                        f"the connection was kept open (no Connection: close) but the next request on it, "
                        f"GET /{bname('nob')}/k, got {st2} {code2} headers {hdr2} {body2[:200]!r} instead of "
                        f"404 NoSuchBucket: the server read the withheld body's place from the next request")
            except (ConnectionError, OSError) as e:
                problems.append(f"connection kept open (no Connection: close) but the next request on it failed: {e!r}")
    finally:
        sock.close()
    R.check(name, not problems, f"request: PUT {path} Expect: 100-continue, Content-Length: 1000, body withheld "
                                f"after the final response (what botocore does)\n" + "\n".join(problems))


def expect_continue_valid(c: Ctx, b: str) -> None:
    """A valid PUT with Expect: 100-continue gets its 100 Continue at once (botocore otherwise waits 1 s)."""
    import socket
    path = f"/{b}/errors/expect-ok"
    body = b"expect me" * 10
    h = sign_headers(c.ep, "PUT", path, {"Expect": "100-continue", "Content-Length": str(len(body))}, body,
                     c.t.access_key, c.t.secret_key)
    u = urllib.parse.urlsplit(c.ep)
    sock = socket.create_connection((u.hostname, u.port), timeout=5)
    got100, final = None, None
    try:
        sock.settimeout(1.5)
        sock.sendall((f"PUT {path} HTTP/1.1\r\nHost: {u.netloc}\r\n" + "".join(
            f"{k}: {v}\r\n" for k, v in h.items() if k.lower() != "host") + "\r\n").encode())
        t0 = time.monotonic()
        try:
            status, _, _, rest = _read_response(sock, b"")
            got100 = (status, round(time.monotonic() - t0, 3))
        except (TimeoutError, socket.timeout):
            rest = b""
        sock.settimeout(10)
        if got100 is None or got100[0] == 100:
            sock.sendall(body)
            final = _read_response(sock, rest)[0]
        else:
            final = got100[0]
    finally:
        sock.close()
    R.check("Valid PUT with Expect: 100-continue gets '100 Continue' within 1.5 s, then 200", got100 is not None
            and got100[0] == 100 and final == 200,
            f"request: PUT {path} Expect: 100-continue, Content-Length: {len(body)} (body sent after the 100)\n"
            f"expected an interim 100 Continue at once (S3 sends it; botocore waits up to 1 s for it before every "
            f"PutObject), then 200\ngot interim {got100 or 'nothing within 1.5 s'}, final {final}")
    t0 = time.monotonic()
    c.s3.put_object(Bucket=b, Key="errors/latency", Body=b"x")
    R.info(f"boto3 put_object of 1 byte (sends Expect: 100-continue) took {time.monotonic() - t0:.3f} s")


def sec_errors(c: Ctx, b: str) -> None:
    expect_continue_valid(c, b)
    expect_continue_probe(c, "Expect: 100-continue PUT to a missing bucket refused, connection still sound",
                          f"/{bname('nob')}/k", c.t.secret_key, 404, "NoSuchBucket")
    expect_continue_probe(c, "Expect: 100-continue PUT with a wrong signature refused, connection still sound",
                          f"/{b}/errors/expect", c.t.secret_key + "x", 403, "SignatureDoesNotMatch")
    r = c.signed("GET", f"/{b}/errors/missing")
    if raw_expect("GET missing key -> 404 NoSuchKey", r, f"GET /{b}/errors/missing", 404, "NoSuchKey"):
        check_error_body("NoSuchKey body is S3 XML (Code, Message, Resource, RequestId)", r,
                         f"GET /{b}/errors/missing", "NoSuchKey")
    nb = bname("nob")
    r = c.signed("GET", f"/{nb}/k")
    if raw_expect("GET in missing bucket -> 404 NoSuchBucket", r, f"GET /{nb}/k", 404, "NoSuchBucket"):
        check_error_body("NoSuchBucket body is S3 XML", r, f"GET /{nb}/k", "NoSuchBucket")
    r = c.signed("HEAD", f"/{b}/errors/missing")
    R.check("HEAD missing key -> 404 with no body and an x-amz-request-id", r.status == 404 and r.body == b""
            and bool(r.h("x-amz-request-id")), f"request: HEAD /{b}/errors/missing\ngot {r.describe()}")
    r = c.signed("PUT", f"/{b}/errors/ok", {}, b"ok")
    R.check("PUT 200 has x-amz-request-id and the ETag",
            r.status == 200 and bool(r.h("x-amz-request-id")) and r.h("etag") == quoted_md5(b"ok"),
            f"got {r.describe()}")
    rid1, rid2 = c.signed("HEAD", f"/{b}/errors/ok").h("x-amz-request-id"), c.signed("HEAD", f"/{b}/errors/ok").h(
        "x-amz-request-id")
    R.check("x-amz-request-id differs between requests", bool(rid1) and rid1 != rid2, f"{rid1!r} {rid2!r}")


AWKWARD = ["with space", "plus+sign", "percent%sign", "percent%20encoded", "question?mark", "hash#tag",
           "..", "a/../b", "b", "./dot", "x/./y", "trailing/", "a", "a/b", "emoji 😀🎉", "中文/日本語/キー",
           "amp&eq=semi;colon", "quote\"apos'", "back\\slash", "<angle>&", "tilde~star*", "double//slash",
           "/leading", "dollar$comma,at@", "tab\tkey", "k" * 1024, "é" * 512, "k" * 1020 + "😀"]


def sec_keys(c: Ctx, b: str) -> None:
    s3 = c.s3
    for k in AWKWARD:
        assert len(k.encode()) <= 1024, k
    shown = lambda k: (k if len(k) < 40 else k[:12] + f"…({len(k.encode())} bytes)")  # noqa: E731
    stored = []
    for k in AWKWARD:
        body = ("body of " + k).encode()
        req = f"PUT /{b}/{quote_key(shown(k))}"
        if ok(f"PutObject key {shown(k)!r}", lambda k=k, body=body: s3.put_object(Bucket=b, Key=k, Body=body), req):
            stored.append(k)
            ok(f"GetObject key {shown(k)!r}", lambda k=k: s3.get_object(Bucket=b, Key=k), req.replace("PUT", "GET"),
               lambda r, body=body: eq("body", body_of(r), body))
            ok(f"HeadObject key {shown(k)!r}", lambda k=k: s3.head_object(Bucket=b, Key=k),
               req.replace("PUT", "HEAD"), lambda r, body=body: eq("ContentLength", r.get("ContentLength"), len(body)))
    ok("ListObjectsV2 lists every awkward key exactly, in UTF-8 byte order", lambda: s3.list_objects_v2(Bucket=b),
       f"GET /{b}?list-type=2 (boto3's default encoding-type=url)",
       lambda r: eq("keys", [x["Key"] for x in r.get("Contents", [])], sorted(stored, key=lambda k: k.encode())))
    ok("ListObjects (V1) lists them too", lambda: s3.list_objects(Bucket=b), f"GET /{b}",
       lambda r: eq("keys", [x["Key"] for x in r.get("Contents", [])], sorted(stored, key=lambda k: k.encode())))
    ok("ListObjectsV2 delimiter '/' with awkward keys", lambda: s3.list_objects_v2(Bucket=b, Delimiter="/"),
       f"GET /{b}?list-type=2&delimiter=/",
       lambda r: eq("CommonPrefixes", [p["Prefix"] for p in r.get("CommonPrefixes", [])],
                    sorted({k.split("/", 1)[0] + "/" for k in stored if "/" in k}, key=lambda k: k.encode())))
    # Pre-signed GETs and copies of a few awkward keys
    for k in ("with space", "plus+sign", "percent%sign", "question?mark", "hash#tag", "a/../b", "..", "emoji 😀🎉",
              "中文/日本語/キー", "trailing/", "double//slash", "/leading"):
        if k not in stored:
            continue
        url = s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": k}, ExpiresIn=300)
        r = c.url_get(url)
        R.check(f"Pre-signed GET of key {k!r}", r.status == 200 and r.body == ("body of " + k).encode(),
                f"request: GET {urllib.parse.urlsplit(url).path}?X-Amz-…\ngot {r.describe(200)}")
    for k in ("plus+sign", "percent%sign", "question?mark", "hash#tag", "emoji 😀🎉", "a/../b"):
        if k in stored:
            ok(f"CopyObject from key {k!r}", lambda k=k: s3.copy_object(Bucket=b, Key="copies/" + k,
                                                                        CopySource={"Bucket": b, "Key": k}),
               f"PUT /{b}/copies/{quote_key(k)} x-amz-copy-source: /{b}/{quote_key(k)}",
               lambda r, k=k: eq("ETag", r.get("CopyObjectResult", {}).get("ETag"), quoted_md5(("body of " + k).encode())))
    err("PutObject with a 1025-byte key -> 400 KeyTooLongError",
        lambda: s3.put_object(Bucket=b, Key="k" * 1025, Body=b"x"), f"PUT /{b}/k×1025", 400, "KeyTooLongError")
    err("PutObject with a 1025-byte UTF-8 key ('k' + 512 × 'é') -> 400 KeyTooLongError",
        lambda: s3.put_object(Bucket=b, Key="k" + "é" * 512, Body=b"x"), f"PUT /{b}/k+é×512 (1025 bytes)", 400,
        "KeyTooLongError")
    # 'a/../b' and 'b' are different objects; so are 'a' and 'a/b'.
    ok("'a/../b' and 'b' are separate objects", lambda: s3.get_object(Bucket=b, Key="b"), f"GET /{b}/b",
       lambda r: eq("body", body_of(r), b"body of b"))
    for k in stored:
        try:
            s3.delete_object(Bucket=b, Key=k)
        except Exception as e:  # noqa: BLE001
            R.check(f"DeleteObject key {shown(k)!r}", False, err_text(e))
    ok("All awkward keys deleted", lambda: s3.list_objects_v2(Bucket=b, Prefix=""), f"GET /{b}?list-type=2",
       lambda r: eq("keys left", [x["Key"] for x in r.get("Contents", []) if not x["Key"].startswith("copies/")], []))


def sec_large(c: Ctx, b: str) -> None:
    from boto3.s3.transfer import TransferConfig
    data = os.urandom(20 * 1024 * 1024)
    digest = hashlib.sha256(data).hexdigest()
    for label, s3 in (("when_supported", c.s3), ("when_required", c.s3r)):
        key = f"large/20MiB-{label}"
        t0 = time.monotonic()
        if ok(f"PutObject 20 MiB ({label})", lambda s3=s3, key=key: s3.put_object(Bucket=b, Key=key, Body=data),
              f"PUT /{b}/{key} 20 MiB", lambda r: eq("ETag", r.get("ETag"), quoted_md5(data))):
            t1 = time.monotonic()
            ok(f"GetObject 20 MiB ({label}) has the same sha256", lambda s3=s3, key=key: s3.get_object(Bucket=b, Key=key),
               f"GET /{b}/{key}", lambda r: eq("sha256", hashlib.sha256(body_of(r)).hexdigest(), digest))
            R.info(f"20 MiB {label}: PUT {t1 - t0:.2f} s, GET {time.monotonic() - t1:.2f} s")
    # s3transfer: single-request upload (threshold raised: multipart is a later issue) and its
    # default download, which fetches the object in parallel ranged GETs.
    key = "large/20MiB-transfer"
    up = TransferConfig(multipart_threshold=1024 ** 3)
    ok("upload_fileobj 20 MiB (single PUT)", lambda: c.s3.upload_fileobj(io.BytesIO(data), b, key, Config=up) or {},
       f"PUT /{b}/{key} via s3transfer")
    buf = io.BytesIO()
    ok("download_fileobj 20 MiB (parallel ranged GETs) has the same sha256",
       lambda: c.s3.download_fileobj(b, key, buf, Config=TransferConfig(multipart_chunksize=4 * 1024 * 1024)) or {},
       f"GET /{b}/{key} Range: bytes=… ×5 via s3transfer",
       lambda r: eq("sha256", hashlib.sha256(buf.getvalue()).hexdigest(), digest))


@contextlib.contextmanager
def botocore_trailer_over_http():
    """Make botocore pick its aws-chunked trailer upload (normally only over https) on http too."""
    import botocore.httpchecksum as hc

    real = hc.urlparse

    def fake(url, *a, **kw):
        return real(url.replace("http://", "https://", 1) if isinstance(url, str) else url, *a, **kw)
    hc.urlparse = fake
    try:
        yield
    finally:
        hc.urlparse = real


def selftest_chunk_signer() -> bool:
    """Our aws-chunked encoder must reproduce the S3 docs' vectors before we trust it against a server."""
    good = True
    for f, tr in (("chunked-put-object.json", None),
                  ("chunked-put-object-signed-trailer.json", [("x-amz-checksum-crc32c", "sOO8/Q==")])):
        try:
            with open(os.path.join(VECTORS, f), encoding="utf-8") as fh:
                d = json.load(fh)
        except OSError as exc:
            R.info(f"vector {f} not readable ({exc}); chunk signer not self-checked")
            continue
        e = d["expected"]
        k = signing_key(d["credentials"]["secret_access_key"], d["timestamp"][:8])
        body = aws_chunked_body(b"a" * 66560, 65536, signed=True, key=k, amz_date=d["timestamp"],
                                scope=f"{d['timestamp'][:8]}/us-east-1/s3/aws4_request", seed=e["seed_signature"],
                                trailers=tr)
        same = hashlib.sha256(body).hexdigest() == e["encoded_body_sha256"] and len(body) == e["encoded_body_length"]
        with frozen_botocore_clock(dt.datetime.strptime(d["timestamp"], "%Y%m%dT%H%M%SZ")):
            signed = e["signed_headers"].split(";")
            h = sign_headers("https://s3.amazonaws.com", "PUT", d["request"]["path"],
                             {k2: v for k2, v in d["request"]["headers"] if k2.lower() in signed and k2.lower() not in
                              ("host", "x-amz-date", "x-amz-content-sha256")},
                             None, d["credentials"]["access_key_id"], d["credentials"]["secret_access_key"],
                             payload_hash=[v for k2, v in d["request"]["headers"] if k2 == "x-amz-content-sha256"][0])
        seed_ok = seed_signature(h["Authorization"]) == e["seed_signature"]
        R.check(f"self-test: our aws-chunked encoder and seed signature reproduce {f}", same and seed_ok,
                f"body matches {same}, seed matches {seed_ok} ({h['Authorization']})")
        good = good and same and seed_ok
    # The unsigned-trailer framing must be botocore's own (AwsChunkedWrapper) byte for byte.
    from botocore.httpchecksum import AwsChunkedWrapper, Crc32Checksum
    data = bytes(range(256)) * 700
    theirs = AwsChunkedWrapper(io.BytesIO(data), checksum_cls=Crc32Checksum, checksum_name="x-amz-checksum-crc32",
                               chunk_size=65536).read()
    ours = aws_chunked_body(data, 65536, signed=False,
                            trailers=[("x-amz-checksum-crc32", b64(zlib.crc32(data).to_bytes(4, "big")))])
    R.check("self-test: our unsigned-trailer aws-chunked body equals botocore's AwsChunkedWrapper output",
            ours == theirs, f"ours ends {ours[-80:]!r}, botocore's ends {theirs[-80:]!r}")
    return good and ours == theirs


def chunked_put(c: Ctx, path: str, data: bytes, mode: str, *, trailer=None, chunk=65536,
                tamper_chunk=None, tamper_trailer=False, tamper_data=False, extra=None) -> RawResponse:
    """PUT PATH with an aws-chunked body. mode: signed | signed-trailer | unsigned-trailer."""
    payload = {"signed": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
               "signed-trailer": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
               "unsigned-trailer": "STREAMING-UNSIGNED-PAYLOAD-TRAILER"}[mode]
    signed = mode != "unsigned-trailer"
    base = {"Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
            **(extra or {})}
    if trailer:
        base["x-amz-trailer"] = trailer[0][0]
    # The encoded length depends only on sizes, so compute it with dummy signatures first.
    dummy = aws_chunked_body(data, chunk, signed=signed, key=b"k", amz_date="d", scope="s", seed="0" * 64,
                             trailers=trailer)
    base["Content-Length"] = str(len(dummy))
    h = sign_headers(c.ep, "PUT", path, base, None, c.t.access_key, c.t.secret_key, payload_hash=payload)
    amz_date = h["X-Amz-Date"]
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    body = aws_chunked_body(data, chunk, signed=signed, key=signing_key(c.t.secret_key, amz_date[:8]),
                            amz_date=amz_date, scope=scope, seed=seed_signature(h["Authorization"]),
                            trailers=trailer, tamper_chunk_sig=tamper_chunk, tamper_trailer_sig=tamper_trailer)
    assert len(body) == len(dummy)
    if tamper_data:
        i = body.index(b"\r\n") + 10  # a byte inside the first chunk's data
        body = body[:i] + bytes([body[i] ^ 0x20]) + body[i + 1:]
    return c.raw("PUT", path, h, body)


def sec_upload_paths(c: Ctx, b: str) -> None:
    data = os.urandom(200_000) + b"tail"
    seen = {}

    def spy(request, **_):
        seen["sha"] = request.headers.get("X-Amz-Content-SHA256")
        seen["hdrs"] = {k.lower(): (v.decode() if isinstance(v, bytes) else v) for k, v in request.headers.items()}

    for label, s3 in (("when_required", c.client(checksum="when_required")),
                      ("when_supported", c.client(checksum="when_supported"))):
        s3.meta.events.register("before-send.s3.PutObject", spy)
        key = f"up/{label}"
        ok(f"boto3 put_object, request_checksum_calculation={label}",
           lambda s3=s3, key=key: s3.put_object(Bucket=b, Key=key, Body=data), f"PUT /{b}/{key} (boto3 default)",
           lambda r: eq("ETag", r.get("ETag"), quoted_md5(data)))
        R.info(f"{label}: x-amz-content-sha256={seen.get('sha')!r}, checksum headers "
               f"{ {k: v for k, v in seen.get('hdrs', {}).items() if 'checksum' in k} }")
        ok(f"…read back ({label})", lambda s3=s3, key=key: s3.get_object(Bucket=b, Key=key), f"GET /{b}/{key}",
           lambda r: eq("body", body_of(r), data))
        with botocore_trailer_over_http():
            key = f"up/{label}-trailer"
            ok(f"boto3 put_object with aws-chunked trailer (as over https), {label}",
               lambda s3=s3, key=key: s3.put_object(Bucket=b, Key=key, Body=data, ChecksumAlgorithm="CRC32"),
               f"PUT /{b}/{key} STREAMING-UNSIGNED-PAYLOAD-TRAILER, Transfer-Encoding: chunked, "
               f"x-amz-trailer: x-amz-checksum-crc32",
               lambda r: eq("ETag", r.get("ETag"), quoted_md5(data)))
            R.info(f"{label} trailer path: x-amz-content-sha256={seen.get('sha')!r} "
                   f"content-encoding={seen.get('hdrs', {}).get('content-encoding')!r} "
                   f"transfer-encoding={seen.get('hdrs', {}).get('transfer-encoding')!r}")
            ok(f"…read back, no aws-chunked framing left ({label})", lambda s3=s3, key=key: s3.get_object(Bucket=b,
                                                                                                          Key=key),
               f"GET /{b}/{key}", lambda r: eq("body", body_of(r), data) + eq("ContentLength", r.get("ContentLength"),
                                                                             len(data))
               + ("" if not r.get("ContentEncoding") else f"ContentEncoding {r.get('ContentEncoding')!r} stored\n"))
            key = f"up/{label}-trailer-gzip"
            gz = gzip.compress(data[:5000])
            ok(f"boto3 aws-chunked trailer with Content-Encoding: gzip ({label})",
               lambda s3=s3, key=key: s3.put_object(Bucket=b, Key=key, Body=gz, ContentEncoding="gzip",
                                                    ChecksumAlgorithm="CRC32"),
               f"PUT /{b}/{key} Content-Encoding: gzip,aws-chunked")
            ok(f"…stored Content-Encoding is gzip, not aws-chunked ({label})",
               lambda s3=s3, key=key: s3.head_object(Bucket=b, Key=key), f"HEAD /{b}/{key}",
               lambda r: eq("ContentEncoding", r.get("ContentEncoding"), "gzip")
               + eq("ContentLength", r.get("ContentLength"), len(gz)))
    if not selftest_chunk_signer():
        R.info("skipping hand-made aws-chunked uploads: the encoder did not reproduce the vectors")
        return
    cases = [
        ("signed", None, {}, 200, None, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, 4 chunks"),
        ("signed", None, {"tamper_chunk": 1}, 403, "SignatureDoesNotMatch", "second chunk's signature altered"),
        ("signed", None, {"tamper_chunk": 3}, 403, "SignatureDoesNotMatch", "final (empty) chunk's signature altered"),
        ("signed", None, {"tamper_data": True}, 403, "SignatureDoesNotMatch", "a data byte altered"),
        ("signed-trailer", [("x-amz-checksum-sha256", sha256_b64(data))], {}, 200, None,
         "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER with x-amz-checksum-sha256"),
        ("signed-trailer", [("x-amz-checksum-sha256", sha256_b64(b"other"))], {}, 400, "BadDigest",
         "signed trailer, wrong checksum"),
        ("signed-trailer", [("x-amz-checksum-sha256", sha256_b64(data))], {"tamper_trailer": True}, 403,
         "SignatureDoesNotMatch", "trailer signature altered"),
        ("unsigned-trailer", [("x-amz-checksum-crc32", b64(zlib.crc32(data).to_bytes(4, "big")))], {}, 200, None,
         "STREAMING-UNSIGNED-PAYLOAD-TRAILER with x-amz-checksum-crc32"),
        ("unsigned-trailer", [("x-amz-checksum-crc32", b64(zlib.crc32(b"other").to_bytes(4, "big")))], {}, 400,
         "BadDigest", "unsigned trailer, wrong crc32"),
    ]
    for i, (mode, trailer, kw, status, code, what) in enumerate(cases):
        path = f"/{b}/chunked/{i}"
        try:
            r = chunked_put(c, path, data, mode, trailer=trailer, **kw)
        except Exception as e:  # noqa: BLE001
            R.check(f"aws-chunked: {what} -> {status} {code or ''}", False, f"request failed: {err_text(e)}")
            continue
        if raw_expect(f"aws-chunked: {what} -> {status} {code or ''}", r, f"PUT {path} ({what})", status, code) \
                and status == 200:
            ok(f"…stored decoded bytes, ETag = MD5, no aws-chunked Content-Encoding ({what})",
               lambda i=i: c.s3.get_object(Bucket=b, Key=f"chunked/{i}"), f"GET {path}",
               lambda r: eq("body", body_of(r), data) + eq("ETag", r.get("ETag"), quoted_md5(data))
               + ("" if not r.get("ContentEncoding") else f"ContentEncoding {r.get('ContentEncoding')!r}\n"))
        elif status != 200:
            err(f"…nothing stored ({what})", lambda i=i: c.s3.head_object(Bucket=b, Key=f"chunked/{i}"),
                f"HEAD {path}", 404, None)
    # decoded length that does not match the chunks
    path = f"/{b}/chunked/badlen"
    try:
        h = sign_headers(c.ep, "PUT", path, {"Content-Encoding": "aws-chunked",
                                             "x-amz-decoded-content-length": str(len(data) + 10)}, None,
                         c.t.access_key, c.t.secret_key, payload_hash="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
        amz_date = h["X-Amz-Date"]
        body = aws_chunked_body(data, 65536, signed=True, key=signing_key(c.t.secret_key, amz_date[:8]),
                                amz_date=amz_date, scope=f"{amz_date[:8]}/{REGION}/s3/aws4_request",
                                seed=seed_signature(h["Authorization"]))
        r = c.raw("PUT", path, h, body)
        R.check("aws-chunked with x-amz-decoded-content-length 10 more than sent -> 4xx, nothing stored",
                400 <= r.status < 500, f"request: PUT {path} decoded length +10\ngot {r.describe(300)}")
    except Exception as e:  # noqa: BLE001
        R.check("aws-chunked with a wrong decoded length", False, err_text(e))


def sec_restart(c: Ctx, b: str) -> None:
    """Only when the suite started the store: stop gracefully, start again, data still there."""
    st = c.t.store
    c.s3.put_object(Bucket=b, Key="restart/obj", Body=b"persist me", Metadata={"k": "v"})
    rc, graceful = st.stop(timeout=20)
    R.check("SIGTERM stops hoist store within 20 s with exit status 0", graceful and rc == 0,
            f"exit status {rc}, within timeout {graceful}; log: {st.log_tail(600)!r}")
    why = st.start()
    R.check("hoist store starts again on the same data folder", why is None, why or "")
    if why:
        return
    ok("After restart: bucket and object still there", lambda: c.s3.get_object(Bucket=b, Key="restart/obj"),
       f"GET /{b}/restart/obj", lambda r: eq("body", body_of(r), b"persist me") + eq("Metadata", r.get("Metadata"),
                                                                                       {"k": "v"}))


def sec_generated_credentials(c: Ctx) -> None:
    """Without HOIST_STORE_* variables the store makes credentials on first start, keeps them in the data
    folder, prints them, and uses the same ones after a restart."""
    data = temp_dir("hoist-store-gen-")
    st = StoreProcess(hoist_bin(), data, free_port(), access_key=None, secret_key=None)
    why = st.start()
    if not R.check("hoist store starts without HOIST_STORE_ACCESS_KEY / _SECRET_KEY", why is None, why or ""):
        return
    try:
        found = None
        for root, _, files in os.walk(data):
            for f in files:
                if "cred" in f.lower():
                    try:
                        with open(os.path.join(root, f), encoding="utf-8") as fh:
                            doc = json.load(fh)
                    except (OSError, ValueError):
                        continue
                    vals = {k.lower(): v for k, v in doc.items() if isinstance(v, str)} if isinstance(doc, dict) else {}
                    ak = next((v for k, v in vals.items() if "access" in k), None)
                    sk = next((v for k, v in vals.items() if "secret" in k), None)
                    if ak and sk:
                        found = (os.path.join(root, f), ak, sk)
        if not R.check("generated credentials are kept in the data folder (a JSON file with access and secret keys)",
                       found is not None, f"files: {[os.path.join(r, f) for r, _, fs in os.walk(data) for f in fs]}"):
            return
        path, ak, sk = found
        R.check("the generated access key is printed at first start", ak in st.log_tail(5000),
                f"log: {st.log_tail(800)!r}")
        mode = os.stat(path).st_mode & 0o777
        R.check("the credentials file is not readable by others (mode 0600 or stricter)", mode & 0o077 == 0,
                f"{path} has mode {oct(mode)}")
        t = Target(st.endpoint, ak, sk, st)
        gen = boto3_client(t)
        ok("the generated credentials sign requests the store accepts", lambda: gen.list_buckets(), "GET / (generated keys)")
        rc, graceful = st.stop()
        why = st.start()
        if not R.check("restart on the same data folder", why is None, why or ""):
            return
        ok("after a restart the same generated credentials still work", lambda: gen.list_buckets(), "GET / after restart")
        err("…and a wrong secret is refused", lambda: boto3_client(t, secret_key=sk + "x").list_buckets(),
            "GET / signed with the generated access key and a wrong secret", 403, "SignatureDoesNotMatch")
    finally:
        st.stop()


# --- multipart uploads, lifecycle, POST object ------------------------------------------------------

MIB = 1024 * 1024


def multipart_etag(parts: list[bytes]) -> str:
    return '"' + hashlib.md5(b"".join(hashlib.md5(p).digest() for p in parts)).hexdigest() + f'-{len(parts)}"'


def sec_multipart(c: Ctx, b: str) -> None:
    # s3transfer's upload_file, forced into 5 MiB parts: CreateMultipartUpload, UploadPart ×4 in
    # parallel (with checksums), CompleteMultipartUpload.
    data = os.urandom(18 * MIB + 12345)
    folder = tempfile.mkdtemp(prefix="hoist-mpu-")
    try:
        sec_multipart_files(c, b, data, os.path.join(folder, "upload.bin"))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    sec_multipart_presigned(c, b)


def sec_multipart_files(c: Ctx, b: str, data: bytes, path: str) -> None:
    from boto3.s3.transfer import TransferConfig
    with open(path, "wb") as f:
        f.write(data)
    key = "multipart/upload_file.bin"
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB, max_concurrency=4)
    ok("upload_file 18 MiB in 5 MiB parts (multipart)", lambda: c.s3.upload_file(path, b, key, Config=cfg) or {},
       f"POST /{b}/{key}?uploads, PUT ?partNumber=1..4, POST ?uploadId")
    chunks = [data[i:i + 5 * MIB] for i in range(0, len(data), 5 * MIB)]
    ok("HeadObject of the multipart object: size and ETag md5-of-md5s-4",
       lambda: c.s3.head_object(Bucket=b, Key=key), f"HEAD /{b}/{key}",
       lambda r: eq("ContentLength", r.get("ContentLength"), len(data)) + eq("ETag", r.get("ETag"), multipart_etag(chunks)))
    buf = io.BytesIO()
    ok("download_fileobj of the multipart object has the same sha256",
       lambda: c.s3.download_fileobj(b, key, buf) or {}, f"GET /{b}/{key}",
       lambda r: eq("sha256", hashlib.sha256(buf.getvalue()).hexdigest(), hashlib.sha256(data).hexdigest()))
    with open(path, "wb") as f:
        f.write(data[:6 * MIB])
    ok("upload_file with the when_required client (no checksums)",
       lambda: c.s3r.upload_file(path, b, "multipart/r.bin", Config=cfg) or {}, f"PUT /{b}/multipart/r.bin in parts",
       lambda r: eq("ETag", c.s3.head_object(Bucket=b, Key="multipart/r.bin")["ETag"],
                    multipart_etag([data[:5 * MIB], data[5 * MIB:6 * MIB]])))


def sec_multipart_presigned(c: Ctx, b: str) -> None:
    # Pre-signed upload_part URLs, as a browser would PUT them; ListParts pages; completion checks.
    key = "multipart/presigned.bin"
    up = ok("CreateMultipartUpload", lambda: c.s3.create_multipart_upload(Bucket=b, Key=key, ContentType="image/png"),
            f"POST /{b}/{key}?uploads", lambda r: "" if r.get("UploadId") else "no UploadId\n")
    if not up:
        return
    uid = up["UploadId"]
    parts = [os.urandom(5 * MIB), os.urandom(5 * MIB), b"the last part"]
    etags = []
    for n, part in enumerate(parts, 1):
        url = c.s3.generate_presigned_url("upload_part", Params={"Bucket": b, "Key": key, "UploadId": uid, "PartNumber": n},
                                          ExpiresIn=300)
        r = requests.put(url, data=part, timeout=60)
        etags.append(r.headers.get("ETag"))
        R.check(f"pre-signed upload_part URL, part {n}: 200 and ETag = MD5",
                r.status_code == 200 and r.headers.get("ETag") == quoted_md5(part), f"got HTTP {r.status_code} {r.text[:300]}")
    url = c.s3.generate_presigned_url("upload_part", Params={"Bucket": b, "Key": key, "UploadId": uid, "PartNumber": 4},
                                      ExpiresIn=300)
    r = requests.put(url.replace("PartNumber=4", "PartNumber=5").replace("partNumber=4", "partNumber=5"), data=b"x", timeout=60)
    R.check("pre-signed upload_part URL with another part number: 403 SignatureDoesNotMatch",
            r.status_code == 403 and (s3_error(r.content) or {}).get("Code") == "SignatureDoesNotMatch", f"got HTTP {r.status_code} {r.text[:300]}")
    page1 = ok("ListParts MaxParts=2: 2 parts, truncated", lambda: c.s3.list_parts(Bucket=b, Key=key, UploadId=uid, MaxParts=2),
               f"GET /{b}/{key}?uploadId&max-parts=2",
               lambda r: eq("parts", [p["PartNumber"] for p in r.get("Parts", [])], [1, 2]) + eq("IsTruncated", r.get("IsTruncated"), True))
    if page1:
        ok("ListParts from NextPartNumberMarker: part 3 with its size and ETag",
           lambda: c.s3.list_parts(Bucket=b, Key=key, UploadId=uid, PartNumberMarker=page1["NextPartNumberMarker"]),
           f"GET /{b}/{key}?uploadId&part-number-marker=2",
           lambda r: eq("parts", [(p["PartNumber"], p["Size"], p["ETag"]) for p in r.get("Parts", [])],
                        [(3, len(parts[2]), quoted_md5(parts[2]))]) + eq("IsTruncated", r.get("IsTruncated"), False))
    ok("ListMultipartUploads shows the upload", lambda: c.s3.list_multipart_uploads(Bucket=b, Prefix="multipart/"),
       f"GET /{b}?uploads&prefix=multipart/",
       lambda r: "" if any(u["UploadId"] == uid and u["Key"] == key for u in r.get("Uploads", [])) else f"not listed: {r.get('Uploads')}\n")
    err("CompleteMultipartUpload with parts out of order: InvalidPartOrder",
        lambda: c.s3.complete_multipart_upload(Bucket=b, Key=key, UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 2, "ETag": etags[1]}, {"PartNumber": 1, "ETag": etags[0]}]}), "POST ?uploadId", 400, "InvalidPartOrder")
    err("CompleteMultipartUpload with a wrong ETag: InvalidPart",
        lambda: c.s3.complete_multipart_upload(Bucket=b, Key=key, UploadId=uid, MultipartUpload={"Parts": [
            {"PartNumber": 1, "ETag": etags[1]}]}), "POST ?uploadId", 400, "InvalidPart")
    err("CompleteMultipartUpload with a small part before the last: EntityTooSmall",
        lambda: c.s3.complete_multipart_upload(Bucket=b, Key=key + ".small", UploadId=small_upload(c, b, key + ".small"),
                                       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": quoted_md5(b"tiny")},
                                                                  {"PartNumber": 2, "ETag": quoted_md5(b"tiny")}]}),
        "POST ?uploadId (parts of 4 bytes)", 400, "EntityTooSmall")
    ok("CompleteMultipartUpload: ETag md5-of-md5s-3",
       lambda: c.s3.complete_multipart_upload(Bucket=b, Key=key, UploadId=uid, MultipartUpload={"Parts": [
           {"PartNumber": n, "ETag": e} for n, e in enumerate(etags, 1)]}), f"POST /{b}/{key}?uploadId",
       lambda r: eq("ETag", r.get("ETag"), multipart_etag(parts)))
    ok("GetObject of the completed upload: the parts' bytes and the upload's Content-Type",
       lambda: c.s3.get_object(Bucket=b, Key=key), f"GET /{b}/{key}",
       lambda r: eq("sha256", hashlib.sha256(body_of(r)).hexdigest(), hashlib.sha256(b"".join(parts)).hexdigest())
       + eq("ContentType", r.get("ContentType"), "image/png"))
    err("UploadPart to a completed upload: NoSuchUpload",
        lambda: c.s3.upload_part(Bucket=b, Key=key, UploadId=uid, PartNumber=1, Body=b"late"), "PUT ?partNumber=1&uploadId", 404, "NoSuchUpload")

    # UploadPartCopy and abort.
    key = "multipart/copied.bin"
    up = c.s3.create_multipart_upload(Bucket=b, Key=key)
    ok("UploadPartCopy with a byte range", lambda: c.s3.upload_part_copy(
        Bucket=b, Key=key, UploadId=up["UploadId"], PartNumber=1, CopySource={"Bucket": b, "Key": "multipart/presigned.bin"},
        CopySourceRange="bytes=0-99"), "PUT ?partNumber=1&uploadId x-amz-copy-source-range: bytes=0-99",
       lambda r: eq("ETag", r.get("CopyPartResult", {}).get("ETag"), quoted_md5(parts[0][:100])))
    ok("AbortMultipartUpload: 204", lambda: c.s3.abort_multipart_upload(Bucket=b, Key=key, UploadId=up["UploadId"]),
       f"DELETE /{b}/{key}?uploadId", want_status=204)
    err("ListParts of an aborted upload: NoSuchUpload", lambda: c.s3.list_parts(Bucket=b, Key=key, UploadId=up["UploadId"]),
        "GET ?uploadId", 404, "NoSuchUpload")
    ok("ListMultipartUploads no longer shows it", lambda: c.s3.list_multipart_uploads(Bucket=b, Prefix=key),
       f"GET /{b}?uploads&prefix={key}", lambda r: eq("uploads", r.get("Uploads", []), []))
    # Pagination of ListMultipartUploads by key and upload-id markers.
    made = [c.s3.create_multipart_upload(Bucket=b, Key=f"pending/{i % 3}")["UploadId"] for i in range(7)]
    seen, pages, kw = [], 0, {}
    while pages < 10:
        r = c.s3.list_multipart_uploads(Bucket=b, Prefix="pending/", MaxUploads=3, **kw)
        pages += 1
        seen += [u["UploadId"] for u in r.get("Uploads", [])]
        if not r.get("IsTruncated"):
            break
        kw = {"KeyMarker": r["NextKeyMarker"], "UploadIdMarker": r["NextUploadIdMarker"]}
    R.check("ListMultipartUploads pages of 3 through 7 uploads (key and upload-id markers)",
            sorted(seen) == sorted(made) and pages == 3, f"pages {pages}, seen {len(seen)} of {len(made)}")
    for i, uid in enumerate(made):
        c.s3.abort_multipart_upload(Bucket=b, Key=f"pending/{i % 3}", UploadId=uid)


def small_upload(c: Ctx, b: str, key: str) -> str:
    uid = c.s3.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
    for n in (1, 2):
        c.s3.upload_part(Bucket=b, Key=key, UploadId=uid, PartNumber=n, Body=b"tiny")
    return uid


def sec_lifecycle(c: Ctx, b: str) -> None:
    rules = {"Rules": [
        {"ID": "abandoned-parts", "Filter": {"Prefix": "uploads/"}, "Status": "Enabled",
         "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        {"ID": "tmp", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 7}},
    ]}
    ok("PutBucketLifecycleConfiguration (AbortIncompleteMultipartUpload, Expiration)",
       lambda: c.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration=rules), f"PUT /{b}?lifecycle")
    ok("GetBucketLifecycleConfiguration returns the rules",
       lambda: c.s3.get_bucket_lifecycle_configuration(Bucket=b), f"GET /{b}?lifecycle",
       lambda r: eq("rules", [(x.get("ID"), x.get("Filter", {}).get("Prefix"), x.get("Status"),
                               x.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation"),
                               x.get("Expiration", {}).get("Days")) for x in r.get("Rules", [])],
                    [("abandoned-parts", "uploads/", "Enabled", 1, None), ("tmp", "tmp/", "Enabled", None, 7)]))
    err("PutBucketLifecycleConfiguration with Days 0: InvalidArgument",
        lambda: c.s3.put_bucket_lifecycle_configuration(Bucket=b, LifecycleConfiguration={"Rules": [
            {"ID": "x", "Filter": {"Prefix": ""}, "Status": "Enabled", "Expiration": {"Days": 0}}]}), f"PUT /{b}?lifecycle", 400, "InvalidArgument")
    ok("DeleteBucketLifecycle: 204", lambda: c.s3.delete_bucket_lifecycle(Bucket=b), f"DELETE /{b}?lifecycle", want_status=204)
    err("GetBucketLifecycleConfiguration after delete: NoSuchLifecycleConfiguration",
        lambda: c.s3.get_bucket_lifecycle_configuration(Bucket=b), f"GET /{b}?lifecycle", 404, "NoSuchLifecycleConfiguration")


def all_versions(c: Ctx, b: str, **kw) -> list[tuple[str, str, bool, bool]]:
    """Every (key, version id, is latest, is delete marker) of the bucket, in listing order, one page at a time."""
    out, markers = [], {}
    for _ in range(1000):
        r = c.s3.list_object_versions(Bucket=b, **kw, **markers)
        # S3 interleaves Version and DeleteMarker elements; boto3 splits them: merge back in S3's order.
        entries = [(v["Key"], v["VersionId"], v["IsLatest"], False, v["LastModified"]) for v in r.get("Versions", [])]
        entries += [(m["Key"], m["VersionId"], m["IsLatest"], True, m["LastModified"]) for m in r.get("DeleteMarkers", [])]
        out.append(entries)
        if not r.get("IsTruncated"):
            break
        markers = {"KeyMarker": r["NextKeyMarker"], "VersionIdMarker": r.get("NextVersionIdMarker", "")}
    return out


def sec_versioning(c: Ctx, b: str) -> None:
    req = f"PUT /{b}?versioning"

    def versioning(status: str) -> None:
        """PutBucketVersioning STATUS; GetBucketVersioning then says so."""
        ok(f"PutBucketVersioning {status}", lambda: c.s3.put_bucket_versioning(
            Bucket=b, VersioningConfiguration={"Status": status}), req)
        ok(f"GetBucketVersioning: {status}", lambda: c.s3.get_bucket_versioning(Bucket=b), f"GET /{b}?versioning",
           lambda r: eq("Status", r.get("Status"), status))

    def two_writes(first: bytes, second: bytes) -> tuple:
        """The VersionIds of two writes of photo.png."""
        return tuple(c.s3.put_object(Bucket=b, Key="photo.png", Body=body).get("VersionId") for body in (first, second))

    ok("GetBucketVersioning of a bucket never versioned: no Status",
       lambda: c.s3.get_bucket_versioning(Bucket=b), f"GET /{b}?versioning",
       lambda r: eq("Status", r.get("Status"), None))
    versioning("Enabled")
    v1, v2 = two_writes(b"first", b"second")
    R.check("put_object twice: two different VersionIds", bool(v1) and bool(v2) and v1 != v2 and "null" not in (v1, v2),
            f"got {v1!r}, {v2!r}")
    ok("get_object: the latest bytes and its VersionId", lambda: c.s3.get_object(Bucket=b, Key="photo.png"), f"GET /{b}/photo.png",
       lambda r: eq("VersionId", r.get("VersionId"), v2) + eq("body", body_of(r), b"second"))
    ok("get_object(VersionId=first): the old bytes", lambda: c.s3.get_object(Bucket=b, Key="photo.png", VersionId=v1),
       f"GET /{b}/photo.png?versionId=", lambda r: eq("body", body_of(r), b"first") + eq("VersionId", r.get("VersionId"), v1))
    ok("head_object(VersionId=first)", lambda: c.s3.head_object(Bucket=b, Key="photo.png", VersionId=v1),
       f"HEAD /{b}/photo.png?versionId=", lambda r: eq("ContentLength", r.get("ContentLength"), 5))
    err("get_object with an unknown VersionId: NoSuchVersion",
        lambda: c.s3.get_object(Bucket=b, Key="photo.png", VersionId="0" * 32), f"GET /{b}/photo.png?versionId=000…", 404, "NoSuchVersion")
    err("get_object with a malformed VersionId: InvalidArgument",
        lambda: c.s3.get_object(Bucket=b, Key="photo.png", VersionId="no such thing"), f"GET /{b}/photo.png?versionId=…", 400, "InvalidArgument")
    copied = ok("copy_object from the first version", lambda: c.s3.copy_object(
        Bucket=b, Key="copy.png", CopySource={"Bucket": b, "Key": "photo.png", "VersionId": v1}), f"PUT /{b}/copy.png (copy ?versionId=)",
        lambda r: eq("CopySourceVersionId", r.get("CopySourceVersionId"), v1) + ("" if r.get("VersionId") else "no VersionId\n"))
    if copied:
        ok("the copy has the first version's bytes", lambda: c.s3.get_object(Bucket=b, Key="copy.png"), f"GET /{b}/copy.png",
           lambda r: eq("body", body_of(r), b"first"))

    marker = ok("delete_object without VersionId: a delete marker", lambda: c.s3.delete_object(Bucket=b, Key="photo.png"),
                f"DELETE /{b}/photo.png", lambda r: eq("DeleteMarker", r.get("DeleteMarker"), True) + ("" if r.get("VersionId") else "no VersionId\n"))
    marker_id = (marker or {}).get("VersionId")
    e = err("get_object behind a delete marker: NoSuchKey", lambda: c.s3.get_object(Bucket=b, Key="photo.png"),
            f"GET /{b}/photo.png", 404, "NoSuchKey")
    R.check("... with x-amz-delete-marker: true",
            e is not None and e.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-delete-marker") == "true",
            str(e.response.get("ResponseMetadata", {}).get("HTTPHeaders")) if e is not None else "no error")
    err("get_object of the marker's VersionId: MethodNotAllowed",
        lambda: c.s3.get_object(Bucket=b, Key="photo.png", VersionId=marker_id), f"GET /{b}/photo.png?versionId=<marker>", 405, "MethodNotAllowed")
    ok("list_objects_v2 hides the deleted key", lambda: c.s3.list_objects_v2(Bucket=b), f"GET /{b}?list-type=2",
       lambda r: eq("keys", [x["Key"] for x in r.get("Contents", [])], ["copy.png"]))
    post = c.s3.generate_presigned_post(b, "form.png", Fields={"success_action_status": "204"},
                                        Conditions=[{"success_action_status": "204"}], ExpiresIn=300)
    r = form_post(c, b, post, b"form bytes")
    form_version = r.headers.get("x-amz-version-id")
    R.check("POST object in a versioned bucket: 204 with x-amz-version-id",
            r.status_code == 204 and bool(form_version) and form_version != "null", f"HTTP {r.status_code} {dict(r.headers)}")
    ok("... and that version reads back", lambda: c.s3.get_object(Bucket=b, Key="form.png", VersionId=form_version or "null"),
       f"GET /{b}/form.png?versionId=", lambda r: eq("body", body_of(r), b"form bytes"))
    c.s3.delete_object(Bucket=b, Key="form.png", VersionId=form_version or "null")

    want = [("copy.png", None, True, False), ("photo.png", marker_id, True, True),
            ("photo.png", v2, False, False), ("photo.png", v1, False, False)]
    def shape(pages):
        # boto3 splits one page's Version and DeleteMarker elements, so only the set is compared here;
        # the order is checked one entry a page below.
        flat = [(k, v if k != "copy.png" else None, latest, dm) for page in pages for k, v, latest, dm, _ in page]
        return sorted(flat, key=repr)
    try:
        whole = all_versions(c, b)
        R.check("list_object_versions: every version and marker", shape(whole) == sorted(want, key=repr),
                f"got {shape(whole)}\nwant {want}")
        paged = all_versions(c, b, MaxKeys=1)
        flat = [x[:4] for page in paged for x in page]
        R.check("list_object_versions MaxKeys=1 with KeyMarker/VersionIdMarker: one entry a page, S3's order, nothing twice",
                len(paged) == 4 and all(len(p) == 1 for p in paged) and
                [(k, v if k != "copy.png" else None, l, d) for k, v, l, d in flat] == want, f"got {paged}")
        rolled = c.s3.list_object_versions(Bucket=b, Prefix="ph")
        R.check("list_object_versions Prefix", {v["Key"] for v in rolled.get("Versions", [])} == {"photo.png"}, str(rolled.get("Versions")))
    except ClientError as ex:
        R.check("list_object_versions", False, err_text(ex))

    ok("delete_object(VersionId=marker) removes the marker for good",
       lambda: c.s3.delete_object(Bucket=b, Key="photo.png", VersionId=marker_id), f"DELETE /{b}/photo.png?versionId=<marker>",
       lambda r: eq("DeleteMarker", r.get("DeleteMarker"), True) + eq("VersionId", r.get("VersionId"), marker_id))
    ok("the previous version is the latest again", lambda: c.s3.get_object(Bucket=b, Key="photo.png"), f"GET /{b}/photo.png",
       lambda r: eq("body", body_of(r), b"second"))
    ok("delete_object(VersionId=second)", lambda: c.s3.delete_object(Bucket=b, Key="photo.png", VersionId=v2),
       f"DELETE /{b}/photo.png?versionId=", lambda r: eq("VersionId", r.get("VersionId"), v2))
    ok("now the first version is the latest", lambda: c.s3.get_object(Bucket=b, Key="photo.png"), f"GET /{b}/photo.png",
       lambda r: eq("body", body_of(r), b"first") + eq("VersionId", r.get("VersionId"), v1))

    versioning("Suspended")
    n1, n2 = two_writes(b"null 1", b"null 2")
    R.check("suspended: writes get the null version", n1 == "null" and n2 == "null", f"got {n1!r}, {n2!r}")
    try:
        versions = [x[:4] for page in all_versions(c, b, Prefix="photo.png") for x in page]
        R.check("suspended: the second write replaced the null version; the first version stays",
                sorted(versions, key=lambda x: x[1]) == sorted([("photo.png", "null", True, False), ("photo.png", v1, False, False)], key=lambda x: x[1]),
                f"got {versions}")
    except ClientError as ex:
        R.check("list_object_versions (suspended)", False, err_text(ex))
    ok("get_object(VersionId=null): the last suspended write", lambda: c.s3.get_object(Bucket=b, Key="photo.png", VersionId="null"),
       f"GET /{b}/photo.png?versionId=null", lambda r: eq("body", body_of(r), b"null 2"))
    r = c.signed("PUT", f"/{b}?versioning", {}, b"<VersioningConfiguration><Status>Off</Status></VersioningConfiguration>")
    raw_expect("PutBucketVersioning with a bad Status: MalformedXML", r, req, 400, "MalformedXML")
    delete_every_version(c, b)


def delete_every_version(c: Ctx, b: str) -> None:
    """Removes every version and delete marker of a bucket, so that it can be deleted."""
    for _ in range(100):
        r = c.s3.list_object_versions(Bucket=b)
        objs = [{"Key": x["Key"], "VersionId": x["VersionId"]} for x in r.get("Versions", []) + r.get("DeleteMarkers", [])]
        if not objs:
            return
        c.s3.delete_objects(Bucket=b, Delete={"Objects": objs, "Quiet": True})


def form_post(c: Ctx, b: str, post: dict, data: bytes, filename: str = "photo.png", content_type: str = "image/png",
              fields: dict | None = None):
    form = dict(post["fields"])
    form.update(fields or {})
    return requests.post(post["url"], data=form, files={"file": (filename, data, content_type)}, timeout=60)


def sec_post_object(c: Ctx, b: str) -> None:
    png = b"\x89PNG\r\n\x1a\n" + os.urandom(3000)
    conditions = [["starts-with", "$key", "uploads/"], {"Content-Type": "image/png"},
                  ["content-length-range", 100, 10000], {"success_action_status": "201"},
                  ["starts-with", "$x-amz-meta-owner", ""]]
    fields = {"Content-Type": "image/png", "success_action_status": "201", "x-amz-meta-owner": "ann"}

    def presign(key="uploads/${filename}", conds=conditions, flds=fields, expires=300):
        return c.s3.generate_presigned_post(b, key, Fields=dict(flds), Conditions=list(conds), ExpiresIn=expires)

    r = form_post(c, b, presign(), png)
    body = r.content
    key_el = re.search(rb"<Key>(.*?)</Key>", body)
    R.check("POST object (generate_presigned_post + requests): 201 with PostResponse XML, ${filename} in the key",
            r.status_code == 201 and key_el is not None and key_el.group(1) == b"uploads/photo.png",
            f"got HTTP {r.status_code} {body[:400]!r}")
    ok("the posted object has the file's bytes, the form's Content-Type and metadata",
       lambda: c.s3.get_object(Bucket=b, Key="uploads/photo.png"), f"GET /{b}/uploads/photo.png",
       lambda g: eq("bytes", hashlib.sha256(body_of(g)).hexdigest(), hashlib.sha256(png).hexdigest())
       + eq("ContentType", g.get("ContentType"), "image/png") + eq("Metadata", g.get("Metadata"), {"owner": "ann"})
       + eq("ETag", g.get("ETag"), quoted_md5(png)))

    def refused(name, resp, status, code):
        e = s3_error(resp.content) or {}
        R.check(name, resp.status_code == status and e.get("Code") == code,
                f"expected HTTP {status} {code}\ngot HTTP {resp.status_code} {resp.content[:400]!r}")

    refused("POST object over content-length-range: 400 EntityTooLarge", form_post(c, b, presign(), png * 4), 400, "EntityTooLarge")
    refused("POST object under content-length-range: 400 EntityTooSmall", form_post(c, b, presign(), png[:50]), 400, "EntityTooSmall")
    refused("POST object to a key outside the starts-with prefix: 403 AccessDenied",
            form_post(c, b, presign(key="elsewhere/${filename}"), png), 403, "AccessDenied")
    refused("POST object with another Content-Type than the policy's: 403 AccessDenied",
            form_post(c, b, presign(), png, fields={"Content-Type": "text/html"}), 403, "AccessDenied")
    refused("POST object with an expired policy: 403 AccessDenied", form_post(c, b, presign(expires=-10), png), 403, "AccessDenied")
    tampered = presign()
    policy = json.loads(base64.b64decode(tampered["fields"]["policy"]))
    policy["conditions"] = [x if not (isinstance(x, list) and x[0] == "content-length-range") else ["content-length-range", 0, 10 ** 9]
                            for x in policy["conditions"]]
    tampered["fields"]["policy"] = base64.b64encode(json.dumps(policy).encode()).decode()
    refused("POST object with a tampered policy: 403 SignatureDoesNotMatch", form_post(c, b, tampered, png * 4), 403, "SignatureDoesNotMatch")
    forged = presign()
    forged["fields"]["x-amz-signature"] = flip_one(forged["fields"]["x-amz-signature"], hex_only=True)
    refused("POST object with a tampered signature: 403 SignatureDoesNotMatch", form_post(c, b, forged, png), 403, "SignatureDoesNotMatch")
    refused("POST object with a field no condition covers: 403 AccessDenied",
            form_post(c, b, presign(), png, fields={"x-amz-meta-extra": "1"}), 403, "AccessDenied")
    r = form_post(c, b, presign(key="uploads/plain.bin", conds=[["starts-with", "$key", "uploads/"]], flds={}), b"plain")
    R.check("POST object without success_action_status: 204", r.status_code == 204, f"got HTTP {r.status_code} {r.content[:300]!r}")
    refused_keys = [k for k in ("uploads/a.png",) if _exists(c, b, k)]
    R.check("refused forms stored nothing", not refused_keys, f"found {refused_keys}")


def _exists(c: Ctx, b: str, key: str) -> bool:
    try:
        c.s3.head_object(Bucket=b, Key=key)
        return True
    except ClientError:
        return False


def cleanup(c: Ctx) -> None:
    for b in list(c.buckets):
        try:
            for u in c.s3.list_multipart_uploads(Bucket=b).get("Uploads", []):
                c.s3.abort_multipart_upload(Bucket=b, Key=u["Key"], UploadId=u["UploadId"])
            while True:
                r = c.s3.list_objects_v2(Bucket=b)
                objs = [{"Key": x["Key"]} for x in r.get("Contents", [])]
                if not objs:
                    break
                c.s3.delete_objects(Bucket=b, Delete={"Objects": objs, "Quiet": True})
            delete_every_version(c, b)
            try:
                c.s3.delete_bucket_cors(Bucket=b)
            except ClientError:
                pass
            c.s3.delete_bucket(Bucket=b)
        except Exception as e:  # noqa: BLE001
            R.info(f"cleanup of {b} failed: {err_text(e)}")


@pytest.fixture(scope="module")
def c(s3_target):
    """The endpoint's clients and the buckets made for the tests (emptied and deleted after)."""
    R.info(f"target {s3_target.name} at {s3_target.endpoint}; boto3 {boto3.__version__}, botocore {botocore.__version__}")
    ctx = Ctx(s3_target)
    try:
        ctx.main_bucket = ctx.bucket("main")
    except Exception as e:  # noqa: BLE001
        fail_check(R, "CreateBucket for the tests", err_text(e))
    yield ctx
    cleanup(ctx)


SECTIONS = [
    ("buckets", lambda c: sec_buckets(c)),
    ("objects", lambda c: sec_objects(c, c.main_bucket)),
    ("ranges", lambda c: sec_ranges(c, c.main_bucket)),
    ("conditional", lambda c: sec_conditional(c, c.main_bucket)),
    ("integrity", lambda c: sec_integrity(c, c.main_bucket)),
    ("listing", lambda c: sec_listing(c, c.bucket("list"))),
    ("pagination", lambda c: sec_pagination(c, c.bucket("pages"))),
    ("multidelete", lambda c: sec_multidelete(c, c.main_bucket)),
    ("cors", lambda c: sec_cors(c, c.bucket("cors"))),
    ("presigned", lambda c: sec_presigned(c, c.main_bucket)),
    ("auth", lambda c: sec_auth(c, c.main_bucket)),
    ("errors", lambda c: sec_errors(c, c.main_bucket)),
    ("keys", lambda c: sec_keys(c, c.bucket("keys"))),
    ("large", lambda c: sec_large(c, c.main_bucket)),
    ("upload_paths", lambda c: sec_upload_paths(c, c.main_bucket)),
    ("multipart", lambda c: sec_multipart(c, c.bucket("multipart"))),
    ("lifecycle", lambda c: sec_lifecycle(c, c.bucket("lifecycle"))),
    ("post_object", lambda c: sec_post_object(c, c.bucket("post"))),
    ("versioning", lambda c: sec_versioning(c, c.bucket("versions"))),
]


@pytest.mark.parametrize("section", [run for _, run in SECTIONS], ids=[name for name, _ in SECTIONS])
def test_section(c, section) -> None:
    section(c)


def test_restart(c) -> None:
    if c.t.store is None:
        pytest.skip("the suite did not start this endpoint (S3_ENDPOINT)")
    sec_restart(c, c.main_bucket)


def test_generated_credentials(c) -> None:
    if c.t.store is None:
        pytest.skip("the suite did not start this endpoint (S3_ENDPOINT)")
    sec_generated_credentials(c)


def test_request_id_on_every_response(c) -> None:
    R.check(f"x-amz-request-id on every response ({c.responses} seen)", not c.missing_request_id,
            f"{len(c.missing_request_id)} without it, e.g.:\n" + "\n".join(c.missing_request_id[:15]))
