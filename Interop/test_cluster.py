"""The cluster of Interop/cluster.py under load, with an API replica and a worker killed (`kill -9`) in the middle.

Two `hoist api` replicas behind nginx (round robin), records, rate limit and event queue in PostgreSQL,
objects in Ceph RGW, RGW's event pushes to the replicas' receiver, two `hoist worker --queue postgres`.
CLIENTS clients (20) upload UPLOADS (500) small JPEGs in all: a URL from nginx (either replica), the PUT
to RGW. Meanwhile replica 1 and worker 1 are killed with SIGKILL (and replica 1 started again later).
Then:
- every URL answered 200 has its record, and every uploaded image ends `processed`, its derived images
  in RGW;
- the listing of an article is the same from both replicas;
- the shared rate limit: a user gets 60 URLs a minute through nginx, whichever replica serves them,
  and the 61st is refused (429);
- nothing waits in the queue but the dead letter put there on purpose (a message no worker can read).

Then PostgreSQL is stopped for 10 s under load (test_postgres_outage_under_load): 503 JSON meanwhile, no
request past the client timeout, the API back within 5 s of its return.

Env: CLUSTER_UPLOADS (500), CLUSTER_CLIENTS (20).
"""

from __future__ import annotations

import concurrent.futures as cf
import os
import subprocess
import threading
import time

import pytest
import requests

from api_common import tiny_jpeg  # noqa: E402
from cluster import Cluster  # noqa: E402
from interop_common import tally  # noqa: E402

R = tally(__file__)
UPLOADS = int(os.environ.get("CLUSTER_UPLOADS", "500"))
CLIENTS = int(os.environ.get("CLUSTER_CLIENTS", "20"))


@pytest.fixture(scope="module")
def cluster(ceph):
    c = Cluster(ceph=ceph, extra_env={"HOIST_RATE_PER_MINUTE": "60", "HOIST_RATE_BURST": "60",
                                      "HOIST_WORKER_VISIBILITY_TIMEOUT": "10", "HOIST_WORKER_MAX_RECEIVES": "3"})
    why = c.start()
    if why:
        pytest.fail(f"the cluster did not start: {why}", pytrace=False)
    yield c
    c.stop()


def psql(c: Cluster, sql: str) -> str:
    pg = c.postgres
    wrap = ["runuser", "-u", "postgres", "--"] if pg.as_root else []
    p = subprocess.run(wrap + [f"{pg.bin}/psql", "-h", pg.data, "-p", str(pg.port), "-U", "postgres", "-tAc", sql],
                       capture_output=True, text=True, timeout=30)
    return p.stdout.strip() if p.returncode == 0 else f"psql failed: {p.stderr.strip()[:300]}"


def call(method: str, url: str, tries: int = 8, **kwargs):
    """A request that tries again on a refused connection, 502 or 503 (a replica being killed)."""
    last = None
    for attempt in range(tries):
        try:
            r = requests.request(method, url, timeout=30, **kwargs)
            if r.status_code not in (502, 503, 504):
                return r
            last = r
        except requests.RequestException as e:
            last = e
        time.sleep(0.2 * (attempt + 1))
    return last


