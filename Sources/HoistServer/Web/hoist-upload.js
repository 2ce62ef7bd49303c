// hoist-upload.js: Hoist's browser client. An ES module with no dependencies and no build step.
//
// It asks the Hoist API for a pre-signed URL (POST /upload-url, with the file's type, size and
// SHA-256), then PUTs the file straight to storage with exactly the headers the API returned,
// reporting progress, retrying what can be retried, and explaining what cannot.
//
//   import { HoistUploader } from '/hoist-upload.js';
//   const uploader = new HoistUploader({ token });
//   const controller = new AbortController();
//   const result = await uploader.upload(file, {
//     signal: controller.signal,
//     onProgress: (p) => console.log(p.percent, p.rate, p.remaining),
//   });
//   console.log(result.key);

/** The version of this client. */
export const VERSION = '0.1.0';

const MiB = 1024 * 1024;

/** An upload failure with a stable `code` and a message meant for people. */
export class HoistUploadError extends Error {
  /**
   * @param {string} code machine-readable: an S3 code (`SignatureDoesNotMatch`), an API code
   *   (`token_expired`), or one of `aborted`, `cors`, `network`, `refused`, `http_<status>`.
   * @param {string} message what happened and what to do, in plain words.
   * @param {object} [details] `status`, `retryable`, `s3Code`, `s3Message`, `requestId`, `expired`.
   */
  constructor(code, message, details = {}) {
    super(message);
    this.name = 'HoistUploadError';
    this.code = code;
    this.status = details.status ?? 0;
    this.retryable = details.retryable ?? false;
    this.expired = details.expired ?? false;
    if (details.s3Code !== undefined) this.s3Code = details.s3Code;
    if (details.s3Message !== undefined) this.s3Message = details.s3Message;
    if (details.requestId !== undefined) this.requestId = details.requestId;
  }
}

// --- S3's XML errors ------------------------------------------------------------------------------

function xmlText(xml, tag) {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  if (!match) return undefined;
  return match[1]
    .replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&amp;/g, '&');
}

/**
 * Reads S3's XML error document (`<Error><Code>…</Code><Message>…</Message>…</Error>`).
 * @param {string} text the response body.
 * @returns {{code: string, message: string, requestId?: string} | null} null when it is not one.
 */
export function parseS3Error(text) {
  if (typeof text !== 'string' || !/<Error[\s>]/.test(text)) return null;
  const code = xmlText(text, 'Code');
  if (!code) return null;
  const requestId = xmlText(text, 'RequestId');
  return { code: code.trim(), message: (xmlText(text, 'Message') ?? '').trim(), ...(requestId ? { requestId } : {}) };
}

// What each S3 error means for someone uploading a file through a pre-signed URL.
const S3_EXPLANATIONS = {
  SignatureDoesNotMatch: 'the file changed or headers were altered: storage computed another signature than the upload URL carries',
  AccessDenied: 'storage refused the upload (access denied)',
  InvalidAccessKeyId: 'storage does not know the key that signed the upload URL: the server signs with wrong or rotated storage credentials',
  ExpiredToken: 'the credentials that signed the upload URL have expired',
  InvalidToken: 'the credentials that signed the upload URL are not valid',
  RequestTimeTooSkewed: "the server's clock is too far from storage's clock for the signature to be accepted",
  AuthorizationQueryParametersError: 'the upload URL is malformed (its X-Amz-* parameters were cut or changed)',
  BadDigest: "the file's SHA-256 does not match the checksum given when the URL was issued: the file changed while it was sent",
  XAmzContentSHA256Mismatch: "the file's SHA-256 does not match what was declared: the file changed while it was sent",
  InvalidDigest: 'the checksum sent with the file is not valid',
  EntityTooLarge: 'the file is larger than the upload URL allows',
  EntityTooSmall: 'the file is smaller than the upload URL allows',
  IncompleteBody: 'storage received fewer bytes than the file has: the connection was cut',
  MissingContentLength: 'the request carried no Content-Length',
  PreconditionFailed: 'an object already exists under this key: an upload URL can be used only once',
  NoSuchBucket: 'the bucket the URL points to does not exist',
  InvalidArgument: 'storage refused a header of the upload as invalid',
  InvalidRequest: 'storage refused the request as invalid',
  NotImplemented: 'storage does not support this kind of request',
  SlowDown: 'storage is busy (SlowDown)',
  ServiceUnavailable: 'storage is unavailable for now',
  InternalError: 'storage had an internal error',
  RequestTimeout: 'storage waited too long for the file\'s bytes',
};

