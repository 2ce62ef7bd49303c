// Unit tests of the browser client Sources/HoistServer/Web/hoist-upload.js (the file Hoist serves),
// with node's built-in test runner: `node --test Tests/Web/`.
// The network is replaced by fakes: a fetch for the API and an XMLHttpRequest for storage; multipart
// uploads run against a fake of the API's multipart routes that keeps the parts its fake storage received.
import assert from 'node:assert/strict';
import { webcrypto, createHash } from 'node:crypto';
import { test } from 'node:test';

import {
  Connectivity, HASH_WORKER_SOURCE, HoistUploadError, HoistUploader, PartHasher, ProgressMeter, ResumeStore, apiError,
  backoffDelay, checkFile, corsError, formatBytes, parseS3Error, planParts, retryDecision, sha256Base64, sniffImageType,
  storageError, uploadFingerprint,
} from '../../Sources/HoistServer/Web/hoist-upload.js';

const s3Xml = (code, message) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>` +
  '<Resource>/article-images/articles/x/raw/y.png</Resource><RequestId>4442587FB7D0A2F9</RequestId></Error>';

// --- error mapping -----------------------------------------------------------------------------------

test('parseS3Error reads code, message and request id, and unescapes entities', () => {
  const parsed = parseS3Error(s3Xml('SignatureDoesNotMatch', 'a &lt;b&gt; &amp; &quot;c&quot;'));
  assert.deepEqual(parsed, { code: 'SignatureDoesNotMatch', message: 'a <b> & "c"', requestId: '4442587FB7D0A2F9' });
  assert.equal(parseS3Error('<html>proxy error</html>'), null);
  assert.equal(parseS3Error(''), null);
  assert.equal(parseS3Error(undefined), null);
});

test('SignatureDoesNotMatch says the file changed or headers were altered', () => {
  const e = storageError(403, s3Xml('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.'));
  assert.ok(e instanceof HoistUploadError);
  assert.equal(e.code, 'SignatureDoesNotMatch');
  assert.equal(e.status, 403);
  assert.match(e.message, /^The file changed or headers were altered/);
  assert.match(e.message, /\(SignatureDoesNotMatch, HTTP 403\)/);
  assert.match(e.message, /Storage said: "The request signature we calculated/);
  assert.equal(e.requestId, '4442587FB7D0A2F9');
  assert.equal(e.expired, false);
  assert.equal(e.retryable, false);
});

test('AccessDenied "Request has expired" is marked expired; other AccessDenied is not', () => {
  const expired = storageError(403, s3Xml('AccessDenied', 'Request has expired'));
  assert.equal(expired.expired, true);
  assert.match(expired.message, /upload URL expired/);
  const denied = storageError(403, s3Xml('AccessDenied', 'Access Denied'));
  assert.equal(denied.expired, false);
  assert.match(denied.message, /access denied/);
});

test('each S3 code gets its own explanation; unknown codes keep storage\'s message', () => {
  const table = {
    BadDigest: /SHA-256 does not match/,
    EntityTooLarge: /larger than the upload URL allows/,
    PreconditionFailed: /already exists.*only once/,
    InvalidAccessKeyId: /does not know the key/,
    RequestTimeTooSkewed: /clock/,
    AuthorizationQueryParametersError: /malformed/,
    NoSuchBucket: /bucket .* does not exist/,
  };
  for (const [code, pattern] of Object.entries(table)) {
    const e = storageError(400, s3Xml(code, 'x'));
    assert.equal(e.code, code);
    assert.match(e.message, pattern, code);
  }
  const unknown = storageError(400, s3Xml('SomethingNew', 'brand new failure'));
  assert.match(unknown.message, /brand new failure/);
});

test('5xx and SlowDown are retryable; a body that is not S3 XML keeps the status', () => {
  assert.equal(storageError(503, s3Xml('SlowDown', 'Please reduce your request rate.')).retryable, true);
  assert.equal(storageError(500, s3Xml('InternalError', 'x')).retryable, true);
  const plain = storageError(502, '<html>Bad gateway</html>');
  assert.equal(plain.code, 'http_502');
  assert.equal(plain.retryable, true);
  assert.equal(storageError(404, 'nope').retryable, false);
});

test('the API\'s JSON errors keep their code; 401 asks to sign in again; Retry-After is read', () => {
  const expired = apiError(401, '{"error":{"code":"token_expired","message":"The token has expired."}}');
  assert.equal(expired.code, 'token_expired');
  assert.equal(expired.message, 'Sign in again: The token has expired.');
  const big = apiError(413, '{"error":{"code":"payload_too_large","message":"size is over the 10 MiB limit"}}');
  assert.equal(big.code, 'payload_too_large');
  assert.equal(big.retryable, false);
  const limited = apiError(429, '{"error":{"code":"rate_limited","message":"slow down"}}', '7');
  assert.equal(limited.retryable, true);
  assert.equal(limited.retryAfter, 7);
  const garbage = apiError(500, 'not json');
  assert.equal(garbage.code, 'http_500');
  assert.match(garbage.message, /HTTP 500/);
});

test('a CORS failure is explained with both origins and the headers, never "Failed to fetch"', () => {
  const e = corsError('http://127.0.0.1:9000', 'http://127.0.0.1:8080', ['Content-Length', 'Content-Type', 'If-None-Match']);
  assert.equal(e.code, 'cors');
  assert.match(e.message, /http:\/\/127\.0\.0\.1:9000/);
  assert.match(e.message, /origin http:\/\/127\.0\.0\.1:8080/);
  assert.match(e.message, /headers Content-Type, If-None-Match\./);
  assert.match(e.message, /HOIST_CORS_ORIGINS/);
  assert.doesNotMatch(e.message, /Failed to fetch/);
});

// --- files -------------------------------------------------------------------------------------------

const bytes = (...parts) => new Uint8Array(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));
const PNG = bytes([0x89], 'PNG', [0x0d, 0x0a, 0x1a, 0x0a], [0, 0, 0, 13], 'IHDR');
const JPEG = bytes([0xff, 0xd8, 0xff, 0xe0, 0, 16], 'JFIF', [0]);

test('sniffImageType knows the allowed formats by their magic numbers', () => {
  assert.equal(sniffImageType(JPEG), 'image/jpeg');
  assert.equal(sniffImageType(PNG), 'image/png');
  assert.equal(sniffImageType(bytes('GIF89a', [1, 0])), 'image/gif');
  assert.equal(sniffImageType(bytes('RIFF', [0, 0, 0, 0], 'WEBPVP8 ')), 'image/webp');
  assert.equal(sniffImageType(bytes([0, 0, 0, 28], 'ftypavif', [0, 0, 0, 0], 'mif1')), 'image/avif');
  assert.equal(sniffImageType(bytes([0, 0, 0, 28], 'ftypheic', [0, 0, 0, 0], 'mif1heic')), 'image/heic');
  assert.equal(sniffImageType(bytes([0, 0, 0, 24], 'ftypmif1', [0, 0, 0, 0], 'mif1')), 'image/heic');
  assert.equal(sniffImageType(bytes([0, 0, 0, 28], 'ftypisom')), null);
  assert.equal(sniffImageType(bytes('hello, world')), null);
  assert.equal(sniffImageType(bytes([0xff, 0xd8])), null);
});

const policy = { allowedTypes: ['image/jpeg', 'image/png'], maximumSize: 1000, uploadURLExpiry: 900 };
const file = (data, name, type) => Object.assign(new Blob([data], { type }), { name });

test('checkFile refuses a text file named .jpg, an oversized file, a type not allowed, an empty file', { timeout: 10000 }, async () => {
  const text = await checkFile(file('just some notes\n', 'notes.jpg', 'image/jpeg'), policy);
  assert.equal(text.ok, false);
  assert.match(text.problems[0], /"notes\.jpg" is not an image: it looks like text, although its name makes it image\/jpeg/);
  const big = await checkFile(file(new Uint8Array([...JPEG, ...new Uint8Array(2000)]), 'big.jpg', 'image/jpeg'), policy);
  assert.equal(big.ok, false);
  assert.match(big.problems[0], /"big\.jpg" is 2\.0 KiB, over the 1000 B limit/);
  const gif = await checkFile(file(bytes('GIF89a', [1, 0, 1, 0]), 'a.gif', 'image/gif'), policy);
  assert.equal(gif.ok, false);
  assert.match(gif.problems[0], /is a GIF image; allowed: JPEG, PNG/);
  const empty = await checkFile(file(new Uint8Array(0), 'e.png', 'image/png'), policy);
  assert.equal(empty.ok, false);
  assert.match(empty.problems[0], /is empty/);
});

test('checkFile accepts an image and uses the type its bytes show', { timeout: 10000 }, async () => {
  const ok = await checkFile(file(PNG, 'a.png', 'image/png'), policy);
  assert.deepEqual(ok, { ok: true, contentType: 'image/png', problems: [], notes: [] });
  const misnamed = await checkFile(file(PNG, 'a.jpg', 'image/jpeg'), policy);
  assert.equal(misnamed.ok, true);
  assert.equal(misnamed.contentType, 'image/png');
  assert.match(misnamed.notes[0], /named as image\/jpeg but its content is PNG/);
});

test('checkFile: a HEIC photo is sent as image/heic, or as image/heif when the browser or the policy names it so', { timeout: 10000 }, async () => {
  const heic = bytes([0, 0, 0, 28], 'ftypheic', [0, 0, 0, 0], 'mif1heic');
  const both = { allowedTypes: ['image/jpeg', 'image/heic', 'image/heif'], maximumSize: 1000 };
  assert.deepEqual(await checkFile(file(heic, 'IMG_0001.HEIC', 'image/heic'), both),
    { ok: true, contentType: 'image/heic', problems: [], notes: [] });
  assert.deepEqual(await checkFile(file(heic, 'photo.heif', 'image/heif'), both),
    { ok: true, contentType: 'image/heif', problems: [], notes: [] });
  const onlyHeif = await checkFile(file(heic, 'IMG_0001.HEIC', ''), { allowedTypes: ['image/heif'], maximumSize: 1000 });
  assert.equal(onlyHeif.ok, true);
  assert.equal(onlyHeif.contentType, 'image/heif');
  const refused = await checkFile(file(heic, 'IMG_0001.HEIC', 'image/heic'), policy);
  assert.equal(refused.ok, false);
  assert.match(refused.problems[0], /is a HEIC image; allowed: JPEG, PNG/);
});

test('formatBytes and sha256Base64', { timeout: 10000 }, async () => {
  assert.equal(formatBytes(512), '512 B');
  assert.equal(formatBytes(1536), '1.5 KiB');
  assert.equal(formatBytes(10 * 1024 * 1024), '10 MiB');
  const data = new TextEncoder().encode('hoist');
  assert.equal(await sha256Base64(new Blob([data]), webcrypto), createHash('sha256').update(data).digest('base64'));
});

test('ProgressMeter gives percent, rate over its window and time left', () => {
  let t = 0;
  const meter = new ProgressMeter(1000, { now: () => t, window: 2000 });
  t = 1000;
  let p = meter.update(100);
  assert.deepEqual([p.percent, p.rate, p.remaining], [10, 100, 9]);
  t = 2000;
  p = meter.update(300);
  assert.equal(p.rate, 150);
  t = 4000;
  p = meter.update(700);
  assert.equal(p.rate, 200); // (700 - 300) / 2 s: the first samples fell out of the window
  assert.equal(p.remaining, 1.5);
  p = meter.update(1000);
  assert.deepEqual([p.percent, p.remaining], [100, 0]);
});

// --- the uploader against fakes --------------------------------------------------------------------------

function jsonResponse(status, body, headers = {}) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });
}

/** A fake API: POST /upload-url hands out numbered URLs; records every request. */
function fakeAPI({ reachable = true } = {}) {
  const calls = [];
  let n = 0;
  const fetch = async (url, init = {}) => {
    calls.push({ url, method: init.method ?? 'GET', body: init.body, headers: init.headers, mode: init.mode });
    if (init.mode === 'no-cors') {
      if (!reachable) throw new TypeError('Failed to fetch');
      return new Response(null, { status: 200 });
    }
    if (url.endsWith('/upload-url')) {
      n += 1;
      const body = JSON.parse(init.body);
      return jsonResponse(200, {
        uploadUrl: `http://store.test:9000/b/articles/a1/raw/${n}.png?X-Amz-Signature=${n}`, key: `articles/a1/raw/${n}.png`,
        articleId: body.articleId ?? 'a1', expiresIn: 900, method: 'PUT',
        headers: { 'Content-Length': String(body.size), 'Content-Type': body.contentType, 'If-None-Match': '*' },
      });
    }
    return jsonResponse(404, { error: { code: 'not_found', message: 'no' } });
  };
  return { fetch, calls, posts: () => calls.filter((c) => c.url.endsWith('/upload-url')) };
}