def test_cluster_under_load_with_kills(cluster) -> None:
    c = cluster
    api = c.url
    tokens = [c.replicas[0].token(f"user{i}") for i in range(CLIENTS)]
    answered: list[tuple[int, str, str]] = []  # (client, article, key) of every URL answered 200
    failures: list[str] = []
    lock = threading.Lock()
    done = {"count": 0}

    def client(i: int) -> None:
        article = None
        for n in range(UPLOADS // CLIENTS):
            body = tiny_jpeg(64, 48, seed=i * 1000 + n)
            request = {"contentType": "image/jpeg", "size": len(body)}
            if article:
                request["articleId"] = article
            r = call("POST", f"{api}/upload-url", json=request, headers={"Authorization": f"Bearer {tokens[i]}"})
            if not isinstance(r, requests.Response) or r.status_code != 200:
                with lock:
                    failures.append(f"client {i} URL {n}: {getattr(r, 'status_code', r)} {getattr(r, 'text', '')[:200]}")
                continue
            answer = r.json()
            article = answer["articleId"]
            with lock:
                answered.append((i, article, answer["key"]))
            put = call("PUT", answer["uploadUrl"], data=body, headers=answer.get("headers") or {})
            if not isinstance(put, requests.Response) or put.status_code != 200:
                with lock:
                    failures.append(f"client {i} PUT {n}: {getattr(put, 'status_code', put)}")
            with lock:
                done["count"] += 1

    def killer() -> None:
        while done["count"] < UPLOADS * 0.3:
            time.sleep(0.1)
        c.replicas[0].kill9()
        R.info(f"kill -9 of replica 1 after {done['count']} uploads")
        while done["count"] < UPLOADS * 0.5:
            time.sleep(0.1)
        c.workers[0].kill9()
        R.info(f"kill -9 of worker 1 after {done['count']} uploads")
        while done["count"] < UPLOADS * 0.7:
            time.sleep(0.1)
        why = c.replicas[0].start()
        R.info(f"replica 1 started again after {done['count']} uploads: {why or 'up'}")

    started = time.monotonic()
    with cf.ThreadPoolExecutor(CLIENTS + 1) as pool:
        kill = pool.submit(killer)
        list(pool.map(client, range(CLIENTS)))
        kill.result(timeout=120)
    elapsed = time.monotonic() - started
    R.info(f"{len(answered)} URLs answered and {UPLOADS - len(failures)} uploads sent by {CLIENTS} clients in {elapsed:.1f} s")
    R.check(f"every one of the {UPLOADS} uploads got a URL and was stored (retrying through a killed replica)",
            not failures and len(answered) == (UPLOADS // CLIENTS) * CLIENTS, "\n".join(failures[:10]))

    # Every answered URL has its record, and every image ends processed.
    articles = sorted({(i, a) for i, a, _ in answered})
    deadline = time.monotonic() + 240
    statuses: dict[str, dict] = {}
    while time.monotonic() < deadline:
        statuses = {}
        for i, article in articles:
            r = call("GET", f"{api}/articles/{article}/uploads", headers={"Authorization": f"Bearer {tokens[i]}"})
            if isinstance(r, requests.Response) and r.status_code == 200:
                for item in r.json().get("uploads", []):
                    statuses[item["key"]] = item
        if all(statuses.get(k, {}).get("status") == "processed" for _, _, k in answered):
            break
        time.sleep(2)
    missing = [k for _, _, k in answered if k not in statuses]
    R.check("every URL answered 200 has its record", not missing, f"{len(missing)} missing, e.g. {missing[:3]}")
    counts: dict[str, int] = {}
    for _, _, k in answered:
        s = statuses.get(k, {}).get("status", "missing")
        counts[s] = counts.get(s, 0) + 1
    R.info(f"statuses after the load: {counts}")
    R.check("every uploaded image ends processed (a killed worker's leased events went to the other)",
            counts.get("processed", 0) == len(answered), f"{counts}")
    s3 = c.boto("s3")
    derived = [v["key"] for _, _, k in answered for v in (statuses.get(k, {}).get("derived") or {}).values()
               if isinstance(v, dict) and "key" in v]

    def exists(key: str) -> bool:
        try:
            s3.head_object(Bucket=c.bucket, Key=key)
            return True
        except Exception:  # noqa: BLE001
            return False
    with cf.ThreadPoolExecutor(16) as pool:
        present = list(pool.map(exists, derived))
    R.check(f"the derived images are in RGW ({len(derived)})", bool(derived) and all(present),
            f"{present.count(False)} missing of {len(derived)}")

    # The listing is the same from both replicas. Pre-signed URLs are left out of the comparison: each
    # replica signs at its own second, so two correct answers differ in X-Amz-Date and signature.
    def unsigned(value):
        if isinstance(value, dict):
            return {k: unsigned(v) for k, v in value.items() if k != "url" and not k.endswith("Url")}
        if isinstance(value, list):
            return [unsigned(v) for v in value]
        return value

    same, detail = True, ""
    for i, article in articles[:5]:
        lists = []
        for replica in c.replicas:
            r = requests.get(f"{replica.api}/articles/{article}/uploads", headers={"Authorization": f"Bearer {tokens[i]}"},
                             timeout=30)
            lists.append(unsigned(r.json()) if r.status_code == 200 else r.status_code)
        if lists[0] != lists[1]:
            same, detail = False, f"article {article}: {str(lists[0])[:400]} != {str(lists[1])[:400]}"
    R.check("an article's listing is the same from both replicas", same, detail)

    # The shared rate limit: 60 a minute in all, whichever replica serves the request.
    rate_token = c.replicas[1].token("rate-user")
    statuses_seen = []
    for _ in range(61):
        r = requests.post(f"{api}/upload-url", json={"contentType": "image/jpeg", "size": 100},
                          headers={"Authorization": f"Bearer {rate_token}"}, timeout=30)
        statuses_seen.append(r.status_code)
    R.check("the shared rate limit: 60 URLs through both replicas, the 61st refused with 429",
            statuses_seen[:60].count(200) == 60 and statuses_seen[60] == 429, f"{statuses_seen}")

    # Only the dead letter put there on purpose stays in the queue.
    inserted = psql(c, "INSERT INTO hoist_queue_message (queue, body, sent_at, visible_at) "
                       "VALUES ('hoist-events', 'not an event', extract(epoch from now()), extract(epoch from now())) RETURNING id")
    deadline = time.monotonic() + 60
    waiting, dead = "?", "?"
    while time.monotonic() < deadline:
        waiting = psql(c, "SELECT count(*) FROM hoist_queue_message WHERE dead_at IS NULL")
        dead = psql(c, "SELECT count(*) FROM hoist_queue_message WHERE dead_at IS NOT NULL")
        if waiting == "0" and dead == "1":
            break
        time.sleep(1)
    R.check("the queue holds nothing but the unreadable message put there on purpose, dead-lettered",
            waiting == "0" and dead == "1", f"inserted {inserted}; waiting {waiting}, dead {dead}")


def test_postgres_outage_under_load(cluster) -> None:
    """PostgreSQL stopped for 10 s under load: 503 JSON meanwhile, nothing hangs past the client's
    timeout, and the API serves again within 5 s of PostgreSQL's return, without a restart."""
    c = cluster
    tokens = [c.replicas[1].token(f"outage{i}") for i in range(4)]
    results: list[tuple[float, float, int, str]] = []  # (start, seconds, status, error code)
    lock = threading.Lock()
    stop = threading.Event()
    client_timeout = 15.0

    def load(i: int) -> None:
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                r = requests.post(f"{c.url}/upload-url", json={"contentType": "image/jpeg", "size": 100},
                                  headers={"Authorization": f"Bearer {tokens[i]}"}, timeout=client_timeout)
                code = ""
                if r.status_code != 200:
                    try:
                        code = r.json().get("error", {}).get("code", "")
                    except ValueError:
                        code = "not json"
                status = r.status_code
            except requests.RequestException as e:
                status, code = 0, type(e).__name__
            with lock:
                results.append((t0, time.monotonic() - t0, status, code))
            time.sleep(0.2)

    with cf.ThreadPoolExecutor(4) as pool:
        for i in range(4):
            pool.submit(load, i)
        time.sleep(3)
        c.postgres.stop()
        down_at = time.monotonic()  # stopped (fast shutdown) when stop() returns
        time.sleep(10)
        why = c.postgres.start(timeout=60)
        up_at = time.monotonic()
        R.check("PostgreSQL starts again after 10 s down", why is None, why or "")
        time.sleep(12)
        stop.set()
    during = [r for r in results if down_at <= r[0] <= up_at - 1]
    after = [r for r in results if r[0] >= up_at and r[2] == 200]
    slowest = max((r[1] for r in results), default=0)
    refused = {(s, code) for _, _, s, code in during}
    R.info(f"outage: {len(during)} requests while down, answers {sorted(refused)}; slowest request {slowest:.2f} s; "
           f"first 200 {((after[0][0] + after[0][1]) - up_at) if after else float('nan'):.2f} s after PostgreSQL was back")
    R.check("while PostgreSQL is down: 503 database_unavailable JSON, nothing else",
            bool(during) and refused == {(503, "database_unavailable")}, f"{sorted(refused)}")
    R.check(f"no request hangs past the client's {client_timeout:.0f} s timeout", slowest < client_timeout and
            all(r[2] != 0 for r in results), f"slowest {slowest:.2f} s; errors {[r for r in results if r[2] == 0][:3]}")
    R.check("the API serves again within 5 s of PostgreSQL's return, without a restart",
            bool(after) and (after[0][0] + after[0][1]) - up_at <= 5.0,
            f"first 200 at {((after[0][0] + after[0][1]) - up_at) if after else None} s")
