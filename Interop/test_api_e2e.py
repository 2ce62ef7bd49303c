"""The upload API end to end over real HTTP, and its attack and bad-input table.

Starts `hoist serve` ($HOIST_BIN) with a temporary data folder on free ports of 127.0.0.1, then:

1. the flow: `hoist token` → POST /upload-url → PUT of a real JPEG to the embedded store with exactly
   the returned headers → the object is there with the right type, size and SHA-256 (boto3 with the
   store's own credentials) → GET /articles/{id}/uploads → GET /download-url works for the owner
   (and the URL returns the bytes) and is 403 for another user;
2. tokens: none, malformed, expired, not yet valid, wrong issuer, wrong audience, `alg: none`,
   HS256 signed with the public key, RS512/ES256 headers on the RS256 key, unknown `kid`, a forged
   or stripped signature — each refused with 401, its error code and `WWW-Authenticate: Bearer`.
   Claim attacks are signed with the dev issuer's own key (read from the data folder), so only the
   claim under test is wrong. (Cognito's `token_use` is checked only with HOIST_AUTH=cognito, whose
   JWKS lives at AWS: that row is covered by Tests/AuthTests, not here.);
3. bad input: another user's article, non-UUID articleIds, disallowed types, bad sizes, malformed
   and oversized JSON — each with its status and error code;
4. bad PUTs the store must refuse: another length, type or checksum than was signed, missing signed
   headers, a tampered signature or key, a second PUT to the same URL (If-None-Match: *), and an
   expired URL (a second `hoist serve` with HOIST_URL_EXPIRY=1);
5. rate limit (a third `hoist serve` with HOIST_RATE_BURST=3): the 4th request is 429 with Retry-After;
6. /metrics: the upload-url counters equal this module's own tally of what it got;
7. `hoist api` with HOIST_AUTH=oidc, verifying the first server's dev tokens through its JWKS URL
   and signing for its embedded store; and a JWKS URL nobody answers (503 jwks_unavailable).

Every server is started by the suite's fixtures (conftest.py) and stopped by them.
Env: HOIST_BIN (default .build/debug/hoist), INTEROP_VERBOSE=1 (with -s) to print passing checks too.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
import uuid

import pytest

from api_common import (  # noqa: E402
    ISO8601_RE,
    UUID_RE,
    APIClient,
    HoistServerProcess,
    b64url,
    b64url_json,
    describe,
    dev_claims,
    error_of,
    get_url,
    hs256_jwt,
    load_private_key,
    make_jwt,
    new_rsa_key,
    parse_metrics,
    put_twice,
    put_url,
    rs256_jwt,
    rsa_jwk_thumbprint,
    sign_rs,
    signed_headers_of,
    tiny_jpeg,
    try_bad_puts,
)
from interop_common import Results, flip_one, tally  # noqa: E402
from store_common import raw_request, s3_error  # noqa: E402

BUCKET = "article-images"
MAX_SIZE = 1 << 20  # HOIST_MAX_SIZE of the main server: keeps the over-the-limit PUT small
STORE_CODES: dict[str, str] = {}  # row -> what the store answered, printed at the end


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


class Ctx:
    def __init__(self, srv: HoistServerProcess):
        self.srv = srv
        self.api = APIClient(srv.api)
        self.alice = srv.token("alice")
        self.bob = srv.token("bob")
        self.access_key, self.secret_key = srv.store_credentials()
        self.s3 = self._s3()
        self.issuer = srv.api
        self.alice_article: str | None = None

    def _s3(self):
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3", endpoint_url=self.srv.store, region_name="us-east-1",
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"},
                          retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=60))

    def head(self, key: str, checksum: bool = False) -> dict | None:
        """HeadObject (None when the object is absent)."""
        from botocore.exceptions import ClientError

        try:
            kwargs = {"ChecksumMode": "ENABLED"} if checksum else {}
            return self.s3.head_object(Bucket=BUCKET, Key=key, **kwargs)
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise


# --- helpers -----------------------------------------------------------------------------------------

def expect_error(R: Results, name: str, resp, status: int, code: str, bearer: bool = False) -> bool:
    got_code, message = error_of(resp)
    problems = []
    if resp.status_code != status:
        problems.append(f"status {resp.status_code}, expected {status}")
    if got_code != code:
        problems.append(f"error code {got_code!r}, expected {code!r}")
    if not (resp.headers.get("Content-Type", "").startswith("application/json")):
        problems.append(f"Content-Type {resp.headers.get('Content-Type')!r}, expected application/json")
    if code and not message:
        problems.append("no error message")
    if bearer and not resp.headers.get("WWW-Authenticate", "").startswith("Bearer"):
        problems.append(f"WWW-Authenticate {resp.headers.get('WWW-Authenticate')!r}, expected Bearer …")
    return R.check(f"{name} -> {status} {code}", not problems, "; ".join(problems) + "\n" + describe(resp))


def expect_ok(R: Results, name: str, resp) -> dict | None:
    body = None
    try:
        body = resp.json()
    except ValueError:
        pass
    ok = resp.status_code == 200 and isinstance(body, dict)
    R.check(f"{name} -> 200", ok, describe(resp))
    return body if ok else None


def issue(R: Results, ctx: Ctx, name: str, token: str, body: dict | None) -> dict | None:
    return expect_ok(R, name, ctx.api.upload_url(token, body))


def store_refuses(R: Results, ctx: Ctx, name: str, resp, key: str, status: int, codes: tuple[str, ...]) -> None:
    """The store's answer to a bad PUT: STATUS with one of CODES, and no object under KEY."""
    err = s3_error(resp.body) or {}
    code = err.get("Code")
    STORE_CODES[name] = f"{resp.status} {code}"
    R.check(f"store refuses {name} -> {status} {'/'.join(codes)}", resp.status == status and code in codes,
            resp.describe())
    R.check(f"store refuses {name}: no object written", ctx.head(key) is None, f"key {key}")