/**
 * A fake XMLHttpRequest. `script(xhr)` decides each request's fate after `send`: the test calls
 * `xhr.progress(n)`, `xhr.respond(status, body)`, `xhr.fail()`, or nothing (the request hangs).
 */
function fakeXHR(script) {
  const requests = [];
  class FakeXHR {
    constructor() { this.upload = {}; this.headers = {}; this.status = 0; this.responseText = ''; this.aborted = false; }
    open(method, url) { this.method = method; this.url = url; }
    setRequestHeader(name, value) { this.headers[name] = value; }
    getResponseHeader(name) { return name.toLowerCase() === 'etag' ? '"etag-1"' : null; }
    send(body) { this.body = body; requests.push(this); setTimeout(() => script(this, requests.length), 0); }
    abort() { this.aborted = true; this.onabort?.(); }
    progress(loaded) { this.upload.onprogress?.({ loaded, total: this.body.size, lengthComputable: true }); }
    respond(status, text = '') { this.status = status; this.responseText = text; this.onload?.(); }
    fail() { this.status = 0; this.onerror?.(); }
  }
  return { XMLHttpRequest: FakeXHR, requests };
}

const pngFile = () => file(new Uint8Array([...PNG, ...new Uint8Array(1000)]), 'a.png', 'image/png');
const uploader = (api, xhr, extra = {}) => new HoistUploader({
  apiBase: 'http://api.test', token: 't0k3n', fetch: api.fetch, XMLHttpRequest: xhr.XMLHttpRequest, crypto: webcrypto,
  retryDelay: 1, pageOrigin: 'http://api.test', ...extra,
});

