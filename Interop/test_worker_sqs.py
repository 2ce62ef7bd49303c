"""`hoist worker` on an SQS queue that no one here wrote (moto's server), with objects in any S3.

The same image worker that `hoist serve` runs on its own outbox, here fed by Amazon SQS's protocol
and reaching the bucket over HTTP with our S3 client:

- moto_server (pip `moto[server]`) on a free 127.0.0.1 port: a queue and its dead-letter queue
  (RedrivePolicy maxReceiveCount 2);
- `hoist serve` with HOIST_WORKER=off (its store holds the objects, its API issues the URLs, its own
  worker stays out of the way);
- uploads of a real JPEG and of a text file declared image/jpeg through the API; their S3 event
  notifications (S3's JSON, keys encoded as S3 does) are sent to the queue, as S3 would send them;
- `hoist worker --queue-url …` with HOIST_S3_ENDPOINT = the store: the JPEG ends `processed` with its
  derived images (its responsive variants) in the store, the text `rejected` and moved to `quarantine/`; the same event sent
  again changes nothing; a message that is not an event is retried and lands in the dead-letter
  queue; the worker leaves the main queue empty and stops on SIGTERM.

Needs the built `hoist` ($HOIST_BIN), moto_server, boto3, requests, Pillow and vipsthumbnail.
Talks to 127.0.0.1 only; moto_server and `hoist serve` are the suite's fixtures, `hoist worker` a
processes.ManagedProcess stopped here.
"""

from __future__ import annotations

import json
import time
import urllib.parse

from api_common import (BUCKET, FAST, APIClient, head, is_rejection_marker, keys_under, parse_metrics,  # noqa: E402
                        picture, store_s3_client as s3_client, upload, wait_for)
from interop_common import clean_env  # noqa: E402
from processes import free_port, worker_process  # noqa: E402


def s3_key_encoding(key: str) -> str:
    """Keys in S3 event notifications: form-encoded, '/' kept."""
    return urllib.parse.quote_plus(key, safe="/*")


def event_body(key: str, size: int, etag: str, sequencer: str) -> str:
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()), "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:EXAMPLE"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {"x-amz-request-id": "EXAMPLE", "x-amz-id-2": "EXAMPLE"},
        "s3": {"s3SchemaVersion": "1.0", "configurationId": "uploads",
               "bucket": {"name": BUCKET, "ownerIdentity": {"principalId": "EXAMPLE"}, "arn": f"arn:aws:s3:::{BUCKET}"},
               "object": {"key": s3_key_encoding(key), "size": size, "eTag": etag, "sequencer": sequencer}},
    }]})


def test_worker_on_sqs(checks, moto, servers) -> None:
    R = checks
    srv = servers.start("serve", env={**FAST, "HOIST_WORKER": "off"}, check="hoist serve (HOIST_WORKER=off) starts")
    worker = None
    try:
        import boto3

        sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{moto.port}", region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        dlq_url = sqs.create_queue(QueueName="uploads-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        queue_url = sqs.create_queue(QueueName="uploads", Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"})})["QueueUrl"]

        api = APIClient(srv.api)
        token = srv.token("sam")
        s3 = s3_client(srv)
        jpeg = picture("JPEG", 800, 600, seed=3)
        text = b"plain words, no pixels\n" * 10
        good = upload(api, token, jpeg, "image/jpeg")
        article = good["articleId"]
        bad = upload(api, token, text, "image/jpeg", article)
        events = {}
        for n, issued in enumerate((good, bad), start=1):
            h = s3.head_object(Bucket=BUCKET, Key=issued["key"])
            events[issued["key"]] = event_body(issued["key"], h["ContentLength"], h["ETag"].strip('"'), f"{n:016X}")
            sqs.send_message(QueueUrl=queue_url, MessageBody=events[issued["key"]])
        sqs.send_message(QueueUrl=queue_url, MessageBody="this is not an S3 event")

        access, secret = srv.store_credentials()
        metrics_port = free_port()
        env = clean_env(HOIST_DATA=srv.data_dir, HOIST_S3_ENDPOINT=srv.store, HOIST_REGION="us-east-1",
                        AWS_ACCESS_KEY_ID=access, AWS_SECRET_ACCESS_KEY=secret, HOIST_WORKER_METRICS_PORT=str(metrics_port))
        worker = worker_process(queue_url, env)
        why = worker.start()
        if why:
            R.check("hoist worker starts", False, why)
            return

        items = wait_for(api, token, article, [good["key"], bad["key"]], timeout=60)
        g, b = items.get(good["key"], {}), items.get(bad["key"], {})
        R.check("JPEG via SQS: processed, 800x600", g.get("status") == "processed" and (g.get("width"), g.get("height")) == (800, 600),
                f"{g}; log: {worker.log_tail(800)!r}")
        derived = keys_under(s3, f"articles/{article}/processed/")
        R.check("JPEG via SQS: its variants (320 and 640 px, WebP and AVIF) written to the store over HTTP",
                sorted(k.rsplit("/", 1)[1] for k in derived) == ["w320.avif", "w320.webp", "w640.avif", "w640.webp"], str(derived))
        R.check("text via SQS: rejected, with the reason", b.get("status") == "rejected" and "text" in (b.get("reason") or ""), str(b))
        R.check("text via SQS: moved to quarantine/ over HTTP, the key keeps the empty marker",
                is_rejection_marker(head(s3, bad["key"])) and head(s3, "quarantine/" + bad["key"]) is not None)

        # The same event again: nothing changes.
        before = g.get("processedAt")
        sqs.send_message(QueueUrl=queue_url, MessageBody=events[good["key"]])
        time.sleep(3)
        again = wait_for(api, token, article, [good["key"]], timeout=10).get(good["key"], {})
        R.check("a repeated event changes nothing", again.get("processedAt") == before and again.get("status") == "processed",
                f"{before} -> {again.get('processedAt')}")
        R.check("a repeated event makes no new derived images", len(keys_under(s3, f"articles/{article}/processed/")) == 4)

        # The message that is not an event: received twice (retried after 1 s, then 2 s), then redriven.
        dead = []
        deadline = time.monotonic() + 30
        while not dead and time.monotonic() < deadline:
            dead = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
        R.check("a message that is not an event ends in the dead-letter queue",
                [m["Body"] for m in dead] == ["this is not an S3 event"], str(dead)[:300])
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        R.check("the main queue is empty (every good event deleted)",
                attributes.get("ApproximateNumberOfMessages") == "0" and attributes.get("ApproximateNumberOfMessagesNotVisible") == "0",
                str(attributes))

        import requests

        metrics = parse_metrics(requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text)
        R.check("hoist worker's /metrics: one processed, one rejected, failures counted",
                metrics.get('hoist_uploads_total{outcome="processed"}') == 1 and metrics.get('hoist_uploads_total{outcome="rejected"}') == 1
                and metrics.get("hoist_worker_failures_total", 0) >= 2, str({k: v for k, v in metrics.items() if k.startswith("hoist_")})[:600])

        rc, graceful = worker.stop(timeout=30)
        R.check("hoist worker stops on SIGTERM with status 0", graceful and rc == 0, f"rc {rc}; log: {worker.log_tail(600)!r}")
    finally:
        if worker is not None:
            worker.stop(timeout=5)