const RETRYABLE_S3 = new Set(['SlowDown', 'ServiceUnavailable', 'InternalError', 'RequestTimeout', 'IncompleteBody']);

/**
 * Turns storage's answer to a PUT into a readable {@link HoistUploadError}.
 * @param {number} status the HTTP status.
 * @param {string} body the response body (S3 XML, or anything else).
 * @returns {HoistUploadError}
 */
export function storageError(status, body) {
  const parsed = parseS3Error(body);
  if (!parsed) {
    const retryable = status >= 500 || status === 429;
    return new HoistUploadError(`http_${status}`, `Storage answered HTTP ${status} without an S3 error document.`,
      { status, retryable });
  }
  const expired = parsed.code === 'AccessDenied' && /request has expired/i.test(parsed.message);
  let explanation = expired
    ? 'the upload URL expired before storage received the file'
    : (S3_EXPLANATIONS[parsed.code] ?? `storage refused the upload (${parsed.message || parsed.code})`);
  explanation = explanation.charAt(0).toUpperCase() + explanation.slice(1);
  const said = parsed.message ? ` Storage said: "${parsed.message}"` : '';
  return new HoistUploadError(parsed.code, `${explanation} (${parsed.code}, HTTP ${status}).${said}`, {
    status, s3Code: parsed.code, s3Message: parsed.message, requestId: parsed.requestId, expired,
    retryable: RETRYABLE_S3.has(parsed.code) || status === 503,
  });
}

/**
 * Turns the Hoist API's JSON error (`{"error":{"code","message"}}`) into a {@link HoistUploadError}.
 * @param {number} status the HTTP status.
 * @param {string} body the response body.
 * @param {string|null} [retryAfter] the Retry-After header, if any.
 * @returns {HoistUploadError}
 */
export function apiError(status, body, retryAfter = null) {
  let code = `http_${status}`;
  let message = `The Hoist API answered HTTP ${status}.`;
  try {
    const parsed = JSON.parse(body);
    if (parsed && parsed.error && typeof parsed.error.code === 'string') {
      code = parsed.error.code;
      message = typeof parsed.error.message === 'string' && parsed.error.message ? parsed.error.message : message;
    }
  } catch {
    // Not JSON: keep the status.
  }
  if (status === 401) message = `Sign in again: ${message}`;
  const error = new HoistUploadError(code, message, { status, retryable: status === 429 || status === 503 || status >= 500 });
  const seconds = Number(retryAfter);
  if (retryAfter !== null && Number.isFinite(seconds) && seconds >= 0) error.retryAfter = seconds;
  return error;
}

/**
 * The message for a request the browser blocked: the storage answered, but not to this origin.
 * @param {string} storageOrigin e.g. `http://127.0.0.1:9000`.
 * @param {string} pageOrigin e.g. `http://127.0.0.1:8080`.
 * @param {string[]} headers the headers the upload sends.
 * @returns {HoistUploadError}
 */
export function corsError(storageOrigin, pageOrigin, headers) {
  const names = headers.filter((h) => !FORBIDDEN_HEADERS.has(h.toLowerCase()));
  return new HoistUploadError('cors',
    `The browser blocked the upload to ${storageOrigin} (CORS): storage is reachable, but its bucket's CORS rules ` +
    `do not allow a PUT from this page's origin ${pageOrigin}` + (names.length ? ` with the headers ${names.join(', ')}` : '') +
    `. Add ${pageOrigin} to the allowed origins (hoist serve: HOIST_CORS_ORIGINS; on S3: PutBucketCors) with the methods ` +
    'PUT, GET and HEAD and those headers.', { retryable: false });
}

// --- files ----------------------------------------------------------------------------------------

