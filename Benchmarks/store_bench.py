#!/usr/bin/env python3
"""Benchmarks and a crash test for `hoist store` (issue: the embedded S3-compatible store).

Usage: python3 Benchmarks/store_bench.py [--size-mib 1024] [--concurrent 200] [--crash-puts 100]
                                         [--crash-rounds 3] [--mp-size-mib 1024] [--mp-part-mib 16]
                                         [--mp-parallel 4] [--complete-parts 1000] [--complete-part-mib 5]
                                         [--post-size-mib 1024] [--sse-size-mib 1024] [--sse-rounds 3]
                                         [--only put,concurrent,crash,multipart,complete,post,encryption]

Starts a fresh `hoist store` (HOIST_RELEASE_BIN, default .build/release/hoist) on a free port of
127.0.0.1 with a temporary data folder (under BENCH_DIR, default the system temp folder), and:

 (a) streams one PUT of SIZE (default 1 GiB; the bytes are generated on the fly, the client never
     holds the object) signed with x-amz-content-sha256: UNSIGNED-PAYLOAD, sampling the store's
     VmRSS / VmHWM from /proc/<pid>/status every 20 ms; then a streamed GET of it (MD5 checked).
     Next to it, in the same run, `dd if=/dev/zero of=<data folder's disk> bs=1M count=SIZE
     conv=fsync` before and after the PUT. Pass: peak RSS < 100 MiB, PUT throughput >= 70 % of dd.
 (b) 200 concurrent 1 MiB PUTs (threads, payload SHA-256 signed), then 200 concurrent GETs:
     no errors, every ETag the MD5, every body intact.
 (c) crash test, CRASH_ROUNDS times: 100 concurrent PUTs of 1-6 MiB sent at a throttled pace,
     `kill -9` of the store while they are in flight, restart on the same data folder: every PUT
     that got a 200 is readable with the same ETag and bytes; no object is partly there (any key
     that exists holds exactly the bytes one PUT sent); the store's tmp folder (DATA/tmp or
     DATA/<sub>/tmp) is empty; no blob file is left that the index does not list.
 (d) multipart: one streamed single PUT of MP_SIZE (default 1 GiB) for comparison, then the same size
     as a multipart upload in MP_PART (16 MiB) parts, MP_PARALLEL (4) at a time, and its completion.
     Pass: peak RSS (VmHWM) < 100 MiB, multipart MB/s (parts + completion) >= the single PUT's.
 (e) CompleteMultipartUpload of COMPLETE_PARTS (1,000) parts of COMPLETE_PART_MIB (5) MiB, the
     smallest S3 allows, so ~5 GB of data: completion time (target < 2 s). The completion copies no
     bytes (the parts' files become the object's segments), so it is bound by the index transaction.
 (f) a browser form (POST object) with a POST_SIZE (1 GiB) file, streamed: peak RSS < 100 MiB.
 (g) encryption at rest: SSE_ROUNDS (3) rounds, alternated, of a streamed PUT then GET of SSE_SIZE
     (1 GiB) to a plain bucket and to a bucket with default encryption (AES256). The GETs read and count
     the bytes (no client digest, so the client's CPU does not hide the store's); one untimed GET per
     bucket then checks the MD5. Pass: encrypted PUT and GET MB/s (medians) >= 80 % of plain; peak RSS
     during the encrypted transfers < 100 MiB.

Prints figures as it goes, one JSON line with all of them, and a last line
`store bench: N passed, N failed` (exit status 1 on any failure).
Env: HOIST_RELEASE_BIN, BENCH_DIR, INTEROP_VERBOSE=1.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "Interop"))

from interop_common import Results  # noqa: E402
from store_common import (  # noqa: E402
    StoreProcess,
    check_store_binary,
    free_port,
    quoted_md5,
    raw_request,
    read_proc_status,
    s3_error,
    sign_headers,
    tmp_files,
)

R = Results("store bench")
MIB = 1024 * 1024
FIGURES: dict = {}


def release_bin() -> str:
    value = os.environ.get("HOIST_RELEASE_BIN", "")
    p = Path(value) if value else REPO / ".build" / "release" / "hoist"
    if not p.is_absolute():
        p = REPO / p
    return str(p)


class RSSSampler(threading.Thread):
    """Polls /proc/PID/status; keeps the largest VmRSS and the last VmHWM (kB)."""

    def __init__(self, pid: int, interval: float = 0.02):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.max_rss = 0
        self.hwm = 0
        self.samples = 0
        self._halt = threading.Event()

    def run(self):
        while not self._halt.is_set():
            s = read_proc_status(self.pid)
            if s:
                self.samples += 1
                self.max_rss = max(self.max_rss, s.get("VmRSS", 0))
                self.hwm = max(self.hwm, s.get("VmHWM", 0))
            self._halt.wait(self.interval)

    def stop(self):
        self._halt.set()
        self.join()
        s = read_proc_status(self.pid)
        if s:
            self.hwm = max(self.hwm, s.get("VmHWM", 0))
            self.max_rss = max(self.max_rss, s.get("VmRSS", 0))


def dd(target_dir: str, size_mib: int) -> float:
    """Seconds for dd to write SIZE_MIB MiB of zeros with a final fsync into TARGET_DIR."""
    path = os.path.join(target_dir, "dd-bench.tmp")
    t0 = time.monotonic()
    p = subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={size_mib}", "conv=fsync"],
                       capture_output=True, text=True)
    elapsed = time.monotonic() - t0
    try:
        os.unlink(path)
    except OSError:
        pass
    if p.returncode != 0:
        raise RuntimeError(f"dd failed: {p.stderr}")
    R.info(f"dd: {p.stderr.strip().splitlines()[-1]}")
    return elapsed


def block_stream(size: int, block: bytes):
    """SIZE bytes made of BLOCK repeated, each copy with its index stamped in (so no two MiB are equal)."""
    sent = 0
    i = 0
    while sent < size:
        n = min(len(block), size - sent)
        stamp = i.to_bytes(8, "big")
        piece = stamp + block[8:n] if n > 8 else stamp[:n]
        yield piece
        sent += n
        i += 1


class Store:
    def __init__(self, binary: str, data: str):
        self.proc = StoreProcess(binary, data, free_port())
        self.ep = self.proc.endpoint
        self.ak = self.proc.access_key
        self.sk = self.proc.secret_key

    def start(self) -> str | None:
        return self.proc.start(timeout=60)

    def signed(self, method: str, path: str, headers=None, body: bytes | None = None, payload_hash=None,
               timeout: float = 120):
        h = sign_headers(self.ep, method, path, headers, body, self.ak, self.sk, payload_hash)
        return raw_request(self.ep, method, path, h, body, timeout=timeout)


# --- (a) one big streamed PUT ----------------------------------------------------------------

def bench_big(st: Store, bucket: str, size_mib: int, data_dir: str) -> None:
    size = size_mib * MIB
    block = os.urandom(MIB)
    md5 = hashlib.md5()
    for piece in block_stream(size, block):
        md5.update(piece)
    want_etag = '"' + md5.hexdigest() + '"'
    dd_dir = os.path.dirname(data_dir.rstrip("/"))
    same_fs = os.stat(dd_dir).st_dev == os.stat(data_dir).st_dev
    R.info(f"dd writes into {dd_dir} (same file system as the data folder: {same_fs})")
    dd1 = dd(dd_dir, size_mib)

    key = f"big/{size_mib}MiB.bin"
    path = f"/{bucket}/{key}"
    h = sign_headers(st.ep, "PUT", path, {"Content-Length": str(size), "Content-Type": "application/octet-stream"},
                     None, st.ak, st.sk, payload_hash="UNSIGNED-PAYLOAD")
    before = read_proc_status(st.proc.pid)
    sampler = RSSSampler(st.proc.pid)
    sampler.start()
    u = urllib.parse.urlsplit(st.ep)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    t0 = time.monotonic()
    status, etag, body = None, None, b""
    try:
        conn.putrequest("PUT", path, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.endheaders()
        for piece in block_stream(size, block):
            conn.send(piece)
        resp = conn.getresponse()
        status, etag, body = resp.status, resp.getheader("ETag"), resp.read()
    except Exception as e:  # noqa: BLE001
        body = repr(e).encode()
    finally:
        conn.close()
    put_s = time.monotonic() - t0
    sampler.stop()
    dd2 = dd(dd_dir, size_mib)
    dd_s = (dd1 + dd2) / 2
    put_mbs = size / put_s / 1e6
    dd_mbs = size / dd_s / 1e6
    ratio = put_mbs / dd_mbs
    FIGURES["put"] = {"size_mib": size_mib, "seconds": round(put_s, 2), "MB_per_s": round(put_mbs, 1),
                      "dd_seconds": [round(dd1, 2), round(dd2, 2)], "dd_MB_per_s": round(dd_mbs, 1),
                      "ratio_to_dd": round(ratio, 3), "rss_before_kB": before.get("VmRSS"),
                      "max_rss_kB": sampler.max_rss, "vmhwm_kB": sampler.hwm, "rss_samples": sampler.samples}
    R.info(f"PUT {size_mib} MiB: {put_s:.2f} s = {put_mbs:.0f} MB/s; dd (conv=fsync) {dd1:.2f} s / {dd2:.2f} s = "
           f"{dd_mbs:.0f} MB/s; ratio {ratio:.2f}")
    R.info(f"store RSS before {before.get('VmRSS')} kB, max sampled VmRSS {sampler.max_rss} kB, VmHWM {sampler.hwm} kB "
           f"({sampler.samples} samples)")
    R.check(f"PUT {size_mib} MiB (streamed, UNSIGNED-PAYLOAD) -> 200 with the MD5 ETag",
            status == 200 and etag == want_etag,
            f"request: PUT {path} Content-Length {size}\nexpected 200, ETag {want_etag}\ngot {status} ETag {etag} "
            f"{body[:300]!r}\nstore log: {st.proc.log_tail(500)!r}")
    R.check("store peak RSS during the PUT < 100 MiB (VmHWM)", 0 < sampler.hwm < 100 * 1024,
            f"VmHWM {sampler.hwm} kB, max sampled VmRSS {sampler.max_rss} kB")
    R.check("PUT throughput >= 70% of dd conv=fsync on the same disk", ratio >= 0.70,
            f"PUT {put_mbs:.0f} MB/s vs dd {dd_mbs:.0f} MB/s: {ratio:.0%}")

    # Streamed GET
    if status != 200:
        return
    h = sign_headers(st.ep, "GET", path, {}, None, st.ak, st.sk)
    sampler = RSSSampler(st.proc.pid)
    hwm_before = read_proc_status(st.proc.pid).get("VmHWM", 0)
    sampler.start()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    md5g = hashlib.md5()
    n = 0
    t0 = time.monotonic()
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        gstatus = resp.status
        while True:
            chunk = resp.read(MIB)
            if not chunk:
                break
            md5g.update(chunk)
            n += len(chunk)
    finally:
        conn.close()
    get_s = time.monotonic() - t0
    sampler.stop()
    FIGURES["get"] = {"seconds": round(get_s, 2), "MB_per_s": round(size / get_s / 1e6, 1),
                      "max_rss_kB": sampler.max_rss, "vmhwm_kB": sampler.hwm}
    R.info(f"GET {size_mib} MiB: {get_s:.2f} s = {size / get_s / 1e6:.0f} MB/s (client MD5 included); "
           f"max sampled VmRSS {sampler.max_rss} kB, VmHWM {sampler.hwm} kB (before {hwm_before} kB)")
    R.check(f"GET {size_mib} MiB returns every byte (MD5)", gstatus == 200 and n == size
            and '"' + md5g.hexdigest() + '"' == want_etag, f"status {gstatus}, {n} bytes")
    R.check("store peak RSS during the GET < 100 MiB", sampler.max_rss < 100 * 1024 and sampler.hwm < 100 * 1024,
            f"max sampled VmRSS {sampler.max_rss} kB, VmHWM {sampler.hwm} kB")
    r = st.signed("DELETE", path)
    R.check("DELETE the big object", r.status == 204, r.describe(300))


# --- (g) encryption at rest: the same PUT and GET to a plain and an encrypting bucket ------------

def timed_get(st: Store, path: str, digest: bool = False) -> tuple[int | None, int, float, str]:
    """A streamed GET of PATH: status, bytes, seconds, and the MD5 hex when `digest`."""
    h = sign_headers(st.ep, "GET", path, {}, None, st.ak, st.sk)
    u = urllib.parse.urlsplit(st.ep)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    md5 = hashlib.md5()
    n, status = 0, None
    t0 = time.monotonic()
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        status = resp.status
        buffer = bytearray(MIB)
        view = memoryview(buffer)
        while True:
            got = resp.readinto(buffer)
            if not got:
                break
            if digest:
                md5.update(view[:got])
            n += got
    finally:
        conn.close()
    return status, n, time.monotonic() - t0, md5.hexdigest()


def bench_encryption(st: Store, size_mib: int, rounds: int) -> None:
    size = size_mib * MIB
    block = os.urandom(MIB)
    md5 = hashlib.md5()
    for piece in block_stream(size, block):
        md5.update(piece)
    want = '"' + md5.hexdigest() + '"'
    buckets = {"plain": "bench-plain", "encrypted": "bench-sse"}
    for name, bucket in buckets.items():
        r = st.signed("PUT", f"/{bucket}")
        R.check(f"CreateBucket {bucket}", r.status == 200, r.describe(300))
    config = (b'<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Rule>'
              b'<ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault>'
              b'</Rule></ServerSideEncryptionConfiguration>')
    r = st.signed("PUT", f"/{buckets['encrypted']}?encryption", {"Content-Type": "application/xml"}, config)
    R.check("PutBucketEncryption AES256", r.status == 200, r.describe(300))
    put_mbs: dict[str, list[float]] = {"plain": [], "encrypted": []}
    get_mbs: dict[str, list[float]] = {"plain": [], "encrypted": []}
    # CPU seconds per GiB: the store's (utime + stime from /proc) and this client's, for the budget.
    cpu: dict[str, list[tuple[float, float, float, float]]] = {"plain": [], "encrypted": []}
    tick = os.sysconf("SC_CLK_TCK")

    def store_cpu() -> float:
        fields = open(f"/proc/{st.proc.pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / tick

    def client_cpu() -> float:
        t = os.times()
        return t.user + t.system
    hwm_encrypted = 0
    for rnd in range(rounds):
        for name in (["plain", "encrypted"] if rnd % 2 == 0 else ["encrypted", "plain"]):
            path = f"/{buckets[name]}/big.bin"
            sampler = RSSSampler(st.proc.pid)
            sampler.start()
            s0, c0 = store_cpu(), client_cpu()
            t0 = time.monotonic()
            status, etag, body = put_stream(st, path, size, block)
            put_s = time.monotonic() - t0
            s1, c1 = store_cpu(), client_cpu()
            gstatus, n, get_s, _ = timed_get(st, path)
            s2, c2 = store_cpu(), client_cpu()
            sampler.stop()
            gib = size / (1 << 30)
            cpu[name].append(((s1 - s0) / gib, (c1 - c0) / gib, (s2 - s1) / gib, (c2 - c1) / gib))
            if name == "encrypted":
                hwm_encrypted = max(hwm_encrypted, sampler.max_rss)
            ok = status == 200 and etag == want and gstatus == 200 and n == size
            R.check(f"round {rnd + 1}: {name} PUT + GET of {size_mib} MiB", ok,
                    f"PUT {status} {etag} (want {want}) {body[:200]!r}; GET {gstatus}, {n} bytes")
            put_mbs[name].append(size / put_s / 1e6)
            get_mbs[name].append(size / get_s / 1e6)
            R.info(f"round {rnd + 1} {name:9s}: PUT {size / put_s / 1e6:6.0f} MB/s   GET {size / get_s / 1e6:6.0f} MB/s")
    for name, bucket in buckets.items():
        gstatus, n, _, hexdigest = timed_get(st, f"/{bucket}/big.bin", digest=True)
        R.check(f"{name}: GET returns the bytes sent (MD5)", gstatus == 200 and '"' + hexdigest + '"' == want, f"{gstatus} {n}")
        st.signed("DELETE", f"/{bucket}/big.bin")
        st.signed("DELETE", f"/{bucket}")

    def median(values: list[float]) -> float:
        ordered = sorted(values)
        return ordered[len(ordered) // 2] if ordered else 0.0

    put_ratio = median(put_mbs["encrypted"]) / max(median(put_mbs["plain"]), 1e-9)
    get_ratio = median(get_mbs["encrypted"]) / max(median(get_mbs["plain"]), 1e-9)
    FIGURES["encryption"] = {"size_mib": size_mib, "rounds": rounds,
                             "put_MB_per_s": {k: [round(v, 1) for v in vs] for k, vs in put_mbs.items()},
                             "get_MB_per_s": {k: [round(v, 1) for v in vs] for k, vs in get_mbs.items()},
                             "put_ratio": round(put_ratio, 3), "get_ratio": round(get_ratio, 3),
                             "encrypted_max_rss_kB": hwm_encrypted}
    print(f"{'':12s}{'plain MB/s':>12s}{'AES256 MB/s':>14s}{'ratio':>8s}")
    print(f"{'PUT':12s}{median(put_mbs['plain']):12.0f}{median(put_mbs['encrypted']):14.0f}{put_ratio:8.2f}")
    print(f"{'GET':12s}{median(get_mbs['plain']):12.0f}{median(get_mbs['encrypted']):14.0f}{get_ratio:8.2f}")
    print("CPU seconds per GiB (median), store + this client, of the 2 x wall seconds the machine's cores offer:")
    for name in ("plain", "encrypted"):
        rows = cpu[name]
        put_store, put_client = median([r[0] for r in rows]), median([r[1] for r in rows])
        get_store, get_client = median([r[2] for r in rows]), median([r[3] for r in rows])
        print(f"  {name:9s}  PUT store {put_store:5.2f} client {put_client:5.2f}   GET store {get_store:5.2f} client {get_client:5.2f}")
    FIGURES.setdefault("encryption_cpu", {k: [[round(x, 3) for x in r] for r in v] for k, v in cpu.items()})
    R.check("encrypted PUT >= 80% of plain (medians)", put_ratio >= 0.80, f"{put_ratio:.2f}")
    R.check("encrypted GET >= 80% of plain (medians)", get_ratio >= 0.80, f"{get_ratio:.2f}")
    R.check("store RSS during encrypted transfers < 100 MiB", 0 < hwm_encrypted < 100 * 1024, f"max sampled VmRSS {hwm_encrypted} kB")


# --- (b) 200 concurrent 1 MiB PUTs then GETs ---------------------------------------------------

def bench_concurrent(st: Store, bucket: str, n: int) -> None:
    bodies = [os.urandom(MIB) for _ in range(n)]
    barrier = threading.Barrier(n)
    errors: list[str] = []

    def put(i):
        path = f"/{bucket}/conc/{i:04d}"
        h = sign_headers(st.ep, "PUT", path, {}, bodies[i], st.ak, st.sk)
        barrier.wait(timeout=120)
        try:
            r = raw_request(st.ep, "PUT", path, h, bodies[i], timeout=300)
        except Exception as e:  # noqa: BLE001
            return f"PUT {path}: {e!r}"
        if r.status != 200:
            return f"PUT {path}: HTTP {r.status} {(s3_error(r.body) or {}).get('Code')} {r.body[:200]!r}"
        if r.h("etag") != quoted_md5(bodies[i]):
            return f"PUT {path}: ETag {r.h('etag')} != {quoted_md5(bodies[i])}"
        return None

    def get(i):
        path = f"/{bucket}/conc/{i:04d}"
        h = sign_headers(st.ep, "GET", path, {}, None, st.ak, st.sk)
        barrier.wait(timeout=120)
        try:
            r = raw_request(st.ep, "GET", path, h, timeout=300)
        except Exception as e:  # noqa: BLE001
            return f"GET {path}: {e!r}"
        if r.status != 200:
            return f"GET {path}: HTTP {r.status} {r.body[:200]!r}"
        if r.h("etag") != quoted_md5(bodies[i]) or r.body != bodies[i]:
            return f"GET {path}: ETag {r.h('etag')}, body {'same' if r.body == bodies[i] else 'DIFFERENT'}"
        return None

    for op, fn in (("PUT", put), ("GET", get)):
        t0 = time.monotonic()
        with cf.ThreadPoolExecutor(n) as ex:
            res = list(ex.map(fn, range(n)))
        el = time.monotonic() - t0
        errs = [x for x in res if x]
        errors += errs
        FIGURES[f"concurrent_{op.lower()}"] = {"n": n, "seconds": round(el, 2), "MB_per_s": round(n * MIB / el / 1e6, 1),
                                               "errors": len(errs)}
        R.info(f"{n} concurrent 1 MiB {op}s: {el:.2f} s, {n * MIB / el / 1e6:.0f} MB/s, {len(errs)} errors")
        R.check(f"{n} concurrent 1 MiB {op}s: no errors, every ETag the MD5", not errs,
                f"{len(errs)} failed, e.g.:\n" + "\n".join(errs[:10]))
    r = st.signed("GET", f"/{bucket}?list-type=2&prefix=conc%2F")
    R.check(f"ListObjectsV2 shows the {n} objects", r.status == 200 and r.body.count(b"<Key>") == n,
            f"{r.status}, {r.body.count(b'<Key>')} keys")


# --- (c) crash test ---------------------------------------------------------------------------

def crash_round(st: Store, bucket: str, n: int, rnd: int, kill_after: float) -> None:
    rng = random.Random(rnd)
    bodies = [os.urandom(rng.randint(1, 6) * MIB + rng.randint(0, 4095)) for _ in range(n)]
    paces = [rng.uniform(0.3, 4.0) for _ in range(n)]  # seconds each body takes to send
    outcome: list = [None] * n
    start = threading.Event()

    def put(i):
        path = f"/{bucket}/crash{rnd}/{i:03d}"
        body = bodies[i]
        h = sign_headers(st.ep, "PUT", path, {"Content-Length": str(len(body))}, body, st.ak, st.sk)
        u = urllib.parse.urlsplit(st.ep)
        start.wait()
        time.sleep(rng.uniform(0, 0.5) if i % 3 else 0)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        try:
            conn.putrequest("PUT", path, skip_accept_encoding=True)
            for k, v in h.items():
                conn.putheader(k, v)
            conn.endheaders()
            step = 64 * 1024
            delay = paces[i] / max(1, len(body) // step)
            for off in range(0, len(body), step):
                conn.send(body[off:off + step])
                time.sleep(delay)
            resp = conn.getresponse()
            outcome[i] = (resp.status, resp.getheader("ETag"), resp.read()[:200])
        except Exception as e:  # noqa: BLE001
            outcome[i] = ("exception", None, repr(e).encode())
        finally:
            conn.close()

    threads = [threading.Thread(target=put, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    start.set()
    time.sleep(kill_after)
    done_before = sum(1 for o in outcome if o is not None)
    st.proc.kill9()
    for t in threads:
        t.join(timeout=90)
    ok200 = [i for i in range(n) if outcome[i] and outcome[i][0] == 200]
    other = [i for i in range(n) if not (outcome[i] and outcome[i][0] == 200)]
    bad_etag = [i for i in ok200 if outcome[i][1] != quoted_md5(bodies[i])]
    weird = [f"{i}: {outcome[i]}" for i in other if outcome[i] and outcome[i][0] not in ("exception",)]
    R.info(f"crash round {rnd}: kill -9 after {kill_after:.1f} s; {done_before} answered before the kill; "
           f"{len(ok200)} got 200, {len(other)} did not ({len(weird)} with an HTTP error status)")
    R.check(f"round {rnd}: every 200 before the kill carried the MD5 ETag", not bad_etag, repr(bad_etag[:5]))
    R.check(f"round {rnd}: the kill happened with PUTs in flight (test is meaningful)",
            0 < len(other), f"{len(ok200)} of {n} had already finished; raise --crash-puts or lower the delay")
    if weird:
        R.info(f"round {rnd}: non-200 answers before the kill: {weird[:5]}")

    data = st.proc.data_dir
    at_kill = [f for d in named_dirs(data, "tmp") for f in tmp_files(d)]
    R.info(f"round {rnd}: {len(at_kill)} temporary files on disk right after kill -9 (start-up must remove them)")
    why = st.start()
    R.check(f"round {rnd}: hoist store starts again after kill -9", why is None, why or "")
    if why:
        return
    lost, partial, wrong = [], [], []
    present_unacked = 0
    for i in range(n):
        path = f"/{bucket}/crash{rnd}/{i:03d}"
        r = st.signed("GET", path, timeout=120)
        if i in ok200:
            if r.status != 200:
                lost.append(f"{path}: acknowledged with 200, now HTTP {r.status} {(s3_error(r.body) or {}).get('Code')}")
            elif r.body != bodies[i] or r.h("etag") != quoted_md5(bodies[i]):
                wrong.append(f"{path}: acknowledged, now {len(r.body)} of {len(bodies[i])} bytes, ETag {r.h('etag')}")
        else:
            if r.status == 200:
                present_unacked += 1
                if r.body != bodies[i] or r.h("etag") != quoted_md5(bodies[i]):
                    partial.append(f"{path}: unacknowledged PUT left {len(r.body)} of {len(bodies[i])} bytes, "
                                   f"ETag {r.h('etag')} (want {quoted_md5(bodies[i])})")
            elif r.status != 404:
                partial.append(f"{path}: HTTP {r.status} {r.body[:200]!r}")
    R.check(f"round {rnd}: every PUT that got a 200 is readable with the same ETag and bytes", not lost and not wrong,
            "\n".join((lost + wrong)[:10]))
    R.check(f"round {rnd}: no object is partly there (absent, or exactly one PUT's bytes)", not partial,
            "\n".join(partial[:10]))
    R.info(f"round {rnd}: {present_unacked} PUTs without a 200 were committed anyway (allowed: the reply was lost)")
    r = st.signed("GET", f"/{bucket}?list-type=2&prefix=crash{rnd}%2F")
    listed = r.body.count(b"<Key>")
    R.check(f"round {rnd}: the listing agrees with the GETs", listed == len(ok200) - len(lost) + present_unacked,
            f"listed {listed}, readable {len(ok200) - len(lost) + present_unacked}")
    tmp_dirs = named_dirs(data, "tmp")
    left = [f for d in tmp_dirs for f in tmp_files(d)]
    if rnd == 1:
        R.info(f"temporary folders found under the data folder: {tmp_dirs or 'none'}")
    R.check(f"round {rnd}: no files left in the store's tmp folder after the restart", not left,
            f"{len(left)} left in {tmp_dirs}, e.g. {left[:5]}")
    FIGURES.setdefault("crash", []).append({"round": rnd, "kill_after_s": kill_after, "acked": len(ok200),
                                            "unacked_committed": present_unacked, "lost": len(lost),
                                            "partial": len(partial), "tmp_left": len(left)})


def named_dirs(root: str, name: str) -> list[str]:
    """Every folder called NAME under ROOT (the store keeps its engine files in DATA/ or a subfolder)."""
    return [os.path.join(r, d) for r, dirs, _ in os.walk(root) for d in dirs if d == name]


def count_objects(st: Store, bucket: str) -> int:
    total, token = 0, None
    while True:
        q = "list-type=2&max-keys=1000" + (f"&continuation-token={urllib.parse.quote(token, safe='')}" if token else "")
        r = st.signed("GET", f"/{bucket}?{q}")
        if r.status != 200:
            return -1
        total += r.body.count(b"<Key>")
        m = re.search(rb"<NextContinuationToken>([^<]+)</NextContinuationToken>", r.body)
        if not m:
            return total
        token = m.group(1).decode()


def bench_crash(st: Store, bucket: str, n: int, rounds: int) -> None:
    for rnd in range(1, rounds + 1):
        kill_after = [1.0, 2.0, 3.0, 1.5, 2.5][(rnd - 1) % 5]
        crash_round(st, bucket, n, rnd, kill_after)
        if not st.proc.alive():
            return
    blob_dirs = named_dirs(st.proc.data_dir, "blobs")
    blobs = [f for d in blob_dirs for f in tmp_files(d)]
    objects = count_objects(st, bucket)
    if not blob_dirs:
        R.info("no 'blobs' folder under the data folder: orphan-blob check skipped")
        return
    R.check("no orphan blobs: files under the blobs folder == objects in the index", len(blobs) == objects,
            f"{len(blobs)} blob files in {blob_dirs}, {objects} objects listed")


# --- (d) multipart: 1 GiB in 16 MiB parts, 4 at a time; (e) completing 1,000 parts ---------------

def put_stream(st: Store, path: str, size: int, block: bytes, query: str = "") -> tuple[int | None, str | None, bytes]:
    """One streamed, UNSIGNED-PAYLOAD PUT of SIZE bytes of BLOCK (stamped) to PATH?QUERY."""
    target = path + ("?" + query if query else "")
    h = sign_headers(st.ep, "PUT", target, {"Content-Length": str(size)}, None, st.ak, st.sk, payload_hash="UNSIGNED-PAYLOAD")
    u = urllib.parse.urlsplit(st.ep)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    try:
        conn.putrequest("PUT", target, skip_accept_encoding=True)
        for k, v in h.items():
            conn.putheader(k, v)
        conn.endheaders()
        for piece in block_stream(size, block):
            conn.send(piece)
        resp = conn.getresponse()
        return resp.status, resp.getheader("ETag"), resp.read()
    except Exception as e:  # noqa: BLE001
        return None, None, repr(e).encode()
    finally:
        conn.close()


def create_upload(st: Store, path: str) -> str | None:
    r = st.signed("POST", path + "?uploads")
    m = re.search(rb"<UploadId>([^<]+)</UploadId>", r.body)
    return m.group(1).decode() if r.status == 200 and m else None


def complete_upload(st: Store, path: str, upload_id: str, etags: list[str]):
    doc = "<CompleteMultipartUpload>" + "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in enumerate(etags, 1)) + "</CompleteMultipartUpload>"
    return st.signed("POST", f"{path}?uploadId={urllib.parse.quote(upload_id, safe='')}", {"Content-Type": "application/xml"},
                     doc.encode(), timeout=600)


def bench_multipart(st: Store, bucket: str, size_mib: int, part_mib: int, parallel: int) -> None:
    size = size_mib * MIB
    part = part_mib * MIB
    block = os.urandom(MIB)
    # Baseline: one streamed PUT of the same size.
    sampler = RSSSampler(st.proc.pid)
    sampler.start()
    t0 = time.monotonic()
    status, _, body = put_stream(st, f"/{bucket}/mp/single.bin", size, block)
    single_s = time.monotonic() - t0
    sampler.stop()
    R.check(f"single PUT {size_mib} MiB for comparison -> 200", status == 200, f"{status} {body[:300]!r}")
    st.signed("DELETE", f"/{bucket}/mp/single.bin")

    path = f"/{bucket}/mp/{size_mib}MiB.bin"
    upload_id = create_upload(st, path)
    if not upload_id:
        R.check("CreateMultipartUpload", False, "no UploadId")
        return
    count = (size + part - 1) // part
    hwm_before = read_proc_status(st.proc.pid).get("VmHWM", 0)
    mp_sampler = RSSSampler(st.proc.pid)
    mp_sampler.start()
    t0 = time.monotonic()

    def one(n: int):
        length = min(part, size - (n - 1) * part)
        q = f"partNumber={n}&uploadId={urllib.parse.quote(upload_id, safe='')}"
        return n, put_stream(st, path, length, block, q)

    etags: dict[int, str] = {}
    failures = []
    with cf.ThreadPoolExecutor(parallel) as pool:
        for n, (status, etag, body) in pool.map(one, range(1, count + 1)):
            if status == 200 and etag:
                etags[n] = etag
            else:
                failures.append(f"part {n}: {status} {body[:200]!r}")
    parts_s = time.monotonic() - t0
    t1 = time.monotonic()
    r = complete_upload(st, path, upload_id, [etags.get(n, '""') for n in range(1, count + 1)])
    complete_s = time.monotonic() - t1
    total_s = time.monotonic() - t0
    mp_sampler.stop()
    mp_mbs = size / total_s / 1e6
    single_mbs = size / single_s / 1e6
    FIGURES["multipart"] = {"size_mib": size_mib, "part_mib": part_mib, "parallel": parallel, "parts": count,
                            "parts_seconds": round(parts_s, 2), "complete_seconds": round(complete_s, 2),
                            "total_seconds": round(total_s, 2), "MB_per_s": round(mp_mbs, 1),
                            "single_put_seconds": round(single_s, 2), "single_put_MB_per_s": round(single_mbs, 1),
                            "single_put_vmhwm_kB": sampler.hwm, "max_rss_kB": mp_sampler.max_rss,
                            "vmhwm_kB": mp_sampler.hwm, "vmhwm_before_kB": hwm_before}
    R.info(f"multipart {size_mib} MiB in {count} parts of {part_mib} MiB, {parallel} at a time: parts {parts_s:.2f} s, "
           f"complete {complete_s:.2f} s, total {total_s:.2f} s = {mp_mbs:.0f} MB/s; single PUT {single_s:.2f} s = "
           f"{single_mbs:.0f} MB/s; max sampled VmRSS {mp_sampler.max_rss} kB, VmHWM {mp_sampler.hwm} kB")
    R.check(f"{count} parts uploaded", not failures, "\n".join(failures[:5]))
    R.check("CompleteMultipartUpload -> 200 with an ETag ending -count", r.status == 200 and f"-{count}" in r.body.decode(errors="replace"),
            r.describe(300))
    R.check("store peak RSS during the multipart upload < 100 MiB (VmHWM)", 0 < mp_sampler.hwm < 100 * 1024,
            f"VmHWM {mp_sampler.hwm} kB, max sampled VmRSS {mp_sampler.max_rss} kB")
    R.check("multipart throughput >= single PUT throughput", mp_mbs >= single_mbs,
            f"multipart {mp_mbs:.0f} MB/s vs single PUT {single_mbs:.0f} MB/s")
    st.signed("DELETE", path)


def bench_complete(st: Store, bucket: str, parts: int, part_mib: int, parallel: int) -> None:
    """Uploads PARTS parts (every one but the last PART_MIB MiB, S3's minimum being 5 MiB) and times the completion."""
    path = f"/{bucket}/mp/{parts}-parts.bin"
    upload_id = create_upload(st, path)
    if not upload_id:
        R.check("CreateMultipartUpload", False, "no UploadId")
        return
    block = os.urandom(MIB)
    part = part_mib * MIB

    def one(n: int):
        length = part if n < parts else 1024
        q = f"partNumber={n}&uploadId={urllib.parse.quote(upload_id, safe='')}"
        return n, put_stream(st, path, length, block, q)

    t0 = time.monotonic()
    etags: dict[int, str] = {}
    with cf.ThreadPoolExecutor(parallel) as pool:
        for n, (status, etag, _) in pool.map(one, range(1, parts + 1)):
            if status == 200 and etag:
                etags[n] = etag
    upload_s = time.monotonic() - t0
    R.check(f"{parts} parts uploaded", len(etags) == parts, f"{len(etags)} of {parts}")
    t1 = time.monotonic()
    r = complete_upload(st, path, upload_id, [etags.get(n, '""') for n in range(1, parts + 1)])
    complete_s = time.monotonic() - t1
    total_mib = (parts - 1) * part_mib
    FIGURES["complete"] = {"parts": parts, "part_mib": part_mib, "object_mib": total_mib, "upload_seconds": round(upload_s, 2),
                           "complete_seconds": round(complete_s, 3)}
    R.info(f"CompleteMultipartUpload of {parts} parts ({total_mib} MiB): {complete_s:.2f} s "
           f"(the parts' upload took {upload_s:.1f} s)")
    R.check(f"CompleteMultipartUpload of {parts} parts -> 200", r.status == 200, r.describe(300))
    R.check(f"CompleteMultipartUpload of {parts} parts < 2 s", complete_s < 2.0, f"{complete_s:.2f} s")
    if r.status == 200 and parts > 1:
        # The object is its parts' files: ranges across the first and the last part boundary read both sides.
        full = b"".join(block_stream(part, block))
        last = b"".join(block_stream(1024, block))
        for start, expected in ((part - 8, full[-8:] + full[:16]), ((parts - 1) * part - 8, full[-8:] + last[:16])):
            g = st.signed("GET", path, {"Range": f"bytes={start}-{start + 23}"})
            R.check(f"ranged GET across the part boundary at {start + 8} -> 206 with both parts' bytes",
                    g.status == 206 and g.body == expected, g.describe(200))
    st.signed("DELETE", path)


# --- (f) a 1 GiB browser form upload (POST object), streamed ----------------------------------------

def bench_post(st: Store, bucket: str, size_mib: int) -> None:
    """A signed POST form whose file part is SIZE_MIB MiB, sent streamed; the store's peak RSS is sampled."""
    import base64
    import datetime as dt
    import hmac
    from store_common import REGION, signing_key
    size = size_mib * MIB
    now = dt.datetime.now(dt.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{st.ak}/{now:%Y%m%d}/{REGION}/s3/aws4_request"
    key = f"post/{size_mib}MiB.bin"
    policy = {"expiration": (now + dt.timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
              "conditions": [{"bucket": bucket}, {"key": key}, ["content-length-range", 1, size],
                             {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, {"x-amz-credential": credential}, {"x-amz-date": amz_date}]}
    encoded = base64.b64encode(json.dumps(policy).encode()).decode()
    signature = hmac.new(signing_key(st.sk, f"{now:%Y%m%d}"), encoded.encode(), hashlib.sha256).hexdigest()
    fields = [("key", key), ("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("x-amz-credential", credential),
              ("x-amz-date", amz_date), ("policy", encoded), ("x-amz-signature", signature)]
    boundary = "hoistBenchBoundary" + os.urandom(8).hex()
    head = b"".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{n}"\r\n\r\n{v}\r\n'.encode() for n, v in fields)
    head += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n' \
            f'Content-Type: application/octet-stream\r\n\r\n'.encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    block = os.urandom(MIB)
    md5 = hashlib.md5()
    for piece in block_stream(size, block):
        md5.update(piece)
    u = urllib.parse.urlsplit(st.ep)
    sampler = RSSSampler(st.proc.pid)
    sampler.start()
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=600)
    t0 = time.monotonic()
    status, etag, body = None, None, b""
    try:
        conn.putrequest("POST", f"/{bucket}", skip_accept_encoding=True)
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(head) + size + len(tail)))
        conn.endheaders()
        conn.send(head)
        for piece in block_stream(size, block):
            conn.send(piece)
        conn.send(tail)
        resp = conn.getresponse()
        status, etag, body = resp.status, resp.getheader("ETag"), resp.read()
    except Exception as e:  # noqa: BLE001
        body = repr(e).encode()
    finally:
        conn.close()
    post_s = time.monotonic() - t0
    sampler.stop()
    FIGURES["post"] = {"size_mib": size_mib, "seconds": round(post_s, 2), "MB_per_s": round(size / post_s / 1e6, 1),
                       "max_rss_kB": sampler.max_rss, "vmhwm_kB": sampler.hwm}
    R.info(f"POST form with a {size_mib} MiB file: {post_s:.2f} s = {size / post_s / 1e6:.0f} MB/s; "
           f"max sampled VmRSS {sampler.max_rss} kB, VmHWM {sampler.hwm} kB")
    R.check(f"POST form {size_mib} MiB -> 204 with the MD5 ETag", status == 204 and etag == '"' + md5.hexdigest() + '"',
            f"got {status} {etag} {body[:300]!r}")
    R.check("store peak RSS during the form upload < 100 MiB (VmHWM)", 0 < sampler.hwm < 100 * 1024,
            f"VmHWM {sampler.hwm} kB, max sampled VmRSS {sampler.max_rss} kB")
    st.signed("DELETE", f"/{bucket}/{key}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size-mib", type=int, default=1024)
    ap.add_argument("--concurrent", type=int, default=200)
    ap.add_argument("--crash-puts", type=int, default=100)
    ap.add_argument("--crash-rounds", type=int, default=3)
    ap.add_argument("--mp-size-mib", type=int, default=1024)
    ap.add_argument("--mp-part-mib", type=int, default=16)
    ap.add_argument("--mp-parallel", type=int, default=4)
    ap.add_argument("--complete-parts", type=int, default=1000)
    ap.add_argument("--complete-part-mib", type=int, default=5)
    ap.add_argument("--post-size-mib", type=int, default=1024)
    ap.add_argument("--sse-size-mib", type=int, default=1024)
    ap.add_argument("--sse-rounds", type=int, default=3)
    ap.add_argument("--only", default="put,concurrent,crash,multipart,complete,post,encryption")
    args = ap.parse_args()
    only = set(args.only.split(","))
    binary = release_bin()
    why = check_store_binary(binary)
    if why:
        R.check("hoist (release) binary", False, why + " (build it: swift build -c release)")
        return R.finish()
    base = os.environ.get("BENCH_DIR") or tempfile.gettempdir()
    work = tempfile.mkdtemp(prefix="hoist-store-bench-", dir=base)
    data = os.path.join(work, "data")
    os.makedirs(data)
    st = Store(binary, data)
    why = st.start()
    if why:
        R.check("start hoist store", False, why)
        shutil.rmtree(work, ignore_errors=True)
        return R.finish()
    R.info(f"hoist store pid {st.proc.pid} at {st.ep}, data {data}, binary {binary}")
    bucket = "bench"
    r = st.signed("PUT", f"/{bucket}")
    if r.status != 200:
        R.check("CreateBucket bench", False, r.describe(300))
    else:
        try:
            if "put" in only:
                bench_big(st, bucket, args.size_mib, data)
            if "concurrent" in only:
                bench_concurrent(st, bucket, args.concurrent)
            if "crash" in only:
                bench_crash(st, bucket, args.crash_puts, args.crash_rounds)
            if "multipart" in only:
                bench_multipart(st, bucket, args.mp_size_mib, args.mp_part_mib, args.mp_parallel)
            if "complete" in only:
                bench_complete(st, bucket, args.complete_parts, args.complete_part_mib, args.mp_parallel)
            if "post" in only:
                bench_post(st, bucket, args.post_size_mib)
            if "encryption" in only:
                bench_encryption(st, args.sse_size_mib, args.sse_rounds)
        except Exception:  # noqa: BLE001
            import traceback
            R.check("benchmark ran to the end", False, traceback.format_exc())
    if st.proc.alive():
        rc, graceful = st.proc.stop()
        R.info(f"hoist store stopped: exit status {rc}{'' if graceful else ' (killed)'}")
    print(json.dumps({"tool": "hoist store", "figures": FIGURES}, separators=(",", ":")))
    shutil.rmtree(work, ignore_errors=True)
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
