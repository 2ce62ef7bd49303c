#!/usr/bin/env python3
"""Benchmark: uploads through `hoist serve`'s events outbox and image worker, libvips in process
against the `vips` commands, and against the same libvips operations run directly.

Parts (--only small,photos,memory; all by default):

- small: COUNT tiny JPEGs (64 px: the smallest width, 320, written at 64 px, in WebP and AVIF, and
  the placeholder) from CLIENTS clients, in three runs of `hoist serve` on free 127.0.0.1 ports:
  verify only (no libvips), the `vips` commands (HOIST_VIPS=commands, a process per step) and
  libvips in process (HOIST_VIPS=library). Prints the PUT phase, the tail (last PUT -> all
  processed), throughput (first PUT -> last processed), the processed counter (exactly COUNT: a
  repeated event is never processed twice) and the in-process / commands ratio.
- photos: PHOTOS 12-megapixel phone-like JPEGs (4032x3024, made with pyvips) uploaded and turned
  into every variant (320, 640, 1280, 1920 in WebP and AVIF, and the placeholder) by the worker,
  in process and as commands; beside them, in the same run, the same libvips operations run
  directly in a loop (pyvips, the same files, the same options, sequentially and on as many
  threads as the worker's pool): images per second, and the worker's share of the direct rate.
- memory: peak resident memory (VmHWM) of `hoist serve` with libvips in process, idle, then after
  one 48-megapixel JPEG (8000x6000, inside the default 50 MP limit), and (a new process) after 8 at
  once; beside it the peak of a Python process making the same variants of the same image with
  pyvips.

Usage: python3 Benchmarks/worker_bench.py [--count 500] [--clients 8] [--photos 16] [--only small,photos,memory]
(HOIST_BIN: the hoist binary; a release build gives the representative figures:
`swift build -c release --product hoist`, HOIST_BIN=.build/release/hoist). pyvips (pip, 2.2.3,
over Debian's libvips42) is needed for the photos and memory parts.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "Interop"))

from api_common import APIClient, HoistServerProcess, parse_metrics, put_url, tiny_jpeg  # noqa: E402


ENGINES = {"verify": "verify only (no libvips)", "commands": "vips commands (a process per step)",
           "library": "libvips in process"}


def server(engine: str, extra: dict[str, str] | None = None) -> HoistServerProcess:
    env = {"HOIST_RATE_PER_MINUTE": "1000000", "HOIST_RATE_BURST": "1000000", "HOIST_MAX_SIZE": str(200 << 20)}
    if engine == "verify":
        env["HOIST_VIPSTHUMBNAIL"] = "/nonexistent/vipsthumbnail"
        env["HOIST_VIPS"] = "commands"
    else:
        env["HOIST_VIPS"] = engine
    env.update(extra or {})
    srv = HoistServerProcess("serve", env=env)
    why = srv.start()
    if why:
        raise SystemExit(why)
    return srv


def upload_all(srv: HoistServerProcess, bodies: list[bytes], count: int, clients: int,
               content_type: str = "image/jpeg", wait: bool = True) -> dict | None:
    """Uploads `count` bodies (round robin) to one article from `clients` threads and waits until every
    record is processed. Times and the server's counters, or None when not done within 600 s."""
    token = srv.token("bench")
    api = APIClient(srv.api)
    first = api.upload_url(token, {"contentType": content_type, "size": 10}).json()
    article = first["articleId"]

    def one(i: int) -> tuple[str, float]:
        client = APIClient(srv.api)
        body = bodies[i % len(bodies)]
        issued = client.upload_url(token, {"contentType": content_type, "size": len(body), "articleId": article}).json()
        resp = put_url(issued["uploadUrl"], issued["headers"], body)
        if resp.status != 200:
            raise RuntimeError(f"PUT {resp.status}")
        return issued["key"], time.monotonic()

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(count)))
    keys = {key for key, _ in results}
    last_put = max(t for _, t in results)
    if not wait:
        return {"article": article, "keys": keys}
    return wait_processed(srv, article, keys, t0, last_put)