test('upload: SHA-256 in the request, exactly the returned headers on the PUT (but Content-Length), progress to 100', { timeout: 10000 }, async () => {
  const api = fakeAPI();
  const xhr = fakeXHR((r) => { r.progress(300); r.progress(1016); r.respond(200); });
  const seen = [];
  const states = [];
  const f = pngFile();
  const result = await uploader(api, xhr).upload(f, { articleId: 'a1', onProgress: (p) => seen.push(p.percent), onState: (s) => states.push(s.state) });
  const body = JSON.parse(api.posts()[0].body);
  assert.deepEqual(body, { contentType: 'image/png', size: 1016, articleId: 'a1', checksumSHA256: await sha256Base64(f, webcrypto) });
  assert.equal(api.posts()[0].headers.Authorization, 'Bearer t0k3n');
  const [put] = xhr.requests;
  assert.equal(put.method, 'PUT');
  assert.equal(put.url, 'http://store.test:9000/b/articles/a1/raw/1.png?X-Amz-Signature=1');
  assert.deepEqual(put.headers, { 'Content-Type': 'image/png', 'If-None-Match': '*' });
  assert.equal(put.body, f);
  assert.deepEqual(seen, [29, 100, 100]);
  assert.deepEqual(states, ['queued', 'hashing', 'requesting', 'uploading']);
  assert.equal(result.key, 'articles/a1/raw/1.png');
  assert.equal(result.etag, '"etag-1"');
  assert.equal(result.renewed, false);
});

test('above hashLimit the hash is skipped and the state says so', { timeout: 10000 }, async () => {
  const api = fakeAPI();
  const xhr = fakeXHR((r) => r.respond(200));
  const states = [];
  const result = await uploader(api, xhr, { hashLimit: 100 }).upload(pngFile(), { onState: (s) => states.push(s) });
  assert.equal(result.checksum, null);
  assert.equal(JSON.parse(api.posts()[0].body).checksumSHA256, undefined);
  const skipped = states.find((s) => s.state === 'hash-skipped');
  assert.match(skipped.message, /over 100 B, the hashing limit/);
});

test('an expired URL is renewed once, then the upload succeeds with the new URL', { timeout: 10000 }, async () => {
  const api = fakeAPI();
  const xhr = fakeXHR((r, n) => (n === 1 ? r.respond(403, s3Xml('AccessDenied', 'Request has expired')) : r.respond(200)));
  const states = [];
  const result = await uploader(api, xhr).upload(pngFile(), { onState: (s) => states.push(s.state) });
  assert.equal(api.posts().length, 2);
  assert.equal(xhr.requests.length, 2);
  assert.equal(result.key, 'articles/a1/raw/2.png');
  assert.equal(result.renewed, true);
  assert.ok(states.includes('renewing'));
});

test('a URL that expires twice is renewed only once', { timeout: 10000 }, async () => {
  const api = fakeAPI();
  const xhr = fakeXHR((r) => r.respond(403, s3Xml('AccessDenied', 'Request has expired')));
  await assert.rejects(uploader(api, xhr).upload(pngFile()), (e) => e.expired && e.code === 'AccessDenied');
  assert.equal(api.posts().length, 2);
  assert.equal(xhr.requests.length, 2);
});

test('SignatureDoesNotMatch is not retried', { timeout: 10000 }, async () => {
  const api = fakeAPI();
  const xhr = fakeXHR((r) => r.respond(403, s3Xml('SignatureDoesNotMatch', 'no')));
  await assert.rejects(uploader(api, xhr).upload(pngFile()), /file changed or headers were altered/);
  assert.equal(xhr.requests.length, 1);
});

test('network errors are retried with backoff; the same URL is used again', { timeout: 10000 }, async () => {
  const api = fakeAPI({ reachable: false });
  const xhr = fakeXHR((r, n) => (n < 3 ? r.fail() : r.respond(200)));
  const delays = [];
  const states = [];
  const result = await uploader(api, xhr, { retryDelay: 5 }).upload(pngFile(), {
    onState: (s) => { states.push(s.state); if (s.state === 'retrying') delays.push(s.message); },
  });
  assert.equal(xhr.requests.length, 3);
  assert.equal(new Set(xhr.requests.map((r) => r.url)).size, 1);
  assert.equal(api.posts().length, 1);
  assert.equal(result.attempts, 3);
  assert.match(delays[0], /Could not reach storage at http:\/\/store\.test:9000/);
  assert.match(delays[0], /in 0\.0 s/);
});

test('network errors give up after networkRetries', { timeout: 10000 }, async () => {
  const api = fakeAPI({ reachable: false });
  const xhr = fakeXHR((r) => r.fail());
  await assert.rejects(uploader(api, xhr, { networkRetries: 2 }).upload(pngFile()), (e) => e.code === 'network');
  assert.equal(xhr.requests.length, 3);
});

test('a refused preflight (storage reachable, nothing sent) is reported as CORS and not retried', { timeout: 10000 }, async () => {
  const api = fakeAPI({ reachable: true });
  const xhr = fakeXHR((r) => r.fail());
  await assert.rejects(uploader(api, xhr).upload(pngFile()),
    (e) => e.code === 'cors' && /origin http:\/\/api\.test/.test(e.message) && /Content-Type, If-None-Match/.test(e.message));
  assert.equal(xhr.requests.length, 1);
});

test('PreconditionFailed after a broken connection means the first attempt landed', { timeout: 10000 }, async () => {
  const api = fakeAPI({ reachable: true });
  const xhr = fakeXHR((r, n) => { if (n === 1) { r.progress(500); r.fail(); } else r.respond(412, s3Xml('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold')); });
  const result = await uploader(api, xhr).upload(pngFile());
  assert.equal(result.key, 'articles/a1/raw/1.png');
  assert.equal(xhr.requests.length, 2);
});

