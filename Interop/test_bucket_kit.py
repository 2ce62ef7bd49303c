"""`hoist bucket setup` and `hoist bucket doctor` against `hoist store`, the Ceph Object Gateway and moto's S3 + SQS.

For each endpoint: a new bucket fails the doctor (no CORS); setup brings it to Hoist's settings and the
doctor then passes (exit 0); setup run again changes nothing. Then one misconfiguration at a time, made
through boto3 (CORS without ETag exposed, a wildcard origin, no abort rule, versioning suspended, no
default encryption, public access allowed, no event notification): the doctor reports each with its
`fix: hoist bucket setup --only X` line, exit status 1 where a browser upload needs the setting, and the
fix line's setup repairs it. What an endpoint does not support is recorded as an observed fact (INFO),
never skipped in silence. The doctor's output for a broken and a fixed bucket is printed for the
release notes.

Env: HOIST_BIN; RGW_ENDPOINT (use that gateway instead of starting one).
"""

from __future__ import annotations

import re
import secrets

from botocore.exceptions import ClientError

from interop_common import clean_env, run_hoist, tally
from store_common import Target, boto3_client

R = tally(__file__)
ORIGIN = "https://app.example.com"
FINDING = re.compile(r"^(ok|warn|FAIL)\s+([\w-]+): (.*)$")


class Endpoint:
    """An S3 endpoint, the bucket under test, and the hoist commands run against it."""

    def __init__(self, name: str, t: Target, queue_arn: str | None = None):
        self.name = name
        self.t = t
        self.s3 = boto3_client(t)
        self.queue_arn = queue_arn
        self.bucket = f"kit-{secrets.token_hex(4)}"
        self.s3.create_bucket(Bucket=self.bucket)
        self.unsupported: set[tuple[str, str]] = set()

    def hoist(self, *args: str):
        env = clean_env(AWS_ACCESS_KEY_ID=self.t.access_key, AWS_SECRET_ACCESS_KEY=self.t.secret_key,
                        HOIST_S3_ENDPOINT=self.t.endpoint, HOIST_BUCKET=self.bucket, HOIST_REGION="us-east-1",
                        HOIST_CORS_ORIGINS=ORIGIN, HOIST_URL_EXPIRY="900")
        extra = ["--queue-arn", self.queue_arn] if self.queue_arn else []
        proc = run_hoist(["bucket", *args, *extra], env=env, timeout=120)
        for line in proc.stdout.splitlines():
            m = re.match(r"^warn:?\s+([\w-]+): (.*not supported by this endpoint.*)$", line)
            if m and (m.group(1), m.group(2)) not in self.unsupported:
                self.unsupported.add((m.group(1), m.group(2)))
                R.info(f"{self.name} does not support {m.group(1)}: {m.group(2)[:200]}")
        return proc

    def setup(self, *args: str):
        return self.hoist("setup", *args)

    def doctor(self):
        proc = self.hoist("doctor")
        return proc, parse(proc.stdout)

    def cleanup(self) -> None:
        try:
            for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=self.bucket):
                objs = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
                if objs:
                    self.s3.delete_objects(Bucket=self.bucket, Delete={"Objects": objs, "Quiet": True})
            self.s3.delete_bucket(Bucket=self.bucket)
        except ClientError:
            pass


def parse(out: str) -> list[dict]:
    """The doctor's findings: status, check, detail, and the breaks/fix lines that follow."""
    findings: list[dict] = []
    for line in out.splitlines():
        m = FINDING.match(line)
        if m:
            findings.append({"status": m.group(1), "check": m.group(2), "detail": m.group(3)})
        elif line.startswith("  fix: ") and findings:
            findings[-1]["fix"] = line[len("  fix: "):]
        elif line.startswith("  breaks: ") and findings:
            findings[-1]["breaks"] = line[len("  breaks: "):]
    return findings


def shown(proc) -> str:
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-1500:]}"