def wait_processed(srv: HoistServerProcess, article: str, keys: set[str], t0: float, last_put: float) -> dict | None:
    """Waits until every record of `keys` is processed or rejected (600 s at most)."""
    count = len(keys)
    token = srv.token("bench")
    api = APIClient(srv.api)
    statuses: dict[str, str] = {}
    while time.monotonic() - last_put < 600:
        listing = api.get(f"/articles/{article}/uploads", token).json().get("uploads", [])
        statuses = {u["key"]: u["status"] for u in listing if u["key"] in keys}
        if sum(1 for s in statuses.values() if s in ("processed", "rejected")) == count:
            done = time.monotonic()
            metrics = parse_metrics(api.get("/metrics").text)
            return {"t0": t0, "last_put": last_put, "done": done, "metrics": metrics,
                    "processed": sum(1 for s in statuses.values() if s == "processed")}
        time.sleep(0.05)
    print(f"  NOT DONE after 600 s: {sum(1 for s in statuses.values() if s != 'processed')} records not processed")
    return None


def run(count: int, clients: int, engine: str) -> float | None:
    srv = server(engine)
    try:
        bodies = [tiny_jpeg(64, 48, seed=i) for i in range(16)]
        c0 = cpu_seconds(srv.pid)
        result = upload_all(srv, bodies, count, clients)
        print(f"== {count} small uploads, {clients} clients, {ENGINES[engine]}")
        if result is None:
            return None
        metrics = result["metrics"]
        put_seconds = result["last_put"] - result["t0"]
        rate = count / (result["done"] - result["t0"])
        print(f"  PUT phase: {put_seconds:.2f} s, {count / put_seconds:.0f} uploads/s")
        print(f"  tail: last PUT -> all processed {result['done'] - result['last_put']:.2f} s")
        print(f"  throughput: {rate:.1f} processed uploads/s (first PUT -> last processed); "
              f"server CPU {(cpu_seconds(srv.pid) + children_cpu(srv.pid) - c0) / count * 1000:.1f} ms per upload "
              f"(API, store, worker and libvips, its processes included)")
        processed_counter = metrics.get('hoist_uploads_total{outcome="processed"}', 0)
        print(f"  processed counter {processed_counter:.0f} (expect exactly {count}); "
              f"records not processed: {count - result['processed']}")
        print(f"  worker failures {metrics.get('hoist_worker_failures_total', 0):.0f}, "
              f"object-created events seen {metrics.get('hoist_object_puts_seen_total', 0):.0f}")
        return rate
    finally:
        srv.stop()
        shutil.rmtree(srv.data_dir, ignore_errors=True)


# --- photos and memory: pyvips makes the files and runs the reference loop -----------------------------

WIDTHS = [1920, 1280, 640, 320]
WEBP = "Q=82,strip"
AVIF = "Q=55,effort=2,bitdepth=8,strip"