test('abort cancels a running PUT, and a queued upload never starts', { timeout: 10000 }, async () => {
  const api = fakeAPI();
  const xhr = fakeXHR((r) => r.progress(10)); // hangs after some progress
  const up = uploader(api, xhr, { concurrency: 1 });
  const first = new AbortController();
  const second = new AbortController();
  const p1 = up.upload(pngFile(), { signal: first.signal });
  const p2 = up.upload(pngFile(), { signal: second.signal });
  while (xhr.requests.length < 1) await new Promise((r) => setTimeout(r, 1));
  second.abort();
  await assert.rejects(p2, (e) => e.code === 'aborted');
  first.abort();
  await assert.rejects(p1, (e) => e.code === 'aborted' && e.message === 'The upload was cancelled.');
  assert.equal(xhr.requests.length, 1);
  assert.equal(xhr.requests[0].aborted, true);
  assert.equal(api.posts().length, 1);
});

test('at most `concurrency` uploads run at once (default 3)', { timeout: 10000 }, async () => {
  const api = fakeAPI();
  const pending = [];
  const xhr = fakeXHR((r) => pending.push(r));
  const up = uploader(api, xhr);
  assert.equal(up.concurrency, 3);
  const all = Promise.all(Array.from({ length: 7 }, () => up.upload(pngFile())));
  let maxActive = 0;
  let finished = 0;
  let waited = 0;
  while (finished < 7) {
    await new Promise((r) => setTimeout(r, 2));
    maxActive = Math.max(maxActive, pending.length);
    // Answer only once every slot that can be busy is (or after 1 s): a loaded machine hashes slowly.
    if (pending.length < Math.min(3, 7 - finished) && (waited += 1) < 500) continue;
    waited = 0;
    const next = pending.shift();
    if (next) { next.respond(200); finished += 1; }
  }
  await all;
  assert.equal(maxActive, 3);
  assert.equal(xhr.requests.length, 7);
});

test('API errors reach the caller readable; 429 waits Retry-After and tries again', { timeout: 10000 }, async () => {
  let n = 0;
  const fetch = async (url, init) => {
    n += 1;
    if (n === 1) return jsonResponse(429, { error: { code: 'rate_limited', message: 'slow' } }, { 'Retry-After': '0' });
    return jsonResponse(415, { error: { code: 'unsupported_media_type', message: 'image/tiff is not allowed' } });
  };
  const up = new HoistUploader({ apiBase: 'http://api.test', token: 't', fetch, XMLHttpRequest: fakeXHR(() => {}).XMLHttpRequest, crypto: webcrypto, retryDelay: 1 });
  await assert.rejects(up.upload(pngFile()), (e) => e.code === 'unsupported_media_type' && e.status === 415 && e.message === 'image/tiff is not allowed');
  assert.equal(n, 2);
});

test('no token: a clear error before any request', { timeout: 10000 }, async () => {
  const api = fakeAPI();
  const up = new HoistUploader({ fetch: api.fetch, XMLHttpRequest: fakeXHR(() => {}).XMLHttpRequest, crypto: webcrypto });
  await assert.rejects(up.upload(pngFile()), (e) => e.code === 'missing_token' && /Sign in first/.test(e.message));
  assert.equal(api.calls.length, 0);
});

// --- multipart: planning, resume records, retry decisions ---------------------------------------------

const MiB = 1024 * 1024;

test('planParts maps the server\'s part size to byte ranges; the last part is the rest', () => {
  assert.deepEqual(planParts(20 * MiB + 3, 8 * MiB), [
    { partNumber: 1, start: 0, end: 8 * MiB, size: 8 * MiB },
    { partNumber: 2, start: 8 * MiB, end: 16 * MiB, size: 8 * MiB },
    { partNumber: 3, start: 16 * MiB, end: 20 * MiB + 3, size: 4 * MiB + 3 },
  ]);
  assert.deepEqual(planParts(16 * MiB, 8 * MiB).map((p) => p.size), [8 * MiB, 8 * MiB]);
  assert.deepEqual(planParts(1, 8 * MiB), [{ partNumber: 1, start: 0, end: 1, size: 1 }]);
  const big = planParts(5 * 1024 * MiB, 8 * MiB);
  assert.equal(big.length, 640);
  assert.equal(big.at(-1).end, 5 * 1024 * MiB);
  assert.equal(planParts(10000, 1).length, 10000);
  for (const [size, partSize] of [[0, 8], [10, 0], [-1, 8], [1.5, 8], [10, NaN], [100001, 10]]) {
    assert.throws(() => planParts(size, partSize), (e) => e instanceof HoistUploadError && e.code === 'bad_plan', `${size}/${partSize}`);
  }
});

test('uploadFingerprint: name, size, modification time, type and article each make another file', () => {
  const f = { name: 'a.jpg', size: 10, lastModified: 5, type: 'image/jpeg' };
  const base = uploadFingerprint(f, 'art');
  assert.equal(base, uploadFingerprint({ ...f }, 'art'));
  assert.ok(base.startsWith('hoist.upload.'));
  for (const other of [{ ...f, name: 'b.jpg' }, { ...f, size: 11 }, { ...f, lastModified: 6 }, { ...f, type: 'image/png' }]) {
    assert.notEqual(uploadFingerprint(other, 'art'), base);
  }
  assert.notEqual(uploadFingerprint(f, 'other'), base);
  assert.notEqual(uploadFingerprint(f), base);
  // Separators in names cannot make two files collide.
  assert.notEqual(uploadFingerprint({ ...f, name: 'a","10' }, 'x'), uploadFingerprint({ ...f, name: 'a' }, '10","x'));
});

/** A Storage in memory; `failing` makes every call throw (full, or disabled). */
function fakeStorage({ failing = false } = {}) {
  const map = new Map();
  const guard = () => { if (failing) throw new Error('QuotaExceededError'); };
  return {
    map,
    getItem: (k) => { guard(); return map.has(k) ? map.get(k) : null; },
    setItem: (k, v) => { guard(); map.set(k, String(v)); },
    removeItem: (k) => { guard(); map.delete(k); },
  };
}

test('ResumeStore keeps records; expired, broken or foreign ones read as absent and are removed', () => {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const storage = fakeStorage();
  const store = new ResumeStore(storage, { now: () => now });
  const record = { uploadId: 'u1', key: 'articles/a/raw/k.jpg', articleId: 'a', size: 100, partSize: 10, partCount: 10,
    contentType: 'image/jpeg', checksum: true, expiresAt: '2026-01-02T00:00:00Z', apiBase: '' };
  assert.equal(store.put('fp', record), true);
  assert.deepEqual(store.get('fp'), { ...record, v: 1 });
  assert.equal(store.get('other'), null);
  now = Date.parse('2026-01-02T00:00:01Z');
  assert.equal(store.get('fp'), null);
  assert.equal(storage.map.has('fp'), false, 'an expired record is removed');
  storage.setItem('broken', '{not json');
  assert.equal(store.get('broken'), null);
  assert.equal(storage.map.has('broken'), false);
  storage.setItem('old', JSON.stringify({ ...record, v: 0 }));
  assert.equal(store.get('old'), null);
  storage.setItem('nokey', JSON.stringify({ ...record, key: 7, v: 1, expiresAt: '2027-01-01T00:00:00Z' }));
  assert.equal(store.get('nokey'), null);
  store.put('fp', { ...record, expiresAt: '2027-01-01T00:00:00Z' });
  store.delete('fp');
  assert.equal(store.get('fp'), null);
  // A storage that throws, or none: nothing is remembered, nothing breaks.
  const failing = new ResumeStore(fakeStorage({ failing: true }));
  assert.equal(failing.put('fp', record), false);
  assert.equal(failing.get('fp'), null);
  failing.delete('fp');
  const none = new ResumeStore(null);
  assert.equal(none.put('fp', record), false);
  assert.equal(none.get('fp'), null);
});