def set_up_and_pass(ep: Endpoint, notes: bool = False) -> bool:
    """Doctor fails on the new bucket; setup, setup again (no change), doctor passes."""
    before, findings = ep.doctor()
    R.check(f"{ep.name}: doctor of a new bucket exits 1", before.returncode == 1, shown(before))
    R.check(f"{ep.name}: doctor of a new bucket reports missing CORS with its fix",
            any(f["status"] == "FAIL" and f["check"] == "cors" and f.get("fix", "").startswith("hoist bucket setup --only cors")
                for f in findings), shown(before))
    if notes:
        R.info(f"doctor on a new bucket ({ep.name}), exit {before.returncode}:\n" + before.stdout.rstrip())

    dry = ep.setup("--dry-run")
    R.check(f"{ep.name}: setup --dry-run exits 0 and only plans", dry.returncode == 0 and "plan: cors:" in dry.stdout
            and "set:" not in dry.stdout, shown(dry))
    still, _ = ep.doctor()
    R.check(f"{ep.name}: --dry-run changed nothing (doctor still exits 1)", still.returncode == 1, shown(still))

    first = ep.setup()
    ok = R.check(f"{ep.name}: setup exits 0", first.returncode == 0, shown(first))
    R.check(f"{ep.name}: setup sets CORS and versioning", "set: cors:" in first.stdout and "set: versioning:" in first.stdout, shown(first))
    second = ep.setup()
    R.check(f"{ep.name}: setup run twice changes nothing the second time",
            second.returncode == 0 and "set:" not in second.stdout and "ok: CORS already as wanted" in second.stdout, shown(second))
    after, findings = ep.doctor()
    ok &= R.check(f"{ep.name}: doctor passes (exit 0) after setup", after.returncode == 0
                  and not any(f["status"] == "FAIL" for f in findings), shown(after))
    for check in ("cors", "preflight", "etag-readable", "probe", "clock", "credentials", "bucket", "versioning"):
        R.check(f"{ep.name}: after setup, doctor's {check} is ok",
                any(f["check"] == check and f["status"] == "ok" for f in findings), shown(after))
    if ep.queue_arn:
        R.check(f"{ep.name}: setup points s3:ObjectCreated:* under articles/ at the queue, and doctor sees it",
                "set: notification:" in first.stdout and any(f["check"] == "notification" and f["status"] == "ok" for f in findings),
                shown(first) + "\n" + shown(after))
        R.check(f"{ep.name}: the queue's notification as S3 reads it",
                any(q.get("QueueArn") == ep.queue_arn and "s3:ObjectCreated:*" in q.get("Events", [])
                    for q in ep.s3.get_bucket_notification_configuration(Bucket=ep.bucket).get("QueueConfigurations", [])), "")
    if notes:
        R.info(f"doctor after setup ({ep.name}), exit {after.returncode}:\n" + after.stdout.rstrip())
    return ok


# Each misconfiguration: (name, the setting, whether a browser upload breaks, how to make it with boto3).
def no_etag(ep: Endpoint):
    ep.s3.put_bucket_cors(Bucket=ep.bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": [ORIGIN], "AllowedMethods": ["PUT", "POST", "GET", "HEAD"], "AllowedHeaders": ["*"], "MaxAgeSeconds": 3000}]})


def wildcard_origin(ep: Endpoint):
    ep.s3.put_bucket_cors(Bucket=ep.bucket, CORSConfiguration={"CORSRules": [{
        "AllowedOrigins": ["*"], "AllowedMethods": ["PUT", "POST", "GET", "HEAD"], "AllowedHeaders": ["*"],
        "ExposeHeaders": ["ETag", "x-amz-version-id"], "MaxAgeSeconds": 3000}]})


def no_abort_rule(ep: Endpoint):
    ep.s3.put_bucket_lifecycle_configuration(Bucket=ep.bucket, LifecycleConfiguration={"Rules": [{
        "ID": "only-quarantine", "Filter": {"Prefix": "quarantine/"}, "Status": "Enabled", "Expiration": {"Days": 30}}]})


def versioning_suspended(ep: Endpoint):
    ep.s3.put_bucket_versioning(Bucket=ep.bucket, VersioningConfiguration={"Status": "Suspended"})


def no_encryption(ep: Endpoint):
    ep.s3.delete_bucket_encryption(Bucket=ep.bucket)


def public_access_allowed(ep: Endpoint):
    ep.s3.put_public_access_block(Bucket=ep.bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})


