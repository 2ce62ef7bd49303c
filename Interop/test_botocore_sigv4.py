"""SigV4 interop between Hoist and botocore, in both directions.

(a) botocore signs -- header-signed requests (S3SigV4Auth, with a payload hash
    and with UNSIGNED-PAYLOAD, with session tokens), pre-signed URLs
    (generate_presigned_url, S3SigV4QueryAuth) and browser POST policies
    (generate_presigned_post) -- and `hoist verify` must accept every one of
    them. Each is then tampered with (method, path, a query value, a signed
    header value, the signature; expired, wrong region, unknown access key,
    ...) and `hoist verify` must refuse it with the code S3 would give.

(b) `hoist presign` signs with a fixed --date and botocore, given the same
    inputs and a frozen clock, recomputes the URL and signature; they must
    agree (and `hoist verify --now` must accept what `hoist presign` made).

Run: pytest Interop/test_botocore_sigv4.py   (HOIST_BIN overrides .build/debug/hoist;
     INTEROP_VERBOSE=1 with -s prints every passing check as well).
"""

from __future__ import annotations

import base64
import copy
import datetime as dt
import hashlib
import json
import os
import urllib.parse
from dataclasses import dataclass, field

import pytest

from interop_common import (  # noqa: E402
    EXAMPLE_ACCESS_KEY as AK,
    EXAMPLE_SECRET_KEY as SK,
    Results,
    Verifier,
    amz_date,
    clean_env,
    flip_one,
    frozen_botocore_clock,
    run_hoist,
    temp_dir,
    utcnow,
)

import boto3  # noqa: E402
import botocore.auth  # noqa: E402
import botocore.credentials  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.config import Config  # noqa: E402

BUCKET = "article-images"
ENDPOINT = "http://127.0.0.1:9000"
REGION = "us-east-1"
# Fake STS-style session tokens: long, with '+', '/' and '=' that must be percent-encoded in a URL.
TOKEN = "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJHMEUCIQDhoist+interop/token//with+plus==" + "A" * 40
OTHER_TOKEN = "IQoJb3JpZ2luX2VjEHoaCXVzLWVhc3QtMSJHMEUCIQDother+token/value==" + "B" * 40
UNKNOWN_AK = "AKIAHOISTUNKNOWN0000"
WRONG_SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYWRONGSECRET"

# Keys as an application would pick them (decoded); each is URI-encoded once on the way out.
AWKWARD_KEYS = [
    "photo.jpg",
    "photos/my photo+1.jpg",
    "articles/3f1c2a9e-2b4d-4c1e-9f0a-5b6c7d8e9f00/raw/0b1c2d3e.png",
    "a b  c",
    "plus+plus",
    "percent%20literal",
    "100%",
    "eq=and&amp",
    "question?mark",
    "hash#tag",
    "dots/../up/./here",
    "double//slash",
    "trailing/",
    "~tilde_under-score.dot",
    "emoji 😀 🎉.png",
    "日本語/ファイル名.png",
    "ünïcødé-Ωmega",
    "combining e\u0301",
    "non-BMP 𝄞 clef",
    "quote\"apos'",
    "comma,semi;colon:at@dollar$",
    "brackets[]{}()<>",
    "star*bang!",
    "back\\slash",
    "caret^pipe|backtick`",
    " leading and trailing ",
    "x" * 200 + "/" + "y" * 200,
]


# --------------------------------------------------------------------------------------------
# botocore side
# --------------------------------------------------------------------------------------------

def creds(ak: str = AK, sk: str = SK, token: str | None = None) -> botocore.credentials.Credentials:
    return botocore.credentials.Credentials(ak, sk, token)


def s3_client(region: str = REGION, endpoint: str | None = ENDPOINT, addressing: str = "path",
              ak: str = AK, sk: str = SK, token: str | None = None, **s3_extra):
    cfg = Config(
        signature_version="s3v4",
        s3={"addressing_style": addressing, **s3_extra},
        retries={"max_attempts": 1},
    )
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=ak,
        aws_secret_access_key=sk, aws_session_token=token, config=cfg,
    )


def _text(value) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def header_pairs(headers) -> list[list[str]]:
    return [[_text(k), _text(v)] for k, v in headers.items()]


class _Captured(Exception):
    pass


def capture(client, op: str, **params) -> dict:
    """The request botocore would put on the wire for client.<op>(**params), as verify input."""
    def hook(request, **_kwargs):
        raise _Captured(request)

    client.meta.events.register_first("before-send.s3", hook, unique_id="hoist-capture")
    try:
        getattr(client, op)(**params)
    except _Captured as captured:
        req = captured.args[0]
        return {"method": req.method, "url": req.url, "headers": header_pairs(req.headers)}
    finally:
        client.meta.events.unregister("before-send.s3", unique_id="hoist-capture")
    raise RuntimeError(f"{op} sent nothing")


def header_sign(method: str, url: str, headers: list[tuple[str, str]], body: bytes = b"",
                credentials=None, region: str = REGION, unsigned_payload: bool = False,
                at: dt.datetime | None = None) -> dict:
    """Sign with S3SigV4Auth (Authorization header) at time `at`; returns the verify input."""
    req = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        req.headers[name] = value  # HTTPHeaders appends, so repeated names stay repeated
    if unsigned_payload:
        req.context["client_config"] = Config(s3={"payload_signing_enabled": False})
    auth = botocore.auth.S3SigV4Auth(credentials or creds(), "s3", region)
    with frozen_botocore_clock(at or utcnow()):
        auth.add_auth(req)
    pairs = header_pairs(req.headers)
    if body:
        pairs.append(["Content-Length", str(len(body))])
    return {"method": method, "url": req.url, "headers": pairs}


def query_sign(method: str, url: str, headers: list[tuple[str, str]], expires: int = 900,
               credentials=None, region: str = REGION, params: dict | None = None,
               at: dt.datetime | None = None) -> dict:
    """Pre-sign with S3SigV4QueryAuth at time `at`; returns the verify input."""
    req = AWSRequest(method=method, url=url, params=dict(params or {}))
    for name, value in headers:
        req.headers[name] = value
    auth = botocore.auth.S3SigV4QueryAuth(credentials or creds(), "s3", region, expires=expires)
    with frozen_botocore_clock(at or utcnow()):
        auth.add_auth(req)
    return {"method": method, "url": req.url, "headers": [[k, v] for k, v in headers]}


def presigned(client, op: str, params: dict, expires: int = 900, send_headers=(),
              at: dt.datetime | None = None) -> dict:
    with frozen_botocore_clock(at or utcnow()):
        url = client.generate_presigned_url(op, Params=params, ExpiresIn=expires)
    method = {"put_object": "PUT", "get_object": "GET", "head_object": "HEAD",
              "delete_object": "DELETE", "upload_part": "PUT", "create_multipart_upload": "POST"}[op]
    return {"method": method, "url": url, "headers": [list(h) for h in send_headers]}


def post_form(client, key: str, fields=None, conditions=None, expires: int = 3600,
              at: dt.datetime | None = None) -> dict:
    with frozen_botocore_clock(at or utcnow()):
        post = client.generate_presigned_post(BUCKET, key, Fields=fields, Conditions=conditions,
                                              ExpiresIn=expires)
    return {"bucket": BUCKET, "form": dict(post["fields"])}


def obj_url(key: str, endpoint: str = ENDPOINT, bucket: str = BUCKET) -> str:
    return f"{endpoint}/{bucket}/{urllib.parse.quote(key, safe='/~')}"


# --------------------------------------------------------------------------------------------
# tampering: each returns a modified deep copy of a verify input
# --------------------------------------------------------------------------------------------

OTHER_METHOD = {"GET": "PUT", "PUT": "GET", "HEAD": "GET", "DELETE": "GET", "POST": "PUT"}


def _split(url: str):
    return urllib.parse.urlsplit(url)


