#!/usr/bin/env python3
"""Does load on the embedded store slow the API down? (issue 13, item 1: no blocking work on the cooperative pool)

Usage: python3 Benchmarks/pool_bench.py [--duration 15] [--rounds 2] [--keys 100000] [--object-mib 256]
                                        [--connections 16] [--clients 4] [--loads big,list] [--bucket-cache DIR]

Needs a release build (`swift build -c release --product hoist`; HOIST_RELEASE_BIN, default
.build/release/hoist), wrk (`apt-get install -y wrk`) and curl. Everything runs on 127.0.0.1 in a
temporary folder (under BENCH_DIR, default the system temp folder), and every process the bench starts
is stopped by its own pid at the end.

It runs `hoist serve` (the API and its embedded store in one process) and, beside it, a separate
`hoist store` with the same credentials and the same data, and measures the latency of
`POST /upload-url` (wrk, CONNECTIONS = 16 connections, 2 threads, DURATION seconds, `--latency`) while
CLIENTS = 4 clients load
  own:      the embedded store of the `hoist serve` being measured (one process, one cooperative pool), or
  separate: the separate `hoist store` (the same CPU contention, no shared pool),
alternated own/separate, ROUNDS times per load, after an idle baseline (no load). Two loads:
  big:  each client PUTs an OBJECT_MIB (256) MiB object with curl (pre-signed URL), then GETs it, in a loop;
  list: each client lists a bucket of KEYS (100,000) keys page by page (ListObjectsV2, 1,000 a page) and
        HEADs 10 keys of every page, in a loop.
The bucket of KEYS keys is filled once, through the separate store, and its store folder is copied to
`hoist serve`'s data folder before that starts, so both stores hold the same objects. Filling 100,000
keys takes minutes (one fsync'd commit each): with --bucket-cache DIR the filled store folder is kept
in DIR and reused by later runs with the same --keys (e.g. to compare two binaries).

Prints, for each load, the p50 and p99 of POST /upload-url with each target loaded, side by side, the
ratio p99(own) / p99(separate) (issue 13's goal: <= 1.2) and the idle baseline; each round's figures
too, and one JSON line with all of them. The ratio uses the median over rounds of each side's p99.
On a 2-core machine wrk, the clients and both servers share the CPU: compare the columns, not absolute
numbers. Not part of .ci/run. Exit: 0 when every run completed without errors (the goal is reported,
not enforced), 1 on a failed run, 2 when it cannot run here.
Env: HOIST_RELEASE_BIN, BENCH_DIR.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import hmac
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
REGION = "us-east-1"
ACCESS_KEY = "HOISTPOOLBENCHKEY001"
SECRET_KEY = "pool/bench+Secret/Key0123456789abcdefGHIJ"
BUCKET = "bench"
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"


def fail(message: str, status: int = 1) -> None:
    print(f"pool_bench: {message}", flush=True)
    sys.exit(status)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


# MARK: SigV4 pre-signing (query authentication, UNSIGNED-PAYLOAD), standard library only

def _quote(text: str, safe: str = "-_.~") -> str:
    return urllib.parse.quote(text, safe=safe)


def presign(method: str, endpoint: str, key: str = "", query: dict | None = None, expires: int = 3600) -> str:
    """A pre-signed path-style URL of BUCKET/KEY at ENDPOINT (no headers signed but Host)."""
    now = dt.datetime.now(dt.timezone.utc)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{REGION}/s3/aws4_request"
    host = urllib.parse.urlsplit(endpoint).netloc
    path = "/" + BUCKET + ("/" + _quote(key, safe="/-_.~") if key else "")
    params = dict(query or {})
    params.update({
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{ACCESS_KEY}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    })
    canonical_query = "&".join(f"{_quote(k)}={_quote(v)}" for k, v in sorted(params.items()))
    canonical = "\n".join([method, path, canonical_query, f"host:{host}\n", "host", "UNSIGNED-PAYLOAD"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    k = hmac.new(("AWS4" + SECRET_KEY).encode(), amz_date[:8].encode(), hashlib.sha256).digest()
    for part in (REGION, "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{endpoint}{path}?{canonical_query}&X-Amz-Signature={signature}"


class Connection:
    """One keep-alive HTTP connection to a store; reconnects after an error."""

    def __init__(self, endpoint: str):
        self.endpoint = endpoint
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, key: str = "", query: dict | None = None, body: bytes | None = None):
        url = urllib.parse.urlsplit(presign(method, self.endpoint, key, query))
        target = url.path + "?" + url.query
        for attempt in range(2):
            if self.conn is None:
                u = urllib.parse.urlsplit(self.endpoint)
                self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
            try:
                headers = {"Content-Length": str(len(body or b""))} if method in ("PUT", "POST") else {}
                self.conn.request(method, target, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                return response.status, data
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")

    def close(self) -> None:
        if self.conn:
            self.conn.close()


# MARK: Processes

class Child:
    """A process the bench started; stopped by its own pid only."""

    def __init__(self, name: str, args: list[str], env: dict, log: Path):
        self.name = name
        self.log = log
        with open(log, "w") as out:
            self.proc = subprocess.Popen(args, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)

    def wait_port(self, port: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                fail(f"{self.name} exited with {self.proc.returncode}: {self.log.read_text()[-1500:]}")
            if port_open(port):
                return
            time.sleep(0.1)
        fail(f"{self.name} did not listen on port {port} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cpu_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return float("nan")


def base_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HOIST_", "AWS_")) and k not in ("LOG_LEVEL",)}
    env.update({"HOIST_STORE_ACCESS_KEY": ACCESS_KEY, "HOIST_STORE_SECRET_KEY": SECRET_KEY, "LOG_LEVEL": "warning"})
    env.update(extra)
    return env


# MARK: Loads

class Load:
    """CLIENTS threads sending one kind of load to one store until stopped."""

    def __init__(self, kind: str, endpoint: str, clients: int, args, work: Path):
        self.kind, self.endpoint, self.clients, self.args, self.work = kind, endpoint, clients, args, work
        self.stopping = threading.Event()
        self.errors: list[str] = []
        self.operations = 0
        self.bytes = 0
        self.lock = threading.Lock()
        self.curls: set[subprocess.Popen] = set()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True) for i in range(clients)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        with self.lock:
            for proc in self.curls:  # only curls this bench started
                if proc.poll() is None:
                    proc.terminate()
        for t in self.threads:
            t.join(timeout=120)

    def count(self, operations: int = 1, size: int = 0) -> None:
        with self.lock:
            self.operations += operations
            self.bytes += size

    def error(self, text: str) -> None:
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(text)

    def run(self, client: int) -> None:
        try:
            if self.kind == "big":
                self.run_big(client)
            else:
                self.run_list(client)
        except Exception as exc:  # noqa: BLE001 - reported, not raised in a thread
            if not self.stopping.is_set():
                self.error(f"client {client}: {exc!r}")

    def curl(self, args: list[str]) -> tuple[int, str]:
        proc = subprocess.Popen(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", *args],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        with self.lock:
            self.curls.add(proc)
        out, err = proc.communicate()
        with self.lock:
            self.curls.discard(proc)
        return proc.returncode, (out.strip() or err.strip())

    def run_big(self, client: int) -> None:
        source = str(self.work / "object.bin")
        size = os.path.getsize(source)
        key = f"big/client-{client}"
        while not self.stopping.is_set():
            code, status = self.curl(["-X", "PUT", "-T", source, presign("PUT", self.endpoint, key)])
            if self.stopping.is_set():
                return
            if code != 0 or status != "200":
                self.error(f"PUT {key}: curl {code}, HTTP {status}")
                time.sleep(0.5)
                continue
            self.count(1, size)
            code, status = self.curl([presign("GET", self.endpoint, key)])
            if self.stopping.is_set():
                return
            if code != 0 or status != "200":
                self.error(f"GET {key}: curl {code}, HTTP {status}")
                time.sleep(0.5)
                continue
            self.count(1, size)

    def run_list(self, client: int) -> None:
        conn = Connection(self.endpoint)
        rng = random.Random(client)
        try:
            while not self.stopping.is_set():
                token = None
                while not self.stopping.is_set():
                    query = {"list-type": "2", "max-keys": "1000", "prefix": "keys/"}
                    if token:
                        query["continuation-token"] = token
                    status, data = conn.request("GET", query=query)
                    if status != 200:
                        self.error(f"ListObjectsV2: HTTP {status}")
                        return
                    root = ET.fromstring(data)
                    keys = [e.text or "" for e in root.iter(f"{S3_NS}Key")]
                    self.count()
                    for key in rng.sample(keys, min(10, len(keys))):
                        if self.stopping.is_set():
                            return
                        status, _ = conn.request("HEAD", key)
                        if status != 200:
                            self.error(f"HEAD {key}: HTTP {status}")
                        self.count()
                    token = root.findtext(f"{S3_NS}NextContinuationToken")
                    if root.findtext(f"{S3_NS}IsTruncated") != "true" or not token:
                        break
        finally:
            conn.close()


# MARK: Set-up

def fill_bucket(endpoint: str, keys: int, threads: int = 16) -> float:
    """PUTs KEYS empty objects keys/NNNNNNN into BUCKET; returns the seconds it took."""
    start = time.monotonic()
    next_index = [0]
    lock = threading.Lock()
    errors: list[str] = []

    def worker() -> None:
        conn = Connection(endpoint)
        try:
            while True:
                with lock:
                    index = next_index[0]
                    next_index[0] += 1
                if index >= keys or errors:
                    return
                status, data = conn.request("PUT", f"keys/{index:07d}", body=b"")
                if status != 200:
                    errors.append(f"PUT keys/{index:07d}: HTTP {status} {data[:200]!r}")
        finally:
            conn.close()

    workers = [threading.Thread(target=worker) for _ in range(threads)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()
    if errors:
        fail(errors[0])
    return time.monotonic() - start


def make_object(path: Path, size: int) -> None:
    block = os.urandom(MIB)
    with open(path, "wb") as out:
        for _ in range(size // MIB):
            out.write(block)


# MARK: wrk

def run_wrk(url: str, script: Path, connections: int, duration: int, env: dict) -> dict:
    proc = subprocess.run(["wrk", "-t", "2", "-c", str(connections), "-d", f"{duration}s", "--latency",
                           "--timeout", "10s", "-s", str(script), url],
                          env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    if proc.returncode != 0:
        fail(f"wrk failed: {text}")
    lat = {}
    for pct, value, unit in re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M):
        lat[pct] = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    total = re.search(r"(\d+) requests in", text)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    return {
        "p50": lat.get("50", float("nan")), "p99": lat.get("99", float("nan")),
        "rps": float(rps.group(1)) if rps else 0.0, "requests": int(total.group(1)) if total else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
        "text": text,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of wrk per measurement (default 15)")
    parser.add_argument("--rounds", type=int, default=2, help="own/separate pairs per load (default 2)")
    parser.add_argument("--keys", type=int, default=100_000, help="keys in the listed bucket (default 100000)")
    parser.add_argument("--object-mib", type=int, default=256, help="size of the big objects (default 256)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--clients", type=int, default=4, help="load clients (default 4)")
    parser.add_argument("--loads", default="big,list", help="which loads, comma-separated (default big,list)")
    parser.add_argument("--warmup", type=float, default=3.0, help="seconds of load before wrk starts (default 3)")
    parser.add_argument("--bucket-cache", help="keep the filled store folder here and reuse it in later runs")
    args = parser.parse_args()
    loads = [name for name in args.loads.split(",") if name]
    if any(name not in ("big", "list") for name in loads):
        fail("--loads takes big and/or list", 2)

    value = os.environ.get("HOIST_RELEASE_BIN", "")
    binary = Path(value) if value else REPO / ".build" / "release" / "hoist"
    if not binary.is_absolute():
        binary = REPO / binary
    if not os.access(binary, os.X_OK):
        fail(f"no release build at {binary} (run: swift build -c release --product hoist, or set HOIST_RELEASE_BIN)", 2)
    for tool in ("wrk", "curl"):
        if shutil.which(tool) is None:
            fail(f"{tool} is not installed (apt-get install -y {tool})", 2)

    work = Path(tempfile.mkdtemp(prefix="hoist-pool-bench-", dir=os.environ.get("BENCH_DIR") or None))
    children: list[Child] = []
    try:
        # 1. The separate store, its bucket, and the 100,000 keys.
        separate_port = free_port()
        separate_dir = work / "separate"
        cache = Path(args.bucket_cache) / f"store-{args.keys}" if args.bucket_cache and "list" in loads else None
        if cache and cache.is_dir():
            separate_dir.mkdir()
            shutil.copytree(cache, separate_dir / "store")
            print(f"reusing the {args.keys}-key bucket in {cache}", flush=True)
        separate = Child("hoist store", [str(binary), "store", "--data", str(separate_dir), "--port", str(separate_port),
                                         "--host", "127.0.0.1"], base_env(), work / "store.log")
        children.append(separate)
        separate.wait_port(separate_port)
        separate_endpoint = f"http://127.0.0.1:{separate_port}"
        if not (cache and cache.is_dir()):
            status, data = Connection(separate_endpoint).request("PUT")
            if status != 200:
                fail(f"CreateBucket on the separate store: HTTP {status} {data[:300]!r}")
            if "list" in loads:
                seconds = fill_bucket(separate_endpoint, args.keys)
                print(f"filled {BUCKET} with {args.keys} keys in {seconds:.1f} s", flush=True)
        # Copy the store's folder into `hoist serve`'s data folder, so both hold the same objects.
        separate.stop()
        if cache and not cache.is_dir():
            shutil.copytree(separate_dir / "store", cache)
        serve_dir = work / "serve"
        serve_dir.mkdir()
        shutil.copytree(separate_dir / "store", serve_dir / "store")
        separate = Child("hoist store", [str(binary), "store", "--data", str(separate_dir), "--port", str(separate_port),
                                         "--host", "127.0.0.1"], base_env(), work / "store.log")
        children.append(separate)
        separate.wait_port(separate_port)

        # 2. `hoist serve`, a token, and the wrk script.
        api_port, store_port = free_port(), free_port()
        serve_env = base_env(HOIST_DATA=str(serve_dir), HOIST_API_PORT=str(api_port), HOIST_STORE_PORT=str(store_port),
                             HOIST_RATE_PER_MINUTE="1000000", HOIST_RATE_BURST="1000000")
        serve = Child("hoist serve", [str(binary), "serve"], serve_env, work / "serve.log")
        children.append(serve)
        serve.wait_port(api_port)
        serve.wait_port(store_port)
        own_endpoint = f"http://127.0.0.1:{store_port}"
        token = subprocess.run([str(binary), "token", "bench", "--data", str(serve_dir), "--ttl", "7200"],
                               env=serve_env, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        api = f"http://127.0.0.1:{api_port}"
        first = subprocess.run(["curl", "-sS", "-X", "POST", f"{api}/upload-url", "-H", f"Authorization: Bearer {token}",
                                "-H", "Content-Type: application/json", "-d", '{"contentType":"image/png","size":123456}'],
                               capture_output=True, text=True)
        try:
            article = json.loads(first.stdout)["articleId"]
        except (ValueError, KeyError):
            fail(f"the first POST /upload-url failed: {first.stdout} {first.stderr}")
        script = work / "upload.lua"
        script.write_text('wrk.method = "POST"\n'
                          'wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")\n'
                          'wrk.headers["Content-Type"] = "application/json"\n'
                          'wrk.body = os.getenv("BENCH_BODY")\n')
        wrk_env = dict(os.environ, BENCH_TOKEN=token,
                       BENCH_BODY=json.dumps({"contentType": "image/png", "size": 123456, "articleId": article}))
        if "big" in loads:
            make_object(work / "object.bin", args.object_mib * MIB)

        # 3. Measurements: idle, then per load own/separate alternated (the order flips every round).
        targets = {"own": own_endpoint, "separate": separate_endpoint}
        results: dict = {"idle": [], **{f"{load}/{t}": [] for load in loads for t in targets}}
        failures: list[str] = []

        def measure(label: str, load_kind: str | None, target: str | None) -> None:
            if load_kind is None:
                r = run_wrk(f"{api}/upload-url", script, args.connections, args.duration, wrk_env)
                extra = ""
            else:
                with Load(load_kind, targets[target], args.clients, args, work) as load:
                    time.sleep(args.warmup)
                    before = (load.operations, load.bytes)
                    r = run_wrk(f"{api}/upload-url", script, args.connections, args.duration, wrk_env)
                    done = (load.operations - before[0], load.bytes - before[1])
                r["load_ops"] = done[0]
                r["load_mib_s"] = done[1] / MIB / args.duration
                extra = (f"   load: {done[0]} requests" +
                         (f", {r['load_mib_s']:.0f} MiB/s" if load_kind == "big" else ""))
                if load.errors:
                    failures.append(f"{label}: {load.errors[0]}")
            if r["non2xx"] or r["socket_errors"] or not r["requests"]:
                failures.append(f"{label}: wrk saw {r['non2xx']} non-2xx, {r['socket_errors']} socket errors")
            r.pop("text")
            results[label].append(r)
            print(f"{label:14} p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  {r['rps']:7.0f} req/s{extra}", flush=True)

        measure("idle", None, None)
        for load in loads:
            for round_index in range(args.rounds):
                order = ["own", "separate"] if round_index % 2 == 0 else ["separate", "own"]
                for target in order:
                    measure(f"{load}/{target}", load, target)
        measure("idle", None, None)

        # 4. Side by side.
        def median(label: str, field: str) -> float:
            return statistics.median(r[field] for r in results[label]) if results[label] else float("nan")

        idle_p50, idle_p99 = median("idle", "p50"), median("idle", "p99")
        print()
        print(f"POST /upload-url, {args.connections} connections, {args.duration} s each; median over "
              f"{args.rounds} round(s); idle baseline p50 {idle_p50:.2f} ms, p99 {idle_p99:.2f} ms")
        print(f"{'load':6} {'own p50':>9} {'own p99':>9} {'sep p50':>9} {'sep p99':>9} {'own/sep p99':>12} {'own/idle p99':>13}")
        summary = {"idle_p50_ms": idle_p50, "idle_p99_ms": idle_p99, "loads": {}}
        for load in loads:
            own99, sep99 = median(f"{load}/own", "p99"), median(f"{load}/separate", "p99")
            own50, sep50 = median(f"{load}/own", "p50"), median(f"{load}/separate", "p50")
            ratio = own99 / sep99 if sep99 else float("nan")
            print(f"{load:6} {own50:9.2f} {own99:9.2f} {sep50:9.2f} {sep99:9.2f} {ratio:11.2f}x {own99 / idle_p99:12.2f}x"
                  f"   goal <= 1.2x: {'met' if ratio <= 1.2 else 'MISSED'}")
            summary["loads"][load] = {"own_p50_ms": own50, "own_p99_ms": own99, "separate_p50_ms": sep50,
                                      "separate_p99_ms": sep99, "ratio_p99": ratio}
        summary["runs"] = results
        print(json.dumps(summary))
        if failures:
            for f in failures:
                print(f"pool_bench: {f}")
            sys.exit(1)
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