test('backoffDelay doubles up to its cap, with equal jitter', () => {
  assert.equal(backoffDelay(0, { base: 500, random: () => 0 }), 250);
  assert.equal(backoffDelay(0, { base: 500, random: () => 0.999999 }), 500);
  assert.equal(backoffDelay(3, { base: 500, random: () => 0 }), 2000);
  assert.equal(backoffDelay(3, { base: 500, random: () => 0.5 }), 3000);
  assert.equal(backoffDelay(20, { base: 500, max: 20000, random: () => 0 }), 10000);
  assert.equal(backoffDelay(1000, { base: 500, max: 20000, random: () => 0.999999 }), 20000);
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(2, { base: 100 })));
  assert.ok(spread.size > 5, 'jitter spreads the waits');
  for (const d of spread) assert.ok(d >= 200 && d <= 400, String(d));
});

test('retryDecision: re-sign an expired URL, back off on network errors, 5xx and 429, wait while offline, else fail', () => {
  const opts = { failures: 0, renewals: 0, online: true, base: 100, max: 1000, random: () => 0 };
  const expired = storageError(403, s3Xml('AccessDenied', 'Request has expired'));
  assert.deepEqual(retryDecision(expired, opts), { action: 'resign' });
  assert.deepEqual(retryDecision(expired, { ...opts, renewals: 3 }), { action: 'fail' });
  const network = new HoistUploadError('network', 'broken', { retryable: true });
  assert.deepEqual(retryDecision(network, opts), { action: 'retry', delay: 50 });
  assert.deepEqual(retryDecision(network, { ...opts, failures: 2 }), { action: 'retry', delay: 200 });
  assert.deepEqual(retryDecision(network, { ...opts, failures: 6 }), { action: 'fail' });
  assert.deepEqual(retryDecision(network, { ...opts, failures: 6, online: false }), { action: 'wait-online' });
  assert.deepEqual(retryDecision(new HoistUploadError('offline', 'off'), { ...opts, online: false }), { action: 'wait-online' });
  assert.deepEqual(retryDecision(new HoistUploadError('offline', 'off'), { ...opts, failures: 6 }), { action: 'wait-online' },
    'a PUT stopped by going offline is no failure, even when the browser is back online already');
  assert.equal(retryDecision(storageError(503, s3Xml('SlowDown', 'x')), opts).action, 'retry');
  assert.equal(retryDecision(storageError(500, s3Xml('InternalError', 'x')), opts).action, 'retry');
  assert.equal(retryDecision(storageError(502, 'gateway'), opts).action, 'retry');
  assert.equal(retryDecision(storageError(429, 'busy'), opts).action, 'retry');
  const limited = apiError(429, '{"error":{"code":"rate_limited","message":"slow"}}', '2');
  assert.deepEqual(retryDecision(limited, { ...opts, max: 20000 }), { action: 'retry', delay: 2000 });
  for (const code of ['SignatureDoesNotMatch', 'BadDigest', 'AccessDenied', 'NoSuchUpload']) {
    assert.deepEqual(retryDecision(storageError(403, s3Xml(code, 'no')), opts), { action: 'fail' }, code);
  }
  assert.deepEqual(retryDecision(new HoistUploadError('aborted', 'x'), opts), { action: 'fail' });
  assert.deepEqual(retryDecision(new Error('not ours'), opts), { action: 'fail' });
});

test('the hashing worker\'s code digests a Blob and posts the SHA-256 back', { timeout: 10000 }, async () => {
  const posted = [];
  const self = { crypto: webcrypto, postMessage: (m) => posted.push(m) };
  new Function('self', HASH_WORKER_SOURCE)(self);
  const data = new TextEncoder().encode('part one');
  await self.onmessage({ data: { id: 7, blob: new Blob([data]) } });
  assert.equal(posted[0].id, 7);
  assert.equal(Buffer.from(posted[0].digest).toString('base64'), createHash('sha256').update(data).digest('base64'));
  await self.onmessage({ data: { id: 8, blob: { arrayBuffer: () => Promise.reject(new Error('unreadable')) } } });
  assert.deepEqual(posted[1], { id: 8, error: 'unreadable' });
});

/** A Worker that runs the worker code in this thread, asynchronously, as a real worker would. */
function inlineWorker(created) {
  return class FakeWorker {
    constructor(url) {
      created.push(url);
      const scope = { crypto: webcrypto, postMessage: (m) => setTimeout(() => this.onmessage?.({ data: m }), 0) };
      new Function('self', HASH_WORKER_SOURCE)(scope);
      this.scope = scope;
    }
    postMessage(m) { setTimeout(() => this.scope.onmessage({ data: m }), 0); }
    terminate() { this.terminated = true; }
  };
}

test('PartHasher hashes in a worker made from a Blob URL, and on this thread without Worker', { timeout: 10000 }, async () => {
  const created = [];
  const urls = { createObjectURL: (b) => { assert.ok(b instanceof Blob); return 'blob:hash-worker'; }, revokeObjectURL: () => {} };
  const hasher = new PartHasher({ Worker: inlineWorker(created), crypto: webcrypto, URL: urls });
  const parts = ['a', 'bb', 'ccc'].map((t) => new TextEncoder().encode(t));
  const digests = await Promise.all(parts.map((p) => hasher.hash(new Blob([p]))));
  assert.deepEqual(digests, parts.map((p) => createHash('sha256').update(p).digest('base64')));
  assert.deepEqual(created, ['blob:hash-worker'], 'one worker for all parts');
  assert.equal(hasher.usesWorker, true);
  const plain = new PartHasher({ Worker: null, crypto: webcrypto });
  assert.equal(await plain.hash(new Blob([parts[0]])), digests[0]);
  assert.equal(plain.usesWorker, false);
  assert.equal(new PartHasher({ Worker: null, crypto: {} }).available, false);
});

// --- multipart uploads against a fake of the API's multipart routes ------------------------------------

/**
 * The API's multipart routes and a storage that keeps the parts PUT to it (with their bytes' SHA-256).
 * `partSize` is what the fake server plans; `signed` lists every part number signed, in order.
 */
