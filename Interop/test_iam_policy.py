"""`hoist iam-policy api|worker` against the task roles of deploy/aws/hoist.yaml.

1. The command's policy equals the template's role policy, statement for statement, for the API
   and the worker, with and without a KMS key, in the `aws` and `aws-cn` partitions (the template
   read with cfn-lint's YAML decoder and resolved as test_aws_stack.py resolves it).
2. Both policies, the command's and the template's, evaluated by a small policy simulator for the
   statement shapes they use (Allow only; Action lists of exact names; Resource ARNs whose `*`
   matches any characters, `/` included, and `?` one): what each role may and may not do on keys
   of Hoist's layout.
3. Bad input gets a clear error and an exit status, never a crash.

Needs cfn-lint (Interop/requirements.txt) and the hoist binary ($HOIST_BIN); no server.
"""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from interop_common import check_binary, clean_env, run_hoist, tally  # noqa: E402
from test_aws_stack import Resolver, evaluate_conditions, load_template, parameter_values, plain  # noqa: E402

R = tally(__file__)

BUCKET = "hoist-uploads-example"
ACCOUNT = "123456789012"
QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:{BUCKET}-events"
KMS = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
SAMPLE = {"BucketName": BUCKET, "AppOrigins": "https://app.example.com",
          "ImageUri": f"{ACCOUNT}.dkr.ecr.us-east-1.amazonaws.com/hoist:1",
          "DatabaseUrlSecretArn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:hoist-db-AbCdEf",
          "VpcId": "vpc-12345678", "SubnetIds": "subnet-1,subnet-2", "ApiIngressCidr": "10.0.0.0/16",
          "OidcIssuer": "https://login.example.com", "OidcAudiences": "hoist"}
ROLES = {"api": "ApiTaskRole", "worker": "WorkerTaskRole"}

# Keys as Hoist makes them (Sources/Uploads/UploadKey.swift, Sources/ImageWorker).
ARTICLE = "3f2a9c1e-0000-4000-8000-000000000001"
UUID = "7c1d0000-0000-4000-8000-000000000002"
RAW = f"articles/{ARTICLE}/raw/{UUID}.jpg"
PROCESSED = f"articles/{ARTICLE}/processed/{UUID}/web.webp"
QUARANTINE = f"quarantine/{RAW}"


@pytest.fixture(scope="session")
def hoist_binary() -> str:
    """This module needs only `hoist iam-policy`."""
    why = check_binary("iam-policy", must_mention=("--queue-arn", "--kms-key-arn"))
    if why:
        pytest.fail(why, pytrace=False)
    return why or ""


# --- the policy simulator -------------------------------------------------------------------------

def listed(value) -> list:
    return value if isinstance(value, list) else [value]


