"""`hoist store`'s server access logs driven by boto3: put_bucket_logging / get_bucket_logging, then the
log object the store delivers into the target bucket, read back and parsed as S3's log format.

Starts its own `hoist store` (HOIST_BIN, default .build/debug/hoist) with HOIST_ACCESS_LOG_INTERVAL=1,
so logs arrive within a second or two instead of a minute; stops it with SIGTERM at the end.

Checks: the configuration round trip and S3's errors (a missing target bucket); one line per request
with the operation, key, status, error code and requester (the access key id, `-` for anonymous and
for a refused signature); pre-signed URLs logged with `X-Amz-Signature=REDACTED`; neither the secret
key nor any signature anywhere in the logs. A second `hoist store` with an hourly interval delivers the
records it holds when SIGTERM stops it.

Env: HOIST_BIN, INTEROP_VERBOSE=1 (with -s: print passes too).
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from interop_common import fail_check, hoist_bin, temp_dir
from processes import StoreProcess, free_port
from store_common import Target, boto3_client

#: bucket_owner bucket [time] remote_ip requester request_id operation key "request_uri" http_status
#: error_code bytes_sent object_size total_time turnaround_time "referrer" "user_agent" version_id host_id
#: signature_version cipher_suite authentication_type host_header tls_version access_point_arn acl_required
LINE = re.compile(r'(\S+) (\S+) (\[[^\]]*\]) (\S+) (\S+) (\S+) (\S+) (\S+) ("(?:[^"\\]|\\.)*") (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) '
                  r'("(?:[^"\\]|\\.)*") ("(?:[^"\\]|\\.)*") (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+) (\S+)')
FIELDS = ("owner", "bucket", "time", "ip", "requester", "request_id", "operation", "key", "uri", "status", "error",
          "bytes_sent", "object_size", "total_time", "turnaround", "referrer", "user_agent", "version_id", "host_id",
          "sigv", "cipher", "auth_type", "host", "tls", "ap_arn", "acl_required")


class LoggingStore(StoreProcess):
    """`hoist store` delivering access logs every second."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "HOIST_ACCESS_LOG_INTERVAL": "1"}


@pytest.fixture(scope="module")
def store(checks):
    proc = LoggingStore(hoist_bin(), temp_dir("hoist-store-logs-"), free_port())
    why = proc.start()
    if why:
        fail_check(checks, "start hoist store with HOIST_ACCESS_LOG_INTERVAL=1", why)
    yield Target(proc.endpoint, proc.access_key, proc.secret_key, proc)
    rc, graceful = proc.stop()
    checks.check("hoist store stops gracefully", graceful and rc == 0, f"rc {rc}; log: {proc.log_tail(800)!r}")


@pytest.fixture(scope="module")
def checks(request):
    from interop_common import tally
    return tally(str(request.node.path))


def parse(text: str) -> list[dict]:
    records = []
    for line in text.splitlines():
        m = LINE.fullmatch(line)
        records.append(dict(zip(FIELDS, m.groups())) if m else {"unparsed": line})
    return records