function fakeMultipartAPI({ partSize = 8 * MiB, reachable = false } = {}) {
  const calls = [];
  const uploads = new Map();
  const signed = [];
  let n = 0;
  let urlVersion = 0;
  const fetch = async (url, init = {}) => {
    const method = init.method ?? 'GET';
    calls.push({ url, method, body: init.body, mode: init.mode });
    if (init.mode === 'no-cors') {
      if (!reachable) throw new TypeError('Failed to fetch');
      return new Response(null, { status: 200 });
    }
    if (init.signal?.aborted) throw new DOMException('aborted', 'AbortError');
    const path = new URL(url).pathname;
    if (method === 'POST' && path === '/multipart-uploads') {
      const body = JSON.parse(init.body);
      n += 1;
      const id = `up-${n}`;
      const upload = { id, key: `articles/a1/raw/${n}.jpg`, size: body.size, partSize, checksum: body.checksumAlgorithm === 'SHA256',
        parts: new Map(), status: 'active', body };
      uploads.set(id, upload);
      return jsonResponse(200, { uploadId: id, key: upload.key, articleId: body.articleId ?? 'a1', contentType: body.contentType,
        size: body.size, partSize, partCount: Math.ceil(body.size / partSize), ...(upload.checksum ? { checksumAlgorithm: 'SHA256' } : {}),
        expiresAt: '2999-01-01T00:00:00Z', status: 'active' });
    }
    const m = /^\/multipart-uploads\/([^/]+)(\/parts|\/complete)?$/.exec(path);
    const upload = m && uploads.get(decodeURIComponent(m[1]));
    if (!upload || upload.status === 'aborted') return jsonResponse(404, { error: { code: 'not_found', message: 'No such upload.' } });
    const count = Math.ceil(upload.size / upload.partSize);
    const length = (k) => (k < count ? upload.partSize : upload.size - (count - 1) * upload.partSize);
    if (method === 'POST' && m[2] === '/parts') {
      const parts = JSON.parse(init.body).parts.map((p) => {
        signed.push(p.partNumber);
        if (upload.checksum && !p.checksumSHA256) throw new Error(`part ${p.partNumber} signed without its checksum`);
        urlVersion += 1;
        return { partNumber: p.partNumber, method: 'PUT',
          url: `http://store.test:9000/b/${upload.key}?partNumber=${p.partNumber}&uploadId=${upload.id}&v=${urlVersion}`,
          headers: { 'Content-Length': String(length(p.partNumber)), ...(p.checksumSHA256 ? { 'x-amz-checksum-sha256': p.checksumSHA256 } : {}) } };
      });
      return jsonResponse(200, { uploadId: upload.id, key: upload.key, expiresIn: 900, expiresAt: '2999-01-01T00:00:00Z', parts });
    }
    const good = () => [...upload.parts.entries()].filter(([k, p]) => p.size === length(k)).map(([k]) => k);
    const missing = () => Array.from({ length: count }, (_, i) => i + 1).filter((k) => !good().includes(k));
    if (method === 'GET' && m[2] === '/parts') {
      return jsonResponse(200, { uploadId: upload.id, key: upload.key, size: upload.size, partSize: upload.partSize, partCount: count,
        status: upload.status, parts: [...upload.parts.entries()].sort(([a], [b]) => a - b).map(([k, p]) => ({ partNumber: k, size: p.size, etag: 'e' })),
        missingParts: upload.status === 'completed' ? [] : missing() });
    }
    if (method === 'POST' && m[2] === '/complete') {
      if (upload.status !== 'completed' && missing().length) {
        return jsonResponse(409, { error: { code: 'incomplete_upload', message: `missing ${missing()}` } });
      }
      upload.status = 'completed';
      return jsonResponse(200, { uploadId: upload.id, key: upload.key, articleId: 'a1', size: upload.size, etag: `etag-${count}`, status: 'completed' });
    }
    if (method === 'DELETE' && !m[2]) {
      upload.status = 'aborted';
      return new Response(null, { status: 204 });
    }
    return jsonResponse(404, { error: { code: 'not_found', message: 'no route' } });
  };
  /** Storage's side of a part PUT: keeps the part (its length and SHA-256) and answers 200. */
  const store = async (xhr) => {
    const u = new URL(xhr.url);
    const upload = uploads.get(u.searchParams.get('uploadId'));
    const bytes = new Uint8Array(await xhr.body.arrayBuffer());
    const sha = createHash('sha256').update(bytes).digest('base64');
    if (xhr.headers['x-amz-checksum-sha256'] && xhr.headers['x-amz-checksum-sha256'] !== sha) {
      xhr.respond(400, s3Xml('BadDigest', 'The SHA256 you specified did not match the calculated checksum.'));
      return;
    }
    upload.parts.set(Number(u.searchParams.get('partNumber')), { size: bytes.length, sha });
    xhr.progress(bytes.length);
    xhr.respond(200);
  };
  const count = (method, suffix) => calls.filter((c) => c.method === method && c.url.endsWith(suffix)).length;
  return { fetch, calls, uploads, signed, store, count };
}

const partNumber = (xhr) => Number(new URL(xhr.url).searchParams.get('partNumber'));

/** A 20 MiB + 3 bytes "JPEG" whose parts differ, as a File with a fixed modification time. */
function bigFile(name = 'big.jpg', size = 20 * MiB + 3) {
  const data = new Uint8Array(size);
  data.set(JPEG);
  for (let i = JPEG.length; i < size; i += 4096) data[i] = (i / 4096) % 251;
  return new File([data], name, { type: 'image/jpeg', lastModified: 1700000000000 });
}

function onlineSwitch() {
  const nav = { onLine: true };
  const events = new EventTarget();
  return {
    connectivity: new Connectivity({ navigator: nav, events }),
    offline() { nav.onLine = false; events.dispatchEvent(new Event('offline')); },
    online() { nav.onLine = true; events.dispatchEvent(new Event('online')); },
  };
}

const mpUploader = (api, xhr, extra = {}) => new HoistUploader({
  apiBase: 'http://api.test', token: 't0k3n', fetch: api.fetch, XMLHttpRequest: xhr.XMLHttpRequest, crypto: webcrypto, Worker: null,
  retryDelay: 1, maxRetryDelay: 5, random: () => 0, pageOrigin: 'http://api.test', storage: fakeStorage(),
  connectivity: onlineSwitch().connectivity, ...extra,
});

