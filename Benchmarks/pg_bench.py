#!/usr/bin/env python3
"""PostgreSQL records and queue against the SQLite path, same machine, same run (the scale-out issue).

Usage: python3 Benchmarks/pg_bench.py [--duration 10] [--connections 64] [--rounds 2]
                                      [--noop-events 5000] [--images 40] [--workers 2]

Starts, on free ports of 127.0.0.1: a PostgreSQL 15 cluster in a temporary folder (fsync and
synchronous_commit on, as in production), one `hoist store` for the bytes, and two release `hoist api`
processes that differ only in where their records live: one in SQLite (its data folder), one in
PostgreSQL (HOIST_DATABASE_URL; its shared rate limit too). The rate limit is opened wide.

 (a) wrk at CONNECTIONS (64) for DURATION seconds: GET /healthz, POST /upload-url on the SQLite API,
     POST /upload-url on the PostgreSQL API, alternated for ROUNDS rounds. Prints req/s, p50/p99 and the
     API's CPU time per request (from /proc). Goal: PostgreSQL >= 50 % of SQLite's req/s.
 (b) the PostgreSQL queue with WORKERS (2) `hoist worker --queue postgres`: NOOP_EVENTS pushes through
     the receiver (POST /events/s3), each an event the worker recognises and drops without any I/O
     (a key outside articles/): enqueue rate, then the time for the workers to drain them.
 (c) the same with the real job: IMAGES JPEGs (1600x1200) uploaded through the PostgreSQL API, their
     events pushed to the receiver, and the time until every record is processed (all variants made).

Needs: a release build (HOIST_RELEASE_BIN, default .build/release/hoist), wrk, PostgreSQL, Pillow.
Prints a table and one JSON line; exit status 1 when a run failed. Not part of .ci/run.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "Interop"))

from api_common import APIClient, picture, upload  # noqa: E402
from interop_common import Results, clean_env  # noqa: E402
from processes import HoistServerProcess, ManagedProcess, PostgresProcess, StoreProcess, free_port  # noqa: E402

R = Results("pg bench")
FIGURES: dict = {}


def release_bin() -> str:
    path = os.environ.get("HOIST_RELEASE_BIN") or str(REPO / ".build/release/hoist")
    return path if os.path.isabs(path) else str(REPO / path)


def cpu_ticks(pid: int) -> int:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def postgres_ticks() -> int:
    """CPU ticks of every process of the `postgres` user (the server and its backends)."""
    import pwd

    try:
        uid = pwd.getpwnam("postgres").pw_uid
    except KeyError:
        return 0
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid != uid:
                continue
            total += cpu_ticks(int(entry))
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def wrk(url: str, seconds: int, connections: int, script: str | None, pid: int) -> dict:
    args = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--latency", "--timeout", "5s"]
    if script:
        args += ["-s", script]
    before, pg_before = cpu_ticks(pid), postgres_ticks()
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=seconds + 60).stdout
    ticks, pg_ticks = cpu_ticks(pid) - before, postgres_ticks() - pg_before
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    lat = {p: float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
           for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)}
    total = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    non2xx = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(map(int, m.groups())) if m else 0
    cpu_us = ticks / os.sysconf("SC_CLK_TCK") * 1e6 / total if total else float("nan")
    pg_us = pg_ticks / os.sysconf("SC_CLK_TCK") * 1e6 / total if total else float("nan")
    return {"rps": rps, "p50": lat.get("50"), "p99": lat.get("99"), "total": total, "non2xx": non2xx,
            "errors": errors, "cpu_us": cpu_us, "pg_cpu_us": pg_us}


def psql(pg: PostgresProcess, sql: str) -> str:
    wrap = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(wrap + [f"{pg.bin}/psql", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "postgres", "-tAc", sql],
                          capture_output=True, text=True, timeout=30).stdout.strip()


def event(bucket: str, key: str, size: int, etag: str, sequencer: str) -> dict:
    return {"Records": [{"eventVersion": "2.2", "eventSource": "ceph:s3", "eventName": "ObjectCreated:Put",
                         "eventTime": "2026-01-01T00:00:00.000Z", "awsRegion": "",
                         "s3": {"s3SchemaVersion": "1.0", "configurationId": "bench",
                                "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                "object": {"key": key, "size": size, "eTag": etag, "sequencer": sequencer}}}]}


def push_all(receiver: str, bodies: list[dict], threads: int = 8) -> float:
    import requests

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(pool_connections=threads, pool_maxsize=threads)
    session.mount("http://", adapter)

    def push(body: dict) -> int:
        return session.post(receiver, json=body, timeout=30).status_code

    t0 = time.monotonic()
    with cf.ThreadPoolExecutor(threads) as pool:
        codes = list(pool.map(push, bodies))
    seconds = time.monotonic() - t0
    R.check(f"{len(bodies)} pushes accepted", all(c == 200 for c in codes), str({c: codes.count(c) for c in set(codes)}))
    return seconds


def drain(pg: PostgresProcess, workers: list[ManagedProcess], done_sql: str, want: int, timeout: float) -> float | None:
    t0 = time.monotonic()
    for w in workers:
        why = w.start()
        if why:
            R.check("hoist worker --queue postgres starts", False, why)
            return None
    while time.monotonic() - t0 < timeout:
        if int(psql(pg, done_sql) or 0) >= want:
            return time.monotonic() - t0
        time.sleep(0.05)
    R.check("the workers drained the queue in time", False, f"{psql(pg, done_sql)} of {want} after {timeout} s")
    return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--users", type=int, default=64, help="users (each a token and an article) of the many-users load")
    ap.add_argument("--only", default="url,noop,thumbnail", help="which parts: url, noop, thumbnail")
    ap.add_argument("--noop-events", type=int, default=5000)
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    binary = release_bin()
    if not os.path.exists(binary):
        print(f"pg bench: no release build at {binary} (swift build -c release)")
        return 2
    work = tempfile.mkdtemp(prefix="hoist-pg-bench-")
    pg = PostgresProcess()
    # The suite's PostgreSQL runs with fsync off for speed; a benchmark of durable writes needs it on.
    at = pg.argv.index("fsync=off")
    del pg.argv[at - 1:at + 1]
    started: list = []
    try:
        why = pg.init() or pg.start(timeout=60)
        if why:
            R.check("PostgreSQL starts", False, why)
            return R.finish()
        started.append(pg)
        R.info(f"PostgreSQL {psql(pg, 'show server_version')}, fsync={psql(pg, 'show fsync')}, "
               f"synchronous_commit={psql(pg, 'show synchronous_commit')}")
        store = StoreProcess(binary, os.path.join(work, "store"), free_port())
        why = store.start(timeout=60)
        if why:
            R.check("hoist store starts", False, why)
            return R.finish()
        started.append(store)
        bucket = "bench-images"
        import boto3
        from botocore.config import Config

        s3 = boto3.client("s3", endpoint_url=store.endpoint, region_name="us-east-1", aws_access_key_id=store.access_key,
                          aws_secret_access_key=store.secret_key, config=Config(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket=bucket)
        events_token = secrets.token_urlsafe(24)
        common = {"HOIST_AUTH": "dev", "HOIST_S3_ENDPOINT": store.endpoint, "HOIST_S3_ADDRESSING": "path",
                  "HOIST_BUCKET": bucket, "HOIST_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": store.access_key,
                  "AWS_SECRET_ACCESS_KEY": store.secret_key, "HOIST_RATE_PER_MINUTE": "1000000",
                  "HOIST_RATE_BURST": "1000000"}
        apis = {}
        for name, extra in [("sqlite", {}), ("postgres", {"HOIST_DATABASE_URL": pg.url, "HOIST_EVENTS_TOKEN": events_token})]:
            srv = HoistServerProcess("api", env={**common, **extra}, data_dir=os.path.join(work, name), binary=binary)
            why = srv.start()
            if why:
                R.check(f"hoist api ({name}) starts", False, why)
                return R.finish()
            started.append(srv)
            apis[name] = srv

        # --- (a) POST /upload-url, SQLite against PostgreSQL, with /healthz as the ceiling ---
        # Two loads: one user sending everything (the shared rate limit is one row, updated by
        # every request: they queue on its lock), and USERS users, each in their own article.
        only = set(args.only.split(","))
        scripts: dict[tuple[str, str], str] = {}
        if "url" in only:
            for name, srv in apis.items():
                lines = []
                for i in range(args.users):
                    token = srv.token(f"bench{i}", ttl=7200)
                    first = APIClient(srv.api).upload_url(token, {"contentType": "image/png", "size": 123456})
                    R.check(f"{name}: a first POST /upload-url for bench{i}", first.status_code == 200, first.text[:300])
                    body = json.dumps({"contentType": "image/png", "size": 123456, "articleId": first.json()["articleId"]})
                    lines.append(f"{token}\t{body}")
                for load, chosen in [("one user", lines[:1]), (f"{args.users} users", lines)]:
                    data = os.path.join(work, f"{name}-{len(chosen)}.txt")
                    with open(data, "w") as f:
                        f.write("\n".join(chosen) + "\n")
                    script = os.path.join(work, f"{name}-{len(chosen)}.lua")
                    with open(script, "w") as f:
                        f.write(f"""
