"""S3 behaviours clients rely on, run against `hoist store` and, side by side, the Ceph Object Gateway.

Each case is written as Amazon S3 behaves (its API reference, and what botocore and the AWS CLI
send). `hoist store` must pass every case: each is a counted check. The same cases run against
radosgw, and what radosgw does is recorded in RGW_OBSERVED as a fact of this peer ("agrees", or
"differs: …" with what it answered); a radosgw answer that no longer matches the recorded fact is a
failed check, so a change in the peer is seen. The run ends with the table of both.

Covers: CompleteMultipartUpload retried after success; a part uploaded twice where the first upload
finishes last; GET/HEAD with partNumber (PartsCount, 206, part 1 of a plain object, past the end);
DeleteBucket with an upload in progress; CreateBucket of your own bucket in us-east-1; no version id
on writes to a never-versioned bucket; x-amz-delete-marker on deletes and reads of deleted keys;
UTF-8 user metadata; Content-Encoding kept as sent; PUT with Transfer-Encoding: chunked and no
Content-Length (signature without a length, and a pre-signed URL that binds one); a key that is not
UTF-8; max-keys=0; Date and X-Amz-Date together; X-Amz-Expires of 0, -1 and 604801; POST forms with
${filename} and success_action_redirect; a bucket policy granting anonymous reads of a prefix (with a Deny,
and CORS on the anonymous GET), and Block Public Access over it; `Expect: 100-continue` answered only after
authentication (a refused upload's body is never sent).

Env: HOIST_BIN; RGW_ENDPOINT (use that gateway instead of starting one).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import secrets
import threading
import time
import urllib.parse

import pytest
import requests
from botocore.exceptions import ClientError

from interop_common import tally
from store_common import REGION, Target, boto3_client, raw_request, s3_error, sign_headers

R = tally(__file__)
MIB = 1024 * 1024

# What radosgw did with each case when it was last looked at (the Ceph packages of Debian 12).
RGW_OBSERVED = {
    "complete retried after success": "differs: the retry answers 200, but the first completion's answer has no ETag botocore reads",
    "a part uploaded twice: one part, the last to finish": "agrees",
    "GET/HEAD with partNumber": "differs: partNumber is ignored: 200 with the whole object, no PartsCount, part 3 is 200 too",
    "DeleteBucket with an upload in progress": "agrees",
    "CreateBucket of your own bucket (us-east-1)": "agrees",
    "no version id on writes to a never-versioned bucket": "agrees",
    "x-amz-delete-marker on delete and on reading a deleted key": "differs: GET of a deleted key is 404 without x-amz-delete-marker",
    "UTF-8 user metadata round-trips": "agrees",
    "Content-Encoding kept as sent": "agrees",
    "chunked PUT without Content-Length": "differs: 411 MissingContentLength for a signed chunked PUT without Content-Length",
    "key that is not UTF-8: 400": "differs: 403 SignatureDoesNotMatch",
    "max-keys=0: no keys, not truncated": "agrees",
    "Date with X-Amz-Date, empty Date, Date alone": "differs: Date alone in RFC 2822 form with -0000 (as botocore sends it) is 403",
    "X-Amz-Expires 0 / -1 / 604801": "differs: 403 AccessDenied for all three",
    "POST form: ${filename} and success_action_redirect": "differs: adds ?bucket=… to a redirect URL that already has a query (two '?')",
    "bucket policy: anonymous reads of a prefix, Deny wins, the rest private": "agrees",
    "Block Public Access over a public policy": "differs: RestrictPublicBuckets does not stop anonymous reads a policy grants (BlockPublicPolicy does refuse the policy)",
    "100-continue only after authentication": "differs: refuses a bad signature without a 100, as S3, but keeps the connection open",
}


class Peer:
    def __init__(self, t: Target, name: str):
        self.t = t
        self.name = name
        self.s3 = boto3_client(t)
        self.buckets: list[str] = []

    def bucket(self, label: str) -> str:
        name = f"fid-{label}-{secrets.token_hex(4)}"[:63]
        self.s3.create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def signed(self, method: str, path: str, headers: dict | None = None, body: bytes | None = None,
               payload_hash: str | None = None, **kw):
        h = sign_headers(self.t.endpoint, method, path, headers, body, self.t.access_key, self.t.secret_key,
                         payload_hash=payload_hash)
        return raw_request(self.t.endpoint, method, path, h, body=body, **kw)

    def cleanup(self) -> None:
        for b in self.buckets:
            try:
                for up in self.s3.list_multipart_uploads(Bucket=b).get("Uploads", []):
                    self.s3.abort_multipart_upload(Bucket=b, Key=up["Key"], UploadId=up["UploadId"])
                for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=b):
                    objs = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                    if objs:
                        self.s3.delete_objects(Bucket=b, Delete={"Objects": objs, "Quiet": True})
                self.s3.delete_bucket(Bucket=b)
            except ClientError:
                pass


def code(e: ClientError) -> tuple[int, str]:
    return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"].get("Code", "")


def multipart(p: Peer, b: str, key: str, tail: bytes = b"the tail") -> tuple[str, list[dict], bytes]:
    up = p.s3.create_multipart_upload(Bucket=b, Key=key)["UploadId"]
    first = b"a" * (5 * MIB)
    e1 = p.s3.upload_part(Bucket=b, Key=key, UploadId=up, PartNumber=1, Body=first)["ETag"]
    e2 = p.s3.upload_part(Bucket=b, Key=key, UploadId=up, PartNumber=2, Body=tail)["ETag"]
    return up, [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}], first + tail


# --- the cases: each returns (as S3 does?, what was seen) --------------------------------------------

def case_complete_retry(p: Peer):
    b = p.bucket("retry")
    up, parts, _ = multipart(p, b, "retry.bin")
    done = p.s3.complete_multipart_upload(Bucket=b, Key="retry.bin", UploadId=up, MultipartUpload={"Parts": parts})
    try:
        again = p.s3.complete_multipart_upload(Bucket=b, Key="retry.bin", UploadId=up, MultipartUpload={"Parts": parts})
    except ClientError as e:
        return False, f"retry: {code(e)}"
    return again["ETag"] == done["ETag"], f"first {done['ETag']}, retry {again['ETag']}"


def case_part_twice(p: Peer):
    b = p.bucket("twice")
    up = p.s3.create_multipart_upload(Bucket=b, Key="k")["UploadId"]
    path = f"/{b}/k?partNumber=1&uploadId={urllib.parse.quote(up, safe='')}"
    slow_body = b"s" * MIB
    release = threading.Event()
    result: dict = {}

    def pieces():
        yield slow_body[: MIB // 2]
        release.wait(20)
        yield slow_body[MIB // 2:]

    def slow():
        try:
            result["r"] = p.signed("PUT", path, {"Content-Length": str(len(slow_body))}, body=pieces(),
                                   payload_hash="UNSIGNED-PAYLOAD")
        except Exception as e:  # noqa: BLE001
            result["error"] = repr(e)

    th = threading.Thread(target=slow)
    th.start()
    time.sleep(0.5)
    fast = p.s3.upload_part(Bucket=b, Key="k", UploadId=up, PartNumber=1, Body=b"fast")["ETag"]
    release.set()
    th.join(30)
    r = result.get("r")
    if r is None or r.status != 200:
        return False, f"slow upload: {result.get('error') or r.describe()}"
    listed = p.s3.list_parts(Bucket=b, Key="k", UploadId=up).get("Parts", [])
    slow_etag = r.h("etag")
    seen = [(x["PartNumber"], x["ETag"], x["Size"]) for x in listed]
    ok = len(listed) == 1 and listed[0]["ETag"] == slow_etag and listed[0]["Size"] == len(slow_body)
    return ok, f"fast {fast}, slow {slow_etag}; ListParts {seen}"


def case_part_number(p: Peer):
    b = p.bucket("partnum")
    up, parts, data = multipart(p, b, "mp.bin", tail=b"0123456789")
    p.s3.complete_multipart_upload(Bucket=b, Key="mp.bin", UploadId=up, MultipartUpload={"Parts": parts})
    p.s3.put_object(Bucket=b, Key="plain.txt", Body=b"plain")
    notes, ok = [], True
    g = p.s3.get_object(Bucket=b, Key="mp.bin", PartNumber=2)
    body = g["Body"].read()
    status = g["ResponseMetadata"]["HTTPStatusCode"]
    ok &= body == b"0123456789" and g.get("PartsCount") == 2 and status == 206
    notes.append(f"part 2: {status}, {len(body)} bytes, PartsCount {g.get('PartsCount')}")
    h = p.s3.head_object(Bucket=b, Key="mp.bin", PartNumber=1)
    ok &= h["ContentLength"] == 5 * MIB and h.get("PartsCount") == 2
    notes.append(f"HEAD part 1: {h['ContentLength']} bytes, PartsCount {h.get('PartsCount')}")
    w = p.s3.get_object(Bucket=b, Key="plain.txt", PartNumber=1)
    wb = w["Body"].read()
    ok &= wb == b"plain" and w.get("PartsCount") is None
    notes.append(f"plain part 1: {w['ResponseMetadata']['HTTPStatusCode']}, {wb!r}, PartsCount {w.get('PartsCount')}")
    try:
        p.s3.get_object(Bucket=b, Key="mp.bin", PartNumber=3)
        ok = False
        notes.append("part 3: 200")
    except ClientError as e:
        ok &= code(e) == (400, "InvalidPart")
        notes.append(f"part 3: {code(e)}")
    return ok, "; ".join(notes)


def case_delete_bucket_with_upload(p: Peer):
    b = p.bucket("delmpu")
    up = p.s3.create_multipart_upload(Bucket=b, Key="k")["UploadId"]
    p.s3.upload_part(Bucket=b, Key="k", UploadId=up, PartNumber=1, Body=b"x")
    try:
        r = p.s3.delete_bucket(Bucket=b)
    except ClientError as e:
        return False, f"DeleteBucket: {code(e)}"
    try:
        p.s3.head_bucket(Bucket=b)
        return False, "the bucket is still there"
    except ClientError as e:
        return code(e)[0] == 404, f"DeleteBucket {r['ResponseMetadata']['HTTPStatusCode']}, then HeadBucket {code(e)[0]}"


def case_recreate_bucket(p: Peer):
    b = p.bucket("recreate")
    p.s3.put_object(Bucket=b, Key="kept", Body=b"kept")
    try:
        r = p.s3.create_bucket(Bucket=b)
    except ClientError as e:
        return False, f"CreateBucket again: {code(e)}"
    kept = p.s3.get_object(Bucket=b, Key="kept")["Body"].read()
    return kept == b"kept", f"CreateBucket again {r['ResponseMetadata']['HTTPStatusCode']}; object {kept!r}"


def case_no_version_id(p: Peer):
    b = p.bucket("nover")
    seen = {}
    seen["put"] = p.s3.put_object(Bucket=b, Key="a", Body=b"a")["ResponseMetadata"]["HTTPHeaders"].get("x-amz-version-id")
    up, parts, _ = multipart(p, b, "mp")
    seen["complete"] = p.s3.complete_multipart_upload(Bucket=b, Key="mp", UploadId=up, MultipartUpload={"Parts": parts})[
        "ResponseMetadata"]["HTTPHeaders"].get("x-amz-version-id")
    seen["copy"] = p.s3.copy_object(Bucket=b, Key="c", CopySource={"Bucket": b, "Key": "a"})[
        "ResponseMetadata"]["HTTPHeaders"].get("x-amz-version-id")
    return all(v is None for v in seen.values()), f"x-amz-version-id: {seen}"


def case_delete_marker(p: Peer):
    b = p.bucket("marker")
    p.s3.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    p.s3.put_object(Bucket=b, Key="k", Body=b"v")
    d = p.s3.delete_object(Bucket=b, Key="k")
    dh = d["ResponseMetadata"]["HTTPHeaders"]
    r = p.signed("GET", f"/{b}/k")
    ok = dh.get("x-amz-delete-marker") == "true" and bool(dh.get("x-amz-version-id")) \
        and r.status == 404 and r.h("x-amz-delete-marker") == "true"
    return ok, f"DELETE: marker {dh.get('x-amz-delete-marker')}, version {dh.get('x-amz-version-id')}; " \
               f"GET: {r.status}, marker {r.h('x-amz-delete-marker')}"


def case_utf8_metadata(p: Peer):
    b = p.bucket("meta")
    value = "Zoë 日本"
    h = sign_headers(p.t.endpoint, "PUT", f"/{b}/m", {"x-amz-meta-name": value}, b"x", p.t.access_key, p.t.secret_key)
    sent = [(k, v.encode("utf-8")) for k, v in h.items()]
    put = raw_request(p.t.endpoint, "PUT", f"/{b}/m", sent, body=b"x")
    if put.status != 200:
        return False, f"PUT: {put.describe(300)}"
    head = p.signed("HEAD", f"/{b}/m")
    raw = head.h("x-amz-meta-name")
    got = raw.encode("latin-1").decode("utf-8", "replace") if raw is not None else None
    return got == value, f"sent {value!r} as UTF-8, read back {got!r}"


def case_content_encoding(p: Peer):
    b = p.bucket("enc")
    p.s3.put_object(Bucket=b, Key="e", Body=b"x", ContentEncoding="deflate, gzip")
    got = p.s3.head_object(Bucket=b, Key="e").get("ContentEncoding")
    return got == "deflate, gzip", f"Content-Encoding read back {got!r}"


def case_chunked_without_length(p: Peer):
    b = p.bucket("chunked")
    r = p.signed("PUT", f"/{b}/stream", payload_hash="UNSIGNED-PAYLOAD", body=iter([b"abc", b"defg"]), encode_chunked=True)
    back = p.s3.get_object(Bucket=b, Key="stream")["Body"].read() if r.status == 200 else None
    url = p.s3.generate_presigned_url("put_object", Params={"Bucket": b, "Key": "bound", "ContentLength": 7}, ExpiresIn=300)
    u = urllib.parse.urlsplit(url)
    bound = raw_request(p.t.endpoint, "PUT", u.path + "?" + u.query, {}, body=iter([b"abc", b"defg"]), encode_chunked=True)
    ok = r.status == 200 and back == b"abcdefg" and bound.status == 403
    return ok, f"signed without a length: {r.status}, read back {back!r}; pre-signed binding Content-Length: " \
               f"{bound.status} {(s3_error(bound.body) or {}).get('Code')}"


def case_non_utf8_key(p: Peer):
    b = p.bucket("badkey")
    r = p.signed("GET", f"/{b}/%ff%fe")
    return r.status == 400, f"GET /{b}/%ff%fe: {r.status} {(s3_error(r.body) or {}).get('Code')}"


def case_max_keys_zero(p: Peer):
    b = p.bucket("maxkeys")
    p.s3.put_object(Bucket=b, Key="a", Body=b"a")
    r = p.s3.list_objects_v2(Bucket=b, MaxKeys=0)
    r1 = p.s3.list_objects(Bucket=b, MaxKeys=0)
    ok = not r.get("Contents") and r["IsTruncated"] is False and not r1.get("Contents") and r1["IsTruncated"] is False
    return ok, f"V2: {len(r.get('Contents', []))} keys, IsTruncated {r['IsTruncated']}; V1: IsTruncated {r1['IsTruncated']}"


def case_date_headers(p: Peer):
    b = p.bucket("dates")
    p.s3.put_object(Bucket=b, Key="k", Body=b"v")
    path = f"/{b}/k"
    notes = []
    # X-Amz-Date signs; a Date from another day beside it is not looked at (unsigned here).
    h = sign_headers(p.t.endpoint, "GET", path, {}, None, p.t.access_key, p.t.secret_key)
    both = raw_request(p.t.endpoint, "GET", path, {**h, "Date": "Wed, 01 Jan 2020 00:00:00 GMT"})
    empty = raw_request(p.t.endpoint, "GET", path, {**h, "Date": ""})
    # botocore signs with Date alone when one is given, in RFC 2822 form with "-0000".
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    req = AWSRequest(method="GET", url=p.t.endpoint + path, headers={"Date": ""}, data=b"")
    S3SigV4Auth(Credentials(p.t.access_key, p.t.secret_key), "s3", REGION).add_auth(req)
    alone = raw_request(p.t.endpoint, "GET", path, dict(req.headers.items()))
    for label, r in (("X-Amz-Date + old Date", both), ("X-Amz-Date + empty Date", empty), ("Date alone (" + req.headers["Date"] + ")", alone)):
        notes.append(f"{label}: {r.status}")
    return all(r.status == 200 for r in (both, empty, alone)), "; ".join(notes)


def case_expires(p: Peer):
    b = p.bucket("expires")
    p.s3.put_object(Bucket=b, Key="k", Body=b"v")
    url = p.s3.generate_presigned_url("get_object", Params={"Bucket": b, "Key": "k"}, ExpiresIn=60)
    seen = {}
    for value in ("0", "-1", "604801"):
        u = url.replace("X-Amz-Expires=60", "X-Amz-Expires=" + value)
        r = requests.get(u, timeout=30)
        seen[value] = (r.status_code, (s3_error(r.content) or {}).get("Code"))
    # A URL of 0 seconds has expired when it arrives (403); -1 and over a week are malformed
    # (AuthorizationQueryParametersError, which S3's error reference lists as 400).
    ok = seen["0"][0] == 403 and seen["-1"] == (400, "AuthorizationQueryParametersError") \
        and seen["604801"] == (400, "AuthorizationQueryParametersError")
    return ok, f"{seen}"


def case_post_form(p: Peer):
    b = p.bucket("post")
    redirect = "http://127.0.0.1:9/done?from=form"
    post = p.s3.generate_presigned_post(b, "uploads/${filename}", Fields={"success_action_redirect": redirect},
                                        Conditions=[["starts-with", "$key", "uploads/"], {"success_action_redirect": redirect}],
                                        ExpiresIn=300)
    r = requests.post(post["url"], data=post["fields"], files={"file": ("photo one.png", b"PNGDATA", "image/png")},
                      allow_redirects=False, timeout=30)
    loc = r.headers.get("Location", "")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    try:
        stored = p.s3.get_object(Bucket=b, Key="uploads/photo one.png")["Body"].read()
    except ClientError as e:
        stored = f"GET: {code(e)}"
    ok = r.status_code == 303 and loc.startswith("http://127.0.0.1:9/done?from=form&") and q.get("bucket") == [b] \
        and q.get("key") == ["uploads/photo one.png"] and bool(q.get("etag")) and stored == b"PNGDATA"
    return ok, f"{r.status_code}, Location {loc}; object {stored!r}"


def case_public_read_policy(p: Peer):
    b = p.bucket("policy")
    p.s3.put_object(Bucket=b, Key="public/a.txt", Body=b"public")
    p.s3.put_object(Bucket=b, Key="private/b.txt", Body=b"secret")
    p.s3.put_bucket_cors(Bucket=b, CORSConfiguration={"CORSRules": [
        {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET", "HEAD"], "ExposeHeaders": ["ETag"]}]})
    base = f"{p.t.endpoint}/{b}"
    before = requests.get(f"{base}/public/a.txt", timeout=30).status_code
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/public/*"},
        {"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/public/drafts/*"}]}
    import json as _json
    p.s3.put_bucket_policy(Bucket=b, Policy=_json.dumps(policy))
    p.s3.put_object(Bucket=b, Key="public/drafts/d.txt", Body=b"draft")
    got = requests.get(f"{base}/public/a.txt", headers={"Origin": "https://app.example"}, timeout=30)
    head = requests.head(f"{base}/public/a.txt", timeout=30).status_code
    private = requests.get(f"{base}/private/b.txt", timeout=30).status_code
    draft = requests.get(f"{base}/public/drafts/d.txt", timeout=30).status_code
    put = requests.put(f"{base}/public/new.txt", data=b"x", timeout=30).status_code
    listing = requests.get(base, timeout=30).status_code
    stored = _json.loads(p.s3.get_bucket_policy(Bucket=b)["Policy"]) == policy
    ok = before == 403 and got.status_code == 200 and got.content == b"public" \
        and got.headers.get("Access-Control-Allow-Origin") == "https://app.example" and head == 200 \
        and private == 403 and draft == 403 and put == 403 and listing == 403 and stored
    return ok, (f"before the policy {before}; public GET {got.status_code} (CORS {got.headers.get('Access-Control-Allow-Origin')}), "
                f"HEAD {head}; private {private}; denied draft {draft}; anonymous PUT {put}; listing {listing}; "
                f"GetBucketPolicy same document {stored}")


def case_public_access_block(p: Peer):
    b = p.bucket("bpa")
    p.s3.put_object(Bucket=b, Key="public/a.txt", Body=b"public")
    import json as _json
    policy = _json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{b}/public/*"}]})
    p.s3.put_bucket_policy(Bucket=b, Policy=policy)
    open_read = requests.get(f"{p.t.endpoint}/{b}/public/a.txt", timeout=30).status_code
    p.s3.put_public_access_block(Bucket=b, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    got = p.s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
    restricted = requests.get(f"{p.t.endpoint}/{b}/public/a.txt", timeout=30).status_code
    try:
        p.s3.put_bucket_policy(Bucket=b, Policy=policy)
        blocked = "accepted"
    except ClientError as e:
        blocked = f"{code(e)}"
    p.s3.delete_public_access_block(Bucket=b)
    after = requests.get(f"{p.t.endpoint}/{b}/public/a.txt", timeout=30).status_code
    ok = open_read == 200 and all(got.values()) and restricted == 403 and blocked.startswith("(403") and after == 200
    return ok, f"policy only {open_read}; RestrictPublicBuckets {restricted}; PutBucketPolicy under BlockPublicPolicy {blocked}; after DeletePublicAccessBlock {after}"


def _expect_continue(p: Peer, path: str, headers: dict, body: bytes) -> tuple[str, bytes, bool]:
    """Sends the head with Expect: 100-continue and waits (up to 3 s) for the first answer; sends the
    body only after a 100. Returns (first status line, whole answer, whether the server closed)."""
    import socket
    u = urllib.parse.urlsplit(p.t.endpoint)
    sock = socket.create_connection((u.hostname, u.port), timeout=10)
    try:
        lines = [f"PUT {path} HTTP/1.1", f"Host: {u.netloc}", "Expect: 100-continue", f"Content-Length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in headers.items() if k.lower() not in ("host", "content-length")]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        sock.settimeout(3)
        first = sock.recv(65536)
        if first.startswith(b"HTTP/1.1 100"):
            sock.sendall(body)
            sock.settimeout(10)
            first += sock.recv(65536)
        answer = first
        sock.settimeout(2)
        closed = False
        try:
            more = sock.recv(65536)
            closed = more == b""
            answer += more
        except socket.timeout:
            pass
        return first.split(b"\r\n", 1)[0].decode(), answer, closed
    finally:
        sock.close()


def case_expect_continue(p: Peer):
    b = p.bucket("expect")
    body = b"x" * 1000
    good = sign_headers(p.t.endpoint, "PUT", f"/{b}/good", {"Content-Length": str(len(body))}, body, p.t.access_key, p.t.secret_key)
    status_good, answer_good, _ = _expect_continue(p, f"/{b}/good", good, body)
    bad = dict(good)
    bad["Authorization"] = bad["Authorization"][:-4] + ("0000" if not bad["Authorization"].endswith("0000") else "1111")
    status_bad, answer_bad, closed = _expect_continue(p, f"/{b}/bad", bad, body)
    ok = status_good.startswith("HTTP/1.1 100") and b"HTTP/1.1 200" in answer_good \
        and status_bad.startswith("HTTP/1.1 403") and b"100 Continue" not in answer_bad and closed
    return ok, (f"signed: first {status_good!r}, then {'200' if b'HTTP/1.1 200' in answer_good else answer_good[-200:]!r}; "
                f"bad signature: first {status_bad!r} (no 100, body never sent), connection closed after: {closed}")


CASES = [
    ("complete retried after success", case_complete_retry),
    ("a part uploaded twice: one part, the last to finish", case_part_twice),
    ("GET/HEAD with partNumber", case_part_number),
    ("DeleteBucket with an upload in progress", case_delete_bucket_with_upload),
    ("CreateBucket of your own bucket (us-east-1)", case_recreate_bucket),
    ("no version id on writes to a never-versioned bucket", case_no_version_id),
    ("x-amz-delete-marker on delete and on reading a deleted key", case_delete_marker),
    ("UTF-8 user metadata round-trips", case_utf8_metadata),
    ("Content-Encoding kept as sent", case_content_encoding),
    ("chunked PUT without Content-Length", case_chunked_without_length),
    ("key that is not UTF-8: 400", case_non_utf8_key),
    ("max-keys=0: no keys, not truncated", case_max_keys_zero),
    ("Date with X-Amz-Date, empty Date, Date alone", case_date_headers),
    ("X-Amz-Expires 0 / -1 / 604801", case_expires),
    ("POST form: ${filename} and success_action_redirect", case_post_form),
    ("bucket policy: anonymous reads of a prefix, Deny wins, the rest private", case_public_read_policy),
    ("Block Public Access over a public policy", case_public_access_block),
    ("100-continue only after authentication", case_expect_continue),
]


def run_case(p: Peer, fn) -> tuple[bool, str]:
    try:
        return fn(p)
    except ClientError as e:
        return False, f"{code(e)}: {e}"
    except Exception as e:  # noqa: BLE001
        return False, f"raised {e!r}"


@pytest.fixture(scope="module")
def results():
    return {}


def test_hoist_store(s3_target, results) -> None:
    p = Peer(s3_target, s3_target.name)
    try:
        for name, fn in CASES:
            ok, seen = run_case(p, fn)
            results[("hoist", name)] = (ok, seen)
            R.check(f"{s3_target.name}: {name}", ok, seen)
    finally:
        p.cleanup()


def test_radosgw_side_by_side(ceph, results) -> None:
    t = Target(ceph.endpoint, ceph.access_key, ceph.secret_key, None, "radosgw")
    p = Peer(t, "radosgw")
    try:
        for name, fn in CASES:
            ok, seen = run_case(p, fn)
            results[("rgw", name)] = (ok, seen)
            recorded = RGW_OBSERVED.get(name, "agrees")
            R.check(f"radosgw as recorded ({recorded.split(':')[0]}): {name}", ok == (recorded == "agrees"),
                    f"recorded: {recorded}\nnow: {'agrees' if ok else 'differs'}: {seen}")
    finally:
        p.cleanup()
    width = max(len(n) for n, _ in CASES)
    R.info(f"{'case':<{width}}  hoist store  radosgw")
    for name, _ in CASES:
        h = results.get(("hoist", name), (None, ""))[0]
        g = results.get(("rgw", name), (None, ""))
        R.info(f"{name:<{width}}  {'S3' if h else 'DIFFERS':<11}  {'S3' if g[0] else 'differs: ' + g[1][:160]}")