def _query_pairs(url: str) -> list[tuple[str, str]]:
    query = _split(url).query
    if not query:
        return []
    return [tuple(p.split("=", 1)) if "=" in p else (p, "") for p in query.split("&")]


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    parts = _split(url)
    query = "&".join(f"{k}={v}" for k, v in pairs)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def get_header(inp: dict, name: str) -> str | None:
    for k, v in inp.get("headers", []):
        if k.lower() == name.lower():
            return v
    return None


def set_header(inp: dict, name: str, value: str | None) -> dict:
    out = copy.deepcopy(inp)
    headers = [h for h in out.get("headers", []) if h[0].lower() != name.lower()]
    if value is not None:
        headers.append([name, value])
    out["headers"] = headers
    return out


def signed_header_names(inp: dict) -> list[str]:
    for k, v in _query_pairs(inp["url"]):
        if k == "X-Amz-SignedHeaders":
            return urllib.parse.unquote(v).split(";")
    auth = get_header(inp, "Authorization") or ""
    for part in auth.replace(",", " ").split():
        if part.startswith("SignedHeaders="):
            return part[len("SignedHeaders="):].split(";")
    return []


def t_method(inp: dict) -> dict:
    out = copy.deepcopy(inp)
    out["method"] = OTHER_METHOD[inp["method"]]
    return out


def t_path(inp: dict) -> dict:
    parts = _split(inp["url"])
    path = parts.path
    head, _, last = path.rpartition("/")
    try:
        new_path = head + "/" + flip_one(last)
    except ValueError:
        try:
            new_path = flip_one(path)
        except ValueError:
            new_path = path + "x"  # e.g. "/" (ListBuckets)
    out = copy.deepcopy(inp)
    out["url"] = urllib.parse.urlunsplit((parts.scheme, parts.netloc, new_path, parts.query, ""))
    return out


def flippable(value: str) -> bool:
    try:
        flip_one(value)
        return True
    except ValueError:
        return False


def t_query_value(inp: dict, name: str) -> dict:
    pairs = _query_pairs(inp["url"])
    new_pairs = []
    for k, v in pairs:
        if k == name:
            if name == "X-Amz-Expires":
                v = _other_expiry(v)
            else:
                v = flip_one(v)
        new_pairs.append((k, v))
    out = copy.deepcopy(inp)
    out["url"] = _with_query(inp["url"], new_pairs)
    assert out["url"] != inp["url"], (name, inp["url"])
    return out


def _other_expiry(v: str) -> str:
    """One digit of an X-Amz-Expires value changed, staying within 1...604800."""
    for i in range(len(v) - 1, -1, -1):
        for d in "0123456789":
            if d == v[i]:
                continue
            cand = v[:i] + d + v[i + 1:]
            if cand[0] != "0" and 1 <= int(cand) <= 604800:
                return cand
    raise ValueError(v)


def t_add_query(inp: dict) -> dict:
    pairs = _query_pairs(inp["url"]) + [("x-hoist-extra", "1")]
    out = copy.deepcopy(inp)
    out["url"] = _with_query(inp["url"], pairs)
    return out


def t_drop_query(inp: dict, name: str) -> dict:
    out = copy.deepcopy(inp)
    out["url"] = _with_query(inp["url"], [p for p in _query_pairs(inp["url"]) if p[0] != name])
    return out


def t_header_value(inp: dict, name: str) -> dict:
    value = get_header(inp, name)
    if value is None and name.lower() == "host":
        value = _split(inp["url"]).netloc
    assert value is not None, name
    if name.lower() == "x-amz-content-sha256" and len(value) != 64:
        # UNSIGNED-PAYLOAD, STREAMING-...: replace with a well-formed hash (S3 answers InvalidArgument
        # to a malformed value), just not the signed one.
        return set_header(inp, name, hashlib.sha256(b"").hexdigest())
    hex_only = name.lower() == "x-amz-content-sha256"
    return set_header(inp, name, flip_one(value, hex_only=hex_only))


def t_signature(inp: dict) -> dict:
    if "form" in inp:
        out = copy.deepcopy(inp)
        out["form"]["x-amz-signature"] = flip_one(inp["form"]["x-amz-signature"], hex_only=True)
        return out
    if any(k == "X-Amz-Signature" for k, _ in _query_pairs(inp["url"])):
        pairs = [(k, flip_one(v, hex_only=True) if k == "X-Amz-Signature" else v)
                 for k, v in _query_pairs(inp["url"])]
        out = copy.deepcopy(inp)
        out["url"] = _with_query(inp["url"], pairs)
        return out
    auth = get_header(inp, "Authorization")
    return set_header(inp, "Authorization", flip_one(auth, hex_only=True))


def compact_authorization(inp: dict) -> dict:
    """The same request with `Authorization` written without spaces after the commas (as AWS's docs do)."""
    auth = get_header(inp, "Authorization")
    return set_header(inp, "Authorization", auth.replace(", ", ","))


# --------------------------------------------------------------------------------------------
# running verify cases
# --------------------------------------------------------------------------------------------

OK = "ok"
SIG = {"SignatureDoesNotMatch"}
_MISSING = object()