/**
 * The image type of the first bytes of a file, by their magic numbers, or null.
 * @param {Uint8Array} bytes at least the first 32 bytes when the file has them.
 * @returns {string|null} `image/jpeg`, `image/png`, `image/gif`, `image/webp`, `image/avif` or null.
 */
export function sniffImageType(bytes) {
  const b = bytes;
  const ascii = (from, to) => String.fromCharCode(...b.subarray(from, to));
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (b.length >= 8 && b[0] === 0x89 && ascii(1, 4) === 'PNG' && b[4] === 0x0d && b[5] === 0x0a && b[6] === 0x1a && b[7] === 0x0a) {
    return 'image/png';
  }
  if (b.length >= 6 && (ascii(0, 6) === 'GIF87a' || ascii(0, 6) === 'GIF89a')) return 'image/gif';
  if (b.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'image/webp';
  if (b.length >= 12 && ascii(4, 8) === 'ftyp') {
    const brands = ascii(8, Math.min(b.length, 32));
    if (/avi[fs]/.test(brands)) return 'image/avif';
  }
  return null;
}

function looksLikeText(bytes) {
  if (bytes.length === 0) return false;
  for (const c of bytes) {
    if (!(c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127) || c >= 0x80)) return false;
  }
  return true;
}

/**
 * A byte count for people: `512 B`, `1.5 KiB`, `10 MiB`.
 * @param {number} n bytes.
 * @returns {string}
 */
export function formatBytes(n) {
  if (!Number.isFinite(n)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
  const text = unit === 0 || value >= 100 || Number.isInteger(value) ? String(Math.round(value)) : value.toFixed(1);
  return `${text} ${units[unit]}`;
}

const TYPE_NAMES = { 'image/jpeg': 'JPEG', 'image/png': 'PNG', 'image/gif': 'GIF', 'image/webp': 'WebP', 'image/avif': 'AVIF' };
const typeName = (t) => TYPE_NAMES[t] ?? t;

/**
 * Checks a file against the server's policy before anything is sent: its size, and its type as its
 * bytes show it (a `.txt` renamed `.jpg` is refused, though the browser calls it `image/jpeg`).
 * @param {Blob & {name?: string}} file
 * @param {{allowedTypes: string[], maximumSize: number}} policy as `GET /policy` returns it.
 * @returns {Promise<{ok: boolean, contentType: string|null, problems: string[], notes: string[]}>}
 */
export async function checkFile(file, policy) {
  const name = file.name ? `"${file.name}"` : 'The file';
  const problems = [];
  const notes = [];
  if (file.size === 0) problems.push(`${name} is empty.`);
  if (policy && Number.isFinite(policy.maximumSize) && file.size > policy.maximumSize) {
    problems.push(`${name} is ${formatBytes(file.size)}, over the ${formatBytes(policy.maximumSize)} limit.`);
  }
  const head = new Uint8Array(await file.slice(0, 32).arrayBuffer());
  const sniffed = sniffImageType(head);
  const allowed = policy?.allowedTypes ?? Object.keys(TYPE_NAMES);
  const allowedText = allowed.map(typeName).join(', ');
  if (!sniffed) {
    if (file.size > 0) {
      const what = looksLikeText(head) ? 'it looks like text' : 'its first bytes match no image format';
      const claimed = file.type ? `, although its name makes it ${file.type}` : '';
      problems.push(`${name} is not an image: ${what}${claimed}. Allowed: ${allowedText}.`);
    }
  } else if (!allowed.includes(sniffed)) {
    problems.push(`${name} is a ${typeName(sniffed)} image; allowed: ${allowedText}.`);
  } else if (file.type && file.type !== sniffed) {
    notes.push(`${name} is named as ${file.type} but its content is ${typeName(sniffed)}; it is sent as ${sniffed}.`);
  }
  return { ok: problems.length === 0, contentType: sniffed, problems, notes };
}

function base64(bytes) {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * The SHA-256 of a file, base64, with Web Crypto.
 * @param {Blob} file
 * @param {Crypto} [cryptoImpl] defaults to `globalThis.crypto`.
 * @returns {Promise<string>}
 */
export async function sha256Base64(file, cryptoImpl = globalThis.crypto) {
  const digest = await cryptoImpl.subtle.digest('SHA-256', await file.arrayBuffer());
  return base64(new Uint8Array(digest));
}

// --- progress -------------------------------------------------------------------------------------

/**
 * Turns (time, bytes sent) samples into a rate over the last `window` ms and the time left.
 */
export class ProgressMeter {
  /**
   * @param {number} total bytes to send.
   * @param {{now?: () => number, window?: number}} [options] clock in ms, averaging window in ms.
   */
  constructor(total, { now = () => Date.now(), window = 3000 } = {}) {
    this.total = total;
    this.now = now;
    this.window = window;
    this.samples = [[now(), 0]];
  }

  /**
   * Records `loaded` bytes sent now.
   * @returns {{loaded: number, total: number, percent: number, rate: number, remaining: number}}
   *   rate in bytes per second (0 until measurable), remaining in seconds (Infinity until known).
   */
  update(loaded) {
    const t = this.now();
    this.samples.push([t, loaded]);
    while (this.samples.length > 2 && t - this.samples[1][0] >= this.window) this.samples.shift();
    const [t0, l0] = this.samples[0];
    const elapsed = (t - t0) / 1000;
    const rate = elapsed > 0 ? Math.max(0, (loaded - l0) / elapsed) : 0;
    const left = Math.max(0, this.total - loaded);
    const percent = this.total > 0 ? Math.min(100, Math.floor((loaded / this.total) * 100)) : 100;
    return { loaded, total: this.total, percent, rate, remaining: left === 0 ? 0 : rate > 0 ? left / rate : Infinity };
  }
}

// --- the uploader ---------------------------------------------------------------------------------

// Headers the browser sets itself; a page may not set them.
const FORBIDDEN_HEADERS = new Set(['content-length', 'host', 'connection', 'expect', 'accept-encoding']);

function abortError() {
  return new HoistUploadError('aborted', 'The upload was cancelled.');
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) { reject(abortError()); return; }
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    function onAbort() { clearTimeout(timer); reject(abortError()); }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs at most `limit` tasks at a time, in the order they asked. */
class Slots {
  constructor(limit) { this.limit = Math.max(1, limit); this.active = 0; this.waiting = []; }

  acquire(signal) {
    if (signal?.aborted) return Promise.reject(abortError());
    if (this.active < this.limit) { this.active += 1; return Promise.resolve(); }
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject };
      this.waiting.push(entry);
      signal?.addEventListener('abort', () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) { this.waiting.splice(i, 1); reject(abortError()); }
      }, { once: true });
    });
  }

  release() {
    const next = this.waiting.shift();
    if (next) next.resolve(); else this.active -= 1;
  }
}

