// hoist-upload.js: Hoist's browser client. An ES module with no dependencies and no build step.
//
// It asks the Hoist API for a pre-signed URL (POST /upload-url, with the file's type, size and
// SHA-256), then PUTs the file straight to storage with exactly the headers the API returned,
// reporting progress, retrying what can be retried, and explaining what cannot. Files over 8 MiB go
// as multipart uploads (POST /multipart-uploads): parts in parallel, each hashed in a Web Worker and
// bound to its SHA-256, expired part URLs re-signed, back-off with jitter, a pause while offline,
// and a record in localStorage so that the same file, picked again after a reload, sends only the
// parts storage lacks.
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
export const VERSION = '0.2.0';

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
 * @returns {string|null} `image/jpeg`, `image/png`, `image/gif`, `image/webp`, `image/avif`, `image/heic`
 *   (HEIF that is not AVIF: an iPhone's HEVC photos, or the generic `mif1` brand) or null.
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
    if (/hei[cxms]|hev[cx]|mif1|msf1/.test(brands)) return 'image/heic';
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

const TYPE_NAMES = {
  'image/jpeg': 'JPEG', 'image/png': 'PNG', 'image/gif': 'GIF', 'image/webp': 'WebP', 'image/avif': 'AVIF',
  'image/heic': 'HEIC', 'image/heif': 'HEIF',
};
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
  const allowed = policy?.allowedTypes ?? Object.keys(TYPE_NAMES);
  let sniffed = sniffImageType(head);
  // HEIC is a kind of HEIF: a file the browser calls image/heif (or a policy that lists only that) keeps that name.
  if (sniffed === 'image/heic' && allowed.includes('image/heif') && (file.type === 'image/heif' || !allowed.includes('image/heic'))) {
    sniffed = 'image/heif';
  }
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
   * @param {{now?: () => number, window?: number, start?: number}} [options] clock in ms, averaging window
   *   in ms, bytes already there when measuring starts (a resumed upload's stored parts).
   */
  constructor(total, { now = () => Date.now(), window = 3000, start = 0 } = {}) {
    this.total = total;
    this.now = now;
    this.window = window;
    this.samples = [[now(), start]];
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

// --- multipart: planning, resume records, retry decisions, hashing -------------------------------

/**
 * Maps a multipart upload's parts to byte ranges of the file. The server chooses `partSize`
 * (`POST /multipart-uploads` answers it): every part but the last has exactly that length.
 * @param {number} size the file's bytes.
 * @param {number} partSize the length of every part but the last.
 * @returns {{partNumber: number, start: number, end: number, size: number}[]} `end` exclusive.
 * @throws {HoistUploadError} `bad_plan` when the numbers cannot describe an upload.
 */
export function planParts(size, partSize) {
  if (!Number.isSafeInteger(size) || size < 1 || !Number.isSafeInteger(partSize) || partSize < 1) {
    throw new HoistUploadError('bad_plan', `Cannot split ${size} bytes into parts of ${partSize} bytes.`);
  }
  const count = Math.ceil(size / partSize);
  if (count > 10000) throw new HoistUploadError('bad_plan', `${count} parts of ${partSize} bytes: S3 allows at most 10,000.`);
  const parts = [];
  for (let n = 1; n <= count; n += 1) {
    const start = (n - 1) * partSize;
    const end = Math.min(size, start + partSize);
    parts.push({ partNumber: n, start, end, size: end - start });
  }
  return parts;
}

/**
 * What identifies "the same file" across page loads: name, size, modification time and type, and
 * the article it goes to (the same photo may go to two articles as two uploads).
 * @param {{name?: string, size: number, lastModified?: number, type?: string}} file
 * @param {string} [articleId]
 * @returns {string} the localStorage key of its resume record.
 */
export function uploadFingerprint(file, articleId) {
  return 'hoist.upload.' + JSON.stringify([file.name ?? '', file.size, file.lastModified ?? 0, file.type ?? '', articleId ?? '']);
}

const RECORD_VERSION = 1;

/**
 * The multipart uploads this browser started and may resume, in a Storage (`localStorage` by
 * default): the upload id, key and plan under the file's {@link uploadFingerprint}. Broken,
 * foreign or expired records read as absent; a storage that throws (full, disabled) is ignored.
 */
export class ResumeStore {
  /**
   * @param {Storage|null} storage anything with getItem, setItem, removeItem (null: remember nothing).
   * @param {{now?: () => number}} [options] the clock in ms.
   */
  constructor(storage, { now = () => Date.now() } = {}) {
    this.storage = storage ?? null;
    this.now = now;
  }

  /**
   * The record under `fingerprint`, or null when there is none, it is unreadable, or expired.
   * @param {string} fingerprint
   * @returns {{uploadId: string, key: string, articleId: string, size: number, partSize: number,
   *   partCount: number, contentType: string, checksum: boolean, expiresAt: string, apiBase: string}|null}
   */
  get(fingerprint) {
    let text = null;
    try { text = this.storage?.getItem(fingerprint) ?? null; } catch { return null; }
    if (text === null) return null;
    let record;
    try { record = JSON.parse(text); } catch { this.delete(fingerprint); return null; }
    const valid = record && record.v === RECORD_VERSION && typeof record.uploadId === 'string' && record.uploadId
      && typeof record.key === 'string' && Number.isSafeInteger(record.size) && Number.isSafeInteger(record.partSize)
      && record.partSize > 0 && typeof record.expiresAt === 'string';
    if (!valid) { this.delete(fingerprint); return null; }
    const expires = Date.parse(record.expiresAt);
    if (!Number.isFinite(expires) || expires <= this.now()) { this.delete(fingerprint); return null; }
    return record;
  }

  /**
   * Keeps `record` under `fingerprint`.
   * @returns {boolean} whether it was stored.
   */
  put(fingerprint, record) {
    try {
      this.storage?.setItem(fingerprint, JSON.stringify({ ...record, v: RECORD_VERSION }));
      return Boolean(this.storage);
    } catch {
      return false;
    }
  }

  /** Forgets the record under `fingerprint`. */
  delete(fingerprint) {
    try { this.storage?.removeItem(fingerprint); } catch { /* nothing to forget */ }
  }
}

/**
 * The wait before retry number `attempt` (0-based): exponential from `base`, capped at `max`, with
 * "equal jitter" (half fixed, half random) so that parallel parts and many clients do not retry
 * in step.
 * @param {number} attempt
 * @param {{base?: number, max?: number, random?: () => number}} [options] ms, ms, [0, 1).
 * @returns {number} ms.
 */
export function backoffDelay(attempt, { base = 500, max = 20000, random = Math.random } = {}) {
  const ceiling = Math.min(max, base * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * What to do after a part's PUT failed.
 * @param {HoistUploadError} error what the PUT ended with.
 * @param {{failures: number, renewals: number, online: boolean, retries?: number, renewalsAllowed?: number,
 *   base?: number, max?: number, random?: () => number}} state failures so far (network, 5xx, 429),
 *   renewals so far, whether the browser thinks it is online, and the limits.
 * @returns {{action: 'resign'|'wait-online'|'retry'|'fail', delay?: number}} `resign`: ask for a new
 *   URL and PUT again now (the URL expired); `wait-online`: pause until the connection is back;
 *   `retry`: wait `delay` ms, then PUT again; `fail`: give up with the error.
 */
export function retryDecision(error, { failures, renewals, online, retries = 6, renewalsAllowed = 3, base, max, random } = {}) {
  if (!(error instanceof HoistUploadError) || error.code === 'aborted') return { action: 'fail' };
  if (error.expired) return renewals < renewalsAllowed ? { action: 'resign' } : { action: 'fail' };
  // Stopped because the browser went offline: no failure of the part's, whatever the browser says now.
  if (error.code === 'offline') return { action: 'wait-online' };
  const transient = error.code === 'network' || error.code === 'offline' || error.retryable || error.status === 429;
  if (!transient) return { action: 'fail' };
  if (!online) return { action: 'wait-online' };
  if (failures >= retries) return { action: 'fail' };
  const delay = error.retryAfter !== undefined ? Math.min(error.retryAfter * 1000, max ?? 20000) : backoffDelay(failures, { base, max, random });
  return { action: 'retry', delay };
}

/** The hashing worker's code: SHA-256 of a Blob, off the page's thread. */
export const HASH_WORKER_SOURCE = `
self.onmessage = async (event) => {
  const { id, blob } = event.data;
  try {
    const digest = await self.crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    self.postMessage({ id, digest }, [digest]);
  } catch (error) {
    self.postMessage({ id, error: String(error && error.message || error) });
  }
};
`;

/**
 * SHA-256 of Blobs in a Web Worker made from a Blob URL (no extra file to serve), base64; without
 * Worker support, on this thread with Web Crypto.
 */
export class PartHasher {
  /**
   * @param {{Worker?: typeof Worker|null, crypto?: Crypto, URL?: typeof URL}} [options]
   */
  constructor({ Worker: WorkerImpl = globalThis.Worker, crypto: cryptoImpl = globalThis.crypto, URL: URLImpl = globalThis.URL } = {}) {
    this.WorkerImpl = WorkerImpl ?? null;
    this.crypto = cryptoImpl;
    this.URLImpl = URLImpl;
    this.worker = null;
    this.pending = new Map();
    this.nextId = 1;
    this.usesWorker = false;
  }

  /** Whether SHA-256 can be computed here at all. */
  get available() { return Boolean(this.crypto?.subtle); }

  startWorker() {
    if (this.worker || !this.WorkerImpl || !this.URLImpl?.createObjectURL) return this.worker;
    try {
      const url = this.URLImpl.createObjectURL(new Blob([HASH_WORKER_SOURCE], { type: 'text/javascript' }));
      this.worker = new this.WorkerImpl(url);
      this.URLImpl.revokeObjectURL?.(url);
      this.worker.onmessage = (event) => {
        const { id, digest, error } = event.data ?? {};
        const entry = this.pending.get(id);
        if (!entry) return;
        this.pending.delete(id);
        if (error !== undefined) entry.reject(new HoistUploadError('hash_failed', `Could not compute a part's SHA-256: ${error}`));
        else entry.resolve(base64(new Uint8Array(digest)));
      };
      this.worker.onerror = (event) => {
        // A worker that cannot run (a strict CSP, say): hash the waiting parts here instead.
        event?.preventDefault?.();
        this.worker?.terminate?.();
        this.worker = null;
        this.WorkerImpl = null;
        this.usesWorker = false;
        const waiting = [...this.pending.values()];
        this.pending.clear();
        for (const entry of waiting) this.hashHere(entry.blob).then(entry.resolve, entry.reject);
      };
      this.usesWorker = true;
    } catch {
      this.worker = null;
      this.WorkerImpl = null;
    }
    return this.worker;
  }

  async hashHere(blob) {
    const digest = await this.crypto.subtle.digest('SHA-256', await blob.arrayBuffer());
    return base64(new Uint8Array(digest));
  }

  /**
   * The SHA-256 of `blob`, base64.
   * @param {Blob} blob
   * @returns {Promise<string>}
   */
  hash(blob) {
    const worker = this.startWorker();
    if (!worker) return this.hashHere(blob);
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject, blob });
      worker.postMessage({ id, blob });
    });
  }

  /** Stops the worker (a new one starts on the next hash). */
  close() {
    this.worker?.terminate?.();
    this.worker = null;
  }
}

/** Whether the browser says it is online, and a way to wait until it does. */
export class Connectivity {
  /**
   * @param {{navigator?: {onLine?: boolean}, events?: EventTarget|null}} [options] default: the page's.
   */
  constructor({ navigator: nav = globalThis.navigator, events = globalThis.window ?? null } = {}) {
    this.nav = nav;
    this.events = events;
  }

  /** False only when the browser knows it is offline. */
  get online() { return this.nav?.onLine !== false; }

  /**
   * Calls `listener` when the browser goes offline.
   * @returns {() => void} removes the listener.
   */
  onOffline(listener) {
    if (!this.events?.addEventListener) return () => {};
    this.events.addEventListener('offline', listener);
    return () => this.events.removeEventListener('offline', listener);
  }

  /**
   * Resolves when the browser is online again (at once when it is); rejects when `signal` aborts.
   * Without online events it polls every second.
   */
  waitOnline(signal) {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) { reject(abortError()); return; }
      if (this.online) { resolve(); return; }
      let timer = null;
      const finish = () => {
        clearInterval(timer);
        this.events?.removeEventListener?.('online', onOnline);
        signal?.removeEventListener('abort', onAbort);
      };
      const onOnline = () => { finish(); resolve(); };
      const onAbort = () => { finish(); reject(abortError()); };
      this.events?.addEventListener?.('online', onOnline);
      timer = setInterval(() => { if (this.online) onOnline(); }, 1000);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function defaultStorage() {
  try { return globalThis.localStorage ?? null; } catch { return null; } // a sandboxed frame may throw
}

/** An AbortController that aborts when any of `signals` does. */
function linkedController(...signals) {
  const controller = new AbortController();
  for (const signal of signals) {
    if (!signal) continue;
    if (signal.aborted) { controller.abort(); break; }
    signal.addEventListener('abort', () => controller.abort(), { once: true });
  }
  return controller;
}

/**
 * Uploads files to Hoist: a pre-signed URL per file, then one PUT straight to storage; files over
 * `multipartThreshold` go as a resumable multipart upload (parts in parallel, each with its SHA-256).
 *
 * Options:
 * - `apiBase` the Hoist API's URL (default: this page's origin);
 * - `token` or `getToken()` the bearer token (a JWT);
 * - `concurrency` files sent at a time (default 3);
 * - `hashLimit` bytes above which the SHA-256 is not computed (default 64 MiB; the file is then
 *   read only by the PUT, and `onState` says the hash was skipped);
 * - `networkRetries` retries after a network error (default 3), `retryDelay` the first backoff in ms
 *   (default 500, doubled each time);
 * - `multipartThreshold` bytes above which a file goes multipart (default 8 MiB; `Infinity`: never);
 * - `partConcurrency` parts of one file sent at a time (default 4);
 * - `partRetries` retries of a part after network errors, 5xx or 429 (default 6), waiting
 *   `retryDelay` doubled each time up to `maxRetryDelay` ms (default 20000), with jitter; while the
 *   browser is offline nothing is sent and no retry is spent: the upload resumes on `online`;
 * - `storage` where resumable uploads are remembered (default `localStorage`; `null`: nowhere);
 * - `fetch`, `XMLHttpRequest`, `crypto`, `now`, `pageOrigin`, `Worker`, `random`, `connectivity`,
 *   `hasher` to replace the browser's (tests).
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
    this.multipartThreshold = options.multipartThreshold ?? 8 * MiB;
    this.partConcurrency = Math.max(1, options.partConcurrency ?? 4);
    this.partRetries = options.partRetries ?? 6;
    this.maxRetryDelay = options.maxRetryDelay ?? 20000;
    this.random = options.random ?? Math.random;
    this.resumeStore = new ResumeStore(options.storage !== undefined ? options.storage : defaultStorage(), { now: this.now });
    this.connectivity = options.connectivity ?? new Connectivity();
    this.hasher = options.hasher ?? new PartHasher({ Worker: options.Worker !== undefined ? options.Worker : globalThis.Worker, crypto: this.crypto });
    this.active = new Set(); // fingerprints of multipart uploads running here
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
        if (response.status === 204 || text === '') return null;
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
   *   `queued`, `hashing`, `hash-skipped`, `requesting`, `uploading`, `renewing`, `retrying`, `done`;
   *   multipart uploads also `resuming`, `offline` and `completing`.
   *
   * Over `multipartThreshold` the file goes multipart: its upload id is remembered under the file's
   * {@link uploadFingerprint} until it completes, so uploading the same file (same name, size,
   * modification time, type and article) after a reload sends only the parts storage lacks. The
   * result then also has `multipart: true`, `uploadId`, `partCount`, `partsSent` and `partsResumed`;
   * progress events also carry `partsDone` and `partCount`. Cancelling aborts the upload on the server.
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
    if (file.size > this.multipartThreshold) {
      try {
        return await this.uploadMultipart(file, options, onState);
      } catch (error) {
        if (error?.code !== 'multipart_unavailable') throw error;
        onState({ state: 'requesting', message: 'The server has no multipart uploads; sending the file in one request.' });
      }
    }
    return this.uploadSingle(file, options, onState);
  }

  async uploadSingle(file, options, onState) {
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

  /**
   * The resume record this browser keeps for `file` (an interrupted multipart upload), or null.
   * @param {Blob & {name?: string, lastModified?: number}} file
   * @param {{articleId?: string}} [options]
   */
  resumable(file, { articleId } = {}) {
    const record = this.resumeStore.get(uploadFingerprint(file, articleId));
    return record && record.size === file.size && record.apiBase === this.apiBase ? record : null;
  }

  /** `api`, but while the browser is offline it waits for the connection instead of failing. */
  async apiOnline(method, path, options = {}) {
    for (;;) {
      if (!this.connectivity.online) {
        options.onOffline?.();
        await this.connectivity.waitOnline(options.signal);
      }
      try {
        return await this.api(method, path, options);
      } catch (error) {
        if (error?.code === 'network' && !this.connectivity.online) continue;
        throw error;
      }
    }
  }

  async uploadMultipart(file, options, onState) {
    const contentType = options.contentType ?? (file.type || 'application/octet-stream');
    const fingerprint = uploadFingerprint(file, options.articleId);
    if (this.active.has(fingerprint)) {
      throw new HoistUploadError('already_uploading', `${file.name ? `"${file.name}"` : 'This file'} is already being uploaded.`);
    }
    this.active.add(fingerprint);
    try {
      return await this.runMultipart(file, options, onState, contentType, fingerprint);
    } finally {
      this.active.delete(fingerprint);
    }
  }

  async runMultipart(file, options, onState, contentType, fingerprint) {
    const { signal } = options;
    const offline = () => onState({ state: 'offline', message: 'Offline: the upload continues when the connection is back.' });
    const stats = { attempts: 0, renewed: false, partsSent: 0, partsResumed: 0, sentAny: false };
    let upload = null;
    let missing = null;
    const saved = this.resumable(file, options);
    if (saved && saved.contentType === contentType) {
      onState({ state: 'requesting', key: saved.key, message: 'Asking storage which parts of the interrupted upload it holds…' });
      try {
        const listed = await this.apiOnline('GET', `/multipart-uploads/${encodeURIComponent(saved.uploadId)}/parts`, { signal, onOffline: offline });
        if (listed?.status === 'completed') {
          const done = await this.apiOnline('POST', `/multipart-uploads/${encodeURIComponent(saved.uploadId)}/complete`, { signal, onOffline: offline });
          this.resumeStore.delete(fingerprint);
          return this.multipartResult(saved, done, contentType, stats);
        }
        if (listed?.status === 'active' && listed.size === file.size && listed.partSize === saved.partSize
            && Array.isArray(listed.missingParts)) {
          upload = saved;
          missing = listed.missingParts.filter((n) => Number.isSafeInteger(n) && n >= 1 && n <= saved.partCount);
        }
      } catch (error) {
        if (error?.code === 'aborted' || !(error instanceof HoistUploadError) || (error.status !== 404 && error.status !== 409)) throw error;
        // 404: gone (aborted, expired, another user's): start again.
      }
      if (!upload) this.resumeStore.delete(fingerprint);
    }
    if (!upload) {
      onState({ state: 'requesting' });
      const body = { contentType, size: file.size };
      if (options.articleId) body.articleId = options.articleId;
      if (this.hasher.available) body.checksumAlgorithm = 'SHA256';
      let created;
      try {
        created = await this.apiOnline('POST', '/multipart-uploads', { body, signal, onOffline: offline });
      } catch (error) {
        if (error?.code === 'http_404' || error?.code === 'http_405') {
          throw new HoistUploadError('multipart_unavailable', 'The server has no multipart uploads.');
        }
        throw error;
      }
      if (!created || typeof created.uploadId !== 'string' || typeof created.key !== 'string' || !Number.isSafeInteger(created.partSize)) {
        throw new HoistUploadError('bad_response', 'The Hoist API answered POST /multipart-uploads without an upload id, key and part size.');
      }
      upload = {
        uploadId: created.uploadId, key: created.key, articleId: created.articleId ?? options.articleId ?? null,
        size: file.size, partSize: created.partSize, partCount: created.partCount, contentType,
        checksum: created.checksumAlgorithm === 'SHA256', expiresAt: created.expiresAt ?? new Date(this.now() + 86400000).toISOString(),
        apiBase: this.apiBase,
      };
      this.resumeStore.put(fingerprint, upload);
      missing = null;
    }
    const plan = planParts(file.size, upload.partSize);
    if (Number.isSafeInteger(upload.partCount) && plan.length !== upload.partCount) {
      throw new HoistUploadError('bad_plan', `The server planned ${upload.partCount} parts, but ${file.size} bytes in parts of ` +
        `${upload.partSize} make ${plan.length}.`);
    }
    upload.partCount = plan.length;
    if (missing === null) {
      missing = plan.map((p) => p.partNumber);
    } else {
      stats.partsResumed = plan.length - missing.length;
      onState({ state: 'resuming', key: upload.key,
        message: `Resuming: storage holds ${stats.partsResumed} of ${plan.length} parts; sending the other ${missing.length}.` });
    }
    try {
      onState({ state: 'uploading', key: upload.key });
      await this.sendParts(file, upload, plan, missing, options, onState, stats);
      for (let round = 0; ; round += 1) {
        onState({ state: 'completing', key: upload.key, message: 'Putting the parts together…' });
        try {
          const done = await this.apiOnline('POST', `/multipart-uploads/${encodeURIComponent(upload.uploadId)}/complete`,
            { signal, onOffline: offline });
          this.resumeStore.delete(fingerprint);
          return this.multipartResult(upload, done, contentType, stats);
        } catch (error) {
          if (error?.code !== 'incomplete_upload' || round >= 2) throw error;
          // Storage lacks a part it acknowledged (or holds a wrong one): send what it lacks.
          const listed = await this.apiOnline('GET', `/multipart-uploads/${encodeURIComponent(upload.uploadId)}/parts`, { signal, onOffline: offline });
          onState({ state: 'uploading', key: upload.key });
          await this.sendParts(file, upload, plan, listed?.missingParts ?? [], options, onState, stats);
        }
      }
    } catch (error) {
      if (error?.code === 'aborted' && signal?.aborted) {
        // Cancelled: free the parts on storage (best effort) and forget the upload.
        this.resumeStore.delete(fingerprint);
        try { await this.api('DELETE', `/multipart-uploads/${encodeURIComponent(upload.uploadId)}`); } catch { /* the sweeper will */ }
      }
      throw error;
    }
  }

  multipartResult(upload, done, contentType, stats) {
    return {
      key: upload.key, articleId: done?.articleId ?? upload.articleId, contentType, size: upload.size, checksum: null,
      etag: done?.etag ?? null, versionId: null, attempts: stats.attempts, renewed: stats.renewed, multipart: true,
      uploadId: upload.uploadId, partCount: upload.partCount, partsSent: stats.partsSent, partsResumed: stats.partsResumed,
    };
  }

  /**
   * Pre-signs part URLs on demand; requests made in the same turn go to the API as one batch.
   * @returns {{get: (n: number, checksum?: string) => Promise<{url: string, headers: object}>, forget: (n: number) => void}}
   */
  partSigner(upload, signal, onOffline) {
    const cache = new Map();
    let pending = [];
    let timer = null;
    const flush = async () => {
      const batch = pending;
      pending = [];
      timer = null;
      try {
        const parts = batch.map((b) => (b.checksum ? { partNumber: b.n, checksumSHA256: b.checksum } : { partNumber: b.n }));
        const signed = await this.apiOnline('POST', `/multipart-uploads/${encodeURIComponent(upload.uploadId)}/parts`,
          { body: { parts }, signal, onOffline });
        const byNumber = new Map((Array.isArray(signed?.parts) ? signed.parts : []).map((p) => [p.partNumber, p]));
        for (const b of batch) {
          const p = byNumber.get(b.n);
          if (p && typeof p.url === 'string') {
            const entry = { url: p.url, method: p.method ?? 'PUT', headers: p.headers ?? {} };
            cache.set(b.n, entry);
            b.resolve(entry);
          } else {
            b.reject(new HoistUploadError('bad_response', `The Hoist API signed no URL for part ${b.n}.`));
          }
        }
      } catch (error) {
        for (const b of batch) b.reject(error);
      }
    };
    return {
      get: (n, checksum) => {
        const cached = cache.get(n);
        if (cached) return Promise.resolve(cached);
        return new Promise((resolve, reject) => {
          pending.push({ n, checksum, resolve, reject });
          timer ??= setTimeout(flush, 0);
        });
      },
      forget: (n) => { cache.delete(n); },
    };
  }

  /** Sends the parts numbered `numbers`, `partConcurrency` at a time; rejects with the first failure. */
  async sendParts(file, upload, plan, numbers, options, onState, stats) {
    const wanted = new Set(numbers);
    const queue = plan.filter((p) => wanted.has(p.partNumber));
    if (queue.length === 0) return;
    const stop = linkedController(options.signal);
    let pause = new AbortController();
    const inflight = new Map();
    let stored = plan.filter((p) => !wanted.has(p.partNumber)).reduce((sum, p) => sum + p.size, 0);
    let partsDone = plan.length - queue.length;
    const meter = new ProgressMeter(file.size, { now: this.now, start: stored });
    const report = () => {
      let loaded = stored;
      for (const n of inflight.values()) loaded += n;
      options.onProgress?.({ ...meter.update(Math.min(loaded, file.size)), partsDone, partCount: plan.length });
    };
    if (stored > 0) report();
    let offlineShown = false;
    const offline = () => {
      if (offlineShown) return;
      offlineShown = true;
      onState({ state: 'offline', key: upload.key, message: 'Offline: the upload continues when the connection is back.' });
    };
    const backOnline = () => {
      if (!offlineShown) return;
      offlineShown = false;
      onState({ state: 'uploading', key: upload.key });
    };
    // Going offline stops the PUTs in flight at once; they start again on `online`, no retry spent.
    const removeOffline = this.connectivity.onOffline(() => {
      const old = pause;
      pause = new AbortController();
      old.abort();
    });
    const signer = this.partSigner(upload, stop.signal, offline);

    const sendPart = async (part) => {
      const blob = file.slice(part.start, part.end);
      let checksum;
      let failures = 0;
      let renewals = 0;
      for (;;) {
        if (!this.connectivity.online) { offline(); await this.connectivity.waitOnline(stop.signal); backOnline(); }
        const attempt = linkedController(stop.signal, pause.signal);
        try {
          if (upload.checksum && checksum === undefined) checksum = await this.hasher.hash(blob);
          if (stop.signal.aborted) throw abortError();
          const signed = await signer.get(part.partNumber, checksum);
          stats.attempts += 1;
          await this.put({ method: signed.method, uploadUrl: signed.url, headers: signed.headers }, blob, attempt.signal,
            (p) => { inflight.set(part.partNumber, p.loaded); report(); });
          inflight.delete(part.partNumber);
          stored += part.size;
          partsDone += 1;
          stats.partsSent += 1;
          stats.sentAny = true;
          backOnline();
          report();
          return;
        } catch (caught) {
          inflight.delete(part.partNumber);
          if (stop.signal.aborted) throw abortError();
          let error = caught;
          if (error?.code === 'aborted') {
            error = new HoistUploadError('offline', 'The connection went offline.', { retryable: true });
          } else if (error?.code === 'cors' && stats.sentAny) {
            // The preflight passed for earlier parts: this is a broken connection, not CORS.
            error = new HoistUploadError('network', error.message, { retryable: true });
          }
          const decision = retryDecision(error, {
            failures, renewals, online: this.connectivity.online, retries: this.partRetries,
            base: this.retryDelay, max: this.maxRetryDelay, random: this.random,
          });
          if (decision.action === 'resign') {
            renewals += 1;
            stats.renewed = true;
            signer.forget(part.partNumber);
            onState({ state: 'renewing', key: upload.key, message: `The URL of part ${part.partNumber} expired; getting a new one.` });
            continue;
          }
          if (decision.action === 'wait-online') {
            offline();
            await this.connectivity.waitOnline(stop.signal);
            backOnline();
            continue;
          }
          if (decision.action === 'retry') {
            failures += 1;
            if (error.status === 403 || error.code === 'offline') signer.forget(part.partNumber);
            onState({ state: 'retrying', key: upload.key,
              message: `Part ${part.partNumber}: ${error.message} Trying again in ${(decision.delay / 1000).toFixed(1)} s.` });
            await sleep(decision.delay, stop.signal);
            onState({ state: 'uploading', key: upload.key });
            continue;
          }
          if (error instanceof HoistUploadError && !error.message.startsWith('Part ')) {
            error.message = `Part ${part.partNumber} of ${plan.length}: ${error.message}`;
          }
          throw error;
        }
      }
    };

    let failure = null;
    const lane = async () => {
      while (queue.length > 0 && !failure) {
        const part = queue.shift();
        try {
          await sendPart(part);
        } catch (error) {
          failure ??= error;
          stop.abort();
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: Math.min(this.partConcurrency, queue.length) }, lane));
    } finally {
      removeOffline();
    }
    if (failure) {
      throw options.signal?.aborted ? abortError() : failure;
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