# --- 1. the flow -------------------------------------------------------------------------------------

def flow(R: Results, ctx: Ctx) -> None:
    srv, api = ctx.srv, ctx.api
    resp = api.get("/healthz")
    R.check("GET /healthz -> 200", resp.status_code == 200, describe(resp))
    resp = api.get("/policy")
    policy = expect_ok(R, "GET /policy", resp) or {}
    R.check("policy: maximumSize is HOIST_MAX_SIZE", policy.get("maximumSize") == MAX_SIZE, str(policy))
    R.check("policy: the default types", sorted(policy.get("allowedTypes", [])) ==
            ["image/avif", "image/gif", "image/heic", "image/heif", "image/jpeg", "image/png", "image/webp"], str(policy))
    disco = expect_ok(R, "GET /.well-known/openid-configuration", api.get("/.well-known/openid-configuration")) or {}
    R.check("discovery: issuer is the API's URL", disco.get("issuer") == srv.api, str(disco))
    R.check("discovery: jwks_uri", disco.get("jwks_uri") == srv.api + "/.well-known/jwks.json", str(disco))
    resp = api.get("/openapi.yaml")
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Sources", "HoistServer", "openapi.yaml"),
              "rb") as f:
        document = f.read()
    R.check("GET /openapi.yaml serves Sources/HoistServer/openapi.yaml (application/yaml)",
            resp.status_code == 200 and resp.content == document
            and resp.headers.get("Content-Type", "").startswith("application/yaml"), describe(resp, 200))
    R.check("hoist serve printed a dev token", bool(srv.dev_token), srv.log_tail())
    if srv.dev_token:
        expect_ok(R, "POST /upload-url with the printed dev token",
                  api.upload_url(srv.dev_token, {"contentType": "image/png", "size": 10}))

    jpeg = tiny_jpeg(64, 48, seed=1)
    digest = sha256_b64(jpeg)
    body = issue(R, ctx, "POST /upload-url (alice, JPEG with size and checksum)", ctx.alice,
                 {"contentType": "image/jpeg", "size": len(jpeg), "checksumSHA256": digest})
    if not body:
        return
    article, key, url = body.get("articleId", ""), body.get("key", ""), body.get("uploadUrl", "")
    ctx.alice_article = article
    R.check("response: articleId is a lower-case UUID", bool(UUID_RE.match(article)), str(body))
    R.check("response: key is articles/<articleId>/raw/<uuid>.jpg",
            re.fullmatch(rf"articles/{re.escape(article)}/raw/[0-9a-f-]{{36}}\.jpg", key) is not None
            and UUID_RE.match(key.split("/")[-1][:-4]) is not None, key)
    R.check("response: uploadUrl is the store's path-style URL of the key",
            url.startswith(f"{srv.store}/{BUCKET}/{key}?"), url)
    R.check("response: expiresIn 900", body.get("expiresIn") == 900, str(body))
    expires_at = body.get("expiresAt", "")
    ok_at = bool(ISO8601_RE.match(expires_at))
    if ok_at:
        import datetime as dt
        t = dt.datetime.fromisoformat(expires_at.replace("Z", "+00:00")).timestamp()
        ok_at = abs(t - (time.time() + 900)) < 120
    R.check("response: expiresAt is ISO 8601, about now + 900 s", ok_at, expires_at)
    R.check("response: method PUT", body.get("method") == "PUT", str(body))
    want = {"Content-Type": "image/jpeg", "Content-Length": str(len(jpeg)), "If-None-Match": "*",
            "x-amz-checksum-sha256": digest}
    R.check("response: headers are exactly type, length, If-None-Match and checksum",
            body.get("headers") == want, f"got {body.get('headers')}\nwant {want}")
    R.check("uploadUrl signs content-length, content-type, host, if-none-match, x-amz-checksum-sha256",
            signed_headers_of(url) == ["content-length", "content-type", "host", "if-none-match",
                                       "x-amz-checksum-sha256"], str(signed_headers_of(url)))
    R.check("uploadUrl: X-Amz-Expires=900", "X-Amz-Expires=900&" in url or url.endswith("X-Amz-Expires=900"), url)

    # The PUT, with requests and exactly the returned headers.
    put = api.session.put(url, data=jpeg, headers=body["headers"], timeout=30)
    R.check("PUT of the JPEG with the returned headers -> 200", put.status_code == 200,
            f"HTTP {put.status_code} {put.content[:500]!r}")
    R.check("PUT: ETag is the MD5", put.headers.get("ETag", "").strip('"') == hashlib.md5(jpeg).hexdigest(),
            str(put.headers))
    head = ctx.head(key, checksum=True)
    R.check("HEAD (boto3): the object is there", head is not None, key)
    if head:
        R.check("HEAD: Content-Type image/jpeg", head.get("ContentType") == "image/jpeg", str(head.get("ContentType")))
        R.check("HEAD: Content-Length is the JPEG's", head.get("ContentLength") == len(jpeg), str(head.get("ContentLength")))
        R.check("HEAD: ChecksumSHA256 is the JPEG's", head.get("ChecksumSHA256") == digest,
                f"{head.get('ChecksumSHA256')!r} vs {digest!r}")
    got = ctx.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
    R.check("GET (boto3): SHA-256 of the stored bytes is the JPEG's",
            hashlib.sha256(got).digest() == hashlib.sha256(jpeg).digest(), f"{len(got)} bytes")
    R.check("the stored object is a JPEG (SOI … EOI)", got[:3] == b"\xff\xd8\xff" and got[-2:] == b"\xff\xd9")

    # Another upload to the same article (upper-case id is accepted and lower-cased).
    second = issue(R, ctx, "POST /upload-url (alice, her own article, upper-case UUID)", ctx.alice,
                   {"contentType": "image/png", "size": 123, "articleId": article.upper()})
    if second:
        R.check("the same article, lower-cased", second.get("articleId") == article, str(second))
        R.check("key gets the .png extension", second.get("key", "").endswith(".png"), str(second))

    # The article's uploads (the worker moves the uploaded one past `pending` within moments).
    deadline = time.monotonic() + 15
    while True:
        resp = api.get(f"/articles/{article}/uploads", ctx.alice)
        statuses = {u.get("key"): u.get("status") for u in (resp.json().get("uploads", []) if resp.status_code == 200 else [])}
        if statuses.get(key, "pending") != "pending" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    listing = expect_ok(R, "GET /articles/{id}/uploads (owner)", resp) or {}
    items = {u.get("key"): u for u in listing.get("uploads", []) if isinstance(u, dict)}
    item = items.get(key, {})
    R.check("uploads: lists both uploads", len(items) == 2 and key in items, str(listing))
    R.check("uploads: key, type, declared size, issuedAt; the uploaded one is past pending (the worker saw it)",
            item.get("contentType") == "image/jpeg" and item.get("size") == len(jpeg)
            and item.get("status") in ("uploaded", "verified", "processed")
            and bool(ISO8601_RE.match(str(item.get("issuedAt", "")))), str(item))
    if second:
        R.check("uploads: the URL never used is still pending", items.get(second.get("key"), {}).get("status") == "pending",
                str(items.get(second.get("key"))))
    expect_error(R, "GET /articles/{id}/uploads as another user", api.get(f"/articles/{article}/uploads", ctx.bob),
                 403, "forbidden")
    expect_error(R, "GET /articles/{unknown}/uploads", api.get(f"/articles/{uuid.uuid4()}/uploads", ctx.alice),
                 404, "not_found")
    expect_error(R, "GET /articles/not-a-uuid/uploads", api.get("/articles/not-a-uuid/uploads", ctx.alice),
                 400, "invalid_request")
    expect_error(R, "GET /articles/{id}/uploads without a token", api.get(f"/articles/{article}/uploads"),
                 401, "missing_token", bearer=True)

    # Download URLs.
    resp = api.get("/download-url", ctx.alice, params={"key": key})
    dl = expect_ok(R, "GET /download-url (owner)", resp) or {}
    R.check("download-url: key and expiresIn 300", dl.get("key") == key and dl.get("expiresIn") == 300, str(dl))
    if dl.get("downloadUrl"):
        got = get_url(dl["downloadUrl"])
        R.check("the download URL returns the bytes", got.status == 200 and got.body == jpeg, got.describe(200))
        R.check("the download URL: Content-Type image/jpeg", got.h("content-type") == "image/jpeg", str(got.headers))
        tampered = dl["downloadUrl"].replace(key, key.replace(".jpg", ".png"))
        got = get_url(tampered)
        R.check("the download URL with another key -> 403 SignatureDoesNotMatch",
                got.status == 403 and (s3_error(got.body) or {}).get("Code") == "SignatureDoesNotMatch", got.describe())
    expect_error(R, "GET /download-url of alice's object as bob", api.get("/download-url", ctx.bob, params={"key": key}),
                 403, "forbidden")
    expect_error(R, "GET /download-url without a token", api.get("/download-url", params={"key": key}),
                 401, "missing_token", bearer=True)
    expect_error(R, "GET /download-url without key", api.get("/download-url", ctx.alice), 400, "invalid_request")
    for label, bad in [("../ escape", f"articles/{article}/../../etc/passwd"),
                       ("another prefix", f"other/{article}/raw/x.jpg"),
                       ("// in the key", f"articles/{article}//x.jpg"),
                       ("not a UUID", "articles/../raw/x.jpg"),
                       ("upper-case article id", f"articles/{article.upper()}/raw/x.jpg")]:
        expect_error(R, f"GET /download-url, key with {label}", api.get("/download-url", ctx.alice, params={"key": bad}),
                     403, "forbidden")