/**
 * Uploads files to Hoist: a pre-signed URL per file, then one PUT straight to storage.
 *
 * Options:
 * - `apiBase` the Hoist API's URL (default: this page's origin);
 * - `token` or `getToken()` the bearer token (a JWT);
 * - `concurrency` files sent at a time (default 3);
 * - `hashLimit` bytes above which the SHA-256 is not computed (default 64 MiB; the file is then
 *   read only by the PUT, and `onState` says the hash was skipped);
 * - `networkRetries` retries after a network error (default 3), `retryDelay` the first backoff in ms
 *   (default 500, doubled each time);
 * - `fetch`, `XMLHttpRequest`, `crypto`, `now`, `pageOrigin` to replace the browser's (tests).
 */
export class HoistUploader {
  constructor(options = {}) {
    this.apiBase = (options.apiBase ?? '').replace(/\/$/, '');
    this.token = options.token ?? null;
    this.getToken = options.getToken ?? null;
    this.concurrency = options.concurrency ?? 3;
    this.hashLimit = options.hashLimit ?? 64 * MiB;
    this.networkRetries = options.networkRetries ?? 3;
    this.retryDelay = options.retryDelay ?? 500;
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.XHR = options.XMLHttpRequest ?? globalThis.XMLHttpRequest;
    this.crypto = options.crypto ?? globalThis.crypto;
    this.now = options.now ?? (() => Date.now());
    this.pageOrigin = options.pageOrigin ?? globalThis.location?.origin ?? 'null';
    this.slots = new Slots(this.concurrency);
    this.cachedPolicy = null;
  }