def short(obj, limit: int = 1500) -> str:
    text = json.dumps(obj, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "..."


def expect(R: Results, v: Verifier, name: str, inp: dict, want, *, auth: str | None = None,
           ak: str = AK, message: str | None = None, clr=_MISSING) -> None:
    """Send `inp` through verifier `v`; `want` is OK or a set of acceptable S3 error codes."""
    reply = v.check(inp)
    detail = f"input:    {short(inp)}\nverify:   hoist verify {' '.join(v.args)}\n"
    if "_error" in reply:
        R.check(name, False, detail + f"error:    {reply['_error']}")
        return
    if want == OK:
        ok = reply.get("ok") is True
        why = []
        if not ok:
            why.append("expected ok:true")
        if auth is not None and reply.get("auth") != auth:
            ok = False
            why.append(f"expected auth={auth!r}")
        if reply.get("accessKeyId") != ak:
            ok = False
            why.append(f"expected accessKeyId={ak!r}")
        if clr is not _MISSING:
            got = reply.get("contentLengthRange")
            if clr is None:
                if got is not None:
                    ok = False
                    why.append("expected no contentLengthRange")
            elif got != list(clr):
                ok = False
                why.append(f"expected contentLengthRange={list(clr)}")
        R.check(name, ok, detail + f"expected: {'; '.join(why) or 'ok'}\ngot:      {short(reply)}" if not ok
                else short(reply, 300))
    else:
        ok = reply.get("ok") is False and reply.get("code") in want
        if ok and message is not None and message not in str(reply.get("message", "")):
            ok = False
        R.check(name, ok, detail + f"expected: ok:false, code in {sorted(want)}"
                + (f", message containing {message!r}" if message else "") + f"\ngot:      {short(reply)}" if not ok
                else short(reply, 300))


def tamper_all(R: Results, v: Verifier, name: str, inp: dict) -> None:
    """The standard tampering set for a header-signed or pre-signed request."""
    is_query = any(k == "X-Amz-Signature" for k, _ in _query_pairs(inp["url"]))
    expect(R, v, f"{name} / tampered method", t_method(inp), SIG)
    expect(R, v, f"{name} / tampered path byte", t_path(inp), SIG)
    expect(R, v, f"{name} / tampered signature byte", t_signature(inp), SIG)
    expect(R, v, f"{name} / extra query parameter", t_add_query(inp), SIG)
    expect(R, v, f"{name} / tampered Host", t_header_value(inp, "Host"), SIG)
    auth_params = {"X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
                   "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token"}
    for k, val in _query_pairs(inp["url"]):
        if k not in auth_params and flippable(val):
            expect(R, v, f"{name} / tampered query value {k}", t_query_value(inp, k), SIG)
    if is_query:
        expect(R, v, f"{name} / tampered X-Amz-Expires", t_query_value(inp, "X-Amz-Expires"), SIG)
        expect(R, v, f"{name} / X-Amz-Signature removed", t_drop_query(inp, "X-Amz-Signature"),
               {"AuthorizationQueryParametersError", "AccessDenied"})
    for h in signed_header_names(inp):
        if h in ("host", "x-amz-date", "x-amz-security-token"):
            continue  # Host: tested above; X-Amz-Date: skew rules; the token: its own tests
        if get_header(inp, h) is None:
            continue
        if not flippable(get_header(inp, h)):
            continue
        expect(R, v, f"{name} / tampered signed header {h}", t_header_value(inp, h), SIG)
    if get_header(inp, "Content-Type") is not None and "content-type" in signed_header_names(inp):
        expect(R, v, f"{name} / signed Content-Type not sent", set_header(inp, "Content-Type", None),
               {"SignatureDoesNotMatch", "AccessDenied"})


# --------------------------------------------------------------------------------------------
# (a) botocore signs, hoist verifies
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def verifiers():
    """Long-running `hoist verify` processes: now, at a fixed --now, and with a session token."""
    now_t0 = dt.datetime(2026, 1, 15, 12, 0, 0)
    v = {
        "now": Verifier(["--region", REGION], clean_env(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)),
        "t0": Verifier(["--region", REGION, "--service", "s3", "--now", amz_date(now_t0)],
                       clean_env(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK)),
        "tok": Verifier(["--region", REGION],
                        clean_env(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_SESSION_TOKEN=TOKEN)),
    }
    yield v
    for verifier in v.values():
        verifier.close()


def _a_header_client(R: Results, v: Verifier) -> None:
    """Requests exactly as boto3's client would send them (captured before sending)."""
    c = s3_client()
    c_unsigned = s3_client(payload_signing_enabled=False)
    c_plain = boto3.session.Session().client(
        "s3", endpoint_url=ENDPOINT, region_name=REGION, aws_access_key_id=AK, aws_secret_access_key=SK,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                      request_checksum_calculation="when_required", response_checksum_validation="when_required"))
    body = b"\x89PNG\r\n\x1a\n" + b"hoist" * 20
    for i, key in enumerate(AWKWARD_KEYS):
        name = f"a/header PutObject {key!r}"
        inp = capture(c, "put_object", Bucket=BUCKET, Key=key, Body=body, ContentType="image/png")
        expect(R, v, name, inp, OK, auth="header")
        tamper_all(R, v, name, inp)
        expect(R, v, f"a/header GetObject {key!r}", capture(c, "get_object", Bucket=BUCKET, Key=key), OK,
               auth="header")
        if i % 3 == 0:
            expect(R, v, f"{name} / Authorization without spaces after commas", compact_authorization(inp), OK,
                   auth="header")
        if i % 4 == 0:
            inp_u = capture(c_unsigned, "put_object", Bucket=BUCKET, Key=key, Body=body, ContentType="image/png")
            R.check(f"a/header UNSIGNED-PAYLOAD captured {key!r}",
                    get_header(inp_u, "X-Amz-Content-SHA256") == "UNSIGNED-PAYLOAD", short(inp_u))
            expect(R, v, f"a/header PutObject UNSIGNED-PAYLOAD {key!r}", inp_u, OK, auth="header")
            tamper_all(R, v, f"a/header PutObject UNSIGNED-PAYLOAD {key!r}", inp_u)
    more = [
        ("HeadObject", c, "head_object", dict(Bucket=BUCKET, Key="photos/my photo+1.jpg")),
        ("DeleteObject", c, "delete_object", dict(Bucket=BUCKET, Key="emoji 😀 🎉.png")),
        ("ListObjectsV2 prefix", c, "list_objects_v2",
         dict(Bucket=BUCKET, Prefix="photos/my photo+1", Delimiter="/", MaxKeys=7)),
        ("GetObject versionId+range", c, "get_object",
         dict(Bucket=BUCKET, Key="a b  c", VersionId="3/L4kqtJl40Nr8X8gdRQBpUMLUo", Range="bytes=0-9",
              IfNoneMatch='"6805f2cfc46c0f04559748bb039d69ae"')),
        ("GetObject response overrides", c, "get_object",
         dict(Bucket=BUCKET, Key="photo.jpg", ResponseContentDisposition='attachment; filename="my photo+1.jpg"',
              ResponseContentType="image/jpeg")),
        ("PutObject metadata spaces", c, "put_object",
         dict(Bucket=BUCKET, Key="meta.png", Body=b"x", ContentType="image/png",
              Metadata={"note": "  several   spaces  inside ", "owner": "alice"}, CacheControl="max-age=60")),
        ("PutObject no checksum when_required", c_plain, "put_object",
         dict(Bucket=BUCKET, Key="photos/my photo+1.jpg", Body=body, ContentType="image/jpeg")),
        ("PutObject empty body", c, "put_object", dict(Bucket=BUCKET, Key="empty", Body=b"")),
        ("CopyObject", c, "copy_object",
         dict(Bucket=BUCKET, Key="copy of photo.jpg", CopySource={"Bucket": BUCKET, "Key": "photos/my photo+1.jpg"})),
        ("CreateMultipartUpload", c, "create_multipart_upload",
         dict(Bucket=BUCKET, Key="big video.mp4", ContentType="video/mp4")),
        ("UploadPart", c, "upload_part",
         dict(Bucket=BUCKET, Key="big video.mp4", PartNumber=3, UploadId="2~iCw_lDY8VoLtFG6cEQ", Body=b"part")),
        ("ListBuckets", c, "list_buckets", {}),
    ]
    for label, client, op, params in more:
        name = f"a/header {label}"
        inp = capture(client, op, **params)
        expect(R, v, name, inp, OK, auth="header")
        tamper_all(R, v, name, inp)
    # Virtual-hosted style against AWS's own endpoint name.
    cv = s3_client(endpoint="https://s3.us-east-1.amazonaws.com", addressing="virtual")
    for key in ("photos/my photo+1.jpg", "日本語/ファイル名.png", "emoji 😀 🎉.png"):
        name = f"a/header virtual-hosted PutObject {key!r}"
        inp = capture(cv, "put_object", Bucket=BUCKET, Key=key, Body=b"abc", ContentType="image/webp")
        expect(R, v, name, inp, OK, auth="header")
        tamper_all(R, v, name, inp)


def _a_header_direct(R: Results, v_now: Verifier, v_t0: Verifier) -> None:
    """S3SigV4Auth on hand-built requests: clock skew, odd headers, wrong region/key/secret."""
    t0 = dt.datetime(2026, 1, 15, 12, 0, 0)
    url = obj_url("photos/my photo+1.jpg")
    hdrs = [("Content-Type", "image/jpeg")]
    for minutes, want in ((0, OK), (-14, OK), (14, OK), (-16, {"RequestTimeTooSkewed"}),
                          (16, {"RequestTimeTooSkewed"}), (-24 * 60, {"RequestTimeTooSkewed"})):
        inp = header_sign("PUT", url, hdrs, b"abc", at=t0 + dt.timedelta(minutes=minutes))
        expect(R, v_t0, f"a/header clock skew {minutes:+d} min (--now {amz_date(t0)})", inp, want, auth="header")
    # Repeated header names are joined with ',' in the canonical request; values are trimmed.
    inp = header_sign("PUT", url, [("Content-Type", "image/jpeg"), ("X-Amz-Meta-Tag", "first"),
                                   ("X-Amz-Meta-Tag", "second  value"),
                                   ("X-Amz-Meta-Note", "   leading  and   trailing   ")], b"abc")
    expect(R, v_now, "a/header repeated and untrimmed headers", inp, OK, auth="header")
    tamper_all(R, v_now, "a/header repeated and untrimmed headers", inp)
    inp = header_sign("GET", obj_url("photo.jpg"), [("Range", "bytes=0-99")], unsigned_payload=True)
    expect(R, v_now, "a/header GET UNSIGNED-PAYLOAD with Range", inp, OK, auth="header")
    # Upper-case header names on the wire, lower-case host given explicitly.
    inp = header_sign("PUT", url, [("CONTENT-TYPE", "image/jpeg"), ("host", "127.0.0.1:9000")], b"abc")
    expect(R, v_now, "a/header upper-case header names, explicit host", inp, OK, auth="header")
    inp = header_sign("PUT", url, hdrs, b"abc", region="us-west-2")
    expect(R, v_now, "a/header wrong region (signed us-west-2, verifier us-east-1)", inp,
           {"AuthorizationHeaderMalformed"})
    inp = header_sign("PUT", url, hdrs, b"abc", credentials=creds(ak=UNKNOWN_AK))
    expect(R, v_now, "a/header unknown access key", inp, {"InvalidAccessKeyId"})
    inp = header_sign("PUT", url, hdrs, b"abc", credentials=creds(sk=WRONG_SK))
    expect(R, v_now, "a/header wrong secret", inp, SIG)
    good = header_sign("PUT", url, hdrs, b"abc")
    auth = get_header(good, "Authorization")
    expect(R, v_now, "a/header Authorization without Signature", set_header(
        good, "Authorization", auth.split(", Signature=")[0]), {"AuthorizationHeaderMalformed"})
    expect(R, v_now, "a/header Authorization with extra spaces after commas",
           set_header(good, "Authorization", auth.replace(", ", ",   ")), OK, auth="header")
    xd = get_header(good, "X-Amz-Date")
    expect(R, v_now, "a/header tampered X-Amz-Date (one second)",
           set_header(good, "X-Amz-Date", xd[:-2] + ("0" if xd[-2] != "0" else "1") + "Z"), SIG)