def phone_jpeg(path: str, width: int, height: int, seed: int) -> None:
    """A photo-like JPEG: smooth shapes with fine grain (not flat, not pure noise), quality 90, with
    an EXIF block as a camera writes (orientation 1, make, model)."""
    import pyvips
    noise = pyvips.Image.gaussnoise(width // 8, height // 8, sigma=60, mean=128, seed=seed).bandjoin([
        pyvips.Image.gaussnoise(width // 8, height // 8, sigma=60, mean=110, seed=seed + 1),
        pyvips.Image.gaussnoise(width // 8, height // 8, sigma=60, mean=90, seed=seed + 2)])
    smooth = noise.gaussblur(3).resize(8, kernel="linear")
    grain = pyvips.Image.gaussnoise(smooth.width, smooth.height, sigma=6, mean=0, seed=seed + 3)
    image = (smooth + grain).cast("uchar").copy(interpretation="srgb")
    image = image.copy()
    image.set_type(pyvips.GValue.gint_type, "orientation", 1)
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Make", "Bench")
    image.set_type(pyvips.GValue.gstr_type, "exif-ifd0-Model", "Phone")
    image.jpegsave(path, Q=90)


def variants_direct(path: str, out: str) -> None:
    """The worker's libvips operations on one file, run directly: one decode at the largest width,
    each smaller width from the previous one, each in WebP and AVIF, then the placeholder."""
    import pyvips
    image = None
    for width in WIDTHS:
        if image is None:
            image = pyvips.Image.thumbnail(path, width, height=10_000_000, size="down", fail_on="error").copy_memory()
        else:
            image = image.thumbnail_image(width, height=10_000_000, size="down", no_rotate=True).copy_memory()
        image.write_to_file(f"{out}/w{width}.webp[{WEBP}]")
        image.write_to_file(f"{out}/w{width}.avif[{AVIF}]")
    tiny = image.thumbnail_image(32, height=32, size="down", no_rotate=True).copy_memory()
    tiny.write_to_file(f"{out}/placeholder.webp[Q=40,strip]")


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process (all its threads), seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu(pid: int) -> float:
    """CPU time of a process's reaped children (the vips commands), seconds."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def direct_rate(files: list[str], threads: int) -> tuple[float, float]:
    """Images per second, and CPU seconds per image, of the direct loop on `threads` threads."""
    import pyvips
    pyvips.cache_set_max(0)
    scratch = tempfile.mkdtemp(prefix="hoist-bench-direct-")
    try:
        def one(i: int) -> None:
            out = os.path.join(scratch, str(i))
            os.makedirs(out, exist_ok=True)
            variants_direct(files[i], out)
        one(0)  # warm up (loaders, encoders)
        t0 = time.monotonic()
        c0 = cpu_seconds(os.getpid())
        with concurrent.futures.ThreadPoolExecutor(threads) as pool:
            list(pool.map(one, range(len(files))))
        return len(files) / (time.monotonic() - t0), (cpu_seconds(os.getpid()) - c0) / len(files)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def photos(count: int, clients: int) -> None:
    scratch = tempfile.mkdtemp(prefix="hoist-bench-photos-")
    try:
        files = []
        for i in range(count):
            path = os.path.join(scratch, f"p{i}.jpg")
            phone_jpeg(path, 4032, 3024, seed=10 * i)
            files.append(path)
        bodies = [open(f, "rb").read() for f in files]
        mean_mb = sum(len(b) for b in bodies) / len(bodies) / 1e6
        print(f"== {count} 12-megapixel JPEGs (4032x3024, {mean_mb:.1f} MB each), every variant; {clients} clients")
        cores = os.cpu_count() or 1
        rates = {}
        for engine in ("library", "commands"):
            srv = server(engine)
            try:
                c0 = cpu_seconds(srv.pid)
                result = upload_all(srv, bodies, count, clients)
                if result is None:
                    continue
                cpu = (cpu_seconds(srv.pid) - c0 + children_cpu(srv.pid)) / count
                rates[engine] = count / (result["done"] - result["t0"])
                print(f"  hoist serve, {ENGINES[engine]:34} {rates[engine]:6.2f} images/s, {cpu * 1000:5.0f} ms CPU/image "
                      f"(first PUT -> last processed {result['done'] - result['t0']:.1f} s, processed {result['processed']})")
            finally:
                srv.stop()
                shutil.rmtree(srv.data_dir, ignore_errors=True)
        # The worker alone: the uploads stored with the worker off, then the server restarted with it on.
        srv = server("library", {"HOIST_WORKER": "off"})
        try:
            sent = upload_all(srv, bodies, count, clients, wait=False)
            srv.stop()
            srv.extra_env["HOIST_WORKER"] = "on"
            t0 = time.monotonic()
            why = srv.start()
            if why:
                raise SystemExit(why)
            result = wait_processed(srv, sent["article"], sent["keys"], t0, t0)
            if result is not None:
                cpu = cpu_seconds(srv.pid) / count
                rates["worker alone"] = count / (result["done"] - t0)
                print(f"  hoist serve, worker alone, in process (stored first) {rates['worker alone']:5.2f} images/s, "
                      f"{cpu * 1000:5.0f} ms CPU/image (start -> last processed {result['done'] - t0:.1f} s, processed {result['processed']})")
        finally:
            srv.stop()
            shutil.rmtree(srv.data_dir, ignore_errors=True)
        sequential, sequential_cpu = direct_rate(files, 1)
        parallel, parallel_cpu = direct_rate(files, cores)
        print(f"  direct libvips loop (pyvips), 1 thread           {sequential:6.2f} images/s, {sequential_cpu * 1000:5.0f} ms CPU/image")
        print(f"  direct libvips loop (pyvips), {cores} threads          {parallel:6.2f} images/s, {parallel_cpu * 1000:5.0f} ms CPU/image")
        best = max(sequential, parallel)
        for engine, rate in rates.items():
            print(f"  {ENGINES.get(engine, engine)} / best direct loop: {rate / best:.2f} (goal for in process: >= 0.90)")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def vm_hwm(pid: int | str) -> float:
    """Peak resident memory of a process, MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def memory() -> None:
    scratch = tempfile.mkdtemp(prefix="hoist-bench-memory-")
    try:
        files = []
        for i in range(8):
            path = os.path.join(scratch, f"big{i}.jpg")
            phone_jpeg(path, 8000, 6000, seed=100 + 10 * i)
            files.append(path)
        bodies = [open(f, "rb").read() for f in files]
        print(f"== peak resident memory, 48-megapixel JPEGs (8000x6000, {len(bodies[0]) / 1e6:.1f} MB), every variant")
        for n in (1, 8):
            srv = server("library")
            try:
                idle = vm_hwm(srv.pid)
                result = upload_all(srv, bodies[:n], n, n)
                peak = vm_hwm(srv.pid)
                state = "processed" if result and result["processed"] == n else "NOT all processed"
                print(f"  hoist serve, libvips in process, {n} at once: idle {idle:6.1f} MiB, peak {peak:6.1f} MiB "
                      f"(+{peak - idle:.1f}), {state}")
            finally:
                srv.stop()
                shutil.rmtree(srv.data_dir, ignore_errors=True)
        # The reference: a fresh Python process making the same variants with pyvips (its own VmHWM:
        # getrusage's ru_maxrss would carry over this process's peak through exec).
        for n in (1, 8):
            code = ("import sys, concurrent.futures, tempfile; sys.path.insert(0, %r); import worker_bench as w; import pyvips; "
                    "pyvips.cache_set_max(0); idle = w.vm_hwm('self'); files = %r; "
                    "pool = concurrent.futures.ThreadPoolExecutor(len(files)); "
                    "list(pool.map(lambda f: w.variants_direct(f, tempfile.mkdtemp()), files)); "
                    "print(idle, w.vm_hwm('self'))") % (HERE, files[:n])
            idle, peak = map(float, subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                                   check=True).stdout.split())
            print(f"  direct pyvips loop, {n} at once:              idle {idle:6.1f} MiB, peak {peak:6.1f} MiB (+{peak - idle:.1f})")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--photos", type=int, default=16)
    parser.add_argument("--only", default="small,photos,memory")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if "small" in parts:
        rates = {engine: run(args.count, args.clients, engine) for engine in ENGINES}
        if rates.get("library") and rates.get("commands"):
            print(f"== small images with every variant: in process {rates['library']:.1f}/s, commands "
                  f"{rates['commands']:.1f}/s: {rates['library'] / rates['commands']:.1f}x (goal >= 10x the commands' 12/s)")
    if "photos" in parts:
        photos(args.photos, args.clients)
    if "memory" in parts:
        memory()


if __name__ == "__main__":
    main()