  async authorization() {
    const token = this.getToken ? await this.getToken() : this.token;
    if (!token) throw new HoistUploadError('missing_token', 'Sign in first: there is no token.', { status: 401 });
    return `Bearer ${token}`;
  }

  /** Calls the API; network errors are retried with backoff, API errors become HoistUploadErrors. */
  async api(method, path, { body, auth = true, signal } = {}) {
    const headers = {};
    if (auth) headers.Authorization = await this.authorization();
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    for (let attempt = 0; ; attempt += 1) {
      let response;
      try {
        response = await this.fetch(this.apiBase + path, {
          method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal,
        });
      } catch (error) {
        if (signal?.aborted) throw abortError();
        if (attempt < this.networkRetries) { await sleep(this.retryDelay * 2 ** attempt, signal); continue; }
        throw new HoistUploadError('network', `Could not reach the Hoist API at ${this.apiBase || this.pageOrigin}: ` +
          `${error?.message ?? error} (tried ${attempt + 1} times).`, { retryable: true });
      }
      const text = await response.text();
      if (response.ok) {
        try { return JSON.parse(text); } catch {
          throw new HoistUploadError('bad_response', `The Hoist API answered ${path} with something that is not JSON.`);
        }
      }
      const error = apiError(response.status, text, response.headers.get('Retry-After'));
      if (error.retryable && attempt < this.networkRetries) {
        const wait = error.retryAfter !== undefined ? Math.min(error.retryAfter * 1000, 10000) : this.retryDelay * 2 ** attempt;
        await sleep(wait, signal);
        continue;
      }
      throw error;
    }
  }

  /** `GET /policy`: allowed types, size limit, URL lifetime (cached). */
  async policy() {
    if (!this.cachedPolicy) this.cachedPolicy = await this.api('GET', '/policy', { auth: false });
    return this.cachedPolicy;
  }

  /** `GET /articles/{id}/uploads`: the records of an article's uploads (statuses as the server has them). */
  listUploads(articleId, { signal } = {}) {
    return this.api('GET', `/articles/${encodeURIComponent(articleId)}/uploads`, { signal });
  }

  /** `GET /download-url?key=…`: a short-lived pre-signed GET. */
  downloadURL(key, { signal } = {}) {
    return this.api('GET', `/download-url?key=${encodeURIComponent(key)}`, { signal });
  }

  /**
   * Uploads one file. Waits for a free slot (at most `concurrency` at a time), hashes it, asks for
   * a URL, PUTs it. Resolves with `{key, articleId, contentType, size, checksum, etag, versionId,
   * attempts, renewed}`; rejects with a {@link HoistUploadError}.
   *
   * @param {Blob & {name?: string}} file
   * @param {object} [options]
   * @param {string} [options.articleId] the article (omitted: the API makes one).
   * @param {string} [options.contentType] the type to declare (default: `file.type`).
   * @param {AbortSignal} [options.signal] cancels the upload wherever it is.
   * @param {(p: {loaded, total, percent, rate, remaining}) => void} [options.onProgress]
   * @param {(s: {state: string, message?: string, key?: string}) => void} [options.onState] states:
   *   `queued`, `hashing`, `hash-skipped`, `requesting`, `uploading`, `renewing`, `retrying`, `done`.
   */
  async upload(file, options = {}) {
    const { signal } = options;
    const onState = options.onState ?? (() => {});
    onState({ state: 'queued' });
    await this.slots.acquire(signal);
    try {
      return await this.uploadNow(file, options, onState);
    } finally {
      this.slots.release();
    }
  }