# --- 2. tokens ---------------------------------------------------------------------------------------

def tokens(R: Results, ctx: Ctx) -> None:
    from cryptography.hazmat.primitives import serialization

    api, iss = ctx.api, ctx.issuer
    key = load_private_key(os.path.join(ctx.srv.data_dir, "dev-issuer-key.pem"))
    jwks = api.get("/.well-known/jwks.json").json()
    kid = jwks["keys"][0]["kid"]
    R.check("JWKS: one RS256 key whose kid is its RFC 7638 thumbprint",
            len(jwks["keys"]) == 1 and jwks["keys"][0].get("alg") == "RS256"
            and kid == rsa_jwk_thumbprint(key.public_key()), json.dumps(jwks)[:400])
    now = int(time.time())
    body = {"contentType": "image/png", "size": 100}

    def rs(claims, **kw):
        return rs256_jwt(key, claims, kw.pop("kid", kid), **kw)

    # Controls: a token forged here with the issuer's key is accepted, so a refusal below is the claim's doing.
    expect_ok(R, "control: a token signed here with the dev issuer's key", api.upload_url(rs(dev_claims(iss, "mallory")), body))
    expect_ok(R, "control: exp 30 s ago, inside the 60 s leeway",
              api.upload_url(rs(dev_claims(iss, "mallory", now=now - 3600, ttl=3570)), body))

    pub = key.public_key()
    spki_pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    pkcs1_pem = pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
    spki_der = pub.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    jwk_json = json.dumps(jwks["keys"][0], separators=(",", ":")).encode()
    other = new_rsa_key()
    real = ctx.bob
    h, p, s = real.split(".")
    claims_alice = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    claims_alice["sub"] = "alice"

    cases: list[tuple[str, dict, str]] = [
        ("no Authorization header", {}, "missing_token"),
        ("Authorization: Basic", {"Authorization": "Basic YWxpY2U6c2VjcmV0"}, "malformed_token"),
        ("Authorization: Bearer (no token)", {"Authorization": "Bearer"}, "malformed_token"),
        ("not a JWT", {"Authorization": "Bearer not-a-jwt"}, "malformed_token"),
        ("two parts", {"Authorization": "Bearer " + ".".join(real.split(".")[:2])}, "malformed_token"),
        ("four parts", {"Authorization": "Bearer " + real + ".xyz"}, "malformed_token"),
        ("bad base64url", {"Authorization": "Bearer @@@.###.$$$"}, "malformed_token"),
        ("header is not JSON", {"Authorization": f"Bearer {b64url(b'nope')}.{p}.{s}"}, "malformed_token"),
        ("payload is not JSON", {"Authorization": f"Bearer {h}.{b64url(b'[1,')}.{s}"}, "malformed_token"),
        ("exp is a string", {"Authorization": "Bearer " + rs(dev_claims(iss, "m", exp="tomorrow"))}, "malformed_token"),
        ("no exp", {"Authorization": "Bearer " + rs(dev_claims(iss, "m", exp=None))}, "malformed_token"),
        ("no sub", {"Authorization": "Bearer " + rs(dev_claims(iss, "m", sub=None))}, "malformed_token"),
        ("crit header", {"Authorization": "Bearer " + rs(dev_claims(iss, "m"), extra_header={"crit": ["exp"]})},
         "malformed_token"),
        ("expired (exp an hour ago)",
         {"Authorization": "Bearer " + rs(dev_claims(iss, "m", now=now - 7200, ttl=3600))}, "token_expired"),
        ("not yet valid (nbf in an hour)",
         {"Authorization": "Bearer " + rs(dev_claims(iss, "m", nbf=now + 3600, exp=now + 7200))}, "token_not_yet_valid"),
        ("issued in the future (iat in an hour)",
         {"Authorization": "Bearer " + rs(dev_claims(iss, "m", iat=now + 3600, nbf=None, exp=now + 7200))},
         "token_not_yet_valid"),
        ("wrong issuer", {"Authorization": "Bearer " + rs(dev_claims("http://127.0.0.1:1", "m"))}, "wrong_issuer"),
        ("issuer with a trailing slash", {"Authorization": "Bearer " + rs(dev_claims(iss + "/", "m"))}, "wrong_issuer"),
        ("no issuer", {"Authorization": "Bearer " + rs(dev_claims(iss, "m", iss=None))}, "wrong_issuer"),
        ("wrong audience", {"Authorization": "Bearer " + rs(dev_claims(iss, "m", audience="someone-else"))},
         "wrong_audience"),
        ("audience list without ours",
         {"Authorization": "Bearer " + rs(dev_claims(iss, "m", aud=["a", "b"]))}, "wrong_audience"),
        ("no audience", {"Authorization": "Bearer " + rs(dev_claims(iss, "m", aud=None))}, "wrong_audience"),
        ("alg none with the issuer's kid",
         {"Authorization": "Bearer " + make_jwt({"alg": "none", "kid": kid}, dev_claims(iss, "m"))},
         "algorithm_not_allowed"),
        ("alg None without kid",
         {"Authorization": "Bearer " + make_jwt({"alg": "None"}, dev_claims(iss, "m"))}, "algorithm_not_allowed"),
        ("alg none keeping a real signature",
         {"Authorization": "Bearer " + b64url_json({"alg": "none", "kid": kid}) + f".{p}.{s}"}, "algorithm_not_allowed"),
        ("HS256 keyed with the public key (SPKI PEM)",
         {"Authorization": "Bearer " + hs256_jwt(spki_pem, dev_claims(iss, "m"), kid)}, "algorithm_not_allowed"),
        ("HS256 keyed with the public key (PKCS#1 PEM)",
         {"Authorization": "Bearer " + hs256_jwt(pkcs1_pem, dev_claims(iss, "m"), kid)}, "algorithm_not_allowed"),
        ("HS256 keyed with the public key (DER)",
         {"Authorization": "Bearer " + hs256_jwt(spki_der, dev_claims(iss, "m"), kid)}, "algorithm_not_allowed"),
        ("HS256 keyed with the JWK JSON, no kid",
         {"Authorization": "Bearer " + hs256_jwt(jwk_json, dev_claims(iss, "m"), None)}, "algorithm_not_allowed"),
        ("RS512 signed with the issuer's key",
         {"Authorization": "Bearer " + rs(dev_claims(iss, "m"), alg="RS512", hash_name="SHA512")},
         "algorithm_not_allowed"),
        ("ES256 header on the RSA kid",
         {"Authorization": "Bearer " + make_jwt({"alg": "ES256", "kid": kid}, dev_claims(iss, "m"),
                                                  lambda d: sign_rs(key, d))}, "algorithm_not_allowed"),
        ("unknown kid (another key)",
         {"Authorization": "Bearer " + rs256_jwt(other, dev_claims(iss, "m"), "no-such-key")}, "unknown_key"),
        ("unknown kid, JWKS-style thumbprint of another key",
         {"Authorization": "Bearer " + rs256_jwt(other, dev_claims(iss, "m"), rsa_jwk_thumbprint(other.public_key()))},
         "unknown_key"),
        ("the issuer's kid, signed by another key",
         {"Authorization": "Bearer " + rs256_jwt(other, dev_claims(iss, "m"), kid)}, "invalid_signature"),
        ("bob's signature on sub=alice",
         {"Authorization": f"Bearer {h}.{b64url_json(claims_alice)}.{s}"}, "invalid_signature"),
        ("signature stripped", {"Authorization": f"Bearer {h}.{p}."}, "invalid_signature"),
        ("signature altered (first character)", {"Authorization": f"Bearer {h}.{p}.{flip_one(s, from_end=False)}"},
         "invalid_signature"),
    ]
    for name, headers, code in cases:
        resp = api.upload_url(None, body, headers=headers)
        expect_error(R, f"token: {name}", resp, 401, code, bearer=True)
    R.info("token: wrong Cognito token_use is checked only with HOIST_AUTH=cognito (JWKS at AWS); "
           "covered by Tests/AuthTests/JWKSTokenVerifierTests.swift")