def _a_query_client(R: Results, v_now: Verifier, v_t0: Verifier) -> None:
    """generate_presigned_url from a boto3 client."""
    c = s3_client()
    for i, key in enumerate(AWKWARD_KEYS):
        name = f"a/presigned PUT {key!r}"
        inp = presigned(c, "put_object", {"Bucket": BUCKET, "Key": key, "ContentType": "image/png"},
                        send_headers=[("Content-Type", "image/png")])
        expect(R, v_now, name, inp, OK, auth="query")
        tamper_all(R, v_now, name, inp)
        name = f"a/presigned GET {key!r}"
        inp = presigned(c, "get_object", {"Bucket": BUCKET, "Key": key})
        expect(R, v_now, name, inp, OK, auth="query")
        if i % 2 == 0:
            tamper_all(R, v_now, name, inp)
    body_len = 123456
    digest = base64.b64encode(hashlib.sha256(b"hoist").digest()).decode()
    cases = [
        ("PUT type+length+If-None-Match", "put_object",
         {"Bucket": BUCKET, "Key": "articles/a1/raw/u1.png", "ContentType": "image/png",
          "ContentLength": body_len, "IfNoneMatch": "*"},
         [("Content-Type", "image/png"), ("Content-Length", str(body_len)), ("If-None-Match", "*")]),
        ("PUT with checksum", "put_object",
         {"Bucket": BUCKET, "Key": "articles/a1/raw/u2.jpg", "ContentType": "image/jpeg", "ChecksumSHA256": digest},
         [("Content-Type", "image/jpeg"), ("x-amz-checksum-sha256", digest)]),
        ("GET response-content-disposition", "get_object",
         {"Bucket": BUCKET, "Key": "photos/my photo+1.jpg",
          "ResponseContentDisposition": 'attachment; filename="my photo+1.jpg"', "ResponseContentType": "image/jpeg"},
         []),
        ("GET versionId", "get_object",
         {"Bucket": BUCKET, "Key": "a b  c", "VersionId": "3/L4kqtJl40Nr8X8gdRQBpUMLUo+x=="}, []),
        ("HEAD", "head_object", {"Bucket": BUCKET, "Key": "日本語/ファイル名.png"}, []),
        ("DELETE", "delete_object", {"Bucket": BUCKET, "Key": "hash#tag"}, []),
        ("UploadPart", "upload_part",
         {"Bucket": BUCKET, "Key": "big video.mp4", "PartNumber": 2, "UploadId": "2~iCw_lDY8VoLtFG6cEQ"}, []),
    ]
    for label, op, params, send in cases:
        name = f"a/presigned {label}"
        inp = presigned(c, op, params, send_headers=send)
        expect(R, v_now, name, inp, OK, auth="query")
        tamper_all(R, v_now, name, inp)
    base = {"Bucket": BUCKET, "Key": "photo.jpg"}
    expect(R, v_now, "a/presigned ExpiresIn=604800", presigned(c, "get_object", base, expires=604800), OK,
           auth="query")
    expect(R, v_now, "a/presigned ExpiresIn=604801 (over a week)", presigned(c, "get_object", base, expires=604801),
           {"AuthorizationQueryParametersError"})
    expect(R, v_now, "a/presigned expired (signed 2 h ago, ExpiresIn 3600)",
           presigned(c, "get_object", base, expires=3600, at=utcnow() - dt.timedelta(hours=2)),
           {"AccessDenied"}, message="Request has expired")
    expect(R, v_now, "a/presigned expired (signed in 2013)",
           presigned(c, "get_object", base, expires=900, at=dt.datetime(2013, 5, 24)),
           {"AccessDenied"}, message="Request has expired")
    t0 = dt.datetime(2026, 1, 15, 12, 0, 0)
    expect(R, v_t0, "a/presigned 1 s before expiry (--now)",
           presigned(c, "get_object", base, expires=60, at=t0 - dt.timedelta(seconds=59)), OK, auth="query")
    expect(R, v_t0, "a/presigned 1 s after expiry (--now)",
           presigned(c, "get_object", base, expires=60, at=t0 - dt.timedelta(seconds=61)),
           {"AccessDenied"}, message="Request has expired")
    expect(R, v_now, "a/presigned wrong region (signed us-west-2)",
           presigned(s3_client(region="us-west-2"), "get_object", base), {"AuthorizationQueryParametersError"})
    expect(R, v_now, "a/presigned unknown access key",
           presigned(s3_client(ak=UNKNOWN_AK), "get_object", base), {"InvalidAccessKeyId"})
    expect(R, v_now, "a/presigned wrong secret", presigned(s3_client(sk=WRONG_SK), "get_object", base), SIG)
    put = presigned(c, "put_object", {"Bucket": BUCKET, "Key": "photo.jpg", "ContentType": "image/png"},
                    send_headers=[("Content-Type", "image/png")])
    expect(R, v_now, "a/presigned PUT sent with another Content-Type",
           set_header(put, "Content-Type", "image/jpeg"), SIG)
    expect(R, v_now, "a/presigned PUT with an extra unsigned header",
           set_header(put, "X-Forwarded-For", "203.0.113.9"), OK, auth="query")
    cv = s3_client(endpoint="https://s3.us-east-1.amazonaws.com", addressing="virtual")
    for key in ("photos/my photo+1.jpg", "emoji 😀 🎉.png"):
        name = f"a/presigned virtual-hosted PUT {key!r}"
        inp = presigned(cv, "put_object", {"Bucket": BUCKET, "Key": key, "ContentType": "image/png"},
                        send_headers=[("Content-Type", "image/png")])
        expect(R, v_now, name, inp, OK, auth="query")
        tamper_all(R, v_now, name, inp)


def _a_query_direct(R: Results, v: Verifier) -> None:
    """S3SigV4QueryAuth with headers generate_presigned_url cannot express."""
    hdrs = [("Content-Type", "image/avif"), ("x-amz-meta-owner", "alice"), ("If-None-Match", "*"),
            ("Cache-Control", "max-age=31536000, immutable")]
    inp = query_sign("PUT", obj_url("articles/x/raw/y.avif"), hdrs, expires=300)
    expect(R, v, "a/query-auth PUT with x-amz-meta and Cache-Control", inp, OK, auth="query")
    tamper_all(R, v, "a/query-auth PUT with x-amz-meta and Cache-Control", inp)
    inp = query_sign("GET", obj_url("photo.jpg"), [], params={"versionId": "v 1+2", "response-cache-control": "no-cache"})
    expect(R, v, "a/query-auth GET with params needing encoding", inp, OK, auth="query")
    tamper_all(R, v, "a/query-auth GET with params needing encoding", inp)
    inp = query_sign("POST", obj_url("big video.mp4"), [("Content-Type", "video/mp4")], params={"uploads": ""})
    expect(R, v, "a/query-auth POST ?uploads", inp, OK, auth="query")
    inp = query_sign("GET", "http://localhost:7480/" + BUCKET + "/" + urllib.parse.quote("a b", safe="/~"), [])
    expect(R, v, "a/query-auth localhost endpoint", inp, OK, auth="query")


