#!/usr/bin/env python3
"""A soak of `hoist serve`: mixed load for a while, the process sampled every few seconds.

Runs a (release) `hoist serve` with a temporary data folder on free ports of 127.0.0.1 and drives it
from several client threads with a mix of what a deployment sees: upload URLs issued and used (good
PNGs, JPEGs with phone-like EXIF, and text declared as PNG that the worker must reject), GETs and ranged GETs, listings page by
page, multipart uploads completed or aborted, and deletes; the image worker processes every upload
in the same process. Every --interval seconds it samples the server's resident memory, open file
descriptors, thread count, the size of its SQLite write-ahead logs, and the latency percentiles of
the interval. At the end it waits until every uploaded image has reached a final status, prints a
table, writes a CSV and an SVG plot, and judges the goals:

  - 0 unexpected errors (a rejected bad upload is expected; a 5xx, a refused good request, a
    connection error or an upload that never reaches a final status is not);
  - resident memory, descriptors and WAL size flat after warm-up (no upward trend);
  - p99 of POST /upload-url stable (the last third of the run within 2x of the first third after warm-up).

Usage: python3 Benchmarks/soak.py [--duration 600] [--interval 10] [--clients 6] [--out /tmp/hoist-soak]
Env:   HOIST_BIN  the binary (default .build/release/hoist, else .build/debug/hoist)
Needs: boto3, requests and Pillow (Interop/requirements.txt). Exit 0 when the goals are met, 1 when not,
2 when it cannot run.
"""
from __future__ import annotations

import argparse
import collections
import glob
import os
import random
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Interop"))

from api_common import APIClient, HoistServerProcess, gps_jpeg, picture, put_url, store_s3_client  # noqa: E402

BUCKET = "article-images"
# Operation mix (weights).
MIX = [("upload", 30), ("bad_upload", 5), ("get", 20), ("range_get", 10), ("list", 15), ("multipart", 5),
       ("delete", 10), ("head", 5)]