# --- 3. bad input ----------------------------------------------------------------------------------

def inputs(R: Results, ctx: Ctx) -> None:
    api, alice = ctx.api, ctx.alice
    bob_body = issue(R, ctx, "POST /upload-url (bob, new article)", ctx.bob, {"contentType": "image/webp", "size": 500})
    bob_article = (bob_body or {}).get("articleId", str(uuid.uuid4()))
    alice_article = ctx.alice_article or str(uuid.uuid4())
    png = {"contentType": "image/png", "size": 1000}

    rows: list[tuple[str, dict, int, str]] = [
        ("another user's articleId", {**png, "articleId": bob_article}, 403, "forbidden"),
        ("another user's articleId, upper-case", {**png, "articleId": bob_article.upper()}, 403, "forbidden"),
        ("articleId ../x", {**png, "articleId": "../x"}, 400, "invalid_request"),
        ("articleId very long", {**png, "articleId": "a" * 5000}, 400, "invalid_request"),
        ("articleId Unicode", {**png, "articleId": "ärtïclé-文章-😀"}, 400, "invalid_request"),
        ("articleId UUID with full-width digits", {**png, "articleId": alice_article.replace("1", "１")
                                                   if "1" in alice_article else "１" + alice_article[1:]},
         400, "invalid_request"),
        ("articleId UUID + /../x", {**png, "articleId": alice_article + "/../x"}, 400, "invalid_request"),
        ("articleId empty", {**png, "articleId": ""}, 400, "invalid_request"),
        ("articleId a number", {**png, "articleId": 12345}, 400, "invalid_request"),
        ("type image/svg+xml", {"contentType": "image/svg+xml", "size": 1000}, 415, "unsupported_media_type"),
        ("type text/html", {"contentType": "text/html", "size": 1000}, 415, "unsupported_media_type"),
        ("type application/octet-stream", {"contentType": "application/octet-stream", "size": 1000}, 415,
         "unsupported_media_type"),
        ("type image/jpeg with parameters", {"contentType": "image/jpeg; charset=utf-8", "size": 1000}, 415,
         "unsupported_media_type"),
        ("type a number", {"contentType": 7, "size": 1000}, 400, "invalid_request"),
        ("size 0", {"contentType": "image/png", "size": 0}, 400, "invalid_request"),
        ("size negative", {"contentType": "image/png", "size": -1}, 400, "invalid_request"),
        ("size over the limit", {"contentType": "image/png", "size": MAX_SIZE + 1}, 413, "payload_too_large"),
        ("size a terabyte", {"contentType": "image/png", "size": 10 ** 12}, 413, "payload_too_large"),
        ("size 2^64", {"contentType": "image/png", "size": 2 ** 64}, 400, "invalid_request"),
        ("size a string", {"contentType": "image/png", "size": "1000"}, 400, "invalid_request"),
        ("size fractional", {"contentType": "image/png", "size": 10.5}, 400, "invalid_request"),
        ("size true", {"contentType": "image/png", "size": True}, 400, "invalid_request"),
        ("size null", {"contentType": "image/png", "size": None}, 400, "invalid_request"),
        ("size missing", {"contentType": "image/png"}, 400, "invalid_request"),
        ("checksum not base64", {**png, "checksumSHA256": "not base64!"}, 400, "invalid_request"),
        ("checksum of 31 bytes", {**png, "checksumSHA256": base64.b64encode(b"x" * 31).decode()}, 400,
         "invalid_request"),
        ("checksum as hex", {**png, "checksumSHA256": hashlib.sha256(b"x").hexdigest()}, 400, "invalid_request"),
    ]
    for name, body, status, code in rows:
        expect_error(R, f"input: {name}", api.upload_url(alice, body), status, code)

    raw_rows: list[tuple[str, bytes, int, str]] = [
        ("malformed JSON {", b"{", 400, "invalid_request"),
        ("malformed JSON, missing value", b'{"contentType":"image/png","size":}', 400, "invalid_request"),
        ("JSON array", b"[1,2]", 400, "invalid_request"),
        ("JSON string", b'"image/png"', 400, "invalid_request"),
        ("JSON null", b"null", 400, "invalid_request"),
        ("not UTF-8", b"\xff\xfe{\x00}", 400, "invalid_request"),
        ("oversized JSON (17 KiB, Content-Length)",
         json.dumps({**png, "pad": "x" * (17 * 1024)}).encode(), 413, "payload_too_large"),
    ]
    for name, raw, status, code in raw_rows:
        expect_error(R, f"input: {name}", api.upload_url(alice, raw=raw), status, code)

    # Oversized, chunked (no Content-Length): the server must stop reading at 16 KiB.
    big = json.dumps({**png, "pad": "y" * (64 * 1024)}).encode()
    resp = raw_request(ctx.srv.api, "POST", "/upload-url",
                       {"Authorization": f"Bearer {alice}", "Content-Type": "application/json"}, big, encode_chunked=True)
    code = None
    try:
        code = json.loads(resp.body)["error"]["code"]
    except (ValueError, KeyError, TypeError):
        pass
    api.upload_outcomes["issued" if resp.status == 200 else (code or f"http_{resp.status}")] += 1
    R.check("input: oversized JSON (64 KiB, chunked) -> 413 payload_too_large",
            resp.status == 413 and code == "payload_too_large", resp.describe(300))

    # Accepted: unknown fields are ignored, a body just under 16 KiB, exactly the limit, and no body at all.
    expect_ok(R, "input: unknown fields are ignored", api.upload_url(alice, {**png, "title": "x", "nested": {"a": [1]}}))
    expect_ok(R, "input: a 15 KiB body", api.upload_url(alice, {**png, "pad": "z" * (15 * 1024)}))
    expect_ok(R, "input: size exactly the limit", api.upload_url(alice, {"contentType": "image/gif", "size": MAX_SIZE}))
    r = expect_ok(R, "input: contentType IMAGE/PNG is lower-cased", api.upload_url(alice, {"contentType": "IMAGE/PNG",
                                                                                          "size": 5}))
    if r:
        R.check("IMAGE/PNG: header Content-Type image/png", r.get("headers", {}).get("Content-Type") == "image/png", str(r))
    r = expect_ok(R, "input: only size (defaults: new article, image/jpeg, as the Lambda)", api.upload_url(alice, {"size": 10}))
    if r:
        R.check("only size: image/jpeg, .jpg key, new article",
                r.get("headers", {}).get("Content-Type") == "image/jpeg" and r.get("key", "").endswith(".jpg")
                and bool(UUID_RE.match(r.get("articleId", ""))), str(r))


