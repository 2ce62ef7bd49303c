"""Helpers for the interop tests and benchmarks that talk to an S3 endpoint (`hoist store` or another S3).

- Target is the endpoint under test: $S3_ENDPOINT (with $S3_ACCESS_KEY / $S3_SECRET_KEY) when given
  (external_target()), else the `hoist store` that the suite's fixture started (processes.StoreProcess,
  re-exported here with free_port for the benchmarks).
- raw_request() sends one HTTP request exactly as given (http.client: no path normalisation, only
  the headers we pass); sign_headers() signs such a request with botocore's SigV4 (header auth)
  without touching the path; aws_chunked_body() builds aws-chunked bodies with chunk signatures.
- s3_error() parses an S3 XML error body.

Everything here only talks to 127.0.0.1 unless S3_ENDPOINT says otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import os
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from interop_common import EXAMPLE_ACCESS_KEY, EXAMPLE_SECRET_KEY, check_binary  # noqa: E402
from processes import TEST_ACCESS_KEY, TEST_SECRET_KEY, StoreProcess, free_port, port_open  # noqa: E402, F401

REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

def check_store_binary(binary: str | None = None) -> str | None:
    """None when BINARY (default: hoist_bin()) has a `store` subcommand, else why not."""
    return check_binary("store", must_mention=("--data", "--port"), binary=binary)


@dataclass
class Target:
    endpoint: str
    access_key: str
    secret_key: str
    store: StoreProcess | None = None  # set when the suite started `hoist store` itself
    name: str = "hoist store"


def external_target() -> Target | None:
    """The endpoint named by $S3_ENDPOINT (with $S3_ACCESS_KEY / $S3_SECRET_KEY), or None."""
    endpoint = os.environ.get("S3_ENDPOINT", "").rstrip("/")
    if not endpoint:
        return None
    return Target(endpoint, os.environ.get("S3_ACCESS_KEY", EXAMPLE_ACCESS_KEY),
                  os.environ.get("S3_SECRET_KEY", EXAMPLE_SECRET_KEY), None, endpoint)


# --- raw HTTP ------------------------------------------------------------------------------------

@dataclass
class RawResponse:
    status: int
    reason: str
    headers: dict  # lower-case name -> value (last one wins)
    header_list: list = field(default_factory=list)
    body: bytes = b""

    def h(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def describe(self, limit: int = 600) -> str:
        shown = {k: v for k, v in self.headers.items()}
        return f"HTTP {self.status} {self.reason}; headers {shown}; body {self.body[:limit]!r}"


def raw_request(endpoint: str, method: str, path: str, headers: dict | list | None = None,
                body=None, timeout: float = 60.0, encode_chunked: bool = False) -> RawResponse:
    """Send METHOD PATH (already encoded, with its query) with exactly HEADERS; read the whole response.

    `headers` may be a dict or a list of (name, value) pairs. http.client adds Host (from the
    endpoint) unless given and, for a bytes body, Content-Length unless given.
    """
    u = urllib.parse.urlsplit(endpoint)
    conn = http.client.HTTPConnection(u.hostname, u.port or 80, timeout=timeout)
    try:
        items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
        names = {k.lower() for k, _ in items}
        conn.putrequest(method, path, skip_host="host" in names, skip_accept_encoding=True)
        for k, v in items:
            conn.putheader(k, v)
        if body is not None and not encode_chunked and "content-length" not in names \
                and "transfer-encoding" not in names and isinstance(body, (bytes, bytearray)):
            conn.putheader("Content-Length", str(len(body)))
        if body is None and method in ("PUT", "POST") and "content-length" not in names \
                and "transfer-encoding" not in names:
            conn.putheader("Content-Length", "0")
        if encode_chunked:
            conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        if body is not None:
            if isinstance(body, (bytes, bytearray)):
                if encode_chunked:
                    conn.send(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body) if body else b"0\r\n\r\n")
                else:
                    conn.send(body)
            else:
                for piece in body:
                    if encode_chunked:
                        if piece:
                            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
                    else:
                        conn.send(piece)
                if encode_chunked:
                    conn.send(b"0\r\n\r\n")
        resp = conn.getresponse()
        data = resp.read()
        header_list = resp.getheaders()
        hdrs = {k.lower(): v for k, v in header_list}
        return RawResponse(resp.status, resp.reason, hdrs, header_list, data)
    finally:
        conn.close()


def quote_key(key: str) -> str:
    """How botocore puts a key in a path-style URL (everything but unreserved characters and '/')."""
    return urllib.parse.quote(key, safe="/~")


def sign_headers(endpoint: str, method: str, path: str, headers: dict | None, body: bytes | None,
                 access_key: str, secret_key: str, payload_hash: str | None = None,
                 region: str = REGION) -> dict:
    """SigV4 header auth for one raw request, by botocore's signer, path taken exactly as given.

    Returns the headers to send (the given ones plus Host, X-Amz-Date, X-Amz-Content-SHA256 and
    Authorization). PAYLOAD_HASH defaults to the SHA-256 of BODY.
    """
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class ExactPathSigV4(SigV4Auth):
        def _normalize_url_path(self, p):  # S3 does not normalise paths
            return p

    hdrs = dict(headers or {})
    if payload_hash is None:
        payload_hash = hashlib.sha256(body or b"").hexdigest()
    hdrs["X-Amz-Content-SHA256"] = payload_hash
    req = AWSRequest(method=method, url=endpoint.rstrip("/") + path, data=body or b"", headers=hdrs)
    ExactPathSigV4(Credentials(access_key, secret_key), "s3", region).add_auth(req)
    out = {}
    for k, v in req.headers.items():
        out[k] = v.decode() if isinstance(v, bytes) else v
    return out


def signing_key(secret_key: str, date: str, region: str = REGION, service: str = "s3") -> bytes:
    k = hmac.new(("AWS4" + secret_key).encode(), date.encode(), hashlib.sha256).digest()
    for part in (region, service, "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    return k


def seed_signature(authorization: str) -> str:
    return authorization.rsplit("Signature=", 1)[1].strip()


def aws_chunked_body(data: bytes, chunk_size: int, *, signed: bool, key: bytes | None = None,
                     amz_date: str = "", scope: str = "", seed: str = "",
                     trailers: list[tuple[str, str]] | None = None,
                     tamper_chunk_sig: int | None = None, tamper_trailer_sig: bool = False) -> bytes:
    """An aws-chunked body (as in the S3 docs' sigv4-streaming pages).

    signed: chunk headers carry `;chunk-signature=` (STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]),
    each signed over the previous signature; with trailers, an `x-amz-trailer-signature` follows.
    unsigned: plain `<hex>\\r\\n` chunk headers (STREAMING-UNSIGNED-PAYLOAD-TRAILER).
    tamper_chunk_sig: index of a chunk whose signature is altered (one hex digit).
    """
    pieces = [data[i:i + chunk_size] for i in range(0, len(data), chunk_size)] + [b""]
    out = bytearray()
    prev = seed
    for i, chunk in enumerate(pieces):
        if signed:
            sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, prev, EMPTY_SHA256,
                             hashlib.sha256(chunk).hexdigest()])
            sig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
            prev = sig
            shown = sig
            if tamper_chunk_sig == i:
                shown = ("0" if sig[0] != "0" else "1") + sig[1:]
            out += f"{len(chunk):x};chunk-signature={shown}\r\n".encode()
        else:
            out += f"{len(chunk):x}\r\n".encode()
        if chunk:
            out += chunk + b"\r\n"
    if trailers is None:
        out += b"\r\n"
        return bytes(out)
    canonical = "".join(f"{n}:{v}\n" for n, v in trailers)
    for n, v in trailers:
        out += f"{n}:{v}\r\n".encode()
    if signed:
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", amz_date, scope, prev,
                         hashlib.sha256(canonical.encode()).hexdigest()])
        tsig = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if tamper_trailer_sig:
            tsig = ("0" if tsig[0] != "0" else "1") + tsig[1:]
        out += f"x-amz-trailer-signature:{tsig}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


# --- S3 XML ---------------------------------------------------------------------------------------

def s3_error(body: bytes) -> dict | None:
    """{'_root': tag, 'Code': …, 'Message': …, …} of an S3 XML error body, or None if it is not XML."""
    if not body:
        return None
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        return None
    out = {"_root": root.tag.split("}")[-1]}
    for child in root:
        out[child.tag.split("}")[-1]] = child.text or ""
    return out


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def md5_b64(data: bytes) -> str:
    return b64(hashlib.md5(data).digest())


def sha256_b64(data: bytes) -> str:
    return b64(hashlib.sha256(data).digest())


def quoted_md5(data: bytes) -> str:
    return '"' + hashlib.md5(data).hexdigest() + '"'


def read_proc_status(pid: int) -> dict:
    """VmRSS / VmHWM (kB) of a process from /proc/PID/status; {} if it is gone."""
    out = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    name, value = line.split(":", 1)
                    out[name] = int(value.split()[0])
    except OSError:
        pass
    return out


def tmp_files(path: str) -> list[str]:
    """Every file under PATH (recursively); [] if PATH does not exist."""
    found = []
    for root, _dirs, files in os.walk(path):
        for name in files:
            found.append(os.path.join(root, name))
    return found


def boto3_client(t: Target, *, access_key: str | None = None, secret_key: str | None = None,
                 unsigned: bool = False, checksum: str = "when_supported", **config):
    """A boto3 S3 client for the target: path-style, us-east-1, SigV4, no retries."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    cfg = Config(
        signature_version=UNSIGNED if unsigned else "s3v4",
        s3={"addressing_style": "path"},
        retries={"total_max_attempts": 1},
        request_checksum_calculation=checksum,
        response_checksum_validation="when_required",
        connect_timeout=10,
        read_timeout=120,
        max_pool_connections=32,
        **config,
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=t.endpoint, region_name=REGION,
        aws_access_key_id=access_key or t.access_key,
        aws_secret_access_key=secret_key or t.secret_key,
        config=cfg)


def now_str() -> str:
    return time.strftime("%H:%M:%S")


__all__ = [name for name in dir() if not name.startswith("_")]
