"""Helpers for the upload-API interop tests (test_api_e2e.py, test_api_ceph.py, the worker and web tests).

- HoistServerProcess (processes.py, re-exported here for the benchmarks) is `hoist serve` or `hoist api`.
- tiny_jpeg() makes a small, valid baseline JPEG (grayscale, flat 8x8 blocks) without any imaging
  library, so the bytes uploaded are a real image.
- JWT helpers forge tokens: RS256 with the dev issuer's own key (read from the data folder with the
  `cryptography` package) for the claim attacks, and the `alg: none`, HS256-with-the-public-key
  and unknown-`kid` attacks.
- APIClient is a thin `requests` wrapper that records the outcome of every POST /upload-url, so a
  test can compare its own tally with /metrics.
- picture(), upload(), wait_for(), head() serve the image-worker tests (in `hoist serve` and on SQS).

Everything talks to 127.0.0.1 only (or to the endpoints given by the caller's environment).
"""

from __future__ import annotations

import base64
import collections
import hashlib
import io
import json
import os
import re
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from interop_common import check_binary, flip_one, overlay  # noqa: E402
from processes import HoistServerProcess  # noqa: E402, F401 - where the benchmarks look for it
from store_common import RawResponse, raw_request  # noqa: E402

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
ISO8601_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")


# --- processes -----------------------------------------------------------------------------------

def check_api_binary(binary: str | None = None) -> str | None:
    """None when the hoist binary has `serve`, `api` and `token`, else why not."""
    return check_binary("serve", "api", "token", must_mention=("--data",), binary=binary)


# --- a real JPEG, no imaging library ---------------------------------------------------------------

def _canonical_codes(counts: list[int], symbols: list[int]) -> dict[int, tuple[int, int]]:
    """symbol -> (code, length) of a JPEG Huffman table given as BITS and HUFFVAL (ITU T.81 Annex C)."""
    codes, code, k = {}, 0, 0
    for length in range(1, 17):
        for _ in range(counts[length - 1]):
            codes[symbols[k]] = (code, length)
            code += 1
            k += 1
        code <<= 1
    return codes