# --- 4. bad PUTs ------------------------------------------------------------------------------------

def bad_puts(R: Results, ctx: Ctx) -> None:
    api, alice = ctx.api, ctx.alice
    jpeg = tiny_jpeg(64, 48, seed=2)
    digest = sha256_b64(jpeg)

    def fresh(label: str, with_checksum: bool = True) -> tuple[str, str, dict] | None:
        body = {"contentType": "image/jpeg", "size": len(jpeg)}
        if with_checksum:
            body["checksumSHA256"] = digest
        r = issue(R, ctx, f"POST /upload-url for the '{label}' PUT", alice, body)
        if not r:
            return None
        return r["uploadUrl"], r["key"], dict(r["headers"])

    sig = ("SignatureDoesNotMatch",)
    rows = [(label, 403, sig) for label in (
        "a shorter body (length not as signed)", "a longer body (length not as signed)",
        "another Content-Type (image/png)", "another Content-Type (text/html)", "no Content-Type")]
    rows.append(("another body with the signed checksum", 400, ("BadDigest",)))
    rows += [(label, 403, sig) for label in (
        "another checksum header than was signed", "no checksum header", "no If-None-Match", "If-None-Match other than *",
        "a tampered signature", "a longer X-Amz-Expires", "a shorter body, no checksum in the URL")]
    try_bad_puts(R, jpeg, rows, fresh,
                 lambda label, resp, key, status, codes: store_refuses(R, ctx, label, resp, key, status, codes), ctx.head)

    # The upload URL used for a GET: the method is signed.
    got = fresh("GET instead of PUT")
    if got:
        url, key, headers = got
        resp = get_url(url)
        code = (s3_error(resp.body) or {}).get("Code")
        STORE_CODES["GET with the upload URL"] = f"{resp.status} {code}"
        R.check("store refuses GET with the upload URL -> 403 SignatureDoesNotMatch",
                resp.status == 403 and code == "SignatureDoesNotMatch", resp.describe())

    # A second PUT to the same URL: If-None-Match: * (signed) keeps it from overwriting.
    twice = put_twice(R, fresh, jpeg)
    if twice:
        key, again = twice
        code = (s3_error(again.body) or {}).get("Code")
        STORE_CODES["a second PUT to the same URL"] = f"{again.status} {code}"
        R.check("store refuses a second PUT to the same URL -> 412 PreconditionFailed",
                again.status == 412 and code == "PreconditionFailed", again.describe())
        head = ctx.head(key)
        R.check("after the second PUT: the first object is unchanged",
                head is not None and head.get("ETag", "").strip('"') == hashlib.md5(jpeg).hexdigest(), str(head))

    # A request without a body would give a URL that binds no Content-Length, so the size limit could not
    # hold at storage (DESIGN.md: "an oversize body gets a 403/400 from storage"): it is refused up front.
    resp = ctx.api.upload_url(alice, None)
    R.check("POST /upload-url with no body -> 400 invalid_request (no unbounded URL is issued)",
            resp.status_code == 400 and (resp.json().get("error") or {}).get("code") == "invalid_request", describe(resp))


