"""Resumable (multipart) uploads through the API, end to end over real HTTP against `hoist serve`.

1. the flow: POST /multipart-uploads for a real JPEG of about 19 MiB (Pillow noise) → sign the parts →
   PUT some of them straight to the embedded store, then "crash"; a new client lists the parts
   (GET …/parts, from storage's ListParts), signs and PUTs only the missing ones (its PUTs are
   counted) → complete → the object has the right size, type and bytes, and the worker processes
   it; a retried completion answers exactly the same;
2. a stranger (another dev token, POST /dev/token?user=NAME) gets 404 not_found for the upload on
   every route;
3. storage refuses what was not signed: a part of another length (its Content-Length is signed),
   other bytes than the signed SHA-256; the API refuses a bad type, size or part number;
4. abort: the upload is gone from ListMultipartUploads and the API says 404;
5. an expired part URL (a second `hoist serve` with HOIST_URL_EXPIRY=2) is refused, and a re-signed
   one works;
6. `hoist upload` on a JPEG of about 40 MiB (six parts): interrupted with SIGINT once a part is
   stored (one part at a time), it leaves `<file>.hoist-upload`; GET …/parts then lists what is
   missing, and the same command again sends exactly those parts (as it reports), completes, removes
   the resume file, and the object has the file's bytes and the six-part ETag; a resume file of a
   file changed since has its upload aborted, and the file goes up afresh.

Every server is started by the suite's fixtures (conftest.py) and stopped by them.
Env: HOIST_BIN (default .build/debug/hoist), INTEROP_VERBOSE=1 (with -s) to print passing checks too.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import signal
import subprocess
import time

from api_common import FAST, APIClient, describe, error_of, put_url, store_s3_client, wait_for
from interop_common import Results, clean_env, hoist_bin, temp_dir
from store_common import s3_error

BUCKET = "article-images"
MIB = 1 << 20
LIMITS = {**FAST, "HOIST_MAX_SIZE": str(64 * MIB)}


def noise_jpeg(width: int = 4800, height: int = 3600, quality: int = 95) -> bytes:
    """A real JPEG of noise: about 19 MiB at this size, so three parts of the 8 MiB plan (5700×3800 at
    quality 100: about 40 MiB, six parts)."""
    from PIL import Image

    image = Image.merge("RGB", [Image.effect_noise((width, height), 60 + 20 * i) for i in range(3)])
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def dev_token(api: APIClient, user: str) -> str:
    resp = api.request("POST", f"/dev/token?user={user}")
    resp.raise_for_status()
    return resp.json()["token"]


class Client:
    """A resumable-upload client as an app would write it; counts the part PUTs it sends."""

    def __init__(self, api: APIClient, token: str):
        self.api = api
        self.token = token
        self.puts = 0

    def call(self, method: str, path: str, body: dict | None = None):
        return self.api.request(method, path, self.token, json=body) if body is not None \
            else self.api.request(method, path, self.token)

    def create(self, size: int, content_type: str = "image/jpeg", **extra):
        return self.call("POST", "/multipart-uploads", {"contentType": content_type, "size": size, **extra})

    def sign(self, upload_id: str, numbers: list[int], checksums: dict[int, str] | None = None):
        parts = [{"partNumber": n, **({"checksumSHA256": checksums[n]} if checksums and n in checksums else {})}
                 for n in numbers]
        return self.call("POST", f"/multipart-uploads/{upload_id}/parts", {"parts": parts})

    def put_parts(self, upload: dict, data: bytes, numbers: list[int]) -> list[int]:
        """Signs and PUTs the parts `numbers`; returns the statuses."""
        signed = self.sign(upload["uploadId"], numbers)
        if signed.status_code != 200:
            raise RuntimeError(f"sign parts: {describe(signed)}")
        statuses = []
        for part in signed.json()["parts"]:
            n, size = part["partNumber"], upload["partSize"]
            self.puts += 1
            statuses.append(put_url(part["url"], part["headers"], data[(n - 1) * size:n * size]).status)
        return statuses


def test_multipart_flow_resume_and_stranger(checks: Results, servers) -> None:
    srv = servers.start("serve", env=LIMITS, check="hoist serve starts (HOIST_MAX_SIZE 64 MiB)")
    api = APIClient(srv.api, timeout=120)
    alice = Client(api, srv.token("alice"))
    s3 = store_s3_client(srv)
    jpeg = noise_jpeg()
    checks.info(f"the JPEG has {len(jpeg)} bytes")

    created = alice.create(len(jpeg))
    if not checks.check("POST /multipart-uploads -> 200", created.status_code == 200, describe(created)):
        return
    upload = created.json()
    upload_id, key, article = upload["uploadId"], upload["key"], upload["articleId"]
    checks.check("the plan: 8 MiB parts, three of them, the declared size",
                 (upload["partSize"], upload["partCount"], upload["size"]) == (8 * MIB, 3, len(jpeg)), str(upload))
    checks.check("the key is under the article, .jpg", key.startswith(f"articles/{article}/raw/") and key.endswith(".jpg"), key)
    listed = s3.list_multipart_uploads(Bucket=BUCKET, Prefix=key).get("Uploads", [])
    checks.check("storage has the multipart upload (ListMultipartUploads)",
                 [(u["Key"], u["UploadId"]) for u in listed] == [(key, upload_id)], str(listed))

    signed = alice.sign(upload_id, [1, 2, 3])
    lengths = [p["headers"].get("Content-Length") for p in signed.json().get("parts", [])] if signed.status_code == 200 else []
    checks.check("each part URL binds its exact length (the last the rest)",
                 lengths == [str(8 * MIB), str(8 * MIB), str(len(jpeg) - 16 * MIB)], describe(signed))

    # The first client sends parts 1 and 3, then "crashes".
    statuses = alice.put_parts(upload, jpeg, [1, 3])
    checks.check("parts 1 and 3 PUT straight to storage -> 200", statuses == [200, 200], str(statuses))

    # A new client knows only the upload id: it asks storage's list, and sends only what is missing.
    resumed = Client(api, alice.token)
    parts = resumed.call("GET", f"/multipart-uploads/{upload_id}/parts")
    body = parts.json() if parts.status_code == 200 else {}
    checks.check("GET …/parts lists parts 1 and 3 from storage; part 2 is missing",
                 [p["partNumber"] for p in body.get("parts", [])] == [1, 3] and body.get("missingParts") == [2], describe(parts))
    etags = {p["partNumber"]: p["etag"] for p in body.get("parts", [])}
    checks.check("the listed ETags are the parts' MD5s",
                 etags.get(1) == hashlib.md5(jpeg[:8 * MIB]).hexdigest() and etags.get(3) == hashlib.md5(jpeg[16 * MIB:]).hexdigest(),
                 str(etags))
    early = resumed.call("POST", f"/multipart-uploads/{upload_id}/complete")
    checks.check("completing with a part missing -> 409 incomplete_upload",
                 early.status_code == 409 and error_of(early)[0] == "incomplete_upload", describe(early))
    statuses = resumed.put_parts(upload, jpeg, body.get("missingParts", []))
    checks.check("the resumed client sent only the missing part (1 PUT)", resumed.puts == 1 and statuses == [200], f"{resumed.puts} PUTs, {statuses}")

    # A stranger cannot see or touch the upload.
    bob = Client(api, dev_token(api, "bob"))
    for method, path, payload in [("GET", "/parts", None), ("POST", "/parts", {"parts": [{"partNumber": 1}]}),
                                  ("POST", "/complete", None), ("DELETE", "", None)]:
        resp = bob.call(method, f"/multipart-uploads/{upload_id}{path}", payload)
        checks.check(f"a stranger's {method} /multipart-uploads/{{id}}{path} -> 404 not_found",
                     resp.status_code == 404 and error_of(resp)[0] == "not_found", describe(resp))

    done = resumed.call("POST", f"/multipart-uploads/{upload_id}/complete")
    result = done.json() if done.status_code == 200 else {}
    md5s = b"".join(hashlib.md5(jpeg[i:i + 8 * MIB]).digest() for i in range(0, len(jpeg), 8 * MIB))
    expected_etag = f"{hashlib.md5(md5s).hexdigest()}-3"
    checks.check("complete -> 200 with the multipart ETag", done.status_code == 200 and result.get("etag") == expected_etag
                 and result.get("status") == "completed", describe(done))
    again = resumed.call("POST", f"/multipart-uploads/{upload_id}/complete")
    checks.check("a retried completion answers exactly the same", again.status_code == 200 and again.content == done.content,
                 describe(again))
    obj = s3.get_object(Bucket=BUCKET, Key=key)
    stored = obj["Body"].read()
    checks.check("the object has the declared size, type and the very bytes",
                 stored == jpeg and obj["ContentType"] == "image/jpeg" and obj["ETag"].strip('"') == expected_etag,
                 f"{len(stored)} bytes, {obj['ContentType']}, {obj['ETag']}")
    checks.check("storage no longer lists the upload",
                 not s3.list_multipart_uploads(Bucket=BUCKET, Prefix=key).get("Uploads"))
    items = wait_for(api, alice.token, article, [key], timeout=120, done=("processed", "verified", "rejected"))
    item = items.get(key, {})
    checks.check("the worker verifies (and, with libvips, processes) the image",
                 item.get("status") in ("processed", "verified") and item.get("width") == 4800 and item.get("height") == 3600,
                 str(item)[:500])


def test_multipart_refusals_and_abort(checks: Results, servers) -> None:
    srv = servers.start("serve", env=LIMITS, check="hoist serve starts")
    api = APIClient(srv.api)
    alice = Client(api, srv.token("alice"))
    s3 = store_s3_client(srv)

    for name, body, status, code in [
        ("a type that is not allowed -> 415", {"contentType": "text/plain", "size": 10}, 415, "unsupported_media_type"),
        ("a size over HOIST_MAX_SIZE -> 413", {"contentType": "image/jpeg", "size": 64 * MIB + 1}, 413, "payload_too_large"),
        ("no size -> 400", {"contentType": "image/jpeg"}, 400, "invalid_request"),
        ("a checksum algorithm other than SHA256 -> 400", {"size": 10, "checksumAlgorithm": "CRC32"}, 400, "invalid_request"),
    ]:
        resp = api.request("POST", "/multipart-uploads", alice.token, json=body)
        checks.check(f"create: {name}", resp.status_code == status and error_of(resp)[0] == code, describe(resp))
    resp = api.request("POST", "/multipart-uploads", None, json={"size": 10})
    checks.check("create without a token -> 401", resp.status_code == 401, describe(resp))

    size = 9 * MIB
    data = bytes(range(256)) * (size // 256)
    upload = alice.create(size).json()
    upload_id = upload["uploadId"]
    for numbers in ([0], [3], [1, 1]):
        resp = alice.sign(upload_id, numbers)
        checks.check(f"sign parts {numbers} -> 400", resp.status_code == 400 and error_of(resp)[0] == "invalid_request", describe(resp))

    part = alice.sign(upload_id, [1]).json()["parts"][0]
    # Another length than the signed Content-Length: http.client sends the body's own length.
    headers = {k: v for k, v in part["headers"].items() if k.lower() != "content-length"}
    short = put_url(part["url"], headers, data[:8 * MIB - 1])
    error = s3_error(short.body) or {}
    checks.check("a part of another length than signed is refused by storage (403 SignatureDoesNotMatch or 400)",
                 (short.status, error.get("Code")) in ((403, "SignatureDoesNotMatch"), (400, "BadRequest"), (400, "IncompleteBody")),
                 f"{short.status} {error}")
    ok = put_url(part["url"], part["headers"], data[:8 * MIB])
    checks.check("the same URL with the signed length -> 200", ok.status == 200, f"{ok.status} {ok.body[:300]!r}")

    # SHA-256 per part: storage refuses other bytes of the right length.
    summed = alice.create(size, checksumAlgorithm="SHA256").json()
    last = data[8 * MIB:]
    signed = alice.sign(summed["uploadId"], [2], {2: sha256_b64(last)})
    sign_ok = signed.status_code == 200 and signed.json()["parts"][0]["headers"].get("x-amz-checksum-sha256") == sha256_b64(last)
    checks.check("with checksumAlgorithm SHA256 the part URL binds x-amz-checksum-sha256", sign_ok, describe(signed))
    if sign_ok:
        p = signed.json()["parts"][0]
        other = put_url(p["url"], p["headers"], bytes(reversed(last)))
        error = s3_error(other.body) or {}
        checks.check("other bytes than the signed SHA-256 -> refused by storage", other.status in (400, 403),
                     f"{other.status} {error}")
        good = put_url(p["url"], p["headers"], last)
        checks.check("the signed bytes -> 200", good.status == 200, f"{good.status} {good.body[:300]!r}")
    unsigned = alice.sign(summed["uploadId"], [1])
    checks.check("a part of a SHA256 upload without its checksum -> 400", unsigned.status_code == 400, describe(unsigned))

    # Abort.
    gone = alice.call("DELETE", f"/multipart-uploads/{upload_id}")
    checks.check("DELETE /multipart-uploads/{id} -> 204", gone.status_code == 204, describe(gone))
    listed = [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])]
    checks.check("the aborted upload is gone from ListMultipartUploads (the other one is still there)",
                 upload_id not in listed and summed["uploadId"] in listed, str(listed))
    after = alice.call("GET", f"/multipart-uploads/{upload_id}/parts")
    checks.check("its parts -> 404 not_found", after.status_code == 404 and error_of(after)[0] == "not_found", describe(after))
    twice = alice.call("DELETE", f"/multipart-uploads/{upload_id}")
    checks.check("aborting again -> 204", twice.status_code == 204, describe(twice))


def test_multipart_expired_part_url_resigned(checks: Results, servers) -> None:
    srv = servers.start("serve", env={**LIMITS, "HOIST_URL_EXPIRY": "2"}, check="hoist serve starts (HOIST_URL_EXPIRY=2)")
    api = APIClient(srv.api)
    alice = Client(api, srv.token("alice"))
    data = b"\xff\xd8" + bytes(998)
    upload = alice.create(len(data)).json()
    signed = alice.sign(upload["uploadId"], [1]).json()
    checks.check("part URLs live HOIST_URL_EXPIRY seconds", signed.get("expiresIn") == 2, str(signed)[:300])
    time.sleep(3.5)
    part = signed["parts"][0]
    late = put_url(part["url"], part["headers"], data)
    error = s3_error(late.body) or {}
    checks.check("an expired part URL -> 403 AccessDenied", late.status == 403 and error.get("Code") == "AccessDenied",
                 f"{late.status} {error}")
    fresh = alice.sign(upload["uploadId"], [1]).json()["parts"][0]
    put = put_url(fresh["url"], fresh["headers"], data)
    checks.check("the part re-signed -> 200", put.status == 200, f"{put.status} {put.body[:300]!r}")
    done = alice.call("POST", f"/multipart-uploads/{upload['uploadId']}/complete")
    checks.check("then complete -> 200", done.status_code == 200 and done.json().get("size") == len(data), describe(done))


def test_cli_upload_interrupted_and_resumed(checks: Results, servers) -> None:
    srv = servers.start("serve", env=LIMITS, check="hoist serve starts (HOIST_MAX_SIZE 64 MiB)")
    api = APIClient(srv.api, timeout=120)
    token = srv.token("alice")
    folder = temp_dir("hoist-cli-multipart-")
    path = os.path.join(folder, "big.jpg")
    jpeg = noise_jpeg(5700, 3800, quality=100)
    with open(path, "wb") as f:
        f.write(jpeg)
    resume = path + ".hoist-upload"
    env = clean_env(HOIST_TOKEN=token)
    argv = [hoist_bin(), "upload", path, "--api", srv.api]
    checks.info(f"the JPEG has {len(jpeg)} bytes")

    # 1. One part at a time; SIGINT once the resume file says a part is stored.
    # SIGINT's default action in the child, even when this suite runs as a background job (which
    # starts with SIGINT ignored, and would pass that on).
    first = subprocess.Popen(argv + ["--part-concurrency", "1"], env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    record: dict = {}
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and first.poll() is None:
            try:
                with open(resume, encoding="utf-8") as f:
                    record = json.load(f)
            except (OSError, ValueError):
                record = {}
            if record.get("partsDone"):
                first.send_signal(signal.SIGINT)
                break
            time.sleep(0.01)
        out, err = first.communicate(timeout=60)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    checks.check("hoist upload, interrupted by SIGINT after a stored part, stops without finishing",
                 first.returncode != 0 and bool(record.get("partsDone")), f"exit {first.returncode}; {record}; {err.decode()[-500:]}")
    checks.check("it leaves <file>.hoist-upload with the upload id, key and plan",
                 os.path.exists(resume) and record.get("uploadId") and record.get("partCount") == 6
                 and record.get("partSize") == 8 * MIB and record.get("size") == len(jpeg), str(record))
    if not record.get("uploadId"):
        return
    listed = api.request("GET", f"/multipart-uploads/{record['uploadId']}/parts", token)
    body = listed.json() if listed.status_code == 200 else {}
    missing = body.get("missingParts", [])
    stored = [p["partNumber"] for p in body.get("parts", [])]
    checks.info(f"after SIGINT storage holds parts {stored}; missing {missing}")
    checks.check("GET …/parts: some parts stored, the others missing", stored and missing and len(stored) + len(missing) == 6,
                 describe(listed))

    # 2. The same command again: it resumes and sends only what is missing.
    again = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    out, err = again.stdout.decode(), again.stderr.decode()
    checks.check("the rerun completes (exit 0) and prints the key", again.returncode == 0 and out.strip() == record["key"],
                 f"exit {again.returncode}; stdout {out!r}; stderr {err[-800:]}")
    checks.check(f"the rerun resumes the upload and sends only the {len(missing)} missing parts (as it reports)",
                 f"resuming upload {record['uploadId']}: storage holds {len(stored)} of 6 parts; sending {len(missing)}" in err
                 and f"6 parts: {len(missing)} sent, {len(stored)} already stored" in err and "parts 6/6" in err, err[-800:])
    checks.check("the resume file is removed on completion", not os.path.exists(resume))
    s3 = store_s3_client(srv)
    obj = s3.get_object(Bucket=BUCKET, Key=record["key"])
    stored_bytes = obj["Body"].read()
    md5s = b"".join(hashlib.md5(jpeg[i:i + 8 * MIB]).digest() for i in range(0, len(jpeg), 8 * MIB))
    checks.check("the object has the file's bytes, type image/jpeg and the six-part ETag",
                 stored_bytes == jpeg and obj["ContentType"] == "image/jpeg"
                 and obj["ETag"].strip('"') == f"{hashlib.md5(md5s).hexdigest()}-6", f"{len(stored_bytes)} bytes, {obj['ETag']}")
    done = api.request("GET", f"/multipart-uploads/{record['uploadId']}/parts", token)
    checks.check("GET …/parts says completed", done.status_code == 200 and done.json().get("status") == "completed", describe(done))
    # A resume file of an upload whose file has changed since (another modification time): that
    # upload is aborted, and the file goes up afresh.
    stale = Client(api, token).create(len(jpeg), checksumAlgorithm="SHA256").json()
    with open(resume, "w", encoding="utf-8") as f:
        json.dump({**record, "uploadId": stale["uploadId"], "key": stale["key"], "articleId": stale["articleId"],
                   "modified": record["modified"] - 60, "partsDone": [1]}, f)
    changed = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    gone = api.request("GET", f"/multipart-uploads/{stale['uploadId']}/parts", token)
    checks.check("a changed file: the interrupted upload is aborted (404) and the file uploaded afresh",
                 changed.returncode == 0 and "changed since the interrupted upload" in changed.stderr.decode()
                 and gone.status_code == 404 and changed.stdout.decode().strip() not in ("", stale["key"], record["key"])
                 and not os.path.exists(resume), f"exit {changed.returncode}; {changed.stderr.decode()[-400:]}; {describe(gone)}")
    # A third run starts a new upload (nothing to resume): it is an ordinary upload of the same file.
    third = subprocess.run(argv + ["--article", record["articleId"]], env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    checks.check("a third run (no resume file) uploads the file afresh under a new key",
                 third.returncode == 0 and third.stdout.decode().strip() not in ("", record["key"]) and not os.path.exists(resume),
                 f"exit {third.returncode}; {third.stdout.decode()!r}; {third.stderr.decode()[-400:]}")
