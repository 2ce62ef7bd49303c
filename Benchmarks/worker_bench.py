#!/usr/bin/env python3
"""Benchmark: many small uploads through `hoist serve`'s events outbox and image worker.

For each mode (with libvips making the derived images of each upload: its 64-pixel JPEG gets the
smallest width, 320, written at 64 px, in WebP and AVIF; and without libvips: verify only),
starts `hoist serve` on free 127.0.0.1 ports with a temporary data folder, then N clients (threads)
each ask POST /upload-url and PUT a small real JPEG, COUNT uploads in all. Prints:

- the PUT phase: uploads per second;
- tail: time from the last PUT's answer to every record `processed`;
- throughput: processed uploads per second from the first PUT to the last `processed`;
- loss and duplicates: records not `processed`, `hoist_uploads_total{outcome="processed"}` (must be
  COUNT exactly: a repeated event is never processed twice), derived images in the store.

Usage: python3 Benchmarks/worker_bench.py [--count 1000] [--clients 8]   (HOIST_BIN: the hoist binary;
a release build gives the representative figures: `swift build -c release`, HOIST_BIN=.build/release/hoist).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Interop"))

from api_common import APIClient, HoistServerProcess, parse_metrics, put_url, tiny_jpeg  # noqa: E402


def run(count: int, clients: int, thumbnails: bool) -> None:
    env = {"HOIST_RATE_PER_MINUTE": "1000000", "HOIST_RATE_BURST": "1000000"}
    if not thumbnails:
        env["HOIST_VIPSTHUMBNAIL"] = "/nonexistent/vipsthumbnail"
    srv = HoistServerProcess("serve", env=env)
    why = srv.start()
    if why:
        raise SystemExit(why)
    try:
        token = srv.token("bench")
        api = APIClient(srv.api)
        first = api.upload_url(token, {"contentType": "image/jpeg", "size": 10}).json()
        article = first["articleId"]
        bodies = [tiny_jpeg(64, 48, seed=i) for i in range(16)]

        def one(i: int) -> tuple[str, float]:
            client = APIClient(srv.api)
            body = bodies[i % len(bodies)]
            issued = client.upload_url(token, {"contentType": "image/jpeg", "size": len(body), "articleId": article}).json()
            resp = put_url(issued["uploadUrl"], issued["headers"], body)
            if resp.status != 200:
                raise RuntimeError(f"PUT {resp.status}")
            return issued["key"], time.monotonic()

        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(clients) as pool:
            results = list(pool.map(one, range(count)))
        keys = {key for key, _ in results}
        last_put = max(t for _, t in results)
        put_seconds = last_put - t0
        done_at = None
        statuses: dict[str, str] = {}
        while time.monotonic() - last_put < 600:
            listing = api.get(f"/articles/{article}/uploads", token).json().get("uploads", [])
            statuses = {u["key"]: u["status"] for u in listing if u["key"] in keys}
            if sum(1 for s in statuses.values() if s == "processed") == count:
                done_at = time.monotonic()
                break
            time.sleep(0.05)
        metrics = parse_metrics(api.get("/metrics").text)
        processed_counter = metrics.get('hoist_uploads_total{outcome="processed"}', 0)
        mode = "with thumbnails" if thumbnails else "verify only (no vipsthumbnail)"
        print(f"== {count} uploads, {clients} clients, {mode}")
        print(f"  PUT phase: {put_seconds:.2f} s, {count / put_seconds:.0f} uploads/s")
        if done_at is None:
            lost = sum(1 for s in statuses.values() if s != "processed")
            print(f"  NOT DONE after 600 s: {lost} records not processed")
            return
        print(f"  tail: last PUT -> all processed {done_at - last_put:.2f} s")
        print(f"  throughput: {count / (done_at - t0):.0f} processed uploads/s (first PUT -> last processed)")
        print(f"  processed counter {processed_counter:.0f} (expect exactly {count}); "
              f"records not processed: {count - sum(1 for s in statuses.values() if s == 'processed')}")
        print(f"  worker failures {metrics.get('hoist_worker_failures_total', 0):.0f}, "
              f"object-created events seen {metrics.get('hoist_object_puts_seen_total', 0):.0f}")
    finally:
        srv.stop()
        shutil.rmtree(srv.data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    run(args.count, args.clients, thumbnails=False)
    if shutil.which("vipsthumbnail"):
        run(args.count, args.clients, thumbnails=True)
    else:
        print("vipsthumbnail not installed: the thumbnail mode is skipped")


if __name__ == "__main__":
    main()
