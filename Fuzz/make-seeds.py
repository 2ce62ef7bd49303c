#!/usr/bin/env python3
"""Writes the seed corpora, Fuzz/Corpus/<target>/, from the inputs the unit tests use.

Run from anywhere; rewrites every seed file it owns (names start with "seed-"), leaving inputs
that fuzzing added. The SigV4 seeds are signed here with the fuzz targets' fixed credentials and
clock, so they reach the signature check.
"""
import base64, datetime, hashlib, hmac, json, os, struct, urllib.parse

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "Corpus")
seeds = {}
def add(target, data):
    seeds.setdefault(target, []).append(data if isinstance(data, bytes) else data.encode())

# --- SigV4 (the fixed credentials, clock and requests of Fuzz/Sources/HoistFuzz/SigV4Targets.swift)
AKID, SECRET = "AKIDHOIST0000000TEST", "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMw"
NOW = datetime.datetime.fromtimestamp(1_764_000_000, datetime.timezone.utc)
AMZ, DAY = NOW.strftime("%Y%m%dT%H%M%SZ"), NOW.strftime("%Y%m%d")
SCOPE = f"{DAY}/us-east-1/s3/aws4_request"
def sign(canonical):
    sts = "\n".join(["AWS4-HMAC-SHA256", AMZ, SCOPE, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + SECRET).encode()
    for part in (DAY, "us-east-1", "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()

canonical = "\n".join(["GET", "/bucket/k", "", "host:127.0.0.1:9000", "x-amz-content-sha256:UNSIGNED-PAYLOAD",
                       f"x-amz-date:{AMZ}", "", "host;x-amz-content-sha256;x-amz-date", "UNSIGNED-PAYLOAD"])
good = f"AWS4-HMAC-SHA256 Credential={AKID}/{SCOPE}, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={sign(canonical)}"
add("sigv4-header", good)
add("sigv4-header", good.replace(", ", ","))
add("sigv4-header", "AWS AKIDHOIST0000000TEST:c2lnbmF0dXJl")
add("sigv4-header", f"AWS4-HMAC-SHA256 Credential={AKID}/{DAY}/us-east-1/s3, SignedHeaders=host, Signature=00")
add("sigv4-header", f"AWS4-HMAC-SHA256 Credential={AKID}/{SCOPE}, SignedHeaders=host;;x-amz-date, Signature={'0' * 64}, Extra=1")

params = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", f"{AKID}/{SCOPE}"), ("X-Amz-Date", AMZ),
          ("X-Amz-Expires", "900"), ("X-Amz-SignedHeaders", "host")]
q = "&".join(f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(params))
canonical = "\n".join(["PUT", "/bucket/k", q, "host:127.0.0.1:9000", "", "host", "UNSIGNED-PAYLOAD"])
add("sigv4-query", q + "&X-Amz-Signature=" + sign(canonical))
add("sigv4-query", q + "&X-Amz-Signature=" + sign(canonical) + "&versionId=1&x-id=PutObject")
add("sigv4-query", q.replace("900", "604801") + "&X-Amz-Signature=" + "0" * 64)
add("sigv4-query", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Algorithm=AWS4-HMAC-SHA256")
add("sigv4-query", "a=%zz&X-Amz-Signature=1")

# sigv4-verifier: choice byte, time offset (2 bytes), key\0, query count, name\0value\0…, header count, …, tamper index
def verifier_seed(choice, key, query, headers, tamper=7):
    out = bytes([choice, 0, 3]) + key.encode() + b"\0" + bytes([len(query)])
    for k, v in query: out += k.encode() + b"\0" + v.encode() + b"\0"
    out += bytes([len(headers)])
    for index, suffix, value in headers:
        out += bytes([index]) + (suffix.encode() + b"\0" if index == 5 else b"") + value.encode() + b"\0"
    return out + bytes([tamper])
for key in ["plain.png", "my photo.png", "a+b.png", "100%.png", "a=b&c=d.png", "what?.png", "#hash.png", "../up/../x.png",
            "dir//double/./dot.png", "emoji-😀.png", "unicodé/中文/ключ.png", "sp ace+plus%25pct", "trailing/"]:
    add("sigv4-verifier", verifier_seed(1, key, [("x-id", "PutObject"), ("tag", "a b+c")], [(0, "", "image/png"), (5, "note", "  two   spaces ")]))
    add("sigv4-verifier", verifier_seed(0x81, key, [("versionId", "1")], [(0, "", "image/png"), (1, "", "1234"), (2, "", "*")]))

# aws-chunked: raw bodies (even first byte; variant = (byte >> 1) % 3) and structured ones (odd first byte)
add("aws-chunked", bytes([4, 7]) + b"5\r\nhello\r\n0\r\nx-amz-checksum-crc32c:sOO8/Q==\r\n\r\n")
add("aws-chunked", bytes([0, 3]) + b"5;chunk-signature=" + b"0" * 64 + b"\r\nhello\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n")
add("aws-chunked", bytes([2, 1]) + b"0;chunk-signature=" + b"a" * 64 + b"\r\nx-amz-trailer-signature:" + b"b" * 64 + b"\r\n\r\n")
for variant in range(3):
    add("aws-chunked", bytes([variant << 1 | 1, 5, 0, 9, 40]) + bytes(range(40)) + bytes([200]) + b"a" * 200)
    add("aws-chunked", bytes([variant << 1 | 1, 0, 1, 0]))

for doc in ['{"expiration":"2030-01-01T00:00:00Z","conditions":[{"bucket":"bkt"},["starts-with","$key","uploads/"],'
            '["content-length-range",1,1048576],["eq","$Content-Type","image/png"],{"x-amz-algorithm":"AWS4-HMAC-SHA256"}]}',
            "[]", '{"conditions":[]}', '{"expiration":"tomorrow","conditions":[]}',
            '{"expiration":"2030-01-01T00:00:00Z","conditions":[["between","$key","a"]]}',
            '{"expiration":"2030-01-01T00:00:00.000Z","conditions":[["content-length-range","10",1e3]]}',
            '{"expiration":"2030-01-01T00:00:00Z","conditions":[["content-length-range",10,1]]}']:
    add("post-policy", doc)

# --- FlatJSON (FlatJSONTests), JWT claims
for text in ["{}", '{"aud": ["a", "b\\u00e9"], "one": [""], "mixed": ["a", 1], "deep": [["a"]], "objects": [{}]}',
             '{"contentType":"image/png","size":75,"sha256":"0123"}', '{"a":1.5e3,"b":-0,"c":true,"d":false,"e":null}',
             '{"s":"\\ud83d\\ude00 \\" \\\\ \\/ \\b\\f\\n\\r\\t"}', '{"a":1,"a":2}', "[]", '"text"', " 12 ", "null",
             "", "{", '{"a":01}', '{"a":1.}', '{"a":"\\ud83d"}', '{"a":[1,]}', '{"a":1} x',
             '{"a":' + "[" * 64 + "]" * 64 + "}", '{"a":' + "[" * 65 + "]" * 65 + "}"]:
    add("flatjson", text)

# --- S3 events (the store's own encoding) and the test event
record = {"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-11-29T20:01:02.345Z",
          "eventName": "ObjectCreated:Put", "s3": {"s3SchemaVersion": "1.0", "configurationId": "images",
          "bucket": {"name": "article-images", "arn": "arn:aws:s3:::article-images"},
          "object": {"key": "articles/a+b/raw/%C3%A9.png", "size": 75, "eTag": "d41d8cd98f00b204e9800998ecf8427e",
                     "versionId": "v1", "sequencer": "0055AED6DCD90281E5"}}}
add("s3-event", json.dumps({"Records": [record]}, sort_keys=True))
removed = json.loads(json.dumps(record)); removed["eventName"] = "ObjectRemoved:Delete"
del removed["s3"]["object"]["size"], removed["s3"]["object"]["eTag"]
add("s3-event", json.dumps({"Records": [record, removed]}))
add("s3-event", '{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-11-29T20:01:02.345Z","Bucket":"b"}')

# --- XML documents (XMLTreeTests, CORSConfigurationTests, NotificationTests, the multipart, versioning and lifecycle tests)
xml_common = [
    '<?xml version="1.0" encoding="UTF-8"?>\n<!-- a comment -->\n<s3:Delete xmlns:s3="http://s3.amazonaws.com/doc/2006-03-01/" a=\'1\' b="&quot;2&quot;">'
    "<s3:Object><Key>a &amp; b &lt;c&gt; &#233;&#x1F600; &apos;</Key></s3:Object><Object><Key><![CDATA[<raw> & ]]>tail</Key><Empty/></Object>"
    "<?pi some data?><Quiet>true</Quiet></s3:Delete>",
    "<Delete><Quiet>false</Quiet><Object><Key>a/1</Key></Object><Object><Key>missing</Key><VersionId>v1</VersionId></Object></Delete>",
    "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"0123456789abcdef0123456789abcdef\"</ETag></Part>"
    "<Part><PartNumber>2</PartNumber><ETag>x</ETag></Part></CompleteMultipartUpload>",
    "<CompleteMultipartUpload/>",
    '<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>',
    "<CreateBucketConfiguration><LocationConstraint>us-east-1</LocationConstraint></CreateBucketConfiguration>",
]
for doc in xml_common:
    add("xml", doc)
add("xml", b"\xef\xbb\xbf<Gr\xc3\xb6\xc3\x9fe>a\r\nb\rc</Gr\xc3\xb6\xc3\x9fe >")
add("xml", b"<CORSConfiguration><CORSRul\xe5/></CORSConfiguration>")
for bad in ["<A>&bogus;</A>", "<A>&#xD800;</A>", "<!DOCTYPE A [<!ENTITY e \"x\">]><A>&e;</A>", "<A a='1' a='2'/>",
            "<A><!-- x -- y --></A>", "<A:/>", "<A><![CDATA[x</A>", "<a>" * 33 + "</a>" * 33]:
    add("xml", bad)
cors = ('<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule><ID>r1</ID><AllowedOrigin>*</AllowedOrigin>'
        "<AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>30</MaxAgeSeconds></CORSRule></CORSConfiguration>")
add("xml-cors", cors)
add("xml-cors", "<CORSConfiguration><CORSRule><AllowedOrigin>http://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>"
                "<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader></CORSRule>"
                "<CORSRule><AllowedOrigin>https://app.example.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"
                "<AllowedMethod>HEAD</AllowedMethod><AllowedHeader>content-*</AllowedHeader></CORSRule></CORSConfiguration>")
add("xml-cors", "<CORSConfiguration/>")
add("xml-cors", "<CORSConfiguration><CORSRule><AllowedOrigin>http://*.*.x</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>")
add("xml-cors", "<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod></CORSRule></CORSConfiguration>")
add("xml-lifecycle", '<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule><ID>parts</ID><Filter><Prefix>tmp/</Prefix></Filter>'
    "<Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload>"
    "<Expiration><Days>30</Days></Expiration></Rule></LifecycleConfiguration>")
add("xml-lifecycle", "<LifecycleConfiguration><Rule><Prefix>old/</Prefix><Status>Disabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>"
    "<Rule><ID>t</ID><Filter><And><Prefix>a</Prefix><Tag><Key>k</Key><Value>v</Value></Tag></And></Filter><Status>Enabled</Status>"
    "<Transition><Days>1</Days><StorageClass>GLACIER</StorageClass></Transition></Rule></LifecycleConfiguration>")
add("xml-notification", '<NotificationConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    "<QueueConfiguration><Id>images</Id><Queue>arn:aws:sqs:us-east-1:123456789012:uploads</Queue>"
    "<Event>s3:ObjectCreated:*</Event><Event>s3:ObjectRemoved:Delete</Event>"
    "<Filter><S3Key><FilterRule><Name>prefix</Name><Value>articles/</Value></FilterRule>"
    "<FilterRule><Name>Suffix</Name><Value>.jpg</Value></FilterRule></S3Key></Filter></QueueConfiguration></NotificationConfiguration>")
add("xml-notification", "<NotificationConfiguration><TopicConfiguration><Topic>arn:aws:sns:us-east-1:1:t</Topic><Event>s3:ObjectCreated:*</Event></TopicConfiguration></NotificationConfiguration>")
add("xml-notification", "<NotificationConfiguration/>")

# --- multipart/form-data (FormDataReaderTests' body): piece-size byte, streamed-parts byte, body
B = "----hoistFormBoundaryQ2x"
form = ("preamble to be ignored\r\n"
        f"--{B}\r\nContent-Disposition: form-data; name=\"key\"\r\n\r\nuploads/${{filename}}\r\n"
        f"--{B}  \r\ncontent-disposition: form-data; name=\"x-amz-meta-note\"; filename=\"n.txt\"\r\nContent-Type: text/plain\r\n\r\na \"quoted\"; value\r\n"
        f"--{B}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"my \\\"cat\\\".png\"\r\nContent-Type: image/png\r\n\r\n"
        f"\r\n--{B[:-1]}\r\n--\r\n\r\nfile bytes\r\n-"
        f"\r\n--{B}\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nx\r\n--{B}--\r\nepilogue")
for seed, streamed in [(0, 0), (1, 4), (7, 255), (200, 1)]:
    add("form-data", bytes([seed, streamed]) + form.encode())
add("form-data", bytes([3, 0]) + f"--{B}\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--{B}--".encode())

# --- JWS (tokens shaped as TokenVerifierTests' and DevIssuerTests' ones; signatures are not checked by the reader)
def b64(data): return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
for header, claims in [({"alg": "RS256", "kid": "dev-1", "typ": "JWT"},
                        {"iss": "http://127.0.0.1:8080", "sub": "alice", "aud": "hoist", "exp": 1764003600, "iat": 1764000000}),
                       ({"alg": "ES256", "kid": "k"}, {"iss": "https://cognito-idp.us-east-1.amazonaws.com/pool", "sub": "u",
                        "aud": ["a", "b"], "exp": 1.5e9, "nbf": 1, "token_use": "access", "client_id": "c"}),
                       ({"alg": "none"}, {"sub": 1}), ({"alg": "RS256", "crit": ["b64"]}, {})]:
    add("jws", ".".join([b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(bytes(range(64)))]))
add("jws", "a.b")
add("jws", "..")

# --- JWKS (an RSA 2048 key and a P-256 key, as JWKSCacheTests serves them; then skipped kinds)
from cryptography.hazmat.primitives.asymmetric import ec, rsa
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
ec_key = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
def int_b64(n, size=None): return b64(n.to_bytes(size or (n.bit_length() + 7) // 8, "big"))
keys = [{"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256", "n": int_b64(rsa_key.n), "e": int_b64(rsa_key.e)},
        {"kty": "EC", "kid": "e1", "crv": "P-256", "x": int_b64(ec_key.x, 32), "y": int_b64(ec_key.y, 32), "key_ops": ["verify"]},
        {"kty": "oct", "kid": "s", "k": "c2VjcmV0"}, {"kty": "RSA", "kid": "small", "n": "AQAB", "e": "AQAB"},
        {"kty": "EC", "kid": "e2", "crv": "P-384", "x": "AA", "y": "AA"}, {"kty": "RSA", "kid": "r1", "use": "enc", "n": 5}]
add("jwks", json.dumps({"keys": keys[:2]}))
add("jwks", json.dumps({"keys": keys}))
add("jwks", '{"keys":[]}')
add("jwks", '{"keys":{}}')

# --- Image headers (ImageHeaderTests' builders): a "complete" flag byte, then the file
def be16(n): return struct.pack(">H", n)
def be32(n): return struct.pack(">I", n)
def le16(n): return struct.pack("<H", n)
def riff(kind, payload): return b"RIFF" + struct.pack("<I", 4 + 8 + len(payload)) + b"WEBP" + kind + struct.pack("<I", len(payload)) + payload
png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR42mP4H8DAUPGfAUIBACZqBY1TgIRZAAAAAElFTkSuQmCC")
jpeg = (b"\xff\xd8" + b"\xff\xe0" + be16(16) + b"JFIF\0" + bytes([1, 1, 0]) + be16(1) + be16(1) + bytes([0, 0]) + b"\xff\xff"
        + b"\xc2" + be16(17) + bytes([8]) + be16(480) + be16(640) + bytes([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1])
        + b"\xff\xda" + be16(12) + bytes(10) + b"\xff\xd9")
gif = b"GIF89a" + le16(3) + le16(2) + bytes([0x80, 0, 0])
webp_lossy = riff(b"VP8 ", bytes([0x30, 0x01, 0x00, 0x9D, 0x01, 0x2A]) + le16(64) + le16(48) + bytes(2))
bits = (64 - 1) | (48 - 1) << 14
webp_lossless = riff(b"VP8L", bytes([0x2F, bits & 0xFF, bits >> 8 & 0xFF, bits >> 16 & 0xFF, bits >> 24 & 0xFF]) + bytes(5))
webp_x = riff(b"VP8X", bytes([0x10, 0, 0, 0]) + struct.pack("<I", 63)[:3] + struct.pack("<I", 47)[:3] + bytes(2))
def box(kind, payload): return be32(8 + len(payload)) + kind + payload
ispe = box(b"ispe", bytes(4) + be32(640) + be32(480))
avif = box(b"ftyp", b"avif" + bytes(4) + b"mif1avif") + box(b"meta", bytes(4) + box(b"iprp", box(b"ipco", ispe)))
for image in [png, jpeg, gif, webp_lossy, webp_lossless, webp_x, avif]:
    add("image-header", b"\x01" + image)
    add("image-header", b"\x00" + image[:20])
add("image-header", b"\x01%PDF-1.7\n\xe2\xe3\x00\x01")
add("image-header", b"\x01\xff\xd8\xff\xda\x00\x02")

# --- Animation frames (first byte: how the bytes are cut into pieces) and AVIF metadata. Made once
# with Pillow (3-frame GIF and WebP, 4x4) and libvips (a 16x16 AVIF from a JPEG with EXIF, and the
# same stripped), kept here as base64 so this script needs only the standard library.
animated_gif = base64.b64decode("R0lGODlhBAAEAIEAAAAAAAAAAAAAAAAAACH/C05FVFNDQVBFMi4wAwEAAAAh+QQACgAAACwAAAAABAAEAAAICQABCBxIsCCAgAAh+QQBCgABACwAAAAABAAEAIFQAAAAAAAAAAAAAAAICQABCBxIsCCAgAAh+QQBCgABACwAAAAABAAEAIGgAAAAAAAAAAAAAAAICQABCBxIsCCAgAA7")
animated_webp = base64.b64decode("UklGRrIAAABXRUJQVlA4WAoAAAACAAAAAwAAAwAAQU5JTQYAAAAAAAAAAABBTk1GJgAAAAAAAAAAAAMAAAMAAGQAAAJWUDhMDgAAAC8DwAAABxAR/Q9ERP8DQU5NRigAAAAAAAAAAAADAAADAABkAAAAVlA4TA8AAAAvA8AAAAcQhYr+ByKi/wEAQU5NRigAAAAAAAAAAAADAAADAABkAAAAVlA4TA8AAAAvA8AAAAcQBY3+ByKi/wEA")
for seed, image in [(0, animated_gif), (3, animated_gif), (17, animated_webp), (200, animated_webp), (1, gif), (5, webp_x)]:
    add("animation-frames", bytes([seed]) + image)
avif_exif = base64.b64decode("AAAAHGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZgAAASttZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAAAAAAAAAAAAAAAA5waXRtAAAAAAABAAAANGlsb2MAAAAAREAAAgABAAAAAAFPAAEAAAAAAAAAHQACAAAAAAFsAAEAAAAAAAAAvAAAADhpaW5mAAAAAAACAAAAFWluZmUCAAAAAAEAAGF2MDEAAAAAFWluZmUCAAABAAIAAEV4aWYAAAAAamlwcnAAAABLaXBjbwAAABNjb2xybmNseAACAAIABoAAAAAMYXYxQ4EADAAAAAAUaXNwZQAAAAAAAAAQAAAAEAAAABBwaXhpAAAAAAMICAgAAAAXaXBtYQAAAAAAAAABAAEEgYIDhAAAABppcmVmAAAAAAAAAA5jZHNjAAIAAQABAAAA4W1kYXQSAAoJGAz/2CBAQNCAMg4YAAAAUAKZ4EFnYk2buAAAAAZFeGlmAABNTQAqAAAACAAGAQ8AAgAAAAkAAABWARIAAwAAAAEABgAAARoABQAAAAEAAABgARsABQAAAAEAAABoASgAAwAAAAEAAgAAh2kABAAAAAEAAABwAAAAAEhvaXN0Q2FtAAAAAABIAAAAAQAAAEgAAAABAAWQAAAHAAAABDAyMTCgAAAHAAAABDAxMDCgAQADAAAAAf//AACgAgAEAAAAAQAAABCgAwAEAAAAAQAAABAAAAAA")
avif_stripped = base64.b64decode("AAAAHGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZgAAAOptZXRhAAAAAAAAACFoZGxyAAAAAAAAAABwaWN0AAAAAAAAAAAAAAAAAAAAAA5waXRtAAAAAAABAAAAImlsb2MAAAAAREAAAQABAAAAAAEOAAEAAAAAAAAAHQAAACNpaW5mAAAAAAABAAAAFWluZmUCAAAAAAEAAGF2MDEAAAAAamlwcnAAAABLaXBjbwAAABNjb2xybmNseAACAAIABoAAAAAMYXYxQ4EADAAAAAAUaXNwZQAAAAAAAAAQAAAAEAAAABBwaXhpAAAAAAMICAgAAAAXaXBtYQAAAAAAAAABAAEEgYIDhAAAACVtZGF0EgAKCRgM/9ggQEDQgDIOGAAAAFACmeBBZ2JNm7g=")
for image in [avif_exif, avif_stripped]:
    add("avif-metadata", image)
    add("image-header", b"\x01" + image)
add("avif-metadata", avif)

for target, items in seeds.items():
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith("seed-"):
            os.remove(os.path.join(folder, name))
    for index, data in enumerate(items):
        with open(os.path.join(folder, f"seed-{index:02d}"), "wb") as f:
            f.write(data)
    print(f"{target}: {len(items)} seeds")