def _a_post(R: Results, v_now: Verifier, v_t0: Verifier) -> None:
    c = s3_client()
    conds = [["content-length-range", 1, 10485760], {"Content-Type": "image/png"},
             {"success_action_status": "201"}, {"x-amz-meta-owner": "alice"}]
    fields = {"Content-Type": "image/png", "success_action_status": "201", "x-amz-meta-owner": "alice"}
    for key in ("articles/a1/raw/u1.png", "photos/my photo+1.jpg", "emoji 😀 🎉.png", "日本語/ファイル名.png",
                "eq=and&amp?#"):
        name = f"a/post {key!r}"
        # generate_presigned_post appends to the lists and dicts it is given: hand it copies.
        inp = post_form(c, key, fields=copy.deepcopy(fields), conditions=copy.deepcopy(conds))
        expect(R, v_now, name, inp, OK, auth="post", clr=(1, 10485760))
        expect(R, v_now, f"{name} / tampered signature", t_signature(inp), SIG)
        tampered = copy.deepcopy(inp)
        tampered["form"]["policy"] = flip_one(inp["form"]["policy"], from_end=False)
        expect(R, v_now, f"{name} / tampered policy byte", tampered, {"SignatureDoesNotMatch", "AccessDenied"})
        tampered = copy.deepcopy(inp)
        tampered["form"]["key"] = key + "x"
        expect(R, v_now, f"{name} / key not the one in the policy", tampered, {"AccessDenied"})
        tampered = copy.deepcopy(inp)
        tampered["form"]["Content-Type"] = "image/jpeg"
        expect(R, v_now, f"{name} / Content-Type not the policy's", tampered, {"AccessDenied"})
        tampered = copy.deepcopy(inp)
        tampered["bucket"] = "other-bucket"
        expect(R, v_now, f"{name} / other bucket", tampered, {"AccessDenied"})
    # starts-with conditions, ${filename}, no length range.
    inp = post_form(c, "uploads/${filename}", fields={"Content-Type": "image/webp"},
                    conditions=[["starts-with", "$Content-Type", "image/"]])
    expect(R, v_now, "a/post starts-with ${filename} key", inp, OK, auth="post", clr=None)
    chosen = copy.deepcopy(inp)
    chosen["form"]["key"] = "uploads/my photo 😀.webp"
    expect(R, v_now, "a/post starts-with: client-chosen key under the prefix", chosen, OK, auth="post")
    chosen = copy.deepcopy(inp)
    chosen["form"]["key"] = "elsewhere/x.webp"
    expect(R, v_now, "a/post starts-with: key outside the prefix", chosen, {"AccessDenied"})
    chosen = copy.deepcopy(inp)
    chosen["form"]["Content-Type"] = "text/html"
    expect(R, v_now, "a/post starts-with: Content-Type outside image/", chosen, {"AccessDenied"})
    chosen = copy.deepcopy(inp)
    chosen["form"]["x-amz-meta-extra"] = "not in policy"
    expect(R, v_now, "a/post field not in the policy", chosen, {"AccessDenied"})
    chosen = copy.deepcopy(inp)
    chosen["form"]["x-ignore-tracking"] = "anything"
    expect(R, v_now, "a/post x-ignore- field is ignored", chosen, OK, auth="post")
    expect(R, v_now, "a/post expired (2 h ago, 1 h policy)",
           post_form(c, "photo.png", expires=3600, at=utcnow() - dt.timedelta(hours=2)), {"AccessDenied"})
    t0 = dt.datetime(2026, 1, 15, 12, 0, 0)
    expect(R, v_t0, "a/post valid at --now", post_form(c, "photo.png", expires=600, at=t0 - dt.timedelta(minutes=5)),
           OK, auth="post")
    expect(R, v_t0, "a/post expired at --now", post_form(c, "photo.png", expires=60, at=t0 - dt.timedelta(minutes=5)),
           {"AccessDenied"})
    expect(R, v_now, "a/post wrong region", post_form(s3_client(region="us-west-2"), "photo.png"),
           {"AuthorizationQueryParametersError", "AuthorizationHeaderMalformed", "AccessDenied", "InvalidRequest",
            "InvalidArgument"})
    expect(R, v_now, "a/post unknown access key", post_form(s3_client(ak=UNKNOWN_AK), "photo.png"),
           {"InvalidAccessKeyId"})
    expect(R, v_now, "a/post wrong secret", post_form(s3_client(sk=WRONG_SK), "photo.png"), SIG)


def _a_session_tokens(R: Results, v_now: Verifier, v_tok: Verifier) -> None:
    ct = s3_client(token=TOKEN)
    c_other = s3_client(token=OTHER_TOKEN)
    c_none = s3_client()
    key = "photos/my photo+1.jpg"
    inp = capture(ct, "put_object", Bucket=BUCKET, Key=key, Body=b"abc", ContentType="image/png")
    expect(R, v_tok, "a/token header-signed with the session token", inp, OK, auth="header")
    tamper_all(R, v_tok, "a/token header-signed with the session token", inp)
    expect(R, v_tok, "a/token header-signed, token header tampered", t_header_value(inp, "X-Amz-Security-Token"),
           {"InvalidToken", "SignatureDoesNotMatch"})
    inp = header_sign("GET", obj_url(key), [], credentials=creds(token=TOKEN), unsigned_payload=True)
    expect(R, v_tok, "a/token header-signed UNSIGNED-PAYLOAD GET", inp, OK, auth="header")
    inp = presigned(ct, "put_object", {"Bucket": BUCKET, "Key": key, "ContentType": "image/png"},
                    send_headers=[("Content-Type", "image/png")])
    expect(R, v_tok, "a/token presigned with the session token", inp, OK, auth="query")
    tamper_all(R, v_tok, "a/token presigned with the session token", inp)
    expect(R, v_tok, "a/token presigned, token value tampered", t_query_value(inp, "X-Amz-Security-Token"),
           {"InvalidToken", "SignatureDoesNotMatch"})
    inp = post_form(ct, "articles/a/raw/b.png", conditions=[["content-length-range", 0, 1024]])
    expect(R, v_tok, "a/token POST policy with the session token", inp, OK, auth="post", clr=(0, 1024))
    # Signed correctly, but with another token / no token at all.
    expect(R, v_tok, "a/token header-signed with another token",
           capture(c_other, "get_object", Bucket=BUCKET, Key=key), {"InvalidToken"})
    expect(R, v_tok, "a/token presigned with another token",
           presigned(c_other, "get_object", {"Bucket": BUCKET, "Key": key}), {"InvalidToken"})
    expect(R, v_tok, "a/token POST with another token", post_form(c_other, "x.png"), {"InvalidToken", "AccessDenied"})
    expect(R, v_tok, "a/token header-signed without the token",
           capture(c_none, "get_object", Bucket=BUCKET, Key=key), {"MissingSecurityHeader", "InvalidToken"})
    expect(R, v_tok, "a/token presigned without the token",
           presigned(c_none, "get_object", {"Bucket": BUCKET, "Key": key}), {"MissingSecurityHeader", "InvalidToken"})
    # A token sent to a verifier whose credentials have none.
    expect(R, v_now, "a/token token sent, verifier has long-term credentials",
           presigned(ct, "get_object", {"Bucket": BUCKET, "Key": key}), {"InvalidToken"})


def write_credentials(profile_text: str) -> tuple[str, str]:
    """A temporary home folder holding .aws/credentials; returns (home, credentials file)."""
    home = temp_dir("hoist-interop-profile-")
    os.makedirs(os.path.join(home, ".aws"))
    path = os.path.join(home, ".aws", "credentials")
    with open(path, "w") as f:
        f.write(profile_text)
    return home, path


