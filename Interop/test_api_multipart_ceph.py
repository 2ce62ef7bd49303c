"""Resumable (multipart) uploads through `hoist api` signing for the Ceph Object Gateway.

The flow of test_api_multipart.py, with RGW as the storage instead of `hoist serve`'s store: create
(the server starts RGW's multipart upload), sign parts, PUT two of three parts straight to RGW, a new
client lists what RGW holds and sends only the missing part, a stranger's upload id is 404, completion
builds the list from RGW's ListParts and a retry answers the same, the object in RGW has the bytes and
the multipart ETag; a part of the wrong length is refused by RGW; abort removes the upload from RGW.

The gateway is the suite's `ceph` fixture; `hoist api` is started and stopped by the `servers` fixture.
"""

from __future__ import annotations

import hashlib
import secrets

from api_common import APIClient, describe, error_of, put_url  # noqa: E402
from interop_common import Results  # noqa: E402
from test_api_multipart import MIB, Client, dev_token, noise_jpeg  # noqa: E402

REGION = "us-east-1"


def test_multipart_on_radosgw(checks: Results, ceph, servers) -> None:
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=ceph.endpoint, region_name=REGION, aws_access_key_id=ceph.access_key,
                      aws_secret_access_key=ceph.secret_key, config=Config(s3={"addressing_style": "path"}))
    bucket = f"hoist-mp-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=bucket)
    env = {"HOIST_AUTH": "dev", "HOIST_S3_ENDPOINT": ceph.endpoint, "HOIST_S3_ADDRESSING": "path", "HOIST_BUCKET": bucket,
           "HOIST_REGION": REGION, "AWS_ACCESS_KEY_ID": ceph.access_key, "AWS_SECRET_ACCESS_KEY": ceph.secret_key,
           "HOIST_RATE_PER_MINUTE": "1000000", "HOIST_RATE_BURST": "1000000", "HOIST_MAX_SIZE": str(64 * MIB)}
    srv = servers.start("api", env=env, check="hoist api (HOIST_S3_ENDPOINT=radosgw) starts")
    api = APIClient(srv.api, timeout=120)
    alice = Client(api, dev_token(api, "alice"))
    jpeg = noise_jpeg()
    checks.info(f"radosgw {ceph.endpoint}, bucket {bucket}; the JPEG has {len(jpeg)} bytes")

    created = alice.create(len(jpeg))
    if not checks.check("radosgw: POST /multipart-uploads -> 200", created.status_code == 200, describe(created)):
        return
    upload = created.json()
    upload_id, key, size = upload["uploadId"], upload["key"], upload["partSize"]
    count = upload["partCount"]
    listed = s3.list_multipart_uploads(Bucket=bucket, Prefix=key).get("Uploads", [])
    checks.check("radosgw holds the multipart upload the server started", [u["Key"] for u in listed] == [key], str(listed))

    first = [n for n in range(1, count + 1) if n != 2]
    statuses = alice.put_parts(upload, jpeg, first)
    checks.check(f"parts {first} PUT straight to radosgw -> 200", statuses == [200] * len(first), str(statuses))
    resumed = Client(api, alice.token)
    parts = resumed.call("GET", f"/multipart-uploads/{upload_id}/parts")
    body = parts.json() if parts.status_code == 200 else {}
    checks.check("GET …/parts lists what radosgw holds; part 2 is missing",
                 [p["partNumber"] for p in body.get("parts", [])] == first and body.get("missingParts") == [2], describe(parts))

    # A part of the wrong length: the URL binds the exact length, radosgw refuses it.
    signed = resumed.sign(upload_id, [2])
    part = signed.json()["parts"][0] if signed.status_code == 200 else None
    if part is not None:
        headers = dict(part["headers"])
        short = jpeg[size:2 * size - 1]
        headers["Content-Length"] = str(len(short))
        refused = put_url(part["url"], headers, short)
        checks.check("radosgw refuses a part shorter than its URL binds (403)", refused.status == 403, refused.describe(300))

    bob = Client(api, dev_token(api, "bob"))
    stranger = bob.call("GET", f"/multipart-uploads/{upload_id}/parts")
    checks.check("a stranger's upload id -> 404 not_found", stranger.status_code == 404 and error_of(stranger)[0] == "not_found",
                 describe(stranger))

    statuses = resumed.put_parts(upload, jpeg, body.get("missingParts", []))
    checks.check("the resumed client sent only the missing part", resumed.puts == 1 and statuses == [200], f"{resumed.puts} {statuses}")
    done = resumed.call("POST", f"/multipart-uploads/{upload_id}/complete")
    result = done.json() if done.status_code == 200 else {}
    md5s = b"".join(hashlib.md5(jpeg[i:i + size]).digest() for i in range(0, len(jpeg), size))
    expected = f"{hashlib.md5(md5s).hexdigest()}-{count}"
    checks.check("complete -> 200 with the multipart ETag", done.status_code == 200 and result.get("etag") == expected, describe(done))
    again = resumed.call("POST", f"/multipart-uploads/{upload_id}/complete")
    checks.check("a retried completion answers the same", again.status_code == 200 and again.content == done.content, describe(again))
    obj = s3.get_object(Bucket=bucket, Key=key)
    checks.check("the object in radosgw has the very bytes and the multipart ETag",
                 obj["Body"].read() == jpeg and obj["ETag"].strip('"') == expected, obj["ETag"])

    other = alice.create(len(jpeg), articleId=upload["articleId"])
    if checks.check("a second upload for the abort -> 200", other.status_code == 200, describe(other)):
        second = other.json()
        aborted = alice.call("DELETE", f"/multipart-uploads/{second['uploadId']}")
        left = s3.list_multipart_uploads(Bucket=bucket, Prefix=second["key"]).get("Uploads", [])
        checks.check("abort -> 204 and radosgw no longer lists the upload", aborted.status_code == 204 and not left,
                     f"{aborted.status_code} {left}")