def tiny_jpeg(width: int = 64, height: int = 48, seed: int = 0) -> bytes:
    """A valid baseline JPEG (JFIF, 8-bit grayscale) made of flat 8x8 blocks in a gradient pattern.

    Every block's DCT has only a DC coefficient (a flat block of level-shifted value s has DC 8*s
    with an all-ones quantisation table), so the entropy data is: DC difference category (the
    standard luminance DC table, T.81 Table K.3), its bits, and an end-of-block (a one-code AC table).
    """
    assert width % 8 == 0 and height % 8 == 0
    dc_counts = [0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0]
    dc_symbols = list(range(12))
    ac_counts = [1] + [0] * 15
    ac_symbols = [0x00]  # EOB only
    dc_codes = _canonical_codes(dc_counts, dc_symbols)
    eob_code, eob_len = _canonical_codes(ac_counts, ac_symbols)[0x00]

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload

    out = bytearray(b"\xff\xd8")
    out += segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    out += segment(0xDB, b"\x00" + b"\x01" * 64)
    out += segment(0xC0, bytes([8]) + height.to_bytes(2, "big") + width.to_bytes(2, "big") + bytes([1, 1, 0x11, 0]))
    out += segment(0xC4, bytes([0x00]) + bytes(dc_counts) + bytes(dc_symbols))
    out += segment(0xC4, bytes([0x10]) + bytes(ac_counts) + bytes(ac_symbols))
    out += segment(0xDA, bytes([1, 1, 0x00, 0, 63, 0]))

    bits: list[int] = []

    def put(value: int, length: int) -> None:
        for i in range(length - 1, -1, -1):
            bits.append((value >> i) & 1)

    prev = 0
    bw, bh = width // 8, height // 8
    for by in range(bh):
        for bx in range(bw):
            level = (bx * 255 // max(1, bw - 1) + by * 37 + seed * 53) % 256
            dc = 8 * (level - 128)
            diff, prev = dc - prev, dc
            category = abs(diff).bit_length()
            code, length = dc_codes[category]
            put(code, length)
            if category:
                put(diff if diff > 0 else diff + (1 << category) - 1, category)
            put(eob_code, eob_len)
    while len(bits) % 8:
        bits.append(1)
    for i in range(0, len(bits), 8):
        byte = int("".join(map(str, bits[i:i + 8])), 2)
        out.append(byte)
        if byte == 0xFF:
            out.append(0x00)
    out += b"\xff\xd9"
    return bytes(out)


# --- JWTs ------------------------------------------------------------------------------------------

def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def load_private_key(path: str):
    from cryptography.hazmat.primitives import serialization

    with open(path, "rb") as f:
        return serialization.load_pem_private_key(f.read(), password=None)


def new_rsa_key(bits: int = 2048):
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def rsa_jwk_thumbprint(public_key) -> str:
    """RFC 7638 thumbprint (SHA-256, base64url) of an RSA public key: the dev issuer's `kid`."""
    numbers = public_key.public_numbers()
    n = numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")
    e = numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")
    canonical = json.dumps({"e": b64url(e), "kty": "RSA", "n": b64url(n)}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def sign_rs(private_key, signing_input: bytes, hash_name: str = "SHA256") -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    algorithm = {"SHA256": hashes.SHA256(), "SHA384": hashes.SHA384(), "SHA512": hashes.SHA512()}[hash_name]
    return private_key.sign(signing_input, padding.PKCS1v15(), algorithm)


def make_jwt(header: dict, claims: dict, sign=None) -> str:
    """`sign(signing_input) -> signature bytes`; None gives an empty signature (alg none)."""
    signing_input = f"{b64url_json(header)}.{b64url_json(claims)}"
    signature = sign(signing_input.encode()) if sign else b""
    return f"{signing_input}.{b64url(signature)}"


def rs256_jwt(private_key, claims: dict, kid: str | None, extra_header: dict | None = None,
              alg: str = "RS256", hash_name: str = "SHA256") -> str:
    header = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    header.update(extra_header or {})
    return make_jwt(header, claims, lambda data: sign_rs(private_key, data, hash_name))


def hs256_jwt(secret: bytes, claims: dict, kid: str | None) -> str:
    import hmac

    header = {"alg": "HS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return make_jwt(header, claims, lambda data: hmac.new(secret, data, hashlib.sha256).digest())


def dev_claims(issuer: str, subject: str, audience: str = "hoist-dev", now: int | None = None, ttl: int = 3600,
               **overrides) -> dict:
    """Claims like the dev issuer's; `overrides` replace (or, with None, remove) claims."""
    now = int(time.time()) if now is None else now
    claims = {"iss": issuer, "sub": subject, "aud": audience, "iat": now, "nbf": now, "exp": now + ttl,
              "jti": f"interop-{now}-{subject}"}
    return overlay(claims, overrides)


# --- the API over HTTP -----------------------------------------------------------------------------

class APIClient:
    """requests against one API; counts the outcome of every POST /upload-url (`issued` or the error code)."""

    def __init__(self, base: str, timeout: float = 30.0):
        import requests

        self.base = base.rstrip("/")
        self.session = requests.Session()
        self.timeout = timeout
        self.upload_outcomes: collections.Counter = collections.Counter()

    def request(self, method: str, path: str, token: str | None = None, headers: dict | None = None, **kwargs):
        hdrs = dict(headers or {})
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        resp = self.session.request(method, self.base + path, headers=hdrs, timeout=self.timeout, **kwargs)
        if method == "POST" and path == "/upload-url":
            self.upload_outcomes[outcome(resp)] += 1
        return resp

    def upload_url(self, token: str | None, body=None, raw: bytes | None = None, headers: dict | None = None):
        """POST /upload-url with a JSON body (dict), raw bytes, or nothing."""
        hdrs = dict(headers or {})
        data = None
        if raw is not None:
            data = raw
            hdrs.setdefault("Content-Type", "application/json")
        elif body is not None:
            data = json.dumps(body, ensure_ascii=False).encode()
            hdrs.setdefault("Content-Type", "application/json")
        return self.request("POST", "/upload-url", token, hdrs, data=data)

    def get(self, path: str, token: str | None = None, **kwargs):
        return self.request("GET", path, token, **kwargs)


def error_of(resp) -> tuple[str | None, str | None]:
    """(code, message) of the API's JSON error envelope, or (None, None)."""
    try:
        body = resp.json()
    except ValueError:
        return None, None
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None, None
    return body["error"].get("code"), body["error"].get("message")


def outcome(resp) -> str:
    if resp.status_code == 200:
        return "issued"
    code, _ = error_of(resp)
    return code or f"http_{resp.status_code}"


def describe(resp, limit: int = 500) -> str:
    headers = {k: v for k, v in resp.headers.items() if k.lower() in
               ("content-type", "www-authenticate", "retry-after", "content-length")}
    return f"HTTP {resp.status_code}; headers {headers}; body {resp.content[:limit]!r}"


def split_url(url: str) -> tuple[str, str]:
    """('http://host:port', '/path?query') of an absolute URL, path and query left exactly as they are."""
    u = urllib.parse.urlsplit(url)
    path = u.path + (f"?{u.query}" if u.query else "")
    return f"{u.scheme}://{u.netloc}", path


def put_url(url: str, headers: dict | list, body: bytes, **kwargs) -> RawResponse:
    """PUT BODY to a pre-signed URL with exactly HEADERS (http.client adds Host and Content-Length)."""
    endpoint, path = split_url(url)
    return raw_request(endpoint, "PUT", path, headers, body, **kwargs)


def get_url(url: str, headers: dict | None = None) -> RawResponse:
    endpoint, path = split_url(url)
    return raw_request(endpoint, "GET", path, headers or {}, None)


def signed_headers_of(url: str) -> list[str]:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    return sorted(query.get("X-Amz-SignedHeaders", [""])[0].split(";"))


def without(headers: dict, name: str) -> dict:
    return {k: v for k, v in headers.items() if k.lower() != name.lower()}


def one_bit_flipped(data: bytes) -> bytes:
    """DATA with one bit of its middle byte flipped: same length, another SHA-256."""
    altered = bytearray(data)
    altered[len(altered) // 2] ^= 0x01
    return bytes(altered)


def bad_put_table(jpeg: bytes) -> dict:
    """The bad PUTs of the attack table, by label: (whether the URL signs a checksum of JPEG,
    (url, headers) -> (url, headers, body) sent instead of what was signed)."""
    altered = one_bit_flipped(jpeg)
    sha = lambda data: base64.b64encode(hashlib.sha256(data).digest()).decode()  # noqa: E731
    tampered = lambda u: re.sub(r"X-Amz-Signature=([0-9a-f]+)",  # noqa: E731
                                lambda m: "X-Amz-Signature=" + flip_one(m.group(1), True), u)
    return {
        "a shorter body (length not as signed)": (True, lambda u, h: (
            u, {**without(h, "Content-Length"), "Content-Length": str(len(jpeg) - 1)}, jpeg[:-1])),
        "a longer body (length not as signed)": (True, lambda u, h: (
            u, {**without(h, "Content-Length"), "Content-Length": str(len(jpeg) + 1)}, jpeg + b"\0")),
        "another Content-Type (image/png)": (True, lambda u, h: (
            u, {**without(h, "Content-Type"), "Content-Type": "image/png"}, jpeg)),
        "another Content-Type (text/html)": (True, lambda u, h: (
            u, {**without(h, "Content-Type"), "Content-Type": "text/html"}, jpeg)),
        "no Content-Type": (True, lambda u, h: (u, without(h, "Content-Type"), jpeg)),
        "another body with the signed checksum": (True, lambda u, h: (u, h, altered)),
        "another checksum header than was signed": (True, lambda u, h: (
            u, {**without(h, "x-amz-checksum-sha256"), "x-amz-checksum-sha256": sha(altered)}, altered)),
        "no checksum header": (True, lambda u, h: (u, without(h, "x-amz-checksum-sha256"), jpeg)),
        "no If-None-Match": (True, lambda u, h: (u, without(h, "If-None-Match"), jpeg)),
        "If-None-Match other than *": (True, lambda u, h: (
            u, {**without(h, "If-None-Match"), "If-None-Match": '"abc"'}, jpeg)),
        "a tampered signature": (True, lambda u, h: (tampered(u), h, jpeg)),
        "a longer X-Amz-Expires": (True, lambda u, h: (u.replace("X-Amz-Expires=900", "X-Amz-Expires=604800"), h, jpeg)),
        "a shorter body, no checksum in the URL": (False, lambda u, h: (
            u, {**without(h, "Content-Length"), "Content-Length": str(len(jpeg) - 1)}, jpeg[:-1])),
        "another Content-Type, no checksum in the URL": (False, lambda u, h: (
            u, {**without(h, "Content-Type"), "Content-Type": "image/png"}, jpeg)),
    }


def try_bad_puts(R, jpeg: bytes, rows: list, fresh, refused, head) -> None:
    """Each row (label, status, codes) of bad_put_table on a fresh upload URL, then the URL used for
    another key. `fresh(label, with_checksum)` -> (url, key, headers) or None;
    `refused(label, response, key, status, codes)` checks the store's answer and that nothing was written."""
    table = bad_put_table(jpeg)
    for label, status, codes in rows:
        with_checksum, mutate = table[label]
        got = fresh(label, with_checksum)
        if not got:
            continue
        url, key, headers = got
        u2, h2, body = mutate(url, headers)
        refused(label, put_url(u2, h2, body), key, status, codes)
    # Another key than was signed: the signature does not hold for it, and neither key gets an object.
    got = fresh("another key", True)
    if got:
        url, key, headers = got
        other_key = key.replace(".jpg", ".png")
        refused("the URL with another key", put_url(url.replace(key, other_key), headers, jpeg), other_key, 403,
                ("SignatureDoesNotMatch",))
        R.check("the URL with another key: nothing under the signed key either", head(key) is None, key)


def put_twice(R, fresh, jpeg: bytes):
    """One upload URL (If-None-Match: * signed) used twice with the same bytes: (key, the second PUT's
    answer), or None when no URL was issued."""
    got = fresh("twice", True)
    if not got:
        return None
    url, key, headers = got
    first = put_url(url, headers, jpeg)
    R.check("second-PUT row: the first PUT -> 200", first.status == 200, first.describe())
    return key, put_url(url, headers, jpeg)


def store_s3_client(srv: HoistServerProcess):
    """boto3 for the store of a running `hoist serve` (path-style, its own access key, no retries)."""
    import boto3
    from botocore.config import Config

    access, secret = srv.store_credentials()
    return boto3.session.Session().client(
        "s3", endpoint_url=srv.store, region_name="us-east-1", aws_access_key_id=access, aws_secret_access_key=secret,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))


def keys_under(s3, prefix: str, bucket: str = "article-images") -> list[str]:
    """Every key under `prefix`, through all the pages of ListObjectsV2."""
    keys, token = [], None
    while True:
        kwargs = {"Bucket": bucket, "Prefix": prefix}
        if token:
            kwargs["ContinuationToken"] = token
        page = s3.list_objects_v2(**kwargs)
        keys += [o["Key"] for o in page.get("Contents", [])]
        if not page.get("IsTruncated"):
            return keys
        token = page["NextContinuationToken"]


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text -> {'name{labels}': value} (labels exactly as written)."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"^(\S+?)(\{[^}]*\})?\s+(\S+)$", line)
        if m:
            try:
                out[m.group(1) + (m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass
    return out


# --- the image worker ---------------------------------------------------------------------------

BUCKET = "article-images"
# The rate limit out of the way of tests that upload many files.
FAST = {"HOIST_RATE_PER_MINUTE": "1000000", "HOIST_RATE_BURST": "1000000"}


def picture(fmt: str, width: int, height: int, seed: int = 0) -> bytes:
    """A real image with some structure (a gradient and a few bars), encoded by Pillow."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height))
    pixels = image.load()
    for y in range(0, height, 4):
        for x in range(0, width, 4):
            colour = ((x * 255 // width + seed * 40) % 256, (y * 255 // height) % 256, (seed * 70) % 256)
            for dy in range(4):
                for dx in range(4):
                    if x + dx < width and y + dy < height:
                        pixels[x + dx, y + dy] = colour
    draw = ImageDraw.Draw(image)
    for i in range(5):
        draw.rectangle([i * width // 6, 0, i * width // 6 + width // 20, height], fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, format=fmt, quality=85) if fmt == "JPEG" else image.save(out, format=fmt)
    return out.getvalue()


def gps_jpeg(width: int, height: int, seed: int = 5, model: str | None = None, orientation: int | None = None) -> bytes:
    """A JPEG shaped like a phone photo: EXIF with a camera make (and model and orientation when
    given) and a GPS position (Pillow writes the GPS IFD)."""
    from PIL import Image

    image = Image.open(io.BytesIO(picture("JPEG", width, height, seed=seed)))
    exif = Image.Exif()
    exif[0x010F] = "HoistCam"
    if model is not None:
        exif[0x0110] = model
    if orientation is not None:
        exif[0x0112] = orientation
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 30.0), 3: "E", 4: (2.0, 17.0, 40.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=88, exif=exif.tobytes())
    return out.getvalue()


def noisy_picture(fmt: str, width: int, height: int) -> bytes:
    """A large, busy image (noise): slow to decode and shrink, so the worker is busy for a while."""
    from PIL import Image

    image = Image.merge("RGB", [Image.effect_noise((width, height), 60 + 20 * i) for i in range(3)])
    out = io.BytesIO()
    image.save(out, format=fmt, quality=90) if fmt == "JPEG" else image.save(out, format=fmt)
    return out.getvalue()


def upload(api: APIClient, token: str, body: bytes, content_type: str, article: str | None = None) -> dict:
    """POST /upload-url with type, size and SHA-256, then the pre-signed PUT. Returns the API's answer."""
    request = {"contentType": content_type, "size": len(body),
               "checksumSHA256": base64.b64encode(hashlib.sha256(body).digest()).decode()}
    if article:
        request["articleId"] = article
    resp = api.upload_url(token, request)
    if resp.status_code != 200:
        raise RuntimeError(f"POST /upload-url -> {resp.status_code}: {resp.text[:300]}")
    issued = resp.json()
    put = put_url(issued["uploadUrl"], issued["headers"], body)
    if put.status != 200:
        raise RuntimeError(f"PUT -> {put.status}: {put.body[:300]!r}")
    return issued


def wait_for(api: APIClient, token: str, article: str, keys: list[str], timeout: float = 60.0,
             done=("processed", "rejected")) -> dict[str, dict]:
    """Polls the article's listing until every key has a status in `done` (or the time is up)."""
    deadline = time.monotonic() + timeout
    items: dict[str, dict] = {}
    while time.monotonic() < deadline:
        resp = api.get(f"/articles/{article}/uploads", token)
        if resp.status_code == 200:
            items = {u["key"]: u for u in resp.json().get("uploads", [])}
            if all(items.get(k, {}).get("status") in done for k in keys):
                return items
        time.sleep(0.1)
    return items


def is_rejection_marker(head_response: dict | None) -> bool:
    """Whether a HEAD answer is the empty object a rejected upload's key keeps."""
    return (head_response is not None and head_response.get("ContentLength") == 0
            and head_response.get("ContentType") == "application/x-hoist-rejected")


def head(s3, key: str) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        return s3.head_object(Bucket=BUCKET, Key=key)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise



__all__ = [name for name in dir() if not name.startswith("_")]