def _a_profile(R: Results) -> None:
    home, path = write_credentials(
        f"[default]\naws_access_key_id = AKIADEFAULTDEFAULT00\naws_secret_access_key = nope\n\n"
        f"[interop]\naws_access_key_id = {AK}\naws_secret_access_key = {SK}\n")
    c = s3_client()
    for label, env in (("~/.aws/credentials with ~ = $HOME", clean_env(HOME=home)),
                       ("AWS_SHARED_CREDENTIALS_FILE", clean_env(AWS_SHARED_CREDENTIALS_FILE=path))):
        v = Verifier(["--profile", "interop", "--region", REGION], env)
        try:
            expect(R, v, f"a/profile verify --profile accepts ({label})",
                   presigned(c, "get_object", {"Bucket": BUCKET, "Key": "a"}), OK, auth="query")
            expect(R, v, f"a/profile verify --profile rejects a bad signature ({label})",
                   t_signature(presigned(c, "get_object", {"Bucket": BUCKET, "Key": "a"})), SIG)
        finally:
            v.close()


# Part (a) in sections, each with the verifiers it uses.
PART_A = [
    ("header_client", _a_header_client, ("now",)),
    ("header_direct", _a_header_direct, ("now", "t0")),
    ("query_client", _a_query_client, ("now", "t0")),
    ("query_direct", _a_query_direct, ("now",)),
    ("post", _a_post, ("now", "t0")),
    ("session_tokens", _a_session_tokens, ("now", "tok")),
    ("profile", _a_profile, ()),
]


@pytest.mark.parametrize("section, uses", [(f, u) for _, f, u in PART_A], ids=[name for name, _, _ in PART_A])
def test_a_botocore_signs_hoist_verifies(checks, verifiers, section, uses):
    section(checks, *(verifiers[name] for name in uses))


# --------------------------------------------------------------------------------------------
# (b) hoist presigns, botocore recomputes
# --------------------------------------------------------------------------------------------

@dataclass
class PresignCase:
    method: str
    key: str
    bucket: str = BUCKET
    endpoint: str | None = ENDPOINT
    addressing: str | None = None
    region: str | None = REGION          # --region; None: not given
    env_region: dict = field(default_factory=dict)  # AWS_REGION / AWS_DEFAULT_REGION
    expires: int | None = 900            # --expires; None: not given (900)
    headers: list = field(default_factory=list)      # -H "Name: value"
    content_type: str | None = None
    content_length: int | None = None
    checksum: str | None = None
    if_none_match: str | None = None
    query: list = field(default_factory=list)        # --query name=value
    date: str = "20130524T000000Z"
    token: str | None = None
    ak: str = AK
    sk: str = SK
    service_flag: bool = False
    header_flag: str = "-H"

    def args(self) -> list[str]:
        a = ["presign", self.method, self.bucket, self.key, "--date", self.date]
        if self.endpoint:
            a += ["--endpoint", self.endpoint]
        if self.addressing:
            a += ["--addressing", self.addressing]
        if self.region:
            a += ["--region", self.region]
        if self.service_flag:
            a += ["--service", "s3"]
        if self.expires is not None:
            a += ["--expires", str(self.expires)]
        for name, value in self.headers:
            a += [self.header_flag, f"{name}: {value}"]
        if self.content_type is not None:
            a += ["--content-type", self.content_type]
        if self.content_length is not None:
            a += ["--content-length", str(self.content_length)]
        if self.checksum is not None:
            a += ["--checksum-sha256", self.checksum]
        if self.if_none_match is not None:
            a += ["--if-none-match", self.if_none_match]
        for name, value in self.query:
            a += ["--query", f"{name}={value}"]
        return a

    def env(self) -> dict:
        extra = {"AWS_ACCESS_KEY_ID": self.ak, "AWS_SECRET_ACCESS_KEY": self.sk}
        if self.token:
            extra["AWS_SESSION_TOKEN"] = self.token
        extra.update(self.env_region)
        return clean_env(**extra)

    def effective_region(self) -> str:
        return (self.region or self.env_region.get("AWS_REGION") or self.env_region.get("AWS_DEFAULT_REGION")
                or "us-east-1")

    def signed_headers(self) -> list[tuple[str, str]]:
        h = list(self.headers)
        if self.content_type is not None:
            h.append(("Content-Type", self.content_type))
        if self.content_length is not None:
            h.append(("Content-Length", str(self.content_length)))
        if self.checksum is not None:
            h.append(("x-amz-checksum-sha256", self.checksum))
        if self.if_none_match is not None:
            h.append(("If-None-Match", self.if_none_match))
        return h

    def signing_time(self) -> dt.datetime:
        d = self.date
        if "-" in d:
            return dt.datetime.fromisoformat(d.replace("Z", "+00:00")).astimezone(dt.timezone.utc).replace(tzinfo=None)
        return dt.datetime.strptime(d, "%Y%m%dT%H%M%SZ")

    def describe(self) -> str:
        return "hoist " + " ".join(_shell_quote(a) for a in self.args())


def _shell_quote(s: str) -> str:
    if s and all(c.isalnum() or c in "-_./:=@%+," for c in s):
        return s
    return "'" + s.replace("'", "'\\''") + "'"


def _strip_default_port(scheme: str, netloc: str) -> str:
    if scheme == "http" and netloc.endswith(":80"):
        return netloc[:-3]
    if scheme == "https" and netloc.endswith(":443"):
        return netloc[:-4]
    return netloc


def botocore_reference(case: PresignCase, hoist_netloc: str | None) -> tuple[str, dict, list[str]]:
    """(url, {'cr','sts'}, notes) as botocore's S3SigV4QueryAuth signs the same inputs."""
    notes: list[str] = []
    region = case.effective_region()
    quoted = urllib.parse.quote(case.key, safe="/~")
    if case.endpoint:
        ep = urllib.parse.urlsplit(case.endpoint)
        addressing = case.addressing or "path"
        scheme, netloc = ep.scheme, ep.netloc
        if addressing == "virtual":
            netloc = f"{case.bucket}.{netloc}"
    else:
        addressing = case.addressing or "virtual"
        scheme = "https"
        if addressing == "virtual":
            allowed = [f"{case.bucket}.s3.{region}.amazonaws.com"]
            if region == "us-east-1":
                allowed.append(f"{case.bucket}.s3.amazonaws.com")
        else:
            allowed = [f"s3.{region}.amazonaws.com"] + (["s3.amazonaws.com"] if region == "us-east-1" else [])
        netloc = hoist_netloc if hoist_netloc in allowed else allowed[0]
        if hoist_netloc not in allowed:
            notes.append(f"host {hoist_netloc!r} is not one of AWS's {allowed}")
    path = f"/{quoted}" if addressing == "virtual" else f"/{case.bucket}/{quoted}"
    req = AWSRequest(method=case.method, url=f"{scheme}://{netloc}{path}", params=dict(case.query))
    for name, value in case.signed_headers():
        req.headers[name] = value
    auth = botocore.auth.S3SigV4QueryAuth(creds(case.ak, case.sk, case.token), "s3", region,
                                          expires=case.expires if case.expires is not None else 900)
    seen: dict = {}
    cr_fn, sts_fn = auth.canonical_request, auth.string_to_sign

    def cr(request):
        seen["cr"] = cr_fn(request)
        return seen["cr"]

    def sts(request, canonical_request):
        seen["sts"] = sts_fn(request, canonical_request)
        return seen["sts"]

    auth.canonical_request = cr
    auth.string_to_sign = sts
    with frozen_botocore_clock(case.signing_time()):
        auth.add_auth(req)
    return req.url, seen, notes


def _parse_time(text: str) -> dt.datetime | None:
    try:
        if "-" in text:
            return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.timezone.utc).replace(
                tzinfo=None, microsecond=0)
        return dt.datetime.strptime(text, "%Y%m%dT%H%M%SZ")
    except (ValueError, TypeError):
        return None


