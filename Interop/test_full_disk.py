"""`hoist serve` on a full disk: clear errors, nothing acknowledged lost, and it recovers by itself.

The data folder (the store's blobs and index, the upload records) lives on a small tmpfs mounted for
the test, holding a filler file too. PUTs fill it up; then:

- the write that no longer fits is refused with an S3 error (507 InsufficientStorage, or 500
  InternalError saying why), never a hang or a dropped connection, and the process keeps running;
- every object acknowledged before is intact (GET returns its exact bytes), and no temporary file
  of the refused writes is left behind;
- `POST /upload-url` answers JSON (an error while the records cannot be written), never hangs;
- once space is freed (the filler removed), PUTs and `POST /upload-url` work again, without a
  restart; after a restart everything acknowledged is still there.

Needs root (mount -t tmpfs): skipped otherwise, unless HOIST_REQUIRE_FULL_DISK=1 (as .ci/run sets),
which makes a missing privilege a failure.
"""

from __future__ import annotations

import hashlib
import os
import subprocess

import pytest

from api_common import BUCKET, FAST, APIClient, store_s3_client
from interop_common import temp_dir

SIZE_MIB = 40
FILLER_MIB = 8
OBJECT = 1 << 20


@pytest.fixture
def small_disk(checks):
    """A tmpfs of SIZE_MIB MiB mounted on a temporary folder, unmounted at the end."""
    where = temp_dir("hoist-full-disk-")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MIB}m,mode=0755", "tmpfs", where],
                          capture_output=True, text=True)
    if done.returncode != 0:
        why = f"cannot mount a tmpfs ({done.stderr.strip() or done.returncode}); needs root"
        if os.environ.get("HOIST_REQUIRE_FULL_DISK") == "1":
            checks.check("a small file system for the full-disk test", False, why)
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", where], capture_output=True)


def leftovers(data: str) -> list[str]:
    tmp = os.path.join(data, "store", "tmp")
    return sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []


def test_full_disk(checks, servers, small_disk) -> None:
    R = checks
    data = os.path.join(small_disk, "data")
    filler = os.path.join(small_disk, "filler")
    with open(filler, "wb") as f:
        f.write(os.urandom(FILLER_MIB << 20))
    srv = servers.start("serve", env=FAST, data_dir=data, check="hoist serve starts on a small tmpfs")
    from botocore.exceptions import ClientError

    s3 = store_s3_client(srv)
    api = APIClient(srv.api, timeout=30)
    token = srv.token("disk")
    acknowledged: dict[str, str] = {}
    refusal = None
    for n in range(SIZE_MIB + 10):
        body = os.urandom(OBJECT)
        key = f"fill/{n:03d}.bin"
        try:
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            acknowledged[key] = hashlib.md5(body).hexdigest()
        except ClientError as error:
            refusal = error
            break
    R.check("the disk fills up: a PUT is refused before the loop ends", refusal is not None,
            f"{len(acknowledged)} PUTs of 1 MiB all succeeded on a {SIZE_MIB} MiB file system")
    if refusal is not None:
        status = refusal.response["ResponseMetadata"]["HTTPStatusCode"]
        code = refusal.response["Error"].get("Code")
        message = refusal.response["Error"].get("Message", "")
        R.info(f"refused after {len(acknowledged)} MiB: {status} {code}: {message}")
        R.check("the refused PUT is 507 InsufficientStorage or 500 InternalError",
                (status, code) in ((507, "InsufficientStorage"), (500, "InternalError")), f"{status} {code}: {message}")
        R.check("its message says the store is out of space", "space" in message.lower(), message)
    R.check("hoist serve still runs on a full disk", srv.proc is not None and srv.proc.poll() is None, srv.log_tail(800))
    R.check("no temporary file of a refused write is left", leftovers(data) == [], repr(leftovers(data)))

    intact = 0
    for key, md5 in acknowledged.items():
        got = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        intact += hashlib.md5(got).hexdigest() == md5
    R.check("every acknowledged object reads back whole on the full disk", intact == len(acknowledged),
            f"{intact} of {len(acknowledged)}")

    # The last bytes too: the records database cannot grow at all now.
    rest = os.path.join(small_disk, "rest")
    with open(rest, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass
    statuses = set()
    for n in range(40):  # enough records to need new database pages
        full = api.upload_url(token, {"contentType": "image/png", "size": 100 + n})
        statuses.add(full.status_code)
        if full.status_code != 200:
            break
    R.info(f"POST /upload-url with not one byte free: statuses {sorted(statuses)}, last {full.status_code} {full.text[:200]}")
    R.check("POST /upload-url on a full disk answers JSON (a URL whose record was written, or a 5xx error), never hangs",
            all(code == 200 or code >= 500 for code in statuses) and full.headers.get("Content-Type") == "application/json",
            f"{sorted(statuses)} {full.text[:300]}")
    R.check("hoist serve still runs with not one byte free", srv.proc is not None and srv.proc.poll() is None, srv.log_tail(800))

    os.remove(filler)
    os.remove(rest)
    body = os.urandom(OBJECT)
    try:
        s3.put_object(Bucket=BUCKET, Key="after/space-freed.bin", Body=body)
        acknowledged["after/space-freed.bin"] = hashlib.md5(body).hexdigest()
        R.check("after space is freed, a PUT succeeds without a restart", True)
    except ClientError as error:
        R.check("after space is freed, a PUT succeeds without a restart", False, str(error))
    again = api.upload_url(token, {"contentType": "image/png", "size": 100})
    R.check("after space is freed, POST /upload-url issues a URL", again.status_code == 200, f"{again.status_code} {again.text[:300]}")

    servers.stop(srv, check="hoist serve stops cleanly after the full disk")
    srv2 = servers.start("serve", env=FAST, data_dir=data, check="hoist serve restarts on the same data")
    s3 = store_s3_client(srv2)
    intact = 0
    for key, md5 in acknowledged.items():
        try:
            intact += hashlib.md5(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest() == md5
        except ClientError:
            pass
    R.check("after a restart every acknowledged object is intact", intact == len(acknowledged), f"{intact} of {len(acknowledged)}")
    R.check("after a restart no temporary file is left", leftovers(data) == [], repr(leftovers(data)))
