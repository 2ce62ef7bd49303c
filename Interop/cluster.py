#!/usr/bin/env python3
"""A Hoist cluster on one machine, with one command: PostgreSQL, the Ceph Object Gateway, two `hoist api`
replicas behind nginx (round robin), and two `hoist worker`s on the PostgreSQL queue, RGW pushing its
events to the replicas' receiver. Everything listens on 127.0.0.1 and is stopped by its own PID.

    python3 Interop/cluster.py            # starts it, prints the URLs, runs until Ctrl-C, then stops it all

Needs (Debian 12): postgresql, nginx, radosgw ceph-mon ceph-osd (see .ci/run), and a built `hoist`
(HOIST_BIN, default .build/debug/hoist). RGW_ENDPOINT uses a gateway already running instead of starting one.
Interop/test_cluster.py starts the same cluster for its tests.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from interop_common import clean_env, hoist_bin  # noqa: E402
from processes import CephGateway, HoistServerProcess, ManagedProcess, PostgresProcess, free_port  # noqa: E402

REGION = "us-east-1"


class Cluster:
    """Starts and stops the pieces; `url` is nginx's, `replicas` and `workers` the processes behind it."""

    def __init__(self, ceph=None, replicas: int = 2, workers: int = 2, extra_env: dict | None = None):
        self.ceph = ceph
        self.own_ceph = ceph is None
        self.replica_count = replicas
        self.worker_count = workers
        self.extra_env = dict(extra_env or {})
        self.postgres: PostgresProcess | None = None
        self.replicas: list[HoistServerProcess] = []
        self.workers: list[ManagedProcess] = []
        self.nginx: ManagedProcess | None = None
        self.bucket = f"hoist-cluster-{secrets.token_hex(4)}"
        self.token = secrets.token_urlsafe(32)
        self.port = free_port()
        self.data = tempfile.mkdtemp(prefix="hoist-cluster-")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        return {"HOIST_AUTH": "dev", "HOIST_PUBLIC_URL": self.url, "HOIST_S3_ENDPOINT": self.ceph.endpoint,
                "HOIST_S3_ADDRESSING": "path", "HOIST_BUCKET": self.bucket, "HOIST_REGION": REGION,
                "AWS_ACCESS_KEY_ID": self.ceph.access_key, "AWS_SECRET_ACCESS_KEY": self.ceph.secret_key,
                "HOIST_DATABASE_URL": self.postgres.url, "HOIST_EVENTS_TOKEN": self.token, **self.extra_env}

    def boto(self, service: str, region: str = REGION):
        import boto3
        from botocore.config import Config

        return boto3.client(service, endpoint_url=self.ceph.endpoint, region_name=region,
                            aws_access_key_id=self.ceph.access_key, aws_secret_access_key=self.ceph.secret_key,
                            config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 3}))

    def start(self) -> str | None:
        """Starts everything; None when up, else why not (what started is stopped again)."""
        why = self._start()
        if why:
            self.stop()
        return why

    def _start(self) -> str | None:
        if self.ceph is None:
            self.ceph = CephGateway(ceph_dir=os.environ.get("CEPH_DIR") or None,
                                    endpoint=os.environ.get("RGW_ENDPOINT") or None)
            why = self.ceph.start()
            if why:
                return f"the Ceph Object Gateway did not start: {why}"
        self.postgres = PostgresProcess()
        why = self.postgres.init() or self.postgres.start(timeout=60)
        if why:
            return f"PostgreSQL did not start: {why}"
        self.boto("s3").create_bucket(Bucket=self.bucket)
        # The replicas share the dev issuer's key (one data folder) and the public URL (nginx's), so a
        # token from either is good on both; their records are in PostgreSQL.
        for i in range(self.replica_count):
            replica = HoistServerProcess("api", env=self.env(), data_dir=self.data)
            why = replica.start()
            if why:
                return f"hoist api replica {i + 1} did not start: {why}"
            self.replicas.append(replica)
        why = self._start_nginx()
        if why:
            return why
        # RGW's topic pushes to the receiver through nginx (either replica); persistent: RGW retries.
        topic = self.boto("sns", region="default").create_topic(Name=f"{self.bucket}-events", Attributes={
            "push-endpoint": f"{self.url}/events/s3?token={self.token}", "persistent": "true"})["TopicArn"]
        self.boto("s3").put_bucket_notification_configuration(Bucket=self.bucket, NotificationConfiguration={
            "TopicConfigurations": [{"Id": "hoist", "TopicArn": topic, "Events": ["s3:ObjectCreated:*"],
                                     "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "articles/"}]}}}]})
        for i in range(self.worker_count):
            worker = self.new_worker()
            why = worker.start()
            if why:
                return f"hoist worker {i + 1} did not start: {why}"
            self.workers.append(worker)
        return None

    def new_worker(self) -> ManagedProcess:
        return ManagedProcess("hoist worker", [hoist_bin(), "worker", "--queue", "postgres"],
                              env=clean_env(**self.env(), HOIST_DATA=self.data),
                              ready_in=lambda log: "hoist worker:" in log)

    def _start_nginx(self) -> str | None:
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
        if not nginx:
            return "nginx is not installed (apt-get install nginx)"
        prefix = os.path.join(self.data, "nginx")
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        upstream = "\n".join(f"        server 127.0.0.1:{r.api_port} max_fails=1 fail_timeout=5s;" for r in self.replicas)
        conf = os.path.join(prefix, "nginx.conf")
        with open(conf, "w", encoding="utf-8") as f:
            f.write(f"""worker_processes 1;
error_log {prefix}/logs/error.log warn;
pid {prefix}/nginx.pid;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/logs/access.log;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    upstream hoist_api {{
{upstream}
    }}
    server {{
        listen 127.0.0.1:{self.port};
        client_max_body_size 2m;
        location / {{
            proxy_pass http://hoist_api;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_next_upstream error timeout http_502;
            proxy_connect_timeout 2s;
        }}
    }}
}}
""")
        self.nginx = ManagedProcess("nginx", [nginx, "-p", prefix, "-c", conf, "-g", "daemon off;"], env=dict(os.environ),
                                    ports=(self.port,))
        why = self.nginx.start(timeout=30)
        return f"nginx did not start: {why}" if why else None

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop(timeout=30)
        if self.nginx is not None:
            self.nginx.stop(timeout=10)
        for replica in self.replicas:
            replica.stop()
        if self.postgres is not None:
            self.postgres.stop()
        if self.own_ceph and self.ceph is not None:
            self.ceph.stop()


def main() -> int:
    cluster = Cluster()
    why = cluster.start()
    if why:
        print(f"cluster: {why}", file=sys.stderr)
        return 1
    token = cluster.replicas[0].token("alice")
    print(f"""Hoist cluster up:
  API (nginx, round robin over {len(cluster.replicas)} replicas): {cluster.url}
  replicas: {", ".join(r.api for r in cluster.replicas)}
  workers: {len(cluster.workers)} (hoist worker --queue postgres), pids {", ".join(str(w.pid) for w in cluster.workers)}
  S3 (Ceph RGW): {cluster.ceph.endpoint}, bucket {cluster.bucket}
  PostgreSQL: {cluster.postgres.url}
  a dev token for alice: export TOKEN={token}
  try: curl -s -X POST {cluster.url}/upload-url -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
         -d '{{"contentType":"image/jpeg","size":1000}}'
Ctrl-C stops everything.""", flush=True)
    stop = {"now": False}
    signal.signal(signal.SIGINT, lambda *_: stop.update(now=True))
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    while not stop["now"]:
        time.sleep(0.5)
    cluster.stop()
    print("cluster stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