def arn_pattern(resource: str) -> re.Pattern:
    """An IAM resource ARN as a regex: `*` any characters (`/` included), `?` one, the rest literal."""
    return re.compile("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in resource), re.DOTALL)


def shapes_understood(policy: dict) -> list[str]:
    """What in `policy` the simulator does not understand (empty: every statement is in its shapes)."""
    problems = []
    if policy.get("Version") != "2012-10-17":
        problems.append(f"Version {policy.get('Version')!r}")
    for s in listed(policy.get("Statement", [])):
        extra = set(s) - {"Sid", "Effect", "Action", "Resource"}
        if extra:
            problems.append(f"{s.get('Sid')}: keys {sorted(extra)}")
        if s.get("Effect") != "Allow":
            problems.append(f"{s.get('Sid')}: Effect {s.get('Effect')!r}")
        for action in listed(s.get("Action", [])):
            if not re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", str(action)):
                problems.append(f"{s.get('Sid')}: action {action!r} is not an exact name")
        if not listed(s.get("Resource", [])):
            problems.append(f"{s.get('Sid')}: no Resource")
    return problems


def allows(policy: dict, action: str, resource: str) -> bool:
    """Whether `policy` allows `action` on `resource`: some Allow statement names the action exactly
    and has a Resource pattern matching the whole ARN. Nothing allowed is denied (implicit deny)."""
    for s in listed(policy["Statement"]):
        if s["Effect"] != "Allow" or action not in listed(s["Action"]):
            continue
        if any(arn_pattern(r).fullmatch(resource) for r in listed(s["Resource"])):
            return True
    return False


def test_simulator_itself(checks) -> None:
    """The simulator's own rules, on a made-up policy, so that its verdicts below mean something."""
    policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "A", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/articles/*/raw/*"},
        {"Sid": "B", "Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/x?"]},
    ]}
    cases = [
        ("s3:PutObject", "arn:aws:s3:::b/articles/a/raw/x.jpg", True),
        ("s3:PutObject", "arn:aws:s3:::b/articles/a/b/c/raw/d/e.jpg", True),   # `*` spans '/'
        ("s3:PutObject", "arn:aws:s3:::b/articles//raw/", True),               # `*` matches nothing too
        ("s3:PutObject", "arn:aws:s3:::b/articles/a/processed/x", False),
        ("s3:PutObject", "arn:aws:s3:::bb/articles/a/raw/x", False),
        ("s3:PutObject", "arn:aws:s3:::b/articles/a/raw", False),
        ("s3:PutObjectAcl", "arn:aws:s3:::b/articles/a/raw/x", False),         # exact action names
        ("s3:putobject", "arn:aws:s3:::b/articles/a/raw/x", False),
        ("s3:GetObject", "arn:aws:s3:::b", True),
        ("s3:GetObject", "arn:aws:s3:::b/", False),
        ("s3:GetObject", "arn:aws:s3:::b/x1", True),                           # `?` is one character
        ("s3:GetObject", "arn:aws:s3:::b/x12", False),
        ("s3:GetObject", "arn:aws:s3:::b.x1", False),                          # '.' is literal
    ]
    for action, resource, want in cases:
        checks.check(f"simulator: {action} on {resource} -> {'allow' if want else 'deny'}", allows(policy, action, resource) == want)
    checks.check("simulator: refuses shapes it does not know (Deny, Condition, wildcard actions)",
                 len(shapes_understood({"Version": "2012-10-17", "Statement": [
                     {"Sid": "X", "Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {}}]})) == 3)


# --- the command and the template -----------------------------------------------------------------

def hoist_policy(role: str, *args: str, env: dict | None = None) -> tuple[subprocess.CompletedProcess, dict | None]:
    proc = run_hoist(["iam-policy", role, *args], env=env or clean_env(HOIST_BUCKET=None))
    try:
        return proc, json.loads(proc.stdout)
    except ValueError:
        return proc, None


def template_policy(role: str, kms: str | None, partition: str = "aws", queue: str = QUEUE) -> dict:
    t = plain(load_template())
    params = parameter_values(t, {**SAMPLE, "KmsKeyArn": kms or ""})
    conds = evaluate_conditions(t, params)

    def attr(name: str, attribute: str) -> str:
        return queue if (name, attribute) == ("EventsQueue", "Arn") else f"<{name}.{attribute}>"
    resolve = Resolver(params, conds, attr=attr, pseudo={"AWS::Partition": partition})
    return resolve(t["Resources"][ROLES[role]]["Properties"]["Policies"][0]["PolicyDocument"])


def command_args(role: str, kms: str | None, queue: str = QUEUE) -> list[str]:
    args = ["--bucket", BUCKET]
    if role == "worker":
        args += ["--queue-arn", queue]
    if kms:
        args += ["--kms-key-arn", kms]
    return args


COMBINATIONS = [(role, kms) for role in ("api", "worker") for kms in (None, KMS)]


def test_command_equals_template(checks) -> None:
    for role, kms in COMBINATIONS:
        label = f"{role}, {'SSE-KMS' if kms else 'SSE-S3'}"
        proc, got = hoist_policy(role, *command_args(role, kms))
        want = template_policy(role, kms)
        checks.check(f"iam-policy {label}: exit 0, JSON on stdout, nothing on stderr",
                     proc.returncode == 0 and got is not None and proc.stderr == "", f"rc {proc.returncode}: {proc.stderr[:500]}")
        checks.check(f"iam-policy {label}: equals {ROLES[role]}'s policy in deploy/aws/hoist.yaml",
                     got == want, f"command:  {json.dumps(got)}\ntemplate: {json.dumps(want)}")
        checks.check(f"iam-policy {label}: statement ids {[s['Sid'] for s in listed(want['Statement'])]} in the template's order",
                     got is not None and [s.get("Sid") for s in listed(got["Statement"])] == [s["Sid"] for s in listed(want["Statement"])])
        checks.check(f"iam-policy {label}: only shapes the simulator understands", not shapes_understood(got or {}) and not shapes_understood(want),
                     f"{shapes_understood(got or {})} {shapes_understood(want)}")
    # Another partition: the queue's gives the bucket's.
    cn_queue = f"arn:aws-cn:sqs:cn-north-1:{ACCOUNT}:{BUCKET}-events"
    for role in ("api", "worker"):
        args = command_args(role, None, queue=cn_queue) + (["--partition", "aws-cn"] if role == "api" else [])
        proc, got = hoist_policy(role, *args)
        want = template_policy(role, None, partition="aws-cn", queue=cn_queue)
        checks.check(f"iam-policy {role} in aws-cn: equals the template's with AWS::Partition aws-cn", got == want,
                     f"rc {proc.returncode} {proc.stderr[:300]}\ncommand:  {json.dumps(got)}\ntemplate: {json.dumps(want)}")
    # HOIST_BUCKET stands in for --bucket.
    proc, got = hoist_policy("api", env=clean_env(HOIST_BUCKET=BUCKET))
    checks.check("iam-policy api: the bucket from HOIST_BUCKET", got == template_policy("api", None), f"rc {proc.returncode} {proc.stderr[:300]}")


def arn(key: str, bucket: str = BUCKET) -> str:
    return f"arn:aws:s3:::{bucket}/{key}"


BUCKET_ARN = f"arn:aws:s3:::{BUCKET}"
OTHER_QUEUE = f"arn:aws:sqs:us-east-1:{ACCOUNT}:someone-elses-queue"
# (action, resource, allowed?) per role; KMS rows are added by the test.
EXPECTED = {
    "api": [
        ("s3:PutObject", arn(RAW), True),
        ("s3:PutObject", arn("articles/a1/raw/x.jpg"), True),
        ("s3:PutObject", arn(PROCESSED), False),
        ("s3:PutObject", arn("articles/a1/processed/x.webp"), False),
        ("s3:PutObject", arn(QUARANTINE), False),
        ("s3:PutObject", arn("other/x"), False),
        ("s3:PutObject", arn(RAW, bucket=f"{BUCKET}-logs"), False),
        ("s3:PutObject", arn(RAW, bucket="other-bucket"), False),
        ("s3:GetObject", arn(RAW), True),
        ("s3:GetObject", arn(PROCESSED), True),
        ("s3:GetObject", arn(QUARANTINE), False),
        ("s3:GetObject", arn("other/x"), False),
        ("s3:DeleteObject", arn(RAW), False),
        ("s3:DeleteObject", arn(PROCESSED), False),
        ("s3:DeleteObjectVersion", arn(RAW), False),
        ("s3:PutObjectAcl", arn(RAW), False),
        ("s3:ListBucket", BUCKET_ARN, False),
        ("s3:AbortMultipartUpload", arn(RAW), True),
        ("s3:ListMultipartUploadParts", arn(RAW), True),
        ("s3:AbortMultipartUpload", arn(PROCESSED), False),
        ("s3:PutBucketPolicy", BUCKET_ARN, False),
        ("sqs:ReceiveMessage", QUEUE, False),
        ("kms:Decrypt", KMS, False),
    ],
    "worker": [
        ("s3:GetObject", arn(RAW), True),
        ("s3:GetObject", arn(QUARANTINE), True),
        ("s3:GetObject", arn(PROCESSED), False),
        ("s3:GetObject", arn("other/x"), False),
        ("s3:PutObject", arn(PROCESSED), True),
        ("s3:PutObject", arn(QUARANTINE), True),
        ("s3:PutObject", arn(RAW), True),   # the empty marker that replaces a rejected upload
        ("s3:PutObject", arn("other/x"), False),
        ("s3:PutObject", arn("quarantine/other/x"), False),
        ("s3:PutObject", arn(PROCESSED, bucket="other-bucket"), False),
        ("s3:DeleteObject", arn(RAW), False),
        ("s3:DeleteObject", arn(PROCESSED), False),
        ("s3:DeleteObject", arn(QUARANTINE), False),
        ("s3:ListBucket", BUCKET_ARN, True),
        ("s3:ListBucket", "arn:aws:s3:::other-bucket", False),
        ("s3:ListBucketVersions", BUCKET_ARN, False),
        ("s3:AbortMultipartUpload", arn(RAW), True),
        ("s3:AbortMultipartUpload", arn(PROCESSED), False),
        ("s3:PutBucketPolicy", BUCKET_ARN, False),
        ("sqs:ReceiveMessage", QUEUE, True),
        ("sqs:DeleteMessage", QUEUE, True),
        ("sqs:ChangeMessageVisibility", QUEUE, True),
        ("sqs:GetQueueAttributes", QUEUE, True),
        ("sqs:ReceiveMessage", OTHER_QUEUE, False),
        ("sqs:SendMessage", QUEUE, False),
        ("sqs:PurgeQueue", QUEUE, False),
        ("sqs:DeleteQueue", QUEUE, False),
        ("kms:Decrypt", KMS, False),
    ],
}


def test_policies_simulated(checks) -> None:
    for role, kms in COMBINATIONS:
        label = f"{role}, {'SSE-KMS' if kms else 'SSE-S3'}"
        _, got = hoist_policy(role, *command_args(role, kms))
        policies = {"command": got, "template": template_policy(role, kms)}
        rows = [row for row in EXPECTED[role] if not (kms and row[0].startswith("kms:"))]
        if kms:
            rows += [("kms:Decrypt", KMS, True), ("kms:GenerateDataKey", KMS, True), ("kms:Encrypt", KMS, False),
                     ("kms:Decrypt", KMS.replace("1234abcd", "99999999"), False), ("kms:ScheduleKeyDeletion", KMS, False)]
        for source, policy in policies.items():
            if policy is None:
                checks.check(f"{label} ({source}): a policy to simulate", False)
                continue
            wrong = [f"{action} on {resource}: {'allowed' if not want else 'denied'}, expected {'allowed' if want else 'denied'}"
                     for action, resource, want in rows if allows(policy, action, resource) != want]
            checks.check(f"{label} ({source}): {len(rows)} requests allowed or denied as expected", not wrong, "\n".join(wrong))


# --- bad input ------------------------------------------------------------------------------------

def test_bad_input(checks) -> None:
    cases = [
        ("no bucket", ["api"], "Give the bucket with --bucket or HOIST_BUCKET"),
        ("a bucket name S3 refuses", ["api", "--bucket", "My_Bucket"], "is not an S3 bucket name"),
        ("the worker without a queue", ["worker", "--bucket", BUCKET], "--queue-arn"),
        ("a queue URL for an ARN", ["worker", "--bucket", BUCKET, "--queue-arn", f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/q"],
         "is not an SQS queue ARN"),
        ("a queue ARN with a wildcard", ["worker", "--bucket", BUCKET, "--queue-arn", f"arn:aws:sqs:us-east-1:{ACCOUNT}:*"],
         "is not an SQS queue ARN"),
        ("the API with a queue", ["api", "--bucket", BUCKET, "--queue-arn", QUEUE], "is for the worker's policy"),
        ("a KMS alias for a key", ["api", "--bucket", BUCKET, "--kms-key-arn", f"arn:aws:kms:us-east-1:{ACCOUNT}:alias/hoist"],
         "is not a key ARN"),
        ("an unknown partition", ["api", "--bucket", BUCKET, "--partition", "gcp"], "is not an AWS partition"),
        ("partitions that differ", ["worker", "--bucket", BUCKET, "--queue-arn", QUEUE, "--partition", "aws-cn"], "partition"),
        ("an unknown role", ["admin", "--bucket", BUCKET], "admin"),
    ]
    for label, args, expected in cases:
        proc = run_hoist(["iam-policy", *args], env=clean_env(HOIST_BUCKET=None))
        checks.check(f"iam-policy, {label}: exit status 64 or 1, no policy, the reason on stderr ({expected!r})",
                     proc.returncode in (1, 64) and proc.stdout == "" and expected in proc.stderr
                     and "Fatal error" not in proc.stderr,
                     f"rc {proc.returncode}\nstdout {proc.stdout[:300]!r}\nstderr {proc.stderr[:500]!r}")