test('multipart: a file over the threshold goes in parts, in parallel, each bound to its SHA-256; progress to 100 %', { timeout: 20000 }, async () => {
  const api = fakeMultipartAPI();
  let active = 0;
  let most = 0;
  const xhr = fakeXHR(async (r) => {
    active += 1; most = Math.max(most, active);
    // Hold each PUT until two are in flight (hashing the next part takes a moment), or for 2 s.
    for (let t = 0; t < 400 && most < 2; t += 1) await new Promise((res) => setTimeout(res, 5));
    await api.store(r);
    active -= 1;
  });
  const storage = fakeStorage();
  const f = bigFile();
  const progress = [];
  const states = [];
  let recordWhileSending = null;
  const up = mpUploader(api, xhr, { storage, partConcurrency: 2 });
  const result = await up.upload(f, {
    articleId: 'a1', contentType: 'image/jpeg',
    onState: (s) => { states.push(s.state); if (s.state === 'uploading') recordWhileSending ??= up.resumable(f, { articleId: 'a1' }); },
    onProgress: (p) => progress.push(p),
  });
  const create = JSON.parse(api.calls.find((c) => c.url.endsWith('/multipart-uploads')).body);
  assert.deepEqual(create, { contentType: 'image/jpeg', size: f.size, articleId: 'a1', checksumAlgorithm: 'SHA256' });
  assert.equal(xhr.requests.length, 3);
  assert.equal(most, 2, 'partConcurrency parts at a time');
  const bytes = new Uint8Array(await f.arrayBuffer());
  for (const r of xhr.requests) {
    const n = partNumber(r);
    const slice = bytes.subarray((n - 1) * 8 * MiB, Math.min(f.size, n * 8 * MiB));
    assert.equal(r.method, 'PUT');
    assert.equal(r.body.size, slice.length, `part ${n} has its range's length`);
    assert.equal(r.headers['x-amz-checksum-sha256'], createHash('sha256').update(slice).digest('base64'), `part ${n}'s SHA-256`);
    assert.equal(r.headers['Content-Length'], undefined, 'the browser sets Content-Length itself');
  }
  assert.deepEqual(api.signed.sort(), [1, 2, 3]);
  assert.equal(api.count('POST', '/complete'), 1);
  assert.equal(recordWhileSending?.uploadId, 'up-1', 'the upload is remembered while it runs');
  assert.equal(up.resumable(f, { articleId: 'a1' }), null, 'and forgotten once complete');
  assert.equal(storage.map.size, 0);
  const loaded = progress.map((p) => p.loaded);
  assert.deepEqual(loaded, [...loaded].sort((a, b) => a - b), 'progress never goes down');
  assert.equal(progress.at(-1).percent, 100);
  assert.equal(progress.at(-1).loaded, f.size);
  assert.deepEqual([progress.at(-1).partsDone, progress.at(-1).partCount], [3, 3]);
  assert.ok(states.includes('completing') && states.at(-1) === 'completing', states.join());
  assert.deepEqual({ key: result.key, multipart: result.multipart, partCount: result.partCount, partsSent: result.partsSent,
    partsResumed: result.partsResumed, etag: result.etag }, { key: 'articles/a1/raw/1.jpg', multipart: true, partCount: 3,
    partsSent: 3, partsResumed: 0, etag: 'etag-3' });
  assert.equal(api.uploads.get('up-1').status, 'completed');
});

test('multipart: a file at the threshold or under it keeps the single PUT', { timeout: 10000 }, async () => {
  const api = fakeAPI();
  const xhr = fakeXHR((r) => r.respond(200));
  const result = await uploader(api, xhr, { multipartThreshold: 1016 }).upload(pngFile());
  assert.equal(api.posts().length, 1);
  assert.equal(result.multipart, undefined);
});

test('multipart resume: after a failure, the same file (same storage) sends only the parts storage lacks', { timeout: 20000 }, async () => {
  const api = fakeMultipartAPI();
  const storage = fakeStorage();
  const f = bigFile();
  // The first page: parts 1 and 3 land, part 2 is refused (a lasting failure), the page goes away.
  const first = fakeXHR((r) => (partNumber(r) === 2 ? r.respond(403, s3Xml('AccessDenied', 'Access Denied')) : api.store(r)));
  await assert.rejects(mpUploader(api, first, { storage, partConcurrency: 1 }).upload(f, { articleId: 'a1' }),
    (e) => e.code === 'AccessDenied' && /^Part 2 of 3: /.test(e.message));
  assert.equal(storage.map.size, 1, 'the upload is still remembered');
  assert.deepEqual([...api.uploads.get('up-1').parts.keys()], [1]);
  // partConcurrency 1 stops at the first failure: part 3 never went.
  const again = fakeXHR((r) => api.store(r));
  // The reloaded page: a new uploader, the same localStorage, the same file picked again.
  const states = [];
  const progress = [];
  const second = mpUploader(api, again, { storage });
  assert.equal(second.resumable(f, { articleId: 'a1' })?.uploadId, 'up-1');
  const result = await second.upload(f, { articleId: 'a1', onState: (s) => states.push(s), onProgress: (p) => progress.push(p) });
  assert.deepEqual(again.requests.map(partNumber).sort(), [2, 3], 'only the missing parts are sent');
  assert.equal(api.count('POST', '/multipart-uploads'), 1, 'no new upload was started');
  assert.ok(api.calls.some((c) => c.method === 'GET' && c.url.endsWith('/multipart-uploads/up-1/parts')));
  const resuming = states.find((s) => s.state === 'resuming');
  assert.match(resuming.message, /storage holds 1 of 3 parts; sending the other 2/);
  assert.equal(progress[0].loaded, 8 * MiB, 'progress starts from the stored parts');
  assert.equal(progress.at(-1).percent, 100);
  assert.deepEqual([result.partsSent, result.partsResumed, result.key], [2, 1, 'articles/a1/raw/1.jpg']);
  assert.equal(storage.map.size, 0);
});

test('multipart resume: another file, article or a vanished upload starts a new upload', { timeout: 20000 }, async () => {
  const api = fakeMultipartAPI();
  const storage = fakeStorage();
  const f = bigFile();
  const xhr = fakeXHR((r) => (partNumber(r) === 1 ? api.store(r) : r.respond(403, s3Xml('AccessDenied', 'Access Denied'))));
  await assert.rejects(mpUploader(api, xhr, { storage, partConcurrency: 1 }).upload(f, { articleId: 'a1' }));
  const up = mpUploader(api, xhr, { storage });
  assert.equal(up.resumable(bigFile('other.jpg'), { articleId: 'a1' }), null);
  assert.equal(up.resumable(f, { articleId: 'a2' }), null);
  assert.notEqual(up.resumable(f, { articleId: 'a1' }), null);
  api.uploads.get('up-1').status = 'aborted'; // the server's sweeper aborted it
  const ok = fakeXHR((r) => api.store(r));
  const result = await mpUploader(api, ok, { storage }).upload(f, { articleId: 'a1' });
  assert.equal(result.uploadId, 'up-2');
  assert.equal(ok.requests.length, 3);
  assert.equal(result.partsResumed, 0);
});