class Recorder:
    """Latencies and errors, shared by the client threads; drained by the sampler each interval."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.interval: dict[str, list[float]] = collections.defaultdict(list)
        self.counts: collections.Counter = collections.Counter()
        self.errors: collections.Counter = collections.Counter()
        self.examples: list[str] = []

    def ok(self, op: str, seconds: float) -> None:
        with self.lock:
            self.interval[op].append(seconds * 1000)
            self.counts[op] += 1

    def error(self, op: str, what: str) -> None:
        with self.lock:
            self.errors[op] += 1
            if len(self.examples) < 10:
                self.examples.append(f"{op}: {what[:300]}")

    def drain(self) -> dict[str, list[float]]:
        with self.lock:
            out, self.interval = self.interval, collections.defaultdict(list)
            return out


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def process_sample(pid: int, data_dir: str) -> dict[str, float]:
    status = open(f"/proc/{pid}/status").read()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    wal = sum(os.path.getsize(p) for p in glob.glob(os.path.join(data_dir, "**", "*-wal"), recursive=True))
    return {"rss_mib": int(fields["VmRSS"].split()[0]) / 1024, "threads": int(fields["Threads"]),
            "fds": len(os.listdir(f"/proc/{pid}/fd")), "wal_mib": wal / (1 << 20)}


class Client(threading.Thread):
    """One client: a loop of weighted operations until `stop` is set."""

    def __init__(self, n: int, srv: HoistServerProcess, token: str, rec: Recorder, stop: threading.Event,
                 issued: list, issued_lock: threading.Lock) -> None:
        super().__init__(daemon=True)
        self.n, self.srv, self.token, self.rec, self.stop = n, srv, token, rec, stop
        self.api = APIClient(srv.api)
        self.s3 = store_s3_client(srv)
        self.random = random.Random(n)
        self.good_keys: list[str] = []
        self.multipart_keys: list[str] = []
        self.article: str | None = None
        self.in_article = 0
        self.issued, self.issued_lock = issued, issued_lock
        # PNGs, and JPEGs shaped like phone photos (EXIF with a camera, a GPS position and an orientation).
        self.images = [("image/png", picture("png", 40 + i, 30 + i, seed=n * 10 + i)) for i in range(2)]
        self.images += [("image/jpeg", gps_jpeg(360 + 8 * i, 240 + 4 * i, seed=n * 10 + i, model="Soak 1", orientation=6)) for i in range(2)]

    def run(self) -> None:
        ops, weights = zip(*MIX)
        while not self.stop.is_set():
            op = self.random.choices(ops, weights)[0]
            started = time.monotonic()
            try:
                if getattr(self, op)():
                    self.rec.ok(op, time.monotonic() - started)
            except Exception as error:  # noqa: BLE001 — every failure is counted, none stops the soak
                self.rec.error(op, f"{type(error).__name__}: {error}")

    def _issue(self, content_type: str, size: int) -> dict:
        # A new article every 200 uploads keeps each article's listing small.
        if self.article is None or self.in_article >= 200:
            self.article, self.in_article = None, 0
        body = {"contentType": content_type, "size": size}
        if self.article:
            body["articleId"] = self.article
        started = time.monotonic()
        resp = self.api.upload_url(self.token, body)
        if resp.status_code != 200:
            raise RuntimeError(f"POST /upload-url -> {resp.status_code} {resp.text[:200]}")
        self.rec.ok("issue_url", time.monotonic() - started)
        issued = resp.json()
        self.article = issued["articleId"]
        self.in_article += 1
        return issued

    def upload(self) -> bool:
        content_type, body = self.random.choice(self.images)
        issued = self._issue(content_type, len(body))
        put = put_url(issued["uploadUrl"], issued["headers"], body)
        if put.status != 200:
            raise RuntimeError(f"PUT -> {put.status} {put.body[:200]!r}")
        self.good_keys.append(issued["key"])
        with self.issued_lock:
            self.issued.append((issued["articleId"], issued["key"], "processed"))
        return True

    def bad_upload(self) -> bool:
        body = b"this is not a picture, whatever the declared type says\n" * 4
        issued = self._issue("image/png", len(body))
        put = put_url(issued["uploadUrl"], issued["headers"], body)
        if put.status != 200:
            raise RuntimeError(f"PUT -> {put.status}")
        with self.issued_lock:
            self.issued.append((issued["articleId"], issued["key"], "rejected"))
        return True

    def get(self) -> bool:
        if not self.good_keys:
            return False
        self.s3.get_object(Bucket=BUCKET, Key=self.random.choice(self.good_keys[-500:]))["Body"].read()
        return True

    def range_get(self) -> bool:
        if not self.good_keys:
            return False
        got = self.s3.get_object(Bucket=BUCKET, Key=self.random.choice(self.good_keys[-500:]), Range="bytes=0-15")
        if len(got["Body"].read()) != 16:
            raise RuntimeError("a ranged GET did not return 16 bytes")
        return True

    def head(self) -> bool:
        if not self.good_keys:
            return False
        self.s3.head_object(Bucket=BUCKET, Key=self.random.choice(self.good_keys[-500:]))
        return True

    def list(self) -> bool:
        token = None
        for _ in range(5):  # at most five pages of 100
            args = {"Bucket": BUCKET, "Prefix": "articles/", "MaxKeys": 100}
            if token:
                args["ContinuationToken"] = token
            page = self.s3.list_objects_v2(**args)
            token = page.get("NextContinuationToken")
            if not token:
                break
        return True

    def multipart(self) -> bool:
        key = f"soak/{self.n}/mp-{self.random.getrandbits(48):012x}.bin"
        upload = self.s3.create_multipart_upload(Bucket=BUCKET, Key=key, ContentType="application/octet-stream")
        parts = []
        for number, size in ((1, 5 << 20), (2, 1024)):
            etag = self.s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"], PartNumber=number,
                                       Body=os.urandom(size))["ETag"]
            parts.append({"PartNumber": number, "ETag": etag})
        if self.random.random() < 0.25:
            self.s3.abort_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"])
        else:
            self.s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload["UploadId"],
                                              MultipartUpload={"Parts": parts})
            self.multipart_keys.append(key)
        return True

    def delete(self) -> bool:
        if not self.multipart_keys:
            return False
        self.s3.delete_object(Bucket=BUCKET, Key=self.multipart_keys.pop(0))
        return True


def trend(samples: list[dict], field: str, warmup: int) -> tuple[float, float, float]:
    """(first value after warm-up, last value, least-squares slope per minute) of a sampled field."""
    rows = samples[warmup:]
    xs = [r["t"] / 60 for r in rows]
    ys = [r[field] for r in rows]
    if len(rows) < 2:
        return (ys[0] if ys else 0.0), (ys[-1] if ys else 0.0), 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs) or 1.0
    return ys[0], ys[-1], sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den


def svg_plot(samples: list[dict], path: str, warmup_t: float) -> None:
    panels = [("rss_mib", "resident memory (MiB)"), ("fds", "open descriptors"), ("wal_mib", "SQLite WAL (MiB)"),
              ("issue_p99", "POST /upload-url p99 (ms)"), ("threads", "threads"), ("ops", "operations / s")]
    w, h, pad = 420, 180, 40
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * w}" height="{3 * h}" font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>']
    t_max = max((s["t"] for s in samples), default=1) or 1
    for i, (field, title) in enumerate(panels):
        ox, oy = (i % 2) * w, (i // 2) * h
        values = [s[field] for s in samples if s[field] == s[field]]  # no NaN
        top = max(values, default=1) * 1.1 or 1
        parts.append(f'<text x="{ox + pad}" y="{oy + 16}" font-weight="bold">{title}</text>')
        parts.append(f'<rect x="{ox + pad}" y="{oy + 24}" width="{w - 2 * pad}" height="{h - 54}" fill="none" stroke="#999"/>')
        parts.append(f'<text x="{ox + 2}" y="{oy + 32}">{top:.0f}</text><text x="{ox + 2}" y="{oy + h - 30}">0</text>')
        wx = ox + pad + (w - 2 * pad) * warmup_t / t_max
        parts.append(f'<line x1="{wx:.1f}" y1="{oy + 24}" x2="{wx:.1f}" y2="{oy + h - 30}" stroke="#ccc" stroke-dasharray="4"/>')
        points = " ".join(f"{ox + pad + (w - 2 * pad) * s['t'] / t_max:.1f},{oy + h - 30 - (h - 54) * s[field] / top:.1f}"
                          for s in samples if s[field] == s[field])
        parts.append(f'<polyline points="{points}" fill="none" stroke="#0a5bd3" stroke-width="1.5"/>')
        parts.append(f'<text x="{ox + w - pad - 60}" y="{oy + h - 16}">{t_max:.0f} s</text>')
    parts.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(parts))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--interval", type=float, default=10)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--out", default="/tmp/hoist-soak")
    args = parser.parse_args()
    repo = os.path.dirname(HERE)
    binary = os.environ.get("HOIST_BIN") or next((p for p in (f"{repo}/.build/release/hoist", f"{repo}/.build/debug/hoist")
                                                  if os.path.exists(p)), "")
    if not binary or not os.access(binary, os.X_OK):
        print("soak: no hoist binary (swift build -c release, or set HOIST_BIN)")
        return 2
    srv = HoistServerProcess("serve", binary=binary,
                             env={"HOIST_RATE_PER_MINUTE": "1000000", "HOIST_RATE_BURST": "1000000"})
    why = srv.start()
    if why:
        print(f"soak: {why}")
        return 2
    rec, stop, issued, issued_lock = Recorder(), threading.Event(), [], threading.Lock()
    samples: list[dict] = []
    try:
        token = srv.token("soak", ttl=int(args.duration) + 3600)
        print(f"soak: {binary} (pid {srv.pid}) for {args.duration:.0f} s, {args.clients} clients, sampled every {args.interval:.0f} s")
        clients = [Client(n, srv, token, rec, stop, issued, issued_lock) for n in range(args.clients)]
        for c in clients:
            c.start()
        t0 = time.monotonic()
        print(f"{'t (s)':>6} {'RSS MiB':>8} {'fds':>5} {'thr':>4} {'WAL MiB':>8} {'ops/s':>7} {'issue p50':>9} {'issue p99':>9} "
              f"{'all p99':>8} {'errors':>6}")
        next_at = t0 + args.interval
        while time.monotonic() - t0 < args.duration:
            time.sleep(max(0.0, next_at - time.monotonic()))
            next_at += args.interval
            lat = rec.drain()
            every = [v for vs in lat.values() for v in vs]
            row = {"t": time.monotonic() - t0, **process_sample(srv.pid, srv.data_dir),
                   "ops": len(every) / args.interval, "issue_p50": percentile(lat.get("issue_url", []), 50),
                   "issue_p99": percentile(lat.get("issue_url", []), 99), "all_p99": percentile(every, 99),
                   "errors": sum(rec.errors.values())}
            samples.append(row)
            print(f"{row['t']:6.0f} {row['rss_mib']:8.1f} {row['fds']:5d} {row['threads']:4d} {row['wal_mib']:8.2f} {row['ops']:7.1f} "
                  f"{row['issue_p50']:9.2f} {row['issue_p99']:9.2f} {row['all_p99']:8.1f} {row['errors']:6d}", flush=True)
        stop.set()
        for c in clients:
            c.join(timeout=60)
        # Every upload reaches its final status.
        api, deadline = APIClient(srv.api), time.monotonic() + 180
        by_article: dict[str, dict[str, str]] = collections.defaultdict(dict)
        for article, key, expected in issued:
            by_article[article][key] = expected
        unfinished = wrong = 0
        for article, keys in by_article.items():
            statuses: dict[str, str] = {}
            while time.monotonic() < deadline:
                listing = api.get(f"/articles/{article}/uploads", token)
                statuses = {u["key"]: u["status"] for u in listing.json().get("uploads", [])} if listing.status_code == 200 else {}
                if all(statuses.get(k) in ("processed", "rejected") for k in keys):
                    break
                time.sleep(0.5)
            unfinished += sum(1 for k in keys if statuses.get(k) not in ("processed", "rejected"))
            wrong += sum(1 for k, want in keys.items() if statuses.get(k) in ("processed", "rejected") and statuses.get(k) != want)
        alive = srv.proc.poll() is None
    finally:
        stop.set()
        srv.stop()

    warmup = max(1, len(samples) // 5)
    warmup_t = samples[warmup - 1]["t"] if samples else 0
    svg_plot(samples, args.out + ".svg", warmup_t)
    with open(args.out + ".csv", "w") as f:
        fields = list(samples[0].keys()) if samples else []
        f.write(",".join(fields) + "\n")
        for s in samples:
            f.write(",".join(f"{s[k]:.3f}" if isinstance(s[k], float) else str(s[k]) for k in fields) + "\n")

    print(f"\noperations: " + ", ".join(f"{op} {n}" for op, n in sorted(rec.counts.items())))
    errors = sum(rec.errors.values())
    print(f"unexpected errors: {errors}" + (" (" + ", ".join(f"{op} {n}" for op, n in rec.errors.items()) + ")" if errors else ""))
    for example in rec.examples:
        print(f"  e.g. {example}")
    print(f"uploads: {len(issued)} issued and sent; {unfinished} without a final status; {wrong} with the wrong verdict")
    verdicts = []
    for field, unit, allowed in (("rss_mib", "MiB", lambda a, b, s: b <= a * 1.10 + 8 or s <= 0.5),
                                 ("fds", "", lambda a, b, s: b <= a + 8),
                                 ("wal_mib", "MiB", lambda a, b, s: b <= max(a * 1.5, a + 8) or s <= 0.1),
                                 ("threads", "", lambda a, b, s: b <= a + 4)):
        first, last, slope = trend(samples, field, warmup)
        flat = allowed(first, last, slope)
        verdicts.append(flat)
        print(f"{field:8} after warm-up: {first:8.1f} -> {last:8.1f} {unit:3}  slope {slope:+7.2f}/min  {'flat' if flat else 'GROWING'}")
    after = [s["issue_p99"] for s in samples[warmup:] if s["issue_p99"] == s["issue_p99"]]
    third = max(1, len(after) // 3)
    early, late = (statistics.median(after[:third]), statistics.median(after[-third:])) if after else (0.0, 0.0)
    stable = bool(after) and late <= 2 * early + 1
    print(f"POST /upload-url p99: first third {early:.2f} ms, last third {late:.2f} ms: {'stable' if stable else 'NOT STABLE'}")
    print(f"plot: {args.out}.svg   samples: {args.out}.csv")
    ok = alive and errors == 0 and unfinished == 0 and wrong == 0 and all(verdicts) and stable
    if not alive:
        print("the server died during the soak")
    print(f"soak: goals {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
