"""Events without SQS: Ceph RGW pushes to `hoist api`'s receiver, PostgreSQL queues them, `hoist worker` processes.

The scale-out path of the README ("Events from Ceph RGW"): an RGW topic whose push endpoint is
`POST /events/s3?token=…` of `hoist api` (HOIST_EVENTS_TOKEN, records in PostgreSQL), the bucket's
notification configuration pointing at the topic, and `hoist worker --queue postgres` on the same
database, reading the objects from RGW. Checks:
- a JPEG uploaded through an API URL to RGW ends `processed`, its derived images in RGW;
- the receiver refuses a push without the token (401) or with another (401), and a body that is not an
  event (400); the token never appears in the API's log;
- the same push delivered twice is queued once (`duplicates: 1`), and the worker sees one event;
- text uploaded as a JPEG ends `rejected`.

Everything on 127.0.0.1: the suite's `ceph` fixture, a PostgreSQL of its own (Debian's, in a temporary
folder), `hoist api` and `hoist worker` started and stopped here by their PIDs.
"""

from __future__ import annotations

import json
import secrets
import time

import pytest
import requests

from api_common import APIClient, picture, upload, wait_for  # noqa: E402
from interop_common import clean_env, hoist_bin, tally  # noqa: E402
from processes import HoistServerProcess, ManagedProcess, PostgresProcess  # noqa: E402

R = tally(__file__)
REGION = "us-east-1"


def boto(service: str, ceph, region: str = REGION):
    import boto3
    from botocore.config import Config

    return boto3.client(service, endpoint_url=ceph.endpoint, region_name=region, aws_access_key_id=ceph.access_key,
                        aws_secret_access_key=ceph.secret_key,
                        config=Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}))


@pytest.fixture(scope="module")
def postgres():
    pg = PostgresProcess()
    why = pg.init() or pg.start(timeout=60)
    if why:
        pytest.fail(f"PostgreSQL did not start: {why}", pytrace=False)
    yield pg
    pg.stop()


def test_rgw_events_through_the_receiver(ceph, postgres) -> None:
    bucket = f"hoist-events-{secrets.token_hex(4)}"
    token = secrets.token_urlsafe(32)
    s3 = boto("s3", ceph)
    s3.create_bucket(Bucket=bucket)
    env = {"HOIST_AUTH": "dev", "HOIST_S3_ENDPOINT": ceph.endpoint, "HOIST_S3_ADDRESSING": "path", "HOIST_BUCKET": bucket,
           "HOIST_REGION": REGION, "AWS_ACCESS_KEY_ID": ceph.access_key, "AWS_SECRET_ACCESS_KEY": ceph.secret_key,
           "HOIST_RATE_PER_MINUTE": "1000000", "HOIST_RATE_BURST": "1000000", "HOIST_DATABASE_URL": postgres.url,
           "HOIST_EVENTS_TOKEN": token, "HOIST_PENDING_GRACE": "300"}
    api_srv = HoistServerProcess("api", env=env)
    worker = None
    try:
        why = api_srv.start()
        R.check("hoist api (records in PostgreSQL, HOIST_EVENTS_TOKEN) starts", why is None, why or "")
        if why:
            return
        worker = ManagedProcess("hoist worker", [hoist_bin(), "worker", "--queue", "postgres"],
                                env=clean_env(**env, HOIST_DATA=api_srv.data_dir))
        why = worker.start()
        R.check("hoist worker --queue postgres starts", why is None, why or "")
        if why:
            return
        receiver = f"{api_srv.api}/events/s3"

        # The receiver's door.
        sample = {"Records": [{"eventVersion": "2.2", "eventSource": "ceph:s3", "eventName": "ObjectCreated:Put",
                               "eventTime": "2026-01-01T00:00:00.000Z", "awsRegion": "",
                               "s3": {"s3SchemaVersion": "1.0", "configurationId": "x",
                                      "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
                                      "object": {"key": "elsewhere/x", "size": 1, "eTag": "e", "sequencer": "01"}}}]}
        r = requests.post(receiver, json=sample, timeout=10)
        R.check("a push without the token -> 401", r.status_code == 401, f"{r.status_code} {r.text[:200]}")
        r = requests.post(receiver + "?token=" + token[:-1] + ("A" if token[-1] != "A" else "B"), json=sample, timeout=10)
        R.check("a push with another token -> 401", r.status_code == 401, f"{r.status_code} {r.text[:200]}")
        r = requests.post(receiver + "?token=" + token, data=b"not json", timeout=10)
        R.check("a body that is not an event -> 400 invalid_event", r.status_code == 400 and "invalid_event" in r.text,
                f"{r.status_code} {r.text[:200]}")
        first = requests.post(receiver, json=sample, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        again = requests.post(receiver + "?token=" + token, json=sample, timeout=10)
        R.check("the same push twice: queued once, then a duplicate",
                first.status_code == 200 and first.json() == {"duplicates": 0, "queued": 1}
                and again.status_code == 200 and again.json() == {"duplicates": 1, "queued": 0},
                f"{first.status_code} {first.text[:200]}; {again.status_code} {again.text[:200]}")

        # RGW's topic (SNS-style API, persistent: RGW retries a push that fails) and the bucket's notification.
        sns = boto("sns", ceph, region="default")
        topic = sns.create_topic(Name=f"{bucket}-events", Attributes={
            "push-endpoint": f"{receiver}?token={token}", "persistent": "true"})["TopicArn"]
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={"TopicConfigurations": [{
            "Id": "hoist", "TopicArn": topic, "Events": ["s3:ObjectCreated:*"],
            "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "articles/"}]}}}]})
        R.check("an RGW topic pushing to the receiver, and the bucket's notification", bool(topic), topic)

        api = APIClient(api_srv.api)
        alice = api_srv.token("alice")
        jpeg = picture("JPEG", 640, 480, seed=3)
        good = upload(api, alice, jpeg, "image/jpeg")
        article = good.get("articleId")
        bad = upload(api, alice, b"plain text pretending to be a photo", "image/jpeg", article=article)
        keys = [good.get("key"), bad.get("key")]
        R.check("two uploads through API URLs to RGW", all(keys) and article is not None, f"{good} {bad}")
        items = wait_for(api, alice, article, keys, timeout=90)
        g, b = items.get(keys[0], {}), items.get(keys[1], {})
        R.check("the JPEG ends processed (RGW push -> receiver -> PostgreSQL queue -> worker)", g.get("status") == "processed",
                json.dumps(g)[:600] + f"\nworker log: {worker.log_tail(800)!r}")
        derived = [v.get("key") for v in (g.get("derived") or {}).values() if isinstance(v, dict)]
        stored = all(_exists(s3, bucket, k) for k in derived) if derived else False
        R.check("its derived images are in RGW", stored or not derived, f"{derived}")
        R.check("text declared as JPEG ends rejected", b.get("status") == "rejected", json.dumps(b)[:400])
        log = api_srv.log_text()
        R.check("the receiver's token is not in the API's log", token not in log, "the token was logged")
        R.check("the receiver logged what it queued", "storage events received" in log, log[-600:])
    finally:
        if worker is not None:
            rc, graceful = worker.stop(timeout=30)
            R.check("hoist worker stops on SIGTERM", graceful, f"rc {rc}")
        rc, graceful = api_srv.stop()
        R.check("hoist api stops on SIGTERM", graceful, f"rc {rc}")


def _exists(s3, bucket: str, key: str) -> bool:
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except Exception:  # noqa: BLE001
        return False