# --- 6. metrics -------------------------------------------------------------------------------------

def metrics(R: Results, ctx: Ctx) -> None:
    resp = ctx.api.get("/metrics")
    R.check("GET /metrics -> 200 text/plain", resp.status_code == 200 and resp.headers.get("Content-Type", "")
            .startswith("text/plain"), describe(resp))
    m = parse_metrics(resp.text)
    counted = {k[len('hoist_upload_url_requests_total{outcome="'):-2]: v for k, v in m.items()
               if k.startswith('hoist_upload_url_requests_total{outcome="')}
    mine = dict(ctx.api.upload_outcomes)
    R.check("metrics: hoist_upload_url_requests_total by outcome equals what this script got",
            counted == {k: float(v) for k, v in mine.items()}, f"metrics {counted}\nscript  {mine}")
    R.check("metrics: issuance histogram count equals the issued URLs",
            m.get("hoist_upload_url_duration_seconds_count") == float(mine.get("issued", 0)),
            f"{m.get('hoist_upload_url_duration_seconds_count')} vs {mine.get('issued')}")
    R.check("metrics: hoist_rate_limited_total 0", m.get("hoist_rate_limited_total") == 0.0,
            str(m.get("hoist_rate_limited_total")))


@pytest.fixture(scope="module")
def ctx(module_servers):
    """The main `hoist serve` (rate limit out of the way, a 1 MiB size limit), its tokens and its store."""
    R = tally(__file__)
    srv = module_servers.start("serve", env={"HOIST_RATE_PER_MINUTE": "1000000", "HOIST_RATE_BURST": "1000000",
                                             "HOIST_MAX_SIZE": str(MAX_SIZE)}, check="hoist serve starts")
    R.info(f"hoist serve: API {srv.api}, store {srv.store}")
    yield Ctx(srv)
    module_servers.stop(srv, check="hoist serve stops on SIGTERM with status 0")
    for row, got in STORE_CODES.items():
        R.info(f"store answered {got} to: {row}")