local users, i, threads = {{}}, 0, 0
for line in io.lines("{data}") do
  local token, body = line:match("^([^\t]+)\t(.+)$")
  users[#users + 1] = {{token = token, body = body}}
end
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args) i = id * 7 end
function request()
  i = i % #users + 1
  local u = users[i]
  return wrk.format("POST", nil, {{["Authorization"] = "Bearer " .. u.token, ["Content-Type"] = "application/json"}}, u.body)
end
""")
                    scripts[(name, load)] = script
            loads = ["one user", f"{args.users} users"]
            labels = ["GET /healthz"] + [f"upload-url, {db}, {load}" for load in loads for db in ("SQLite", "PostgreSQL")]
            runs: dict[str, list[dict]] = {label: [] for label in labels}
            for name in apis:
                wrk(apis[name].api + "/upload-url", 2, args.connections, scripts[(name, loads[1])], apis[name].proc.pid)
            for rnd in range(args.rounds):
                order = [("GET /healthz", "sqlite", "/healthz", None)]
                for load in loads:
                    pair = [(f"upload-url, SQLite, {load}", "sqlite", "/upload-url", (("sqlite", load))),
                            (f"upload-url, PostgreSQL, {load}", "postgres", "/upload-url", (("postgres", load)))]
                    order += pair if rnd % 2 == 0 else pair[::-1]
                for label, name, path, key in order:
                    profile = None
                    if os.environ.get("PG_BENCH_PERF") and rnd == 0 and "PostgreSQL" in label and "users" in label and "one" not in label:
                        # Where the API's CPU goes on the PostgreSQL path (perf, 5 s in the middle of the run).
                        profile = subprocess.Popen(["bash", "-c", f"sleep 2; perf record -F 499 -g -o {work}/perf.data "
                                                    f"-p {apis[name].proc.pid} -- sleep 5"], stdout=subprocess.DEVNULL,
                                                   stderr=subprocess.DEVNULL)
                    r = wrk(apis[name].api + path, args.duration, args.connections, scripts.get(key) if key else None, apis[name].proc.pid)
                    R.check(f"round {rnd + 1}, {label}: no errors", r["non2xx"] == 0 and r["errors"] == 0, str(r))
                    runs[label].append(r)
                    if profile is not None:
                        profile.wait()
                        report = subprocess.run(["perf", "report", "-i", f"{work}/perf.data", "--no-children", "--stdio",
                                                 "--sort", "dso,sym", "-g", "none", "--percent-limit", "1.5"],
                                                capture_output=True, text=True).stdout
                        print("\n".join(l for l in report.splitlines() if l.strip() and not l.startswith("#"))[:6000])
            print(f"\n{'at %d connections' % args.connections:40s}{'req/s':>9s}{'p50 ms':>9s}{'p99 ms':>9s}{'API CPU us/req':>16s}"
                  f"{'PG CPU us/req':>15s}")
            summary = {}
            for label, rs in runs.items():
                mean = {k: sum(r[k] for r in rs) / len(rs) for k in ("rps", "p50", "p99", "cpu_us", "pg_cpu_us")}
                summary[label] = mean
                print(f"{label:40s}{mean['rps']:9.0f}{mean['p50']:9.2f}{mean['p99']:9.2f}{mean['cpu_us']:16.0f}{mean['pg_cpu_us']:15.0f}")
            ratios = {load: summary[f"upload-url, PostgreSQL, {load}"]["rps"] / summary[f"upload-url, SQLite, {load}"]["rps"]
                      for load in loads}
            for load, ratio in ratios.items():
                print(f"PostgreSQL / SQLite, {load}: {ratio:.0%} (goal >= 50%: {'met' if ratio >= 0.5 else 'MISSED'})")
            FIGURES["upload_url"] = {"runs": runs, "means": summary, "ratios": {k: round(v, 3) for k, v in ratios.items()}}
            R.check(f"PostgreSQL path >= 50% of the SQLite path's req/s ({loads[1]})", ratios[loads[1]] >= 0.5, f"{ratios[loads[1]]:.2f}")

        # --- (b) the queue with a no-op job ---
        receiver = f"{apis['postgres'].api}/events/s3?token={events_token}"
        worker_env = clean_env(**common, HOIST_DATABASE_URL=pg.url, HOIST_DATA=os.path.join(work, "postgres"))

        def workers() -> list[ManagedProcess]:
            return [ManagedProcess(f"hoist worker {i + 1}", [binary, "worker", "--queue", "postgres"], env=worker_env,
                                   ready_in=lambda log: "hoist worker:" in log) for i in range(args.workers)]

        if "noop" in only:
            noop = [event(bucket, f"elsewhere/{i}.bin", 1, "e", f"{i:016X}") for i in range(args.noop_events)]
            enqueue_s = push_all(receiver, noop)
            R.info(f"queued {len(noop)} no-op events in {enqueue_s:.2f} s = {len(noop) / enqueue_s:.0f} events/s (8 pushers)")
            crew = workers()
            drain_s = drain(pg, crew, "select (count(*) = 0)::int from hoist_queue_message where queue = 'hoist-events' and dead_at is null",
                            1, timeout=600)
            for w in crew:
                w.stop()
            if drain_s:
                R.info(f"{args.workers} workers drained {len(noop)} no-op events in {drain_s:.2f} s = {len(noop) / drain_s:.0f} events/s "
                       "(from the workers' start, their start-up included)")
            FIGURES["noop"] = {"events": len(noop), "enqueue_per_s": round(len(noop) / enqueue_s, 1),
                               "drain_per_s": round(len(noop) / drain_s, 1) if drain_s else None}

        # --- (c) the queue with the real job ---
        if "thumbnail" in only:
            srv = apis["postgres"]
            token = srv.token("photographer", ttl=7200)
            api = APIClient(srv.api)
            jpeg = picture("JPEG", 1600, 1200, seed=3)
            article = None
            keys = []
            for i in range(args.images):
                issued = upload(api, token, jpeg, "image/jpeg", article)
                article = issued["articleId"]
                keys.append(issued["key"])
            bodies = []
            for i, key in enumerate(keys):
                head = s3.head_object(Bucket=bucket, Key=key)
                bodies.append(event(bucket, key, head["ContentLength"], head["ETag"].strip('"'), f"{0x100000 + i:016X}"))
            enqueue_s = push_all(receiver, bodies)
            crew = workers()
            done = ("select count(*) from hoist_upload where key in (" + ",".join(f"'{k}'" for k in keys) +
                    ") and status in ('processed','rejected')")
            job_s = drain(pg, crew, done, len(keys), timeout=900)
            for w in crew:
                w.stop()
            statuses = psql(pg, "select status, count(*) from hoist_upload where key in (" + ",".join(f"'{k}'" for k in keys) +
                            ") group by status")
            R.check("every image processed", statuses.strip() == f"processed|{len(keys)}", statuses)
            if job_s:
                R.info(f"{args.workers} workers processed {len(keys)} JPEGs (1600x1200, {len(jpeg)} bytes; all variants) in "
                       f"{job_s:.2f} s = {len(keys) / job_s:.2f} images/s")
            FIGURES["thumbnail"] = {"images": len(keys), "seconds": round(job_s, 2) if job_s else None,
                                    "per_s": round(len(keys) / job_s, 2) if job_s else None}
    finally:
        for p in reversed(started):
            try:
                p.stop()
            except Exception:  # noqa: BLE001
                pass
        subprocess.run(["rm", "-rf", work, pg.data])
    print(json.dumps({"tool": "pg bench", "figures": FIGURES}, separators=(",", ":"), default=str))
    return R.finish()


if __name__ == "__main__":
    sys.exit(main())
