"""`hoist store` (or any S3 endpoint) driven by the AWS CLI (v1, from PyPI: `pip install awscli`).

Without S3_ENDPOINT the suite's `s3_target` fixture starts `hoist store --data <temp> --port <free>
--host 127.0.0.1` (HOIST_BIN, default .build/debug/hoist); with S3_ENDPOINT (S3_ACCESS_KEY /
S3_SECRET_KEY) it runs against that endpoint, e.g. the Ceph Object Gateway from Interop/ceph.sh:

    S3_ENDPOINT=http://127.0.0.1:7480 pytest Interop/test_store_awscli.py

The CLI reads only temporary config and credentials files (AWS_CONFIG_FILE,
AWS_SHARED_CREDENTIALS_FILE; HOME is an empty temporary folder): path-style addressing, SigV4,
no retries, default transfer settings (8 MiB multipart threshold and parts). Checks
`aws s3 mb/ls/cp/sync/mv/rm/rb/presign` (a 200 MiB file up in 25 parts and back with the same
sha256, and copied with UploadPartCopy) and `aws s3api put-bucket-cors/get-bucket-cors/delete-bucket-cors/head-object`.

Env: S3_ENDPOINT, S3_ACCESS_KEY, S3_SECRET_KEY, HOIST_BIN, AWS_CLI (a command; default `python3 -m awscli`, else `aws` on PATH),
INTEROP_VERBOSE=1 (with -s).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.parse

from interop_common import clean_env, fail_check, tally, temp_dir  # noqa: E402
from store_common import Target, quoted_md5, raw_request  # noqa: E402

R = tally(__file__)
RUN = secrets.token_hex(3)
BIG = 200 * 1024 * 1024
# The AWS CLI's default multipart_chunksize.
CLI_PART = 8 * 1024 * 1024


class CLI:
    def __init__(self, t: Target):
        self.t = t
        # AWS CLI v1 as pip installs it, run by this Python; AWS_CLI overrides (a command line).
        if os.environ.get("AWS_CLI"):
            self.exe = os.environ["AWS_CLI"].split()
        elif subprocess.run([sys.executable, "-c", "import awscli"], capture_output=True).returncode == 0:
            self.exe = [sys.executable, "-m", "awscli"]
        else:
            self.exe = [shutil.which("aws") or "aws"]
        self.dir = temp_dir("hoist-awscli-")
        self.config = os.path.join(self.dir, "config")
        self.creds = os.path.join(self.dir, "credentials")
        with open(self.config, "w", encoding="utf-8") as f:
            f.write("[default]\n"
                    "region = us-east-1\n"
                    "output = json\n"
                    "retry_mode = standard\n"
                    "max_attempts = 1\n"
                    "s3 =\n"
                    "    addressing_style = path\n"
                    "    signature_version = s3v4\n")
        self.write_creds(t.access_key, t.secret_key)
        self.env = clean_env(AWS_CONFIG_FILE=self.config, AWS_SHARED_CREDENTIALS_FILE=self.creds,
                             AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="", PYTHONIOENCODING="utf-8")

    def write_creds(self, ak: str, sk: str) -> None:
        with open(self.creds, "w", encoding="utf-8") as f:
            f.write(f"[default]\naws_access_key_id = {ak}\naws_secret_access_key = {sk}\n")

    def run(self, *args: str, stdin: bytes | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
        cmd = [*self.exe, "--endpoint-url", self.t.endpoint, *args]
        return subprocess.run(cmd, env=self.env, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                              capture_output=True, timeout=timeout)


def text(b: bytes) -> str:
    return b.decode("utf-8", errors="replace")


def show(p: subprocess.CompletedProcess) -> str:
    args = p.args[p.args.index("--endpoint-url"):] if "--endpoint-url" in p.args else p.args
    return (f"command: aws {' '.join(args)}\nexit status {p.returncode}\n"
            f"stdout: {text(p.stdout)[-1200:]!r}\nstderr: {text(p.stderr)[-1200:]!r}")


def expect_ok(name: str, p: subprocess.CompletedProcess, must_contain: str | None = None) -> bool:
    good = p.returncode == 0 and (must_contain is None or must_contain in text(p.stdout))
    return R.check(name, good, "" if good else (f"expected exit 0{' and output containing ' + repr(must_contain) if must_contain else ''}\n"
                                                + show(p)))


def expect_fail(name: str, p: subprocess.CompletedProcess, code: str) -> bool:
    good = p.returncode != 0 and code in text(p.stderr)
    return R.check(name, good, "" if good else f"expected a non-zero exit and {code} in stderr\n" + show(p))


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def multipart_etag_file(path: str, part: int) -> str:
    """The ETag S3 gives a multipart upload of PATH in parts of PART bytes: md5 of the part MD5s, -count."""
    digests = []
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(part), b""):
            digests.append(hashlib.md5(chunk).digest())
    return '"' + hashlib.md5(b"".join(digests)).hexdigest() + f'-{len(digests)}"'


def json_out(p: subprocess.CompletedProcess):
    try:
        return json.loads(text(p.stdout))
    except ValueError:
        return None


def test_aws_cli(s3_target) -> None:
    t = s3_target
    cli = CLI(t)
    v = cli.run("--version")
    if v.returncode != 0:
        fail_check(R, "aws --version", show(v) + "\n(install it: python3 -m pip install awscli)")
    R.info(f"target {t.name} at {t.endpoint}; {text(v.stdout or v.stderr).strip()}")
    work = temp_dir("hoist-awscli-files-")
    b = f"hoist-cli-{RUN}"
    s3b = f"s3://{b}"

    # --- buckets ---------------------------------------------------------------------------
    expect_ok("aws s3 mb", cli.run("s3", "mb", s3b), f"make_bucket: {b}")
    p = cli.run("s3", "ls")
    expect_ok("aws s3 ls lists the bucket", p, b)

    # --- 200 MiB up (multipart) and back ------------------------------------------------------------------
    big = os.path.join(work, "big.bin")
    with open(big, "wb") as f:
        for _ in range(BIG // (1 << 20)):
            f.write(os.urandom(1 << 20))
    digest = sha256_file(big)
    t0 = time.monotonic()
    p = cli.run("s3", "cp", big, f"{s3b}/data/big.bin", "--no-progress")
    if expect_ok("aws s3 cp 200 MiB up (multipart, default settings)", p, "upload:"):
        R.info(f"200 MiB upload: {time.monotonic() - t0:.1f} s")
    p = cli.run("s3api", "head-object", "--bucket", b, "--key", "data/big.bin")
    h = json_out(p) or {}
    big_etag = multipart_etag_file(big, CLI_PART)
    R.check(f"s3api head-object: ContentLength {BIG} and the multipart ETag (md5 of 25 part MD5s, -25)",
            p.returncode == 0 and h.get("ContentLength") == BIG and h.get("ETag") == big_etag,
            f"expected ContentLength {BIG}, ETag {big_etag}\n" + show(p))
    p = cli.run("s3", "ls", f"{s3b}/data/")
    R.check("aws s3 ls shows big.bin with its size", p.returncode == 0 and
            re.search(rf"\s{BIG}\s+big\.bin", text(p.stdout)) is not None, show(p))
    down = os.path.join(work, "big.down")
    t0 = time.monotonic()
    p = cli.run("s3", "cp", f"{s3b}/data/big.bin", down, "--no-progress")
    if expect_ok("aws s3 cp 200 MiB back", p, "download:"):
        R.info(f"200 MiB download: {time.monotonic() - t0:.1f} s")
        R.check("downloaded file has the same sha256", os.path.exists(down) and sha256_file(down) == digest,
                f"sha256 up {digest}, down {sha256_file(down) if os.path.exists(down) else 'missing'}")

    # --- what the CLI sends for an upload (reported, for the record) ---------------------------
    small = os.path.join(work, "small.txt")
    with open(small, "wb") as f:
        f.write(b"small file\n" * 10)
    p = cli.run("s3", "cp", small, f"{s3b}/debug/small.txt", "--debug", "--no-progress")
    m = re.findall(r"'X-Amz-Content-SHA256': b?'([^']+)'", text(p.stderr))
    enc = re.findall(r"'Content-Encoding': b?'([^']+)'", text(p.stderr))
    cks = sorted(set(re.findall(r"'(x-amz-checksum-[a-z0-9]+)'", text(p.stderr))))
    expect_ok("aws s3 cp small file (--debug)", p, "upload:")
    R.info(f"aws s3 cp over http sends x-amz-content-sha256 {sorted(set(m))}, Content-Encoding {sorted(set(enc))}, "
           f"checksum headers {cks}")

    # --- metadata, copy, move, presign -------------------------------------------------------
    p = cli.run("s3", "cp", small, f"{s3b}/meta/photo.png", "--content-type", "image/png", "--cache-control",
                "max-age=5", "--content-disposition", "inline", "--metadata", "owner=alice,Article=42", "--no-progress")
    expect_ok("aws s3 cp with --content-type, --cache-control, --content-disposition, --metadata", p, "upload:")
    p = cli.run("s3api", "head-object", "--bucket", b, "--key", "meta/photo.png")
    h = json_out(p) or {}
    R.check("s3api head-object shows them", p.returncode == 0 and h.get("ContentType") == "image/png"
            and h.get("CacheControl") == "max-age=5" and h.get("ContentDisposition") == "inline"
            and h.get("Metadata") == {"owner": "alice", "article": "42"}, show(p))
    p = cli.run("s3", "cp", f"{s3b}/data/big.bin", f"{s3b}/copy/big.bin", "--no-progress")
    expect_ok("aws s3 cp s3:// -> s3:// (200 MiB: multipart with UploadPartCopy)", p, "copy:")
    p = cli.run("s3api", "head-object", "--bucket", b, "--key", "copy/big.bin")
    R.check("the copy has the source's ETag (same part size)", (json_out(p) or {}).get("ETag") == big_etag, show(p))
    p = cli.run("s3", "mv", f"{s3b}/meta/photo.png", f"{s3b}/moved/photo.png", "--no-progress")
    expect_ok("aws s3 mv (copy + delete)", p, "move:")
    p = cli.run("s3api", "head-object", "--bucket", b, "--key", "moved/photo.png")
    R.check("mv kept the metadata", (json_out(p) or {}).get("Metadata") == {"owner": "alice", "article": "42"}
            and (json_out(p) or {}).get("ContentType") == "image/png", show(p))
    p = cli.run("s3api", "head-object", "--bucket", b, "--key", "meta/photo.png")
    expect_fail("mv removed the source (head-object -> 404)", p, "404")
    p = cli.run("s3", "presign", f"{s3b}/moved/photo.png", "--expires-in", "120")
    if expect_ok("aws s3 presign", p):
        url = text(p.stdout).strip()
        u = urllib.parse.urlsplit(url)
        r = raw_request(t.endpoint, "GET", u.path + "?" + u.query)
        R.check("the pre-signed URL from aws s3 presign works", r.status == 200 and r.body == open(small, "rb").read(),
                f"GET {url}\ngot {r.describe(200)}")

    # --- stdin / stdout ---------------------------------------------------------------------
    payload = b"from stdin \xe2\x9c\x93\n" * 100
    p = cli.run("s3", "cp", "-", f"{s3b}/stream/stdin.txt", stdin=payload)
    expect_ok("aws s3 cp - (stdin) up", p)
    p = cli.run("s3", "cp", f"{s3b}/stream/stdin.txt", "-")
    R.check("aws s3 cp ... - (stdout) gives the bytes back", p.returncode == 0 and p.stdout == payload, show(p))

    # --- a tree: recursive cp, sync, ls --recursive -------------------------------------------
    tree = os.path.join(work, "tree")
    names = ["a.txt", "with space.txt", "plus+sign.txt", "percent%.txt", "ünïcödé/文件.txt", "deep/er/x.txt",
             "emoji 😀.txt", "hash#q?.txt"]
    names += [f"many/{i:03d}.dat" for i in range(30)]
    for n in names:
        path = os.path.join(tree, n)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(f"file {n}\n".encode())
        # S3 keeps whole seconds: a file written in the second of its upload looks newer than its
        # object to `aws s3 sync` (on AWS as well), so date the files a few seconds back.
        past = time.time() - 5
        os.utime(path, (past, past))
    p = cli.run("s3", "cp", tree, f"{s3b}/tree/", "--recursive", "--no-progress")
    expect_ok(f"aws s3 cp --recursive ({len(names)} files, awkward names)", p)
    p = cli.run("s3", "ls", f"{s3b}/tree/", "--recursive")
    listed = sorted(line.split(None, 3)[3] for line in text(p.stdout).splitlines() if len(line.split(None, 3)) == 4)
    want = sorted(f"tree/{n}" for n in names)
    R.check("aws s3 ls --recursive lists every file under its exact name", p.returncode == 0 and listed == want,
            f"missing {sorted(set(want) - set(listed))}, unexpected {sorted(set(listed) - set(want))}\n" + show(p))
    p = cli.run("s3", "sync", tree, f"{s3b}/tree/", "--no-progress")
    R.check("aws s3 sync right after: nothing to upload (sizes and times agree)", p.returncode == 0
            and "upload:" not in text(p.stdout), show(p))
    with open(os.path.join(tree, "a.txt"), "wb") as f:
        f.write(b"changed, and longer than before\n")
    p = cli.run("s3", "sync", tree, f"{s3b}/tree/", "--no-progress")
    R.check("aws s3 sync after a change uploads just that file", p.returncode == 0
            and text(p.stdout).count("upload:") == 1 and "a.txt" in text(p.stdout), show(p))
    back = os.path.join(work, "back")
    p = cli.run("s3", "sync", f"{s3b}/tree/", back, "--no-progress")
    same = all(os.path.exists(os.path.join(back, n)) and open(os.path.join(back, n), "rb").read() ==
               open(os.path.join(tree, n), "rb").read() for n in names)
    R.check("aws s3 sync down: every file back, same bytes", p.returncode == 0 and same, show(p))

    # --- CORS through s3api -----------------------------------------------------------------
    cors = {"CORSRules": [{"AllowedOrigins": ["https://app.example.com"], "AllowedMethods": ["GET", "PUT"],
                           "AllowedHeaders": ["*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600}]}
    cors_file = os.path.join(work, "cors.json")
    with open(cors_file, "w", encoding="utf-8") as f:
        json.dump(cors, f)
    expect_fail("s3api get-bucket-cors before any -> NoSuchCORSConfiguration",
                cli.run("s3api", "get-bucket-cors", "--bucket", b), "NoSuchCORSConfiguration")
    expect_ok("s3api put-bucket-cors", cli.run("s3api", "put-bucket-cors", "--bucket", b, "--cors-configuration",
                                               f"file://{cors_file}"))
    p = cli.run("s3api", "get-bucket-cors", "--bucket", b)
    R.check("s3api get-bucket-cors returns the configuration", p.returncode == 0 and json_out(p) == cors,
            f"expected {cors}\n" + show(p))
    r = raw_request(t.endpoint, "OPTIONS", f"/{b}/tree/a.txt", {"Origin": "https://app.example.com",
                                                                "Access-Control-Request-Method": "PUT",
                                                                "Access-Control-Request-Headers": "content-type"})
    R.check("preflight allowed by that configuration -> 200", r.status == 200 and
            r.h("access-control-allow-origin") == "https://app.example.com", r.describe(300))
    expect_ok("s3api delete-bucket-cors", cli.run("s3api", "delete-bucket-cors", "--bucket", b))
    expect_fail("s3api get-bucket-cors after delete -> NoSuchCORSConfiguration",
                cli.run("s3api", "get-bucket-cors", "--bucket", b), "NoSuchCORSConfiguration")

    # --- errors the CLI reports -------------------------------------------------------------
    expect_fail("aws s3 rb on a bucket with objects -> BucketNotEmpty", cli.run("s3", "rb", s3b), "BucketNotEmpty")
    expect_fail("aws s3 ls on a missing bucket -> NoSuchBucket", cli.run("s3", "ls", f"s3://hoist-none-{RUN}/"),
                "NoSuchBucket")
    expect_fail("s3api head-object missing key -> 404", cli.run("s3api", "head-object", "--bucket", b, "--key",
                                                                "nope"), "404")
    cli.write_creds(t.access_key, t.secret_key[:-1] + ("x" if t.secret_key[-1] != "x" else "y"))
    expect_fail("wrong secret: aws s3 ls -> SignatureDoesNotMatch", cli.run("s3", "ls", s3b), "SignatureDoesNotMatch")
    cli.write_creds("AKIAUNKNOWNKEY000000", t.secret_key)
    expect_fail("unknown key: aws s3 ls -> InvalidAccessKeyId", cli.run("s3", "ls", s3b), "InvalidAccessKeyId")
    cli.write_creds(t.access_key, t.secret_key)

    # --- rm, rb -----------------------------------------------------------------------------
    p = cli.run("s3", "rm", f"{s3b}/data/big.bin")
    expect_ok("aws s3 rm one object", p, f"delete: {s3b}/data/big.bin")
    p = cli.run("s3", "ls", f"{s3b}/data/")
    R.check("…it is gone from aws s3 ls", "big.bin" not in text(p.stdout), show(p))
    p = cli.run("s3", "rm", s3b, "--recursive")
    expect_ok("aws s3 rm --recursive (DeleteObjects)", p, "delete:")
    p = cli.run("s3", "ls", s3b, "--recursive")
    R.check("…the bucket is empty", text(p.stdout).strip() == "", show(p))
    expect_ok("aws s3 rb", cli.run("s3", "rb", s3b), f"remove_bucket: {b}")
    p = cli.run("s3", "ls")
    R.check("aws s3 ls no longer lists the bucket", p.returncode == 0 and b not in text(p.stdout), show(p))



def test_aws_cli_fidelity(s3_target) -> None:
    """S3 behaviours the CLI leans on: a retried completion, parts by number, max-keys 0,
    DeleteBucket with an upload in progress, CreateBucket of your own bucket (us-east-1)."""
    t = s3_target
    cli = CLI(t)
    work = temp_dir("hoist-awscli-fidelity-")
    b = f"hoist-cli-fid-{RUN}"
    expect_ok("s3api create-bucket", cli.run("s3api", "create-bucket", "--bucket", b))
    expect_ok("s3api create-bucket of your own bucket again (us-east-1): exit 0", cli.run("s3api", "create-bucket", "--bucket", b))

    first, tail = os.path.join(work, "one.bin"), os.path.join(work, "two.bin")
    with open(first, "wb") as f:
        f.write(b"a" * (5 * 1024 * 1024))
    with open(tail, "wb") as f:
        f.write(b"the tail")
    up = json_out(cli.run("s3api", "create-multipart-upload", "--bucket", b, "--key", "mp.bin")) or {}
    uid = up.get("UploadId", "")
    parts = []
    for number, path in ((1, first), (2, tail)):
        out = json_out(cli.run("s3api", "upload-part", "--bucket", b, "--key", "mp.bin", "--upload-id", uid,
                               "--part-number", str(number), "--body", path)) or {}
        parts.append({"PartNumber": number, "ETag": out.get("ETag", "")})
    listing = json.dumps({"Parts": parts})
    done = cli.run("s3api", "complete-multipart-upload", "--bucket", b, "--key", "mp.bin", "--upload-id", uid,
                   "--multipart-upload", listing)
    again = cli.run("s3api", "complete-multipart-upload", "--bucket", b, "--key", "mp.bin", "--upload-id", uid,
                    "--multipart-upload", listing)
    e1, e2 = (json_out(done) or {}).get("ETag"), (json_out(again) or {}).get("ETag")
    R.check("s3api complete-multipart-upload retried: exit 0 and the same ETag", done.returncode == 0 and again.returncode == 0
            and e1 is not None and e1 == e2, show(done) + "\n" + show(again))

    out = os.path.join(work, "part2.out")
    p = cli.run("s3api", "get-object", "--bucket", b, "--key", "mp.bin", "--part-number", "2", out)
    got = json_out(p) or {}
    body = open(out, "rb").read() if os.path.exists(out) else b""
    R.check("s3api get-object --part-number 2: that part, PartsCount 2", p.returncode == 0 and got.get("PartsCount") == 2
            and body == b"the tail", show(p))
    expect_fail("s3api get-object --part-number 3 (of 2) -> InvalidPart",
                cli.run("s3api", "get-object", "--bucket", b, "--key", "mp.bin", "--part-number", "3", out), "InvalidPart")

    p = cli.run("s3api", "list-objects-v2", "--bucket", b, "--max-keys", "0", "--no-paginate")
    got = json_out(p) or {}
    R.check("s3api list-objects-v2 --max-keys 0: no keys, IsTruncated false", p.returncode == 0 and not got.get("Contents")
            and got.get("IsTruncated") is False, show(p))

    cli.run("s3api", "delete-object", "--bucket", b, "--key", "mp.bin")
    left = json_out(cli.run("s3api", "create-multipart-upload", "--bucket", b, "--key", "left.bin")) or {}
    R.check("an upload is left in progress", bool(left.get("UploadId")), str(left))
    expect_ok("s3api delete-bucket with an upload in progress: exit 0", cli.run("s3api", "delete-bucket", "--bucket", b))
    expect_fail("…the bucket is gone", cli.run("s3api", "head-bucket", "--bucket", b), "404")