def test_flow(checks, ctx):
    flow(checks, ctx)


def test_tokens(checks, ctx):
    tokens(checks, ctx)


def test_inputs(checks, ctx):
    inputs(checks, ctx)


def test_bad_puts(checks, ctx):
    bad_puts(checks, ctx)


def test_metrics(checks, ctx):
    metrics(checks, ctx)


def test_oidc(checks, ctx, servers):
    oidc(checks, ctx, servers)


# --- the other servers -------------------------------------------------------------------------------

def test_expired_url(checks, servers) -> None:
    R = checks
    srv = servers.start("serve", env={"HOIST_URL_EXPIRY": "1"}, check="hoist serve (HOIST_URL_EXPIRY=1) starts")
    try:
        api = APIClient(srv.api)
        token = srv.token("erin")
        jpeg = tiny_jpeg(64, 48, seed=3)
        r = expect_ok(R, "expiry server: POST /upload-url", api.upload_url(token, {"contentType": "image/jpeg",
                                                                                   "size": len(jpeg)}))
        if r:
            R.check("expiry server: expiresIn 1", r.get("expiresIn") == 1 and "X-Amz-Expires=1&" in r["uploadUrl"], str(r))
            time.sleep(2.5)
            resp = put_url(r["uploadUrl"], r["headers"], jpeg)
            err = s3_error(resp.body) or {}
            STORE_CODES["an expired URL"] = f"{resp.status} {err.get('Code')} ({err.get('Message')})"
            R.check("store refuses an expired URL -> 403 AccessDenied", resp.status == 403 and err.get("Code") ==
                    "AccessDenied", resp.describe())
            ak, sk = srv.store_credentials()
            ctx_s3 = Ctx.__new__(Ctx)
            ctx_s3.srv, ctx_s3.access_key, ctx_s3.secret_key = srv, ak, sk
            ctx_s3.s3 = Ctx._s3(ctx_s3)
            R.check("an expired URL: no object written", ctx_s3.head(r["key"]) is None, r["key"])
    finally:
        servers.stop(srv, check="expiry server stops on SIGTERM with status 0")