  async uploadNow(file, options, onState) {
    const { signal } = options;
    const contentType = options.contentType ?? (file.type || 'application/octet-stream');
    let checksum = null;
    if (!this.crypto?.subtle) {
      onState({ state: 'hash-skipped', message: 'No SHA-256: Web Crypto is not available here (the page is not in a secure context).' });
    } else if (file.size > this.hashLimit) {
      onState({ state: 'hash-skipped', message: `No SHA-256: the file is over ${formatBytes(this.hashLimit)}, the hashing limit.` });
    } else {
      onState({ state: 'hashing' });
      checksum = await sha256Base64(file, this.crypto);
      if (signal?.aborted) throw abortError();
    }
    let renewed = false;
    let attempts = 0;
    let networkFailures = 0;
    let grant = null;
    for (;;) {
      if (!grant) {
        onState({ state: 'requesting' });
        const body = { contentType, size: file.size };
        if (options.articleId) body.articleId = options.articleId;
        if (checksum) body.checksumSHA256 = checksum;
        grant = await this.api('POST', '/upload-url', { body, signal });
      }
      attempts += 1;
      onState({ state: 'uploading', key: grant.key });
      try {
        const put = await this.put(grant, file, signal, options.onProgress);
        return { key: grant.key, articleId: grant.articleId, contentType, size: file.size, checksum, etag: put.etag,
          versionId: put.versionId, attempts, renewed };
      } catch (error) {
        if (!(error instanceof HoistUploadError)) throw error;
        if (error.code === 'aborted') throw error;
        if (error.expired && !renewed) {
          renewed = true;
          grant = null;
          onState({ state: 'renewing', message: 'The upload URL expired; getting a new one and trying again.' });
          continue;
        }
        if (error.code === 'PreconditionFailed' && networkFailures > 0) {
          // An earlier attempt reached storage before the connection broke: the object is there.
          return { key: grant.key, articleId: grant.articleId, contentType, size: file.size, checksum, etag: null,
            versionId: null, attempts, renewed };
        }
        if ((error.code === 'network' || error.retryable) && networkFailures < this.networkRetries) {
          const wait = this.retryDelay * 2 ** networkFailures;
          networkFailures += 1;
          onState({ state: 'retrying', message: `${error.message} Trying again in ${(wait / 1000).toFixed(1)} s.` });
          await sleep(wait, signal);
          continue;
        }
        throw error;
      }
    }
  }

  /** One PUT with XMLHttpRequest (for upload progress), exactly the granted headers. */
  put(grant, file, signal, onProgress) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) { reject(abortError()); return; }
      const xhr = new this.XHR();
      const meter = new ProgressMeter(file.size, { now: this.now });
      let sent = 0;
      const headers = Object.entries(grant.headers ?? {});
      const onAbort = () => xhr.abort();
      const done = () => signal?.removeEventListener('abort', onAbort);
      xhr.open(grant.method ?? 'PUT', grant.uploadUrl);
      for (const [name, value] of headers) {
        if (!FORBIDDEN_HEADERS.has(name.toLowerCase())) xhr.setRequestHeader(name, value);
      }
      xhr.upload.onprogress = (event) => {
        sent = event.loaded;
        onProgress?.(meter.update(Math.min(event.loaded, file.size)));
      };
      xhr.onload = () => {
        done();
        if (xhr.status >= 200 && xhr.status < 300) {
          onProgress?.(meter.update(file.size));
          resolve({ etag: xhr.getResponseHeader('ETag'), versionId: xhr.getResponseHeader('x-amz-version-id') });
        } else {
          reject(storageError(xhr.status, xhr.responseText ?? ''));
        }
      };
      xhr.onabort = () => { done(); reject(abortError()); };
      xhr.onerror = () => {
        done();
        // Status 0: the browser hides why. Bytes sent means the connection broke (retry); none sent
        // and storage reachable means the preflight was refused (CORS); unreachable is a network error.
        const origin = new URL(grant.uploadUrl).origin;
        this.reachable(origin).then((reachable) => {
          if (reachable && sent === 0) {
            reject(corsError(origin, this.pageOrigin, headers.map(([n]) => n)));
          } else {
            reject(new HoistUploadError('network', reachable
              ? `The connection to storage at ${origin} broke during the upload.`
              : `Could not reach storage at ${origin} (network error).`, { retryable: true }));
          }
        });
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      xhr.send(file);
    });
  }

  /** Whether anything answers at `origin` (an opaque no-cors request succeeds even when CORS would refuse). */
  async reachable(origin) {
    try {
      await this.fetch(`${origin}/`, { method: 'HEAD', mode: 'no-cors', cache: 'no-store' });
      return true;
    } catch {
      return false;
    }
  }
}