def no_notification(ep: Endpoint):
    ep.s3.put_bucket_notification_configuration(Bucket=ep.bucket, NotificationConfiguration={})


MISCONFIGURATIONS = [
    ("CORS without ETag exposed", "cors", True, no_etag, "does not expose ETag"),
    ("wildcard origin", "cors", True, wildcard_origin, "every origin (*)"),
    ("no abort rule", "lifecycle", False, no_abort_rule, "AbortIncompleteMultipartUpload"),
    ("versioning suspended", "versioning", False, versioning_suspended, "Suspended"),
    ("no encryption", "encryption", False, no_encryption, "no default encryption"),
    ("public access allowed", "public-access", False, public_access_allowed, "off: BlockPublicAcls"),
    ("notification missing", "notification", False, no_notification, "no s3:ObjectCreated:* notification"),
]


def misconfigurations(ep: Endpoint, broken_notes: bool = False) -> None:
    for name, setting, blocking, breaker, expected in MISCONFIGURATIONS:
        try:
            breaker(ep)
        except ClientError as e:
            err = e.response.get("Error", {})
            R.info(f"{ep.name}: cannot make '{name}' through boto3: {err.get('Code')} {(err.get('Message') or '')[:160]}")
            continue
        proc, findings = ep.doctor()
        hit = [f for f in findings if f["check"] == setting and expected in f["detail"]]
        if not hit and any(f["check"] == setting and "not supported by this endpoint" in f["detail"] for f in findings):
            R.info(f"{ep.name}: '{name}' is not checked: {setting} is not supported by this endpoint")
            continue
        want_status = "FAIL" if blocking else "warn"
        R.check(f"{ep.name}: doctor reports '{name}' as {want_status}", bool(hit) and hit[0]["status"] == want_status, shown(proc))
        R.check(f"{ep.name}: doctor gives the fix for '{name}'",
                bool(hit) and hit[0].get("fix", "").startswith(f"hoist bucket setup --only {setting}"), shown(proc))
        R.check(f"{ep.name}: doctor's exit status for '{name}' is {1 if blocking else 0}", proc.returncode == (1 if blocking else 0),
                shown(proc))
        if broken_notes and name == "CORS without ETag exposed":
            R.info(f"doctor on a bucket whose CORS hides ETag ({ep.name}), exit {proc.returncode}:\n" + proc.stdout.rstrip())
        fix = ep.setup("--only", setting)
        if setting == "notification" and not ep.queue_arn:
            R.check(f"{ep.name}: without --queue-arn, setup --only notification says it skips", fix.returncode == 0
                    and "skip: notification: no --queue-arn" in fix.stdout, shown(fix))
            R.info(f"{ep.name}: notification not set up (no queue ARN given for this endpoint)")
            continue
        R.check(f"{ep.name}: setup --only {setting} repairs '{name}'", fix.returncode == 0 and f"set: {setting}:" in fix.stdout, shown(fix))
    proc, findings = ep.doctor()
    R.check(f"{ep.name}: doctor passes again after the repairs", proc.returncode == 0, shown(proc))


def exercise(ep: Endpoint, notes: bool = False) -> None:
    try:
        if set_up_and_pass(ep, notes=notes):
            misconfigurations(ep, broken_notes=notes)
        R.check(f"{ep.name}: the doctor's probe left no object behind",
                not ep.s3.list_object_versions(Bucket=ep.bucket, Prefix="hoist-doctor/").get("Versions"), "")
    finally:
        ep.cleanup()


def test_hoist_store(s3_target) -> None:
    # The store delivers to its own outbox queues, named by the ARN's last field.
    exercise(Endpoint("hoist store", s3_target, queue_arn="arn:aws:sqs:us-east-1:000000000000:hoist-events"), notes=True)


def test_radosgw(ceph) -> None:
    exercise(Endpoint("radosgw", Target(ceph.endpoint, ceph.access_key, ceph.secret_key, None, "radosgw")))


def test_moto_s3_and_sqs(moto) -> None:
    import boto3

    endpoint = f"http://127.0.0.1:{moto.port}"
    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    url = sqs.create_queue(QueueName=f"kit-events-{secrets.token_hex(3)}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    exercise(Endpoint("moto", Target(endpoint, "testing", "testing", None, "moto"), queue_arn=arn))