def test_rate_limit(checks, servers) -> None:
    R = checks
    srv = servers.start("serve", env={"HOIST_RATE_BURST": "3", "HOIST_RATE_PER_MINUTE": "1"},
                        check="hoist serve (HOIST_RATE_BURST=3) starts")
    try:
        api = APIClient(srv.api)
        carol, dave = srv.token("carol"), srv.token("dave")
        body = {"contentType": "image/png", "size": 10}
        statuses = [api.upload_url(carol, body).status_code for _ in range(3)]
        R.check("rate limit: 3 requests in a burst -> 200", statuses == [200, 200, 200], str(statuses))
        resp = api.upload_url(carol, body)
        expect_error(R, "rate limit: the 4th request", resp, 429, "rate_limited")
        retry = resp.headers.get("Retry-After", "")
        R.check("rate limit: Retry-After is a whole number of seconds, 1…60", retry.isdigit() and 1 <= int(retry) <= 60,
                repr(retry))
        expect_ok(R, "rate limit: another user is not limited", api.upload_url(dave, body))
        m = parse_metrics(api.get("/metrics").text)
        R.check("rate limit: hoist_rate_limited_total 1", m.get("hoist_rate_limited_total") == 1.0,
                str(m.get("hoist_rate_limited_total")))
        R.check("rate limit: outcome rate_limited counted once",
                m.get('hoist_upload_url_requests_total{outcome="rate_limited"}') == 1.0, str(m))
    finally:
        servers.stop(srv, check="rate-limit server stops on SIGTERM with status 0")


def oidc(R: Results, ctx: Ctx, servers) -> None:
    """`hoist api` with HOIST_AUTH=oidc: the first server is its issuer (JWKS over HTTP) and its S3."""
    env = {"HOIST_AUTH": "oidc", "HOIST_OIDC_ISSUER": ctx.srv.api, "HOIST_OIDC_AUDIENCES": "hoist-dev",
           "HOIST_S3_ENDPOINT": ctx.srv.store, "HOIST_BUCKET": BUCKET, "HOIST_REGION": "us-east-1",
           "AWS_ACCESS_KEY_ID": ctx.access_key, "AWS_SECRET_ACCESS_KEY": ctx.secret_key}
    srv = servers.start("api", env=env, check="hoist api (HOIST_AUTH=oidc, issuer = hoist serve) starts")
    try:
        api = APIClient(srv.api)
        jpeg = tiny_jpeg(64, 48, seed=4)
        r = expect_ok(R, "oidc: alice's dev token from hoist serve is accepted",
                      api.upload_url(ctx.alice, {"contentType": "image/jpeg", "size": len(jpeg),
                                                 "checksumSHA256": sha256_b64(jpeg)}))
        if r:
            R.check("oidc: the URL is for hoist serve's store", r["uploadUrl"].startswith(f"{ctx.srv.store}/{BUCKET}/"),
                    r["uploadUrl"])
            resp = put_url(r["uploadUrl"], r["headers"], jpeg)
            R.check("oidc: PUT to the embedded store -> 200", resp.status == 200, resp.describe())
            head = ctx.head(r["key"])
            R.check("oidc: the object is there", head is not None and head.get("ContentLength") == len(jpeg), str(head))
        resp = api.get("/.well-known/jwks.json")
        R.check("oidc: no dev issuer, so no JWKS route", resp.status_code == 404, describe(resp))
        expect_error(R, "oidc: a token signed by a key the issuer does not publish", api.upload_url(
            rs256_jwt(new_rsa_key(), dev_claims(ctx.srv.api, "x"), "k"), {"contentType": "image/png", "size": 1}),
            401, "unknown_key", bearer=True)
        expect_error(R, "oidc: a dev token of hoist serve with another audience", api.upload_url(
            rs256_jwt(load_private_key(os.path.join(ctx.srv.data_dir, "dev-issuer-key.pem")),
                      dev_claims(ctx.srv.api, "x", audience="other"),
                      rsa_jwk_thumbprint(load_private_key(os.path.join(ctx.srv.data_dir, "dev-issuer-key.pem")).public_key())),
            {"contentType": "image/png", "size": 1}), 401, "wrong_audience", bearer=True)
    finally:
        srv.stop()

    # A JWKS URL nobody answers: the server's fault, 503 jwks_unavailable, not a 401.
    from processes import free_port

    env2 = {**env, "HOIST_OIDC_JWKS_URL": f"http://127.0.0.1:{free_port()}/.well-known/jwks.json"}
    srv = servers.start("api", env=env2, check="hoist api (JWKS URL with nobody listening) starts")
    try:
        api = APIClient(srv.api)
        expect_error(R, "oidc: JWKS unreachable", api.upload_url(ctx.alice, {"contentType": "image/png", "size": 1}),
                     503, "jwks_unavailable")
    finally:
        srv.stop()