test('multipart: an expired part URL is re-signed and that part sent again', { timeout: 20000 }, async () => {
  const api = fakeMultipartAPI();
  let expiredOnce = false;
  const xhr = fakeXHR((r) => {
    if (partNumber(r) === 2 && !expiredOnce) { expiredOnce = true; r.respond(403, s3Xml('AccessDenied', 'Request has expired')); return; }
    api.store(r);
  });
  const states = [];
  const result = await mpUploader(api, xhr).upload(bigFile(), { onState: (s) => states.push(s) });
  const part2 = xhr.requests.filter((r) => partNumber(r) === 2);
  assert.equal(part2.length, 2);
  assert.notEqual(part2[0].url, part2[1].url, 'the second PUT uses a new URL');
  assert.deepEqual(api.signed.filter((n) => n === 2).length, 2, 'part 2 was signed twice');
  assert.equal(result.renewed, true);
  assert.match(states.find((s) => s.state === 'renewing').message, /URL of part 2 expired/);
});

test('multipart: 5xx, 429 and network errors on a part back off and retry; lasting errors fail with the part named', { timeout: 20000 }, async () => {
  const api = fakeMultipartAPI();
  const fails = { 1: [503, s3Xml('SlowDown', 'Reduce your request rate.')], 2: [429, ''], 3: null };
  const seen = new Map();
  const xhr = fakeXHR((r) => {
    const n = partNumber(r);
    seen.set(n, (seen.get(n) ?? 0) + 1);
    if (seen.get(n) === 1) { if (fails[n]) r.respond(...fails[n]); else r.fail(); return; }
    api.store(r);
  });
  const states = [];
  const result = await mpUploader(api, xhr).upload(bigFile(), { onState: (s) => states.push(s) });
  assert.deepEqual([...seen.entries()].sort(), [[1, 2], [2, 2], [3, 2]]);
  assert.equal(states.filter((s) => s.state === 'retrying').length, 3);
  assert.ok(states.some((s) => s.state === 'retrying' && /^Part 3: Could not reach storage/.test(s.message)));
  assert.equal(result.partsSent, 3);
  // Lasting 500s: partRetries retries, then the upload fails (and stays resumable).
  const api2 = fakeMultipartAPI();
  const storage = fakeStorage();
  const down = fakeXHR((r) => r.respond(500, s3Xml('InternalError', 'x')));
  await assert.rejects(mpUploader(api2, down, { partRetries: 2, partConcurrency: 1, storage }).upload(bigFile()),
    (e) => e.code === 'InternalError' && /^Part 1 of 3/.test(e.message));
  assert.equal(down.requests.length, 3);
  assert.equal(storage.map.size, 1);
});

test('multipart: offline pauses without spending retries, and the upload resumes on online', { timeout: 20000 }, async () => {
  const api = fakeMultipartAPI();
  const net = onlineSwitch();
  let wentOffline = false;
  const hanging = [];
  const xhr = fakeXHR((r) => {
    if (partNumber(r) === 2 && !wentOffline) {
      // Part 2 is in flight when the connection drops.
      wentOffline = true;
      r.progress(1000);
      hanging.push(r);
      net.offline();
      setTimeout(() => net.online(), 30);
      return;
    }
    api.store(r);
  });
  const states = [];
  const result = await mpUploader(api, xhr, { connectivity: net.connectivity, partRetries: 0 }).upload(bigFile(), {
    onState: (s) => states.push(s.state),
  });
  assert.equal(hanging[0].aborted, true, 'the PUT in flight was stopped when the browser went offline');
  assert.ok(states.includes('offline'), states.join());
  assert.equal(states.filter((s) => s === 'retrying').length, 0, 'no retry was spent on being offline');
  assert.deepEqual(xhr.requests.map(partNumber).filter((n) => n === 2).length, 2);
  assert.equal(result.partsSent, 3);
  // Offline from the start: nothing is asked until the browser is online.
  const api2 = fakeMultipartAPI();
  const net2 = onlineSwitch();
  net2.offline();
  const xhr2 = fakeXHR((r) => api2.store(r));
  const states2 = [];
  const p = mpUploader(api2, xhr2, { connectivity: net2.connectivity }).upload(bigFile(), { onState: (s) => states2.push(s.state) });
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(api2.calls.length, 0);
  assert.ok(states2.includes('offline'));
  net2.online();
  assert.equal((await p).partsSent, 3);
});

test('multipart: cancel aborts the parts in flight and the upload on the server, and forgets it', { timeout: 20000 }, async () => {
  const api = fakeMultipartAPI();
  const xhr = fakeXHR((r) => r.progress(10)); // every PUT hangs
  const storage = fakeStorage();
  const controller = new AbortController();
  const f = bigFile();
  const p = mpUploader(api, xhr, { storage }).upload(f, { signal: controller.signal });
  while (xhr.requests.length < 3) await new Promise((r) => setTimeout(r, 1));
  assert.equal(storage.map.size, 1);
  controller.abort();
  await assert.rejects(p, (e) => e.code === 'aborted');
  assert.ok(xhr.requests.every((r) => r.aborted));
  assert.equal(api.count('DELETE', '/multipart-uploads/up-1'), 1);
  assert.equal(api.uploads.get('up-1').status, 'aborted');
  assert.equal(storage.map.size, 0);
});

test('multipart: completion retried after a lost answer, and a completed upload found on resume is not sent again', { timeout: 20000 }, async () => {
  const api = fakeMultipartAPI();
  let failCompleteOnce = true;
  const fetch = async (url, init = {}) => {
    if (url.endsWith('/complete') && failCompleteOnce) {
      failCompleteOnce = false;
      await api.fetch(url, init); // the server completes, but the answer is lost
      throw new TypeError('network error');
    }
    return api.fetch(url, init);
  };
  const storage = fakeStorage();
  const xhr = fakeXHR((r) => api.store(r));
  const f = bigFile();
  const result = await mpUploader({ fetch }, xhr, { storage }).upload(f);
  assert.equal(result.etag, 'etag-3');
  assert.equal(api.count('POST', '/complete'), 2);
  // A record left behind for an upload that completed: picking the file again only confirms it.
  const record = { uploadId: 'up-1', key: 'articles/a1/raw/1.jpg', articleId: 'a1', size: f.size, partSize: 8 * MiB, partCount: 3,
    contentType: 'image/jpeg', checksum: true, expiresAt: '2999-01-01T00:00:00Z', apiBase: 'http://api.test' };
  new ResumeStore(storage).put(uploadFingerprint(f), record);
  const again = fakeXHR((r) => api.store(r));
  const second = await mpUploader(api, again, { storage }).upload(f);
  assert.equal(again.requests.length, 0);
  assert.equal(second.etag, 'etag-3');
  assert.equal(storage.map.size, 0);
});

test('multipart: a server without the multipart routes gets the single PUT', { timeout: 20000 }, async () => {
  const single = fakeAPI();
  const fetch = async (url, init = {}) => (url.endsWith('/multipart-uploads') ? new Response('', { status: 404 }) : single.fetch(url, init));
  const xhr = fakeXHR((r) => r.respond(200));
  const result = await mpUploader({ fetch }, xhr, { hashLimit: 0 }).upload(bigFile());
  assert.equal(single.posts().length, 1);
  assert.equal(xhr.requests.length, 1);
  assert.equal(result.multipart, undefined);
});