class VerifierPool:
    """`hoist verify --now` processes, one per (region, token, now)."""

    def __init__(self):
        self.procs: dict = {}

    def get(self, region: str, token: str | None, now: dt.datetime) -> Verifier:
        k = (region, token, now)
        if k not in self.procs:
            extra = {"AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK}
            if token:
                extra["AWS_SESSION_TOKEN"] = token
            self.procs[k] = Verifier(["--region", region, "--now", amz_date(now)], clean_env(**extra))
        return self.procs[k]

    def close(self):
        for v in self.procs.values():
            v.close()


def run_presign_case(R: Results, pool: VerifierPool, name: str, case: PresignCase, plain_too: bool = False) -> None:
    proc = run_hoist(case.args() + ["--json"], case.env())
    cmd = case.describe() + " --json"
    if proc.returncode != 0:
        R.check(name, False, f"command: {cmd}\nexit {proc.returncode}\nstderr: {proc.stderr.strip()[:1500]}")
        return
    try:
        out = json.loads(proc.stdout)
        hurl = out["url"]
    except (ValueError, KeyError, TypeError) as exc:
        R.check(name, False, f"command: {cmd}\n--json output unusable ({exc}): {proc.stdout[:1500]!r}")
        return
    hp = urllib.parse.urlsplit(hurl)
    ref_url, seen, notes = botocore_reference(case, hp.netloc)
    bp = urllib.parse.urlsplit(ref_url)
    problems = list(notes)
    if hp.scheme != bp.scheme or _strip_default_port(hp.scheme, hp.netloc) != _strip_default_port(bp.scheme, bp.netloc):
        problems.append(f"origin differs: hoist {hp.scheme}://{hp.netloc}  botocore {bp.scheme}://{bp.netloc}")
    if hp.path != bp.path:
        problems.append(f"path differs:\n  hoist    {hp.path}\n  botocore {bp.path}")
    hq, bq = sorted(_query_pairs(hurl)), sorted(_query_pairs(ref_url))
    if hq != bq:
        decoded = lambda pairs: sorted((urllib.parse.unquote(k), urllib.parse.unquote(v)) for k, v in pairs)  # noqa: E731
        kind = "encoding of the query differs" if decoded(hq) == decoded(bq) else "query differs"
        problems.append(f"{kind}:\n  hoist    {'&'.join(k + '=' + v for k, v in hq)}\n"
                        f"  botocore {'&'.join(k + '=' + v for k, v in bq)}")
    hsig = dict(_query_pairs(hurl)).get("X-Amz-Signature")
    bsig = dict(_query_pairs(ref_url)).get("X-Amz-Signature")
    if hsig != bsig:
        problems.append(f"signature differs: hoist {hsig}  botocore {bsig}")
    if out.get("signature") != hsig:
        problems.append(f"--json signature {out.get('signature')!r} is not the URL's {hsig!r}")
    if out.get("canonicalRequest") != seen.get("cr"):
        problems.append(f"canonical request differs:\n--- hoist\n{out.get('canonicalRequest')}\n--- botocore\n{seen.get('cr')}")
    if out.get("stringToSign") != seen.get("sts"):
        problems.append(f"string to sign differs:\n--- hoist\n{out.get('stringToSign')}\n--- botocore\n{seen.get('sts')}")
    if out.get("method") != case.method:
        problems.append(f"--json method {out.get('method')!r}")
    want_headers = {}
    for hname, hval in case.signed_headers():
        lname = hname.lower()
        want_headers[lname] = (want_headers[lname] + "," + hval) if lname in want_headers else hval
    got_headers = {str(k).lower(): v for k, v in (out.get("headers") or {}).items() if str(k).lower() != "host"}
    norm = lambda d: {k: " ".join(str(v).split()) for k, v in d.items()}  # noqa: E731
    if norm(got_headers) != norm(want_headers):
        problems.append(f"--json headers {out.get('headers')!r}, expected {want_headers!r}")
    expires = case.expires if case.expires is not None else 900
    want_exp = case.signing_time() + dt.timedelta(seconds=expires)
    if _parse_time(str(out.get("expiresAt"))) != want_exp:
        problems.append(f"--json expiresAt {out.get('expiresAt')!r}, expected {want_exp.isoformat()}Z")
    if plain_too:
        plain = run_hoist(case.args(), case.env())
        lines = plain.stdout.splitlines()
        if plain.returncode != 0 or len(lines) != 1 or lines[0] != hurl:
            problems.append(f"plain output (exit {plain.returncode}) is not the one --json URL line: {plain.stdout[:600]!r}"
                            f" stderr {plain.stderr[:300]!r}")
    R.check(name, not problems, f"command: {cmd}\nhoist url:    {hurl}\nbotocore url: {ref_url}\n" + "\n".join(problems))
    # And hoist's own verifier accepts what hoist's signer made (at the signing time itself).
    if not problems:
        v = pool.get(case.effective_region(), case.token, case.signing_time())
        send = [[k, str(val)] for k, val in (out.get("headers") or {}).items()]
        expect(R, v, f"{name} / hoist verify accepts it", {"method": case.method, "url": hurl, "headers": send},
               OK, auth="query")


def test_b_hoist_presigns_botocore_agrees(checks):
    pool = VerifierPool()
    try:
        _part_b(checks, pool)
    finally:
        pool.close()


def _part_b(R: Results, pool: VerifierPool) -> None:
    digest = base64.b64encode(hashlib.sha256(b"hoist interop").digest()).decode()
    methods = ["PUT", "GET", "HEAD", "DELETE"]
    expiries = [1, 60, 900, 3600, 86400, 604800, None]
    header_sets = [
        dict(),
        dict(content_type="image/png"),
        dict(content_type="image/jpeg", content_length=123456, if_none_match="*"),
        dict(content_type="image/webp", content_length=42, checksum=digest, if_none_match="*"),
        dict(headers=[("x-amz-meta-owner", "alice"), ("Cache-Control", "max-age=60")]),
        dict(headers=[("X-Amz-Meta-Note", "  several   spaces  ")], content_type="image/gif"),
        dict(headers=[("Content-Disposition", 'attachment; filename="a b+c.png"')]),
        dict(headers=[("x-amz-acl", "private"), ("x-amz-storage-class", "STANDARD")]),
    ]
    query_sets = [[], [("versionId", "3/L4kqtJl40Nr8X8gdRQBpUMLUo")],
                  [("response-content-disposition", 'attachment; filename="my photo+1.jpg"')],
                  [("response-content-type", "image/png"), ("response-cache-control", "no-cache")]]
    dates = ["20130524T000000Z", "2013-05-24T00:00:00Z", "20261129T235959Z", "20240229T120000Z"]
    tokens = [None, TOKEN]
    # Every awkward key, with the options rotating so each appears with many keys.
    for i, key in enumerate(AWKWARD_KEYS):
        for j in range(2):
            n = 2 * i + j
            method = methods[n % len(methods)]
            hs = header_sets[n % len(header_sets)] if method in ("PUT", "POST") else (
                header_sets[4] if n % 5 == 0 else {})
            case = PresignCase(method=method, key=key, expires=expiries[n % len(expiries)],
                               query=query_sets[n % len(query_sets)] if method != "PUT" else [],
                               date=dates[n % len(dates)], token=tokens[n % 2], **hs)
            run_presign_case(R, pool, f"b/presign #{n} {method} {key!r}", case, plain_too=(n % 3 == 0))
    # Each header set with the DESIGN's upload key.
    for k, hs in enumerate(header_sets):
        case = PresignCase(method="PUT", key="articles/3f1c/raw/0b1c2d3e.png", **hs)
        run_presign_case(R, pool, f"b/presign PUT header set {k}", case)
        case = PresignCase(method="PUT", key="articles/3f1c/raw/0b1c2d3e.png", token=TOKEN, **hs)
        run_presign_case(R, pool, f"b/presign PUT header set {k} + session token", case)
    for e in expiries:
        run_presign_case(R, pool, f"b/presign --expires {e}", PresignCase(method="GET", key="photo.jpg", expires=e))
    for d in dates:
        run_presign_case(R, pool, f"b/presign --date {d}", PresignCase(method="GET", key="photo.jpg", date=d),
                         plain_too=True)
    for qs in query_sets[1:] + [[("partNumber", "3"), ("uploadId", "2~iCw_lDY8VoLtFG6cEQ")], [("uploads", "")]]:
        method = "POST" if qs == [("uploads", "")] else ("PUT" if qs and qs[0][0] == "partNumber" else "GET")
        run_presign_case(R, pool, f"b/presign --query {qs}", PresignCase(method=method, key="a b+c.png", query=qs))
    endpoints = [
        ("path, 127.0.0.1:9000", dict(endpoint="http://127.0.0.1:9000")),
        ("path, localhost:7480", dict(endpoint="http://localhost:7480")),
        ("path, https default port", dict(endpoint="https://s3.example.com:443")),
        ("path, http default port", dict(endpoint="http://127.0.0.1:80")),
        ("virtual, regional AWS endpoint", dict(endpoint="https://s3.eu-west-1.amazonaws.com", addressing="virtual",
                                                region="eu-west-1")),
        ("path, regional AWS endpoint", dict(endpoint="https://s3.eu-west-1.amazonaws.com", addressing="path",
                                             region="eu-west-1")),
        ("AWS default, us-east-1", dict(endpoint=None)),
        ("AWS default, ap-southeast-2", dict(endpoint=None, region="ap-southeast-2")),
        ("AWS default, path addressing", dict(endpoint=None, addressing="path", region="eu-central-1")),
        ("region from AWS_REGION", dict(region=None, env_region={"AWS_REGION": "eu-west-3"})),
        ("region from AWS_DEFAULT_REGION", dict(region=None, env_region={"AWS_DEFAULT_REGION": "sa-east-1"})),
        ("AWS_REGION wins over AWS_DEFAULT_REGION", dict(region=None, env_region={
            "AWS_REGION": "ca-central-1", "AWS_DEFAULT_REGION": "sa-east-1"})),
        ("--region wins over AWS_REGION", dict(region="us-west-2", env_region={"AWS_REGION": "eu-west-3"})),
        ("region defaults to us-east-1", dict(region=None)),
        ("--service s3 and --header", dict(service_flag=True, header_flag="--header",
                                           headers=[("x-amz-meta-a", "b")])),
    ]
    for label, opts in endpoints:
        for key in ("photos/my photo+1.jpg", "emoji 😀 🎉.png"):
            case = PresignCase(method="PUT", key=key, content_type="image/png", **opts)
            run_presign_case(R, pool, f"b/presign {label} {key!r}", case)
    # The S3 API Reference's pre-signed GET example (published signature).
    aws_doc = PresignCase(method="GET", key="test.txt", bucket="examplebucket", endpoint=None, expires=86400,
                          date="20130524T000000Z")
    proc = run_hoist(aws_doc.args(), aws_doc.env())
    sig = dict(_query_pairs(proc.stdout.strip())).get("X-Amz-Signature")
    host = urllib.parse.urlsplit(proc.stdout.strip()).netloc
    if host == "examplebucket.s3.amazonaws.com":
        R.check("b/presign S3 docs example signature", sig == "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
                f"command: {aws_doc.describe()}\nstdout: {proc.stdout!r}\nstderr: {proc.stderr[:500]!r}")
    else:
        R.info(f"hoist's default us-east-1 host is {host!r}, not the S3 docs' examplebucket.s3.amazonaws.com; "
               "the published example signature is not comparable (botocore comparison still applies)")
        run_presign_case(R, pool, "b/presign S3 docs example inputs", aws_doc)
    # Same inputs, same output: --date in both spellings.
    a = run_hoist(PresignCase(method="GET", key="x y", date="20130524T000000Z").args(), PresignCase("GET", "x").env())
    b = run_hoist(PresignCase(method="GET", key="x y", date="2013-05-24T00:00:00Z").args(), PresignCase("GET", "x").env())
    R.check("b/presign --date compact and ISO 8601 give the same URL", a.returncode == 0 and a.stdout == b.stdout,
            f"compact: {a.stdout!r} {a.stderr[:300]!r}\niso: {b.stdout!r} {b.stderr[:300]!r}")
    # A shared credentials file profile with a session token.
    home, path = write_credentials(
        f"[interop]\naws_access_key_id = {AK}\naws_secret_access_key = {SK}\naws_session_token = {TOKEN}\n")
    prof = PresignCase(method="PUT", key="photos/my photo+1.jpg", content_type="image/png", token=TOKEN)
    ref_url, _, _ = botocore_reference(prof, None)
    for label, env, shown in (("~/.aws/credentials with ~ = $HOME", clean_env(HOME=home), f"HOME={home}"),
                              ("AWS_SHARED_CREDENTIALS_FILE", clean_env(AWS_SHARED_CREDENTIALS_FILE=path),
                               f"AWS_SHARED_CREDENTIALS_FILE={path}")):
        proc = run_hoist(prof.args() + ["--profile", "interop"], env)
        got_q, ref_q = sorted(_query_pairs(proc.stdout.strip())), sorted(_query_pairs(ref_url))
        R.check(f"b/presign --profile, session token in the file ({label})", proc.returncode == 0 and got_q == ref_q,
                f"command: {shown} {prof.describe()} --profile interop\nhoist:    {proc.stdout.strip()}\n"
                f"botocore: {ref_url}\nstderr: {proc.stderr[:500]!r}")
    # boto3's own high-level generate_presigned_url, frozen at the same time, signs the same thing.
    for key in AWKWARD_KEYS[:12]:
        for method, op, params, hs in (
                ("PUT", "put_object", {"ContentType": "image/png"}, dict(content_type="image/png")),
                ("GET", "get_object", {}, {})):
            case = PresignCase(method=method, key=key, expires=600, date="20261129T120000Z", **hs)
            proc = run_hoist(case.args(), case.env())
            with frozen_botocore_clock(case.signing_time()):
                boto_url = s3_client().generate_presigned_url(op, Params={"Bucket": BUCKET, "Key": key, **params},
                                                              ExpiresIn=600)
            h_sig = dict(_query_pairs(proc.stdout.strip())).get("X-Amz-Signature")
            b_sig = dict(_query_pairs(boto_url)).get("X-Amz-Signature")
            same_path = urllib.parse.urlsplit(proc.stdout.strip()).path == urllib.parse.urlsplit(boto_url).path
            R.check(f"b/presign equals boto3 generate_presigned_url {method} {key!r}",
                    proc.returncode == 0 and h_sig == b_sig and same_path,
                    f"command: {case.describe()}\nhoist: {proc.stdout.strip()}\nboto3: {boto_url}\n"
                    f"stderr: {proc.stderr[:500]!r}")
    # Out-of-range or malformed input must fail (non-zero exit, nothing on stdout).
    bad = [
        ("--expires 0", ["--expires", "0"]),
        ("--expires 604801", ["--expires", "604801"]),
        ("--expires -5", ["--expires=-5"]),
        ("--addressing sideways", ["--addressing", "sideways"]),
        ("--date not-a-date", ["--date", "yesterday"]),
        ("-H without colon", ["-H", "X-Amz-Meta-Broken"]),
    ]
    for label, extra in bad:
        args = ["presign", "PUT", BUCKET, "k", "--endpoint", ENDPOINT] + extra
        if "--date" not in extra:
            args += ["--date", "20130524T000000Z"]
        proc = run_hoist(args, PresignCase("PUT", "k").env())
        R.check(f"b/presign refuses {label}", proc.returncode != 0 and "X-Amz-Signature" not in proc.stdout,
                f"command: hoist {' '.join(_shell_quote(a) for a in args)}\nexit {proc.returncode}\n"
                f"stdout {proc.stdout[:300]!r}\nstderr {proc.stderr[:300]!r}")
    proc = run_hoist(["presign", "GET", BUCKET, "k", "--endpoint", ENDPOINT], clean_env())
    R.check("b/presign refuses to sign without credentials", proc.returncode != 0 and "X-Amz-Signature" not in proc.stdout,
            f"exit {proc.returncode}\nstdout {proc.stdout[:300]!r}\nstderr {proc.stderr[:300]!r}")
