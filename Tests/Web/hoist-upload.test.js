// Unit tests of the browser client Sources/HoistServer/Web/hoist-upload.js (the file Hoist serves),
// with node's built-in test runner: `node --test Tests/Web/`.
// The network is replaced by fakes: a fetch for the API and an XMLHttpRequest for storage.
import assert from 'node:assert/strict';
import { webcrypto, createHash } from 'node:crypto';
import { test } from 'node:test';

import {
  HoistUploadError, HoistUploader, ProgressMeter, apiError, checkFile, corsError, formatBytes, parseS3Error,
  sha256Base64, sniffImageType, storageError,
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
  while (finished < 7) {
    await new Promise((r) => setTimeout(r, 2));
    maxActive = Math.max(maxActive, pending.length);
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