def test_bucket_logging(store, checks):
    s3 = boto3_client(store)
    from botocore.exceptions import ClientError

    s3.create_bucket(Bucket="src")
    s3.create_bucket(Bucket="logs")
    checks.check("get_bucket_logging of a new bucket: no LoggingEnabled",
                 "LoggingEnabled" not in s3.get_bucket_logging(Bucket="src"))
    try:
        s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "nope", "TargetPrefix": "x/"}})
        checks.check("a missing target bucket is refused", False, "accepted")
    except ClientError as e:
        checks.check("a missing target bucket: InvalidTargetBucketForLogging",
                     e.response["Error"]["Code"] == "InvalidTargetBucketForLogging", str(e.response["Error"]))
    s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "logs", "TargetPrefix": "access/"}})
    got = s3.get_bucket_logging(Bucket="src").get("LoggingEnabled")
    checks.check("get_bucket_logging returns the target", got == {"TargetBucket": "logs", "TargetPrefix": "access/"}, str(got))

    key = "dir/hello world.txt"
    s3.put_object(Bucket="src", Key=key, Body=b"hello", ContentType="text/plain")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "src", "Key": key}, ExpiresIn=60)
    signature = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["X-Amz-Signature"][0]
    with urllib.request.urlopen(url, timeout=10) as r:
        checks.check("pre-signed GET", r.status == 200 and r.read() == b"hello")
    try:
        s3.head_object(Bucket="src", Key="missing")
    except ClientError as e:
        checks.check("HEAD of a missing key: 404", e.response["ResponseMetadata"]["HTTPStatusCode"] == 404)
    bad = boto3_client(store, secret_key="not-the-secret-key-0000000000000000000000")
    try:
        bad.get_object(Bucket="src", Key=key)
        checks.check("a wrong secret is refused", False, "accepted")
    except ClientError as e:
        checks.check("a wrong secret: SignatureDoesNotMatch", e.response["Error"]["Code"] == "SignatureDoesNotMatch")
    try:
        urllib.request.urlopen(f"{store.endpoint}/src/{urllib.parse.quote(key)}", timeout=10)
    except urllib.error.HTTPError as e:
        checks.check("an anonymous GET: 403", e.code == 403)

    # Delivered within the interval (1 s): poll the target bucket for the log objects.
    wanted = {"REST.PUT.OBJECT", "REST.HEAD.OBJECT"}
    text, keys, deadline = "", [], time.monotonic() + 20
    while time.monotonic() < deadline:
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="logs", Prefix="access/").get("Contents", [])]
        text = "".join(s3.get_object(Bucket="logs", Key=k)["Body"].read().decode() for k in sorted(keys))
        records = parse(text)
        if wanted <= {r.get("operation") for r in records} and len(records) >= 7:
            break
        time.sleep(0.5)
    records = parse(text)
    checks.check("log objects named <prefix>YYYY-mm-DD-HH-MM-SS-<16 hex>",
                 bool(keys) and all(re.fullmatch(r"access/\d{4}(-\d\d){5}-[0-9A-F]{16}", k) for k in keys), str(keys))
    checks.check("every line parses into 26 fields", records and all("unparsed" not in r for r in records), text[-2000:])
    checks.check("one line per request (put and get logging, put, pre-signed get, head, refused, anonymous)", len(records) == 7,
                 f"{len(records)} lines: {text[-3000:]}")
    checks.check("no secret key in the logs", store.secret_key not in text and "not-the-secret-key" not in text)
    checks.check("no signature in the logs", signature not in text, text[-2000:])
    ops = [(r.get("operation"), r.get("key"), r.get("status"), r.get("error"), r.get("requester"), r.get("auth_type")) for r in records]
    expect = [
        ("REST.PUT.LOGGING_STATUS", "-", "200", "-", store.access_key, "AuthHeader"),
        ("REST.GET.LOGGING_STATUS", "-", "200", "-", store.access_key, "AuthHeader"),
        ("REST.PUT.OBJECT", "dir/hello%20world.txt", "200", "-", store.access_key, "AuthHeader"),
        ("REST.GET.OBJECT", "dir/hello%20world.txt", "200", "-", store.access_key, "QueryString"),
        ("REST.HEAD.OBJECT", "missing", "404", "NoSuchKey", store.access_key, "AuthHeader"),
        ("REST.GET.OBJECT", "dir/hello%20world.txt", "403", "SignatureDoesNotMatch", "-", "AuthHeader"),
        ("REST.GET.OBJECT", "dir/hello%20world.txt", "403", "AccessDenied", "-", "-"),
    ]
    checks.check("operation, key, status, error code, requester, authentication type of each line", ops == expect,
                 "\n".join(map(str, ops)))
    presigned = records[3] if len(records) > 3 else {}
    checks.check("the pre-signed URL is logged with its signature redacted",
                 "X-Amz-Signature=REDACTED" in presigned.get("uri", ""), presigned.get("uri", ""))
    checks.check("bucket owner, bucket, SigV4, user agent on the PUT line",
                 len(records) > 2 and records[2].get("bucket") == "src" and records[2].get("sigv") == "SigV4"
                 and "Boto3" in records[2].get("user_agent", "") and records[2].get("object_size") == "5", str(records[2:3]))

    s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={})
    checks.check("an empty BucketLoggingStatus turns logging off", "LoggingEnabled" not in s3.get_bucket_logging(Bucket="src"))


class HourlyLoggingStore(StoreProcess):
    """`hoist store` that would deliver access logs only hourly: what it holds goes out at SIGTERM."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "HOIST_ACCESS_LOG_INTERVAL": "3600"}


def test_logs_are_delivered_at_shutdown(checks):
    proc = HourlyLoggingStore(hoist_bin(), temp_dir("hoist-store-logs-"), free_port())
    why = proc.start()
    if why:
        fail_check(checks, "start hoist store with HOIST_ACCESS_LOG_INTERVAL=3600", why)
    try:
        target = Target(proc.endpoint, proc.access_key, proc.secret_key, proc)
        s3 = boto3_client(target)
        s3.create_bucket(Bucket="src")
        s3.put_bucket_logging(Bucket="src", BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": "src", "TargetPrefix": "logs/"}})
        s3.put_object(Bucket="src", Key="a.txt", Body=b"a")
        held = s3.list_objects_v2(Bucket="src", Prefix="logs/").get("KeyCount", 0)
        checks.check("nothing delivered before the interval", held == 0, f"{held} log objects")
        rc, graceful = proc.stop()
        checks.check("hoist store stops gracefully with records held", graceful and rc == 0, f"rc {rc}")
        why = proc.start()
        if why:
            fail_check(checks, "restart hoist store", why)
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="src", Prefix="logs/").get("Contents", [])]
        text = "".join(s3.get_object(Bucket="src", Key=k)["Body"].read().decode() for k in keys)
        ops = [r.get("operation") for r in parse(text)]
        # The target is the logged bucket itself: the listing above is logged too (the delivery is not).
        checks.check("the records held at shutdown were delivered", ops == ["REST.PUT.LOGGING_STATUS", "REST.PUT.OBJECT", "REST.GET.BUCKET"],
                     f"{keys}: {text[-1500:]}")
    finally:
        proc.stop()
