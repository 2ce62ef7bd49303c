"""The AWS kit's CloudFormation template, deploy/aws/hoist.yaml, checked three ways.

1. cfn-lint (pinned in requirements.txt): no error, no warning, no informational finding, in two
   regions; and a broken copy of the template must be refused (the linter is really running).
2. The template read as data (cfn-lint's own YAML decoder, which knows !Ref, !Sub, !If …): the
   uploads bucket's CORS (the app's origins, never `*`; ETag exposed), Block Public Access, the
   lifecycle rules, the TLS-only policies, the queue policy's SourceArn and SourceAccount, the
   task roles' exact permissions (matched against real keys of Hoist's layout), CloudFront with an
   Origin Access Control and no OAI, both queues encrypted, the services' HOIST_* variables
   against the README's configuration table.
3. A deployment into moto's server (the suite's `moto` fixture: moto_server on a free port of
   127.0.0.1). moto creates only some resource types through CloudFormation: `deployable()` leaves
   out the others and everything that refers to them, and says which and why. After
   CREATE_COMPLETE the created resources are read back through boto3. moto's AWS::S3::Bucket
   applies only BucketEncryption and Tags; the bucket's other settings are then sent as the S3 API
   calls CloudFormation would make, read back, and an object PUT under articles/ must reach the
   stack's queue as an S3 event. Two stacks: an OIDC issuer with SSE-S3, and Cognito with SSE-KMS.
   What moto cannot deploy is printed and kept in the run's notes, never skipped silently.

Needs cfn-lint, boto3, moto[server] (Interop/requirements.txt); no `hoist` binary.
"""

from __future__ import annotations

import ast
import copy
import fnmatch
import json
import re
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from interop_common import REPO_ROOT, tally  # noqa: E402

R = tally(__file__)
TEMPLATE = REPO_ROOT / "deploy" / "aws" / "hoist.yaml"
README = REPO_ROOT / "README.md"
PSEUDO = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012", "AWS::Partition": "aws",
          "AWS::StackName": "hoist", "AWS::URLSuffix": "amazonaws.com"}


@pytest.fixture(scope="session")
def hoist_binary() -> None:
    """This module reads a template and talks to moto: it needs no `hoist` binary."""
    return None


def load_template() -> dict:
    from cfnlint.decode import cfn_yaml
    return cfn_yaml.load(str(TEMPLATE))


def plain(node):
    """The decoder's node types as plain dicts, lists and strings (for json and comparisons)."""
    return json.loads(json.dumps(node))


# --- conditions, references, values -----------------------------------------------------------------

def parameter_values(template: dict, given: dict) -> dict:
    values = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
    values.update({k: str(v) for k, v in given.items()})
    return values


def evaluate_conditions(template: dict, params: dict) -> dict:
    """The template's conditions for these parameter values (Equals, Not, And, Or, Condition)."""
    conditions = template.get("Conditions", {})
    done: dict[str, bool] = {}

    def value(node):
        if isinstance(node, dict) and "Ref" in node:
            return params.get(node["Ref"], PSEUDO.get(node["Ref"]))
        return node

    def ev(node) -> bool:
        (fn, arg), = node.items()
        if fn == "Fn::Equals":
            return str(value(arg[0])) == str(value(arg[1]))
        if fn == "Fn::Not":
            return not ev(arg[0])
        if fn == "Fn::And":
            return all(ev(a) for a in arg)
        if fn == "Fn::Or":
            return any(ev(a) for a in arg)
        if fn == "Condition":
            return named(arg)
        raise ValueError(f"condition function {fn} not understood")

    def named(name: str) -> bool:
        if name not in done:
            done[name] = ev(conditions[name])
        return done[name]

    for name in conditions:
        named(name)
    return done


def references(node, conds: dict) -> set[str]:
    """Names a node refers to (Ref, GetAtt, ${…} in Sub), through the taken branch of each Fn::If."""
    found: set[str] = set()
    if isinstance(node, dict):
        if len(node) == 1:
            (fn, arg), = node.items()
            if fn == "Ref":
                return {arg} if isinstance(arg, str) and not arg.startswith("AWS::") else set()
            if fn == "Fn::GetAtt":
                return {arg[0] if isinstance(arg, list) else str(arg).split(".")[0]}
            if fn == "Fn::If":
                name, yes, no = arg
                return references(yes if conds[name] else no, conds)
            if fn == "Fn::Sub":
                text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                for var in re.findall(r"\$\{([^!}][^}]*)\}", text):
                    var = var.split(".")[0]
                    if var not in names and not var.startswith("AWS::"):
                        found.add(var)
                return found | references(names, conds)
        for value in node.values():
            found |= references(value, conds)
    elif isinstance(node, list):
        for value in node:
            found |= references(value, conds)
    return found


class Resolver:
    """Evaluates intrinsic functions to values: parameters, pseudo parameters, and resources through
    `ref(name)` / `attr(name, attribute)`."""

    def __init__(self, params: dict, conds: dict, ref=None, attr=None, pseudo: dict | None = None):
        self.params, self.conds = params, conds
        self.ref = ref or (lambda name: f"<{name}>")
        self.attr = attr or (lambda name, a: f"<{name}.{a}>")
        self.pseudo = {**PSEUDO, **(pseudo or {})}

    def lookup(self, name: str):
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.params:
            return self.params[name]
        return self.ref(name)

    def __call__(self, node):
        if isinstance(node, dict):
            if len(node) == 1:
                (fn, arg), = node.items()
                if fn == "Ref":
                    return None if arg == "AWS::NoValue" else self.lookup(arg)
                if fn == "Fn::GetAtt":
                    name, a = (arg[0], arg[1]) if isinstance(arg, list) else str(arg).split(".", 1)
                    return self.attr(name, a)
                if fn == "Fn::If":
                    name, yes, no = arg
                    return self(yes if self.conds[name] else no)
                if fn == "Fn::Split":
                    return str(self(arg[1])).split(arg[0])
                if fn == "Fn::Join":
                    return arg[0].join(str(self(v)) for v in arg[1])
                if fn == "Fn::Sub":
                    text, names = (arg, {}) if isinstance(arg, str) else (arg[0], arg[1])
                    local = {k: self(v) for k, v in names.items()}

                    def sub(m):
                        var = m.group(1)
                        if var in local:
                            return str(local[var])
                        if "." in var and var.split(".")[0] not in self.params:
                            name, a = var.split(".", 1)
                            return str(self.attr(name, a))
                        return str(self.lookup(var))
                    return re.sub(r"\$\{([^!}][^}]*)\}", sub, text)
            out = {}
            for k, v in node.items():
                v = self(v)
                if v is not None:
                    out[k] = v
            return out
        if isinstance(node, list):
            return [v for v in (self(x) for x in node) if v is not None]
        return node


def deployable(template: dict, supported: set[str], params: dict, moto_version: str) -> tuple[dict, dict[str, str]]:
    """The template less the resources moto cannot create and everything that refers to them.

    Returns the reduced template and, for each resource left out, why. A DependsOn on a resource left
    out is only ordering: it is removed, not followed. Outputs that refer to a resource left out go.
    """
    t = copy.deepcopy(plain(template))
    conds = evaluate_conditions(t, params)
    resources = t["Resources"]
    left_out: dict[str, str] = {}
    for name, r in resources.items():
        if r["Type"] not in supported:
            left_out[name] = f"moto {moto_version} has no CloudFormation model for {r['Type']}"
    changed = True
    while changed:
        changed = False
        for name, r in resources.items():
            if name in left_out or (r.get("Condition") and not conds[r["Condition"]]):
                continue
            gone = sorted(references({k: v for k, v in r.items() if k != "DependsOn"}, conds) & set(left_out))
            if gone:
                left_out[name] = f"refers to {', '.join(gone)}, left out"
                changed = True
    for name in left_out:
        del resources[name]
    for name, r in resources.items():
        if "DependsOn" in r:
            deps = [r["DependsOn"]] if isinstance(r["DependsOn"], str) else r["DependsOn"]
            kept = [d for d in deps if d not in left_out]
            if kept != deps:
                print(f"moto: {name}: DependsOn {sorted(set(deps) - set(kept))} removed (left out; ordering only)")
            if kept:
                r["DependsOn"] = kept
            else:
                del r["DependsOn"]
    outputs = t.get("Outputs", {})
    for name in list(outputs):
        if references(outputs[name], conds) & set(left_out):
            del outputs[name]
    return t, left_out


# --- 1. cfn-lint ------------------------------------------------------------------------------------------

def cfn_lint(path: Path, *extra: str) -> tuple[int, list[dict], str]:
    """cfn-lint (this Python's) on one file: exit status, findings (JSON), stderr."""
    cmd = [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
           str(path), "--format", "json", "--include-checks", "I", *extra]
    proc = subprocess.run(cmd, capture_output=True, encoding="utf-8", errors="replace", timeout=300)
    try:
        findings = json.loads(proc.stdout or "[]")
    except ValueError:
        findings = [{"Level": "Unparsed", "Message": proc.stdout[:2000]}]
    return proc.returncode, findings, proc.stderr


def describe(findings: list[dict]) -> str:
    return "\n".join(f"{f.get('Level')} {f.get('Rule', {}).get('Id')} line {f.get('Location', {}).get('Start', {}).get('LineNumber')}: "
                     f"{f.get('Message')}" for f in findings)[:4000]


def test_cfn_lint(checks, tmp_path) -> None:
    try:
        import cfnlint.version
        version = cfnlint.version.__version__
    except ImportError as exc:
        checks.check("cfn-lint is installed (pip install -r Interop/requirements.txt)", False, str(exc))
        return
    checks.info(f"cfn-lint {version} on {TEMPLATE.relative_to(REPO_ROOT)}")
    rc, findings, err = cfn_lint(TEMPLATE, "--regions", "us-east-1", "eu-west-1")
    by_level = {level: [f for f in findings if f.get("Level") == level] for level in ("Error", "Warning", "Informational")}
    checks.check("cfn-lint: no errors", not by_level["Error"], describe(by_level["Error"]))
    checks.check("cfn-lint: no warnings", not by_level["Warning"], describe(by_level["Warning"]))
    checks.check("cfn-lint: no informational findings", not by_level["Informational"], describe(by_level["Informational"]))
    checks.check("cfn-lint exits 0, output understood", rc == 0 and all(f.get("Level") in by_level for f in findings),
                 f"exit {rc}; {describe(findings)}; stderr {err[-1500:]}")

    # The linter must be live: a copy with a property of the wrong type and a Ref to nothing is refused.
    text = TEMPLATE.read_text(encoding="utf-8")
    broken = text.replace("MaxAge: 3000", "MaxAge: three-thousand", 1).replace(
        "Queue: !GetAtt EventsQueue.Arn", "Queue: !GetAtt NoSuchQueue.Arn", 1)
    bad = tmp_path / "broken.yaml"
    bad.write_text(broken, encoding="utf-8")
    rc, findings, _ = cfn_lint(bad)
    errors = {f.get("Rule", {}).get("Id") for f in findings if f.get("Level") == "Error"}
    checks.check("cfn-lint refuses a broken copy (a string MaxAge, a GetAtt of no resource)",
                 broken != text and rc != 0 and len(errors) >= 2, f"exit {rc}, rules {sorted(errors)}")


# --- 2. the template as data ---------------------------------------------------------------------------

SAMPLE = {"BucketName": "hoist-uploads-example", "AppOrigins": "https://app.example.com",
          "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/hoist:1",
          "DatabaseUrlSecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:hoist-db-AbCdEf",
          "VpcId": "vpc-12345678", "SubnetIds": "subnet-1,subnet-2", "ApiIngressCidr": "10.0.0.0/16",
          "OidcIssuer": "https://login.example.com", "OidcAudiences": "hoist"}
KMS = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
# Keys as Hoist makes them (Sources/Uploads/UploadKey.swift, Sources/ImageWorker).
RAW = "articles/3f2a9c1e-0000-4000-8000-000000000001/raw/7c1d0000-0000-4000-8000-000000000002.png"
PROCESSED = "articles/3f2a9c1e-0000-4000-8000-000000000001/processed/7c1d0000-0000-4000-8000-000000000002/web.webp"
QUARANTINE = "quarantine/" + RAW


def statements(policy: dict) -> list[dict]:
    s = policy["Statement"]
    return s if isinstance(s, list) else [s]


def listed(value) -> list:
    return value if isinstance(value, list) else [value]


def allowed(stmts: list[dict], action: str, arn: str) -> bool:
    """Whether Allow statements (no Deny here) grant `action` on `arn` (IAM wildcards: * spans '/')."""
    return any(s["Effect"] == "Allow" and action in listed(s["Action"])
               and any(fnmatch.fnmatchcase(arn, r) for r in listed(s["Resource"])) for s in stmts)


def readme_variables() -> dict[str, str]:
    """HOIST_* variables of the README's configuration table, with their defaults."""
    found = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `HOIST_"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            for name in re.findall(r"`(HOIST_[A-Z0-9_]+)`", cells[0]):
                found[name] = cells[1].strip("`")
    return found


def role_policy(template: dict, role: str, resolve: Resolver) -> list[dict]:
    return statements(resolve(template["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]))


def test_template_structure(checks) -> None:
    t = plain(load_template())
    res = t["Resources"]
    types = {name: r["Type"] for name, r in res.items()}
    params = parameter_values(t, SAMPLE)
    conds = evaluate_conditions(t, params)
    resolve = Resolver(params, conds)
    bucket = res["UploadsBucket"]["Properties"]
    b = resolve(bucket)

    # CORS: the app's origins only.
    rules = b["CorsConfiguration"]["CorsRules"]
    pattern = t["Parameters"]["AppOrigins"]["AllowedPattern"]
    checks.check("CORS: one rule, origins from AppOrigins (split), never '*'",
                 len(rules) == 1 and bucket["CorsConfiguration"]["CorsRules"][0]["AllowedOrigins"] == {"Fn::Split": [",", {"Ref": "AppOrigins"}]}
                 and rules[0]["AllowedOrigins"] == ["https://app.example.com"] and "*" not in json.dumps(rules[0]["AllowedOrigins"]))
    checks.check("AppOrigins refuses '*' and 'https://*.example.com', takes two origins",
                 re.fullmatch(pattern, "*") is None and re.fullmatch(pattern, "https://*.example.com") is None
                 and re.fullmatch(pattern, "https://app.example.com,http://localhost:3000") is not None, pattern)
    checks.check("CORS: PUT POST GET HEAD; exposes ETag and x-amz-version-id; MaxAge 3000",
                 sorted(rules[0]["AllowedMethods"]) == ["GET", "HEAD", "POST", "PUT"]
                 and rules[0]["ExposedHeaders"] == ["ETag", "x-amz-version-id"] and rules[0]["MaxAge"] == 3000, str(rules[0]))
    headers = [h.lower() for h in rules[0]["AllowedHeaders"]]
    checks.check("CORS: allows the headers a pre-signed PUT binds (content-type, content-length, if-none-match, x-amz-*), not '*'",
                 all(any(fnmatch.fnmatchcase(h, a) for a in headers)
                     for h in ("content-type", "content-length", "if-none-match", "x-amz-checksum-sha256"))
                 and "*" not in headers, str(headers))

    # Every bucket: Block Public Access all four, owner-enforced, encrypted.
    buckets = [n for n, ty in types.items() if ty == "AWS::S3::Bucket"]
    bpa = ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")
    for name in buckets:
        p = res[name]["Properties"]
        checks.check(f"{name}: Block Public Access, all four true",
                     all(p.get("PublicAccessBlockConfiguration", {}).get(k) is True for k in bpa), str(p.get("PublicAccessBlockConfiguration")))
        checks.check(f"{name}: ObjectOwnership BucketOwnerEnforced (no ACLs)",
                     p.get("OwnershipControls", {}).get("Rules") == [{"ObjectOwnership": "BucketOwnerEnforced"}])
        checks.check(f"{name}: default encryption", bool(p.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration")))
    checks.check("uploads bucket: versioning Enabled; named from BucketName", b["VersioningConfiguration"] == {"Status": "Enabled"}
                 and bucket["BucketName"] == {"Ref": "BucketName"})
    sse = b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    kms_params = parameter_values(t, {**SAMPLE, "KmsKeyArn": KMS})
    kms_conds = evaluate_conditions(t, kms_params)
    sse_kms = Resolver(kms_params, kms_conds)(bucket)["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    checks.check("uploads bucket: SSE-S3 without KmsKeyArn, SSE-KMS (bucket key) with it",
                 sse == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                 and sse_kms == {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": KMS}, "BucketKeyEnabled": True},
                 f"{sse} / {sse_kms}")

    # Lifecycle.
    lifecycle = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    abort = [r for r in lifecycle.values() if "AbortIncompleteMultipartUpload" in r]
    checks.check("lifecycle: incomplete multipart uploads aborted after 1 day, whole bucket",
                 len(abort) == 1 and abort[0]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
                 and "Prefix" not in abort[0] and abort[0]["Status"] == "Enabled", str(abort))
    noncurrent = [r for r in lifecycle.values() if "NoncurrentVersionExpiration" in r]
    checks.check("lifecycle: noncurrent versions expire after RetentionDays",
                 len(noncurrent) == 1 and noncurrent[0]["NoncurrentVersionExpiration"] == {"NoncurrentDays": {"Ref": "RetentionDays"}}, str(noncurrent))
    quarantine = [r for r in lifecycle.values() if r.get("Prefix") == "quarantine/"]
    checks.check("lifecycle: quarantine/ expires after RetentionDays, nothing else expires",
                 len(quarantine) == 1 and quarantine[0].get("ExpirationInDays") == {"Ref": "RetentionDays"}
                 and [r for r in lifecycle.values() if "ExpirationInDays" in r] == quarantine, str(lifecycle))

    # Access logs and events.
    checks.check("uploads bucket: access logs to the log bucket",
                 bucket["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "LogBucket"})
    qc = bucket["NotificationConfiguration"]["QueueConfigurations"]
    checks.check("uploads bucket: s3:ObjectCreated:* under articles/ to the events queue",
                 len(qc) == 1 and qc[0]["Event"] == "s3:ObjectCreated:*" and qc[0]["Queue"] == {"Fn::GetAtt": ["EventsQueue", "Arn"]}
                 and qc[0]["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "articles/"}], str(qc))
    checks.check("uploads bucket: DependsOn the queue policy", "EventsQueuePolicy" in listed(res["UploadsBucket"].get("DependsOn", [])))

    # Bucket policies.
    bp = statements(resolve(res["UploadsBucketPolicy"]["Properties"]["PolicyDocument"]))
    arn = "arn:aws:s3:::hoist-uploads-example"
    tls = [s for s in bp if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}]
    checks.check("bucket policy: denies s3:* without TLS, on the bucket and its objects",
                 len(tls) == 1 and tls[0]["Principal"] == "*" and tls[0]["Action"] == "s3:*"
                 and sorted(tls[0]["Resource"]) == sorted(["<UploadsBucket.Arn>", "<UploadsBucket.Arn>/*"]), str(tls))
    cf = [s for s in bp if s["Effect"] == "Allow"]
    checks.check("bucket policy: CloudFront (this distribution, by AWS:SourceArn) may GetObject on articles/*/processed/* only",
                 len(cf) == 1 and cf[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"} and cf[0]["Action"] == "s3:GetObject"
                 and cf[0]["Resource"] == "<UploadsBucket.Arn>/articles/*/processed/*"
                 and cf[0]["Condition"] == {"StringEquals": {"AWS:SourceArn": "arn:aws:cloudfront::123456789012:distribution/<Distribution>"}}, str(cf))
    cf_grants = [{**s, "Resource": [r.replace("<UploadsBucket.Arn>", arn) for r in listed(s["Resource"])]} for s in cf]
    checks.check("bucket policy: CloudFront reaches a derived image, not a raw upload nor quarantine",
                 allowed(cf_grants, "s3:GetObject", f"{arn}/{PROCESSED}") and not allowed(cf_grants, "s3:GetObject", f"{arn}/{RAW}")
                 and not allowed(cf_grants, "s3:GetObject", f"{arn}/{QUARANTINE}"))
    lp = statements(resolve(res["LogBucketPolicy"]["Properties"]["PolicyDocument"]))
    logging_stmt = [s for s in lp if s.get("Principal") == {"Service": "logging.s3.amazonaws.com"}]
    checks.check("log bucket policy: logging.s3.amazonaws.com may PutObject, only for the uploads bucket of this account",
                 len(logging_stmt) == 1 and logging_stmt[0]["Action"] == "s3:PutObject"
                 and logging_stmt[0]["Condition"] == {"ArnLike": {"aws:SourceArn": arn}, "StringEquals": {"aws:SourceAccount": "123456789012"}},
                 str(logging_stmt))
    checks.check("log bucket: TLS only, logs expire", any(s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}} for s in lp)
                 and any("ExpirationInDays" in r for r in res["LogBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]))

    # Queues.
    queues = [n for n, ty in types.items() if ty == "AWS::SQS::Queue"]
    checks.check("two queues, both encrypted (SSE-SQS or KMS)", len(queues) == 2 and all(
        res[q]["Properties"].get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in res[q]["Properties"] for q in queues), str(queues))
    q = res["EventsQueue"]["Properties"]
    defaults = readme_variables()
    checks.check("events queue: redrive to the dead-letter queue after HOIST_WORKER_MAX_RECEIVES (5) receives",
                 q["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": ["EventsDeadLetterQueue", "Arn"]}, "maxReceiveCount": 5}
                 and defaults.get("HOIST_WORKER_MAX_RECEIVES") == "5", str(q["RedrivePolicy"]))
    checks.check("events queue: visibility timeout = HOIST_WORKER_VISIBILITY_TIMEOUT's default (60)",
                 q["VisibilityTimeout"] == 60 and defaults.get("HOIST_WORKER_VISIBILITY_TIMEOUT") == "60")
    qp = statements(resolve(res["EventsQueuePolicy"]["Properties"]["PolicyDocument"]))
    send = [s for s in qp if s["Effect"] == "Allow"]
    checks.check("queue policy: s3.amazonaws.com may SendMessage, bound by aws:SourceArn (the bucket) and aws:SourceAccount",
                 len(send) == 1 and send[0]["Principal"] == {"Service": "s3.amazonaws.com"} and send[0]["Action"] == "sqs:SendMessage"
                 and send[0]["Condition"] == {"ArnEquals": {"aws:SourceArn": arn}, "StringEquals": {"aws:SourceAccount": "123456789012"}}, str(send))
    checks.check("queue policy: names the bucket's ARN without referring to the bucket (no cycle)",
                 "UploadsBucket" not in references(res["EventsQueuePolicy"], conds))

    # CloudFront.
    checks.check("CloudFront: an Origin Access Control (s3, sigv4, always), no Origin Access Identity",
                 "AWS::CloudFront::CloudFrontOriginAccessIdentity" not in types.values()
                 and res["OriginAccessControl"]["Properties"]["OriginAccessControlConfig"].get("SigningProtocol") == "sigv4"
                 and res["OriginAccessControl"]["Properties"]["OriginAccessControlConfig"].get("SigningBehavior") == "always"
                 and res["OriginAccessControl"]["Properties"]["OriginAccessControlConfig"].get("OriginAccessControlOriginType") == "s3")
    dc = res["Distribution"]["Properties"]["DistributionConfig"]
    origin = dc["Origins"][0]
    checks.check("CloudFront: its one origin is the bucket through the OAC (OriginAccessIdentity empty)",
                 len(dc["Origins"]) == 1 and origin["OriginAccessControlId"] == {"Fn::GetAtt": ["OriginAccessControl", "Id"]}
                 and origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
                 and origin["DomainName"] == {"Fn::GetAtt": ["UploadsBucket", "RegionalDomainName"]}, str(origin))
    behaviours = dc.get("CacheBehaviors", [])
    checks.check("CloudFront: one cache behaviour, articles/*/processed/*, HTTPS, GET/HEAD",
                 [x["PathPattern"] for x in behaviours] == ["articles/*/processed/*"]
                 and fnmatch.fnmatchcase(PROCESSED, behaviours[0]["PathPattern"]) and not fnmatch.fnmatchcase(RAW, behaviours[0]["PathPattern"])
                 and behaviours[0]["ViewerProtocolPolicy"] in ("https-only", "redirect-to-https")
                 and sorted(behaviours[0]["AllowedMethods"]) == ["GET", "HEAD"], str(behaviours))
    default = dc["DefaultCacheBehavior"]
    fn_code = res["DenyOtherPathsFunction"]["Properties"]["FunctionCode"]
    checks.check("CloudFront: the default behaviour answers 403 at the edge (a viewer-request function that returns 403)",
                 default.get("FunctionAssociations") == [{"EventType": "viewer-request",
                                                         "FunctionARN": {"Fn::GetAtt": ["DenyOtherPathsFunction", "FunctionMetadata.FunctionARN"]}}]
                 and "statusCode: 403" in fn_code and "request" not in fn_code.split("return")[1], fn_code)

    # Task roles: exactly what each process calls.
    api = role_policy(t, "ApiTaskRole", resolve)
    s3_api = [s for s in api if any(a.startswith("s3:") for a in listed(s["Action"]))]
    checks.check("API role: s3:PutObject on articles/*/raw/*, s3:GetObject on articles/*, listing and aborting multipart "
                 "uploads of raw keys, nothing else",
                 sorted((tuple(sorted(listed(s["Action"]))), tuple(listed(s["Resource"]))) for s in s3_api) == [
                     (("s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"), (f"{arn}/articles/*/raw/*",)),
                     (("s3:GetObject",), (f"{arn}/articles/*",)), (("s3:PutObject",), (f"{arn}/articles/*/raw/*",))]
                 and len(api) == len(s3_api), json.dumps(api))
    checks.check("API role: a URL can PUT a raw upload and GET a derived image; not PUT a derived image, nor GET quarantine/",
                 allowed(api, "s3:PutObject", f"{arn}/{RAW}") and allowed(api, "s3:GetObject", f"{arn}/{PROCESSED}")
                 and not allowed(api, "s3:PutObject", f"{arn}/{PROCESSED}") and not allowed(api, "s3:GetObject", f"{arn}/{QUARANTINE}")
                 and not allowed(api, "s3:PutObject", f"{arn}/{QUARANTINE}"))
    worker = role_policy(t, "WorkerTaskRole", resolve)
    worker_actions = sorted({a for s in worker for a in listed(s["Action"])})
    checks.check("worker role: the S3 and SQS actions `hoist worker` calls, no DeleteObject, no wildcard action",
                 worker_actions == ["s3:AbortMultipartUpload", "s3:GetObject", "s3:ListBucket", "s3:PutObject", "sqs:ChangeMessageVisibility",
                                    "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"], str(worker_actions))
    checks.check("worker role: reads raw and quarantine/, writes processed/, quarantine/ and the raw key's marker; no GET of processed/",
                 allowed(worker, "s3:GetObject", f"{arn}/{RAW}") and allowed(worker, "s3:GetObject", f"{arn}/{QUARANTINE}")
                 and allowed(worker, "s3:PutObject", f"{arn}/{PROCESSED}") and allowed(worker, "s3:PutObject", f"{arn}/{QUARANTINE}")
                 and allowed(worker, "s3:PutObject", f"{arn}/{RAW}") and not allowed(worker, "s3:GetObject", f"{arn}/{PROCESSED}")
                 and not allowed(worker, "s3:PutObject", f"{arn}/other/key"))
    sqs_stmt = [s for s in worker if any(a.startswith("sqs:") for a in listed(s["Action"]))]
    checks.check("worker role: SQS actions on its queue only", len(sqs_stmt) == 1 and sqs_stmt[0]["Resource"] == "<EventsQueue.Arn>", str(sqs_stmt))
    kms_resolve = Resolver(kms_params, kms_conds)
    kms_api = [s for s in role_policy(t, "ApiTaskRole", kms_resolve) if any(a.startswith("kms:") for a in listed(s["Action"]))]
    kms_worker = [s for s in role_policy(t, "WorkerTaskRole", kms_resolve) if any(a.startswith("kms:") for a in listed(s["Action"]))]
    checks.check("task roles: kms:GenerateDataKey and kms:Decrypt on the key only when KmsKeyArn is given",
                 not [s for s in api + worker if any(a.startswith("kms:") for a in listed(s["Action"]))]
                 and all(len(k) == 1 and sorted(k[0]["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"] and k[0]["Resource"] == KMS
                         for k in (kms_api, kms_worker)), f"{kms_api} {kms_worker}")
    execution = role_policy(t, "TaskExecutionRole", resolve)
    secret = [s for s in execution if any(a.startswith("secretsmanager:") for a in listed(s["Action"]))]
    checks.check("task execution role: secretsmanager:GetSecretValue on the database URL secret only",
                 len(secret) == 1 and listed(secret[0]["Action"]) == ["secretsmanager:GetSecretValue"]
                 and secret[0]["Resource"] == SAMPLE["DatabaseUrlSecretArn"], str(secret))
    for role in ("ApiTaskRole", "WorkerTaskRole"):
        trust = statements(res[role]["Properties"]["AssumeRolePolicyDocument"])
        checks.check(f"{role}: assumed by ecs-tasks.amazonaws.com of this account only",
                     len(trust) == 1 and trust[0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
                     and "aws:SourceAccount" in trust[0].get("Condition", {}).get("StringEquals", {}))

    # The services: one image, `hoist api` and `hoist worker`, variables the README documents.
    known = set(readme_variables())
    for name, command in (("ApiTaskDefinition", "api"), ("WorkerTaskDefinition", "worker")):
        for variant, given in (("OIDC", SAMPLE), ("Cognito", {**SAMPLE, "OidcIssuer": "", "OidcAudiences": ""})):
            p = parameter_values(t, given)
            c = Resolver(p, evaluate_conditions(t, p))(res[name]["Properties"])["ContainerDefinitions"][0]
            env = {e["Name"]: e["Value"] for e in c.get("Environment", [])}
            secrets = {s["Name"]: s["ValueFrom"] for s in c.get("Secrets", [])}
            unknown = sorted(set(env) - known)
            ok = (c["Image"] == SAMPLE["ImageUri"] and c["Command"] == [command] and not unknown
                  and env["HOIST_BUCKET"] == SAMPLE["BucketName"] and env["HOIST_REGION"] == "us-east-1"
                  and secrets == {"HOIST_DATABASE_URL": SAMPLE["DatabaseUrlSecretArn"]} and "HOIST_DATABASE_URL" not in env)
            if command == "api":
                auth = ({"HOIST_AUTH": "oidc", "HOIST_OIDC_ISSUER": "https://login.example.com", "HOIST_OIDC_AUDIENCES": "hoist"}
                        if variant == "OIDC" else
                        {"HOIST_AUTH": "cognito", "HOIST_COGNITO_REGION": "us-east-1", "HOIST_COGNITO_USER_POOL_ID": "<UserPool>",
                         "HOIST_COGNITO_CLIENT_IDS": "<UserPoolClient>"})
                ok = ok and {k: v for k, v in env.items() if "AUTH" in k or "OIDC" in k or "COGNITO" in k} == auth \
                    and env.get("HOIST_CORS_ORIGINS") == SAMPLE["AppOrigins"] and env.get("HOIST_API_HOST") == "0.0.0.0"
            else:
                ok = ok and env.get("HOIST_SQS_QUEUE_URL") == "<EventsQueue>" and not any("AUTH" in k for k in env)
            checks.check(f"{name} ({variant}): `hoist {command}`, the image, README variables only, HOIST_DATABASE_URL from the secret",
                         ok, f"unknown {unknown}; env {env}; secrets {secrets}; command {c.get('Command')}")
        lg = res[name]["Properties"]["ContainerDefinitions"][0]["LogConfiguration"]
        group = lg["Options"]["awslogs-group"]["Ref"]
        checks.check(f"{name}: awslogs to a log group with a retention", lg["LogDriver"] == "awslogs"
                     and res[group]["Properties"].get("RetentionInDays") == {"Ref": "LogRetentionDays"})
    checks.check("Cognito user pool and client exist only without OidcIssuer",
                 res["UserPool"].get("Condition") == "CreateUserPool" and res["UserPoolClient"].get("Condition") == "CreateUserPool"
                 and t["Conditions"]["CreateUserPool"] == {"Fn::Equals": [{"Ref": "OidcIssuer"}, ""]}
                 and res["UserPoolClient"]["Properties"].get("GenerateSecret") is False)
    outputs = t["Outputs"]
    checks.check("outputs: bucket, queue URL, distribution domain, role ARNs",
                 all(k in outputs for k in ("BucketName", "QueueUrl", "DistributionDomainName", "ApiTaskRoleArn",
                                            "WorkerTaskRoleArn", "TaskExecutionRoleArn")), str(sorted(outputs)))


# --- 3. moto ---------------------------------------------------------------------------------------------------

def moto_clients(port: int) -> dict:
    import boto3
    kw = dict(endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
              aws_access_key_id="testing", aws_secret_access_key="testing")
    return {name: boto3.client(name, **kw) for name in ("cloudformation", "s3", "sqs", "iam", "ecs", "logs", "ec2",
                                                        "kms", "secretsmanager", "sts")}


def wait_for_stack(cfn, name: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        if not stack["StackStatus"].endswith("_IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.5)


def api_calls_for_bucket(props: dict) -> dict:
    """The S3 API configuration CloudFormation sets from an AWS::S3::Bucket's (resolved) properties."""
    lifecycle = []
    for r in props["LifecycleConfiguration"]["Rules"]:
        rule = {"ID": r["Id"], "Status": r["Status"], "Filter": {"Prefix": r.get("Prefix", "")}}
        if "AbortIncompleteMultipartUpload" in r:
            rule["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(r["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])}
        if "NoncurrentVersionExpiration" in r:
            rule["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(r["NoncurrentVersionExpiration"]["NoncurrentDays"])}
        if "ExpirationInDays" in r:
            rule["Expiration"] = {"Days": int(r["ExpirationInDays"])}
        if "ExpiredObjectDeleteMarker" in r:
            rule["Expiration"] = {"ExpiredObjectDeleteMarker": bool(r["ExpiredObjectDeleteMarker"])}
        lifecycle.append(rule)
    cors = [{"ID": c["Id"], "AllowedOrigins": c["AllowedOrigins"], "AllowedMethods": c["AllowedMethods"],
             "AllowedHeaders": c["AllowedHeaders"], "ExposeHeaders": c["ExposedHeaders"], "MaxAgeSeconds": int(c["MaxAge"])}
            for c in props["CorsConfiguration"]["CorsRules"]]
    queues = [{"QueueArn": q["Queue"], "Events": [q["Event"]],
               "Filter": {"Key": {"FilterRules": q["Filter"]["S3Key"]["Rules"]}}}
              for q in props["NotificationConfiguration"]["QueueConfigurations"]]
    return {"versioning": {"Status": props["VersioningConfiguration"]["Status"]},
            "cors": {"CORSRules": cors}, "lifecycle": {"Rules": lifecycle},
            "public_access_block": props["PublicAccessBlockConfiguration"],
            "ownership": {"Rules": props["OwnershipControls"]["Rules"]},
            "logging": {"LoggingEnabled": {"TargetBucket": props["LoggingConfiguration"]["DestinationBucketName"],
                                           "TargetPrefix": props["LoggingConfiguration"]["LogFilePrefix"]}},
            "notification": {"QueueConfigurations": queues}}


def note(checks, text: str) -> None:
    """An observed fact about moto, in the run's notes once."""
    if text not in checks.notes:
        checks.info(text)


def without_novalue(checks, items: list) -> list:
    """A list moto made from the template, without the nulls it leaves for AWS::NoValue."""
    if any(i is None for i in items):
        note(checks, "moto's CloudFormation keeps AWS::NoValue as null in a list (CloudFormation drops it); compared without it")
    return [i for i in items if i is not None]


def moto_policy(checks, stack: str, doc) -> dict:
    """A role policy as moto gives it back: a JSON string, a dict, or (from CloudFormation) the str() of a
    dict, with a null where the template's Fn::If chose AWS::NoValue in the statement list."""
    if isinstance(doc, str):
        try:
            doc = json.loads(doc)
        except ValueError:
            doc = ast.literal_eval(doc)
            note(checks, "moto's CloudFormation stores an inline role policy as Python's str() of the document")
    return {**doc, "Statement": without_novalue(checks, listed(doc.get("Statement", [])))}


def deploy_and_check(checks, c: dict, supported: set[str], moto_version: str, stack: str, given: dict) -> None:
    """One stack into moto: the deployable subset, then every created resource read back."""
    template = load_template()
    params = parameter_values(template, given)
    conds = evaluate_conditions(template, params)
    subset, left_out = deployable(template, supported, params, moto_version)
    for name, why in left_out.items():
        print(f"moto ({stack}): left out {name} ({template['Resources'][name]['Type']}): {why}")
    unsupported = sorted({template["Resources"][n]["Type"] for n, why in left_out.items() if why.startswith("moto ")})
    checks.info(f"{stack}: moto {moto_version} cannot create {', '.join(unsupported)}; left out with what refers to them: "
                f"{', '.join(sorted(left_out))}")
    expected = sorted(n for n, r in subset["Resources"].items() if not r.get("Condition") or conds[r["Condition"]])
    cfn = c["cloudformation"]
    try:
        cfn.create_stack(StackName=stack, TemplateBody=json.dumps(subset),
                         Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in given.items()],
                         Capabilities=["CAPABILITY_IAM"])
        status = wait_for_stack(cfn, stack)
    except Exception as exc:  # noqa: BLE001 - the failure is the check's detail
        checks.check(f"{stack}: moto accepts the deployable subset", False, f"{type(exc).__name__}: {exc}")
        return
    events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    if not checks.check(f"{stack}: CREATE_COMPLETE", status["StackStatus"] == "CREATE_COMPLETE",
                        f"{status['StackStatus']} {status.get('StackStatusReason')}; "
                        + "; ".join(f"{e['LogicalResourceId']} {e['ResourceStatus']} {e.get('ResourceStatusReason', '')}" for e in events[:10])):
        return
    created = {r["LogicalResourceId"]: r for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]}
    checks.check(f"{stack}: every resource of the subset created ({len(expected)})", sorted(created) == expected,
                 f"missing {sorted(set(expected) - set(created))}, extra {sorted(set(created) - set(expected))}")
    physical = {name: r["PhysicalResourceId"] for name, r in created.items()}
    outputs = {o["OutputKey"]: o["OutputValue"] for o in status.get("Outputs", [])}
    checks.check(f"{stack}: outputs bucket name and queue URL",
                 outputs.get("BucketName") == given["BucketName"] and outputs.get("QueueUrl", "").endswith(f"/{given['BucketName']}-events"),
                 str(outputs))

    s3, sqs = c["s3"], c["sqs"]
    bucket = given["BucketName"]
    # Queues.
    queue_url = sqs.get_queue_url(QueueName=f"{bucket}-events")["QueueUrl"]
    dlq_url = sqs.get_queue_url(QueueName=f"{bucket}-events-dlq")["QueueUrl"]
    qa = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    da = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["All"])["Attributes"]
    redrive = json.loads(qa.get("RedrivePolicy", "{}"))
    checks.check(f"{stack}: queue and dead-letter queue, redrive after 5 receives",
                 redrive.get("deadLetterTargetArn") == da["QueueArn"] and int(redrive.get("maxReceiveCount", 0)) == 5, str(redrive))
    checks.check(f"{stack}: queue visibility timeout 60 s, long polling 20 s",
                 qa.get("VisibilityTimeout") == "60" and qa.get("ReceiveMessageWaitTimeSeconds") == "20", str(qa))
    checks.check(f"{stack}: both queues SSE-SQS", qa.get("SqsManagedSseEnabled") == "true" and da.get("SqsManagedSseEnabled") == "true",
                 f"{qa.get('SqsManagedSseEnabled')} {da.get('SqsManagedSseEnabled')}")
    checks.check(f"{stack}: dead-letter queue keeps messages 14 days", da.get("MessageRetentionPeriod") == "1209600", str(da))

    # The buckets as moto's CloudFormation made them.
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    checks.check(f"{stack}: uploads and log buckets exist", bucket in names and f"{bucket}-logs" in names, str(names))
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    want = ({"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": given["KmsKeyArn"]} if given.get("KmsKeyArn")
            else {"SSEAlgorithm": "AES256"})
    checks.check(f"{stack}: uploads bucket encryption {want['SSEAlgorithm']}", rules["ApplyServerSideEncryptionByDefault"] == want, str(rules))
    log_rules = s3.get_bucket_encryption(Bucket=f"{bucket}-logs")["ServerSideEncryptionConfiguration"]["Rules"][0]
    checks.check(f"{stack}: log bucket SSE-S3", log_rules["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}, str(log_rules))
    versioning = s3.get_bucket_versioning(Bucket=bucket).get("Status")
    if versioning != "Enabled":
        checks.info(f"{stack}: moto's AWS::S3::Bucket applies BucketEncryption and Tags only (versioning after create_stack: "
                    f"{versioning!r}); the other bucket settings are sent as S3 API calls below")

    # The rest of the bucket's configuration as the S3 API calls CloudFormation makes, then read back.
    qarn = qa["QueueArn"]

    def attr(name: str, attribute: str) -> str:
        if (name, attribute) == ("EventsQueue", "Arn"):
            return qarn
        if attribute == "Arn" and template["Resources"][name]["Type"] == "AWS::S3::Bucket":
            return f"arn:aws:s3:::{physical[name]}"
        return f"<{name}.{attribute}>"
    # The distribution is not created in moto: its id in the bucket policy is a placeholder.
    resolve = Resolver(params, conds, ref=lambda n: physical.get(n, "EDFDVBD6EXAMPLE" if n == "Distribution" else f"<{n}>"), attr=attr)
    calls = api_calls_for_bucket(resolve(plain(template["Resources"]["UploadsBucket"]["Properties"])))
    # The policies moto's CloudFormation cannot create, as the API calls CloudFormation makes.
    policies = {name: json.dumps(resolve(plain(template["Resources"][name]["Properties"]["PolicyDocument"])))
                for name in ("LogBucketPolicy", "UploadsBucketPolicy", "EventsQueuePolicy")}
    # (The uploads bucket's own policy comes last: moto ignores policy conditions, so its TLS-only Deny
    # would refuse the test's plain-HTTP PUTs.)
    try:
        s3.put_bucket_policy(Bucket=f"{bucket}-logs", Policy=policies["LogBucketPolicy"])
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes={"Policy": policies["EventsQueuePolicy"]})
        checks.check(f"{stack}: moto takes the log bucket's policy and the queue policy as API calls, and gives them back",
                     json.loads(s3.get_bucket_policy(Bucket=f"{bucket}-logs")["Policy"]) == json.loads(policies["LogBucketPolicy"])
                     and json.loads(sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["Policy"])["Attributes"]["Policy"])
                     == json.loads(policies["EventsQueuePolicy"]))
    except Exception as exc:  # noqa: BLE001
        checks.check(f"{stack}: moto takes the log bucket's policy and the queue policy as API calls, and gives them back", False,
                     f"{type(exc).__name__}: {exc}")
    try:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration=calls["versioning"])
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=calls["cors"])
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=calls["lifecycle"])
        s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=calls["public_access_block"])
        s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls=calls["ownership"])
        s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus=calls["logging"])
        s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=calls["notification"])
        applied = True
    except Exception as exc:  # noqa: BLE001
        applied = checks.check(f"{stack}: moto's S3 accepts the bucket's configuration as API calls", False, f"{type(exc).__name__}: {exc}")
    if applied:
        checks.check(f"{stack}: moto's S3 accepts the bucket's configuration as API calls", True)
        checks.check(f"{stack}: versioning Enabled", s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled")
        cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"]
        checks.check(f"{stack}: CORS read back: the app's origins, ETag exposed, MaxAge 3000",
                     len(cors) == 1 and cors[0]["AllowedOrigins"] == given["AppOrigins"].split(",")
                     and "ETag" in cors[0].get("ExposeHeaders", []) and cors[0].get("MaxAgeSeconds") == 3000, str(cors))
        lc = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
        days = int(given.get("RetentionDays", 30))
        checks.check(f"{stack}: lifecycle read back: abort after 1 day, noncurrent and quarantine/ after {days} days",
                     lc.get("abort-incomplete-multipart-uploads", {}).get("AbortIncompleteMultipartUpload") == {"DaysAfterInitiation": 1}
                     and lc.get("expire-noncurrent-versions", {}).get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == days
                     and lc.get("expire-quarantine", {}).get("Expiration", {}).get("Days") == days
                     and lc.get("expire-quarantine", {}).get("Filter", {}).get("Prefix") == "quarantine/", json.dumps(lc, default=str))
        pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        checks.check(f"{stack}: Block Public Access read back, all four", all(pab.values()) and len(pab) == 4, str(pab))
        logging_status = s3.get_bucket_logging(Bucket=bucket).get("LoggingEnabled", {})
        checks.check(f"{stack}: access logging to {bucket}-logs", logging_status.get("TargetBucket") == f"{bucket}-logs", str(logging_status))
        # An upload under articles/ reaches the stack's queue as an S3 event; a key elsewhere does not.
        while sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages"):
            pass  # moto's s3:TestEvent, if any
        key = "articles/3f2a9c1e-0000-4000-8000-000000000001/raw/7c1d0000-0000-4000-8000-000000000002.png"
        s3.put_object(Bucket=bucket, Key="elsewhere/not-an-upload.png", Body=b"x")
        s3.put_object(Bucket=bucket, Key=key, Body=b"\x89PNG\r\n\x1a\n", ContentType="image/png")
        got, deadline = [], time.monotonic() + 10
        while time.monotonic() < deadline and not got:
            for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
                for record in json.loads(m["Body"]).get("Records", []):
                    encoded = record["s3"]["object"]["key"]
                    if "%2F" in encoded:
                        note(checks, "moto's S3 event notifications encode '/' in keys as %2F (S3 keeps '/'); keys compared decoded")
                    got.append((record.get("eventName"), urllib.parse.unquote_plus(encoded)))
        checks.check(f"{stack}: a PUT under articles/ reaches the queue as ObjectCreated; one elsewhere does not",
                     got == [("ObjectCreated:Put", key)], str(got))
    try:
        s3.put_bucket_policy(Bucket=bucket, Policy=policies["UploadsBucketPolicy"])
        checks.check(f"{stack}: moto takes the uploads bucket's policy as an API call, and gives it back",
                     json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]) == json.loads(policies["UploadsBucketPolicy"]))
        note(checks, "moto's bucket policies ignore conditions (its own documentation says so): the TLS-only Deny and "
                     "CloudFront's AWS:SourceArn cannot be exercised on moto; they are checked on the template only")
    except Exception as exc:  # noqa: BLE001
        checks.check(f"{stack}: moto takes the uploads bucket's policy as an API call, and gives it back", False,
                     f"{type(exc).__name__}: {exc}")

    # Roles as created.
    iam = c["iam"]
    for role, logical in (("api", "ApiTaskRole"), ("worker", "WorkerTaskRole")):
        name = physical[logical].split("/")[-1]
        role_policies = iam.list_role_policies(RoleName=name)["PolicyNames"]
        doc = iam.get_role_policy(RoleName=name, PolicyName=role_policies[0])["PolicyDocument"] if role_policies else {}
        doc = moto_policy(checks, stack, doc)
        want_doc = resolve(plain(template["Resources"][logical]["Properties"]["Policies"][0]["PolicyDocument"]))
        kms = [s for s in statements(doc) if any(a.startswith("kms:") for a in listed(s["Action"]))] if doc else []
        checks.check(f"{stack}: {role} task role created with exactly the template's policy"
                     + (" (with the KMS statement)" if given.get("KmsKeyArn") else " (no KMS statement)"),
                     role_policies == [f"hoist-{role}"] and doc == want_doc and bool(kms) == bool(given.get("KmsKeyArn")),
                     f"{role_policies} {json.dumps(doc)[:1500]}")

    # ECS, logs, security groups.
    ecs = c["ecs"]
    defs = {}
    for logical in ("ApiTaskDefinition", "WorkerTaskDefinition"):
        if logical in physical:
            defs[logical] = ecs.describe_task_definition(taskDefinition=physical[logical])["taskDefinition"]
    for logical, td in defs.items():
        dropped = [k for k in ("taskRoleArn", "executionRoleArn", "networkMode", "requiresCompatibilities", "cpu") if k not in td]
        if dropped:
            note(checks, f"moto's AWS::ECS::TaskDefinition keeps the family, container definitions and memory, not {', '.join(dropped)}")
    if "ApiTaskDefinition" in defs:
        td = defs["ApiTaskDefinition"]
        cd = td["containerDefinitions"][0]
        env = {e["name"]: e["value"] for e in without_novalue(checks, cd.get("environment", []))}
        auth = ({"HOIST_AUTH": "oidc", "HOIST_OIDC_ISSUER": given["OidcIssuer"], "HOIST_OIDC_AUDIENCES": given["OidcAudiences"]}
                if given.get("OidcIssuer") else {"HOIST_AUTH": "cognito"})
        checks.check(f"{stack}: api task definition: `hoist api` from the image, port 8080, HOIST_AUTH={auth['HOIST_AUTH']}, the secret",
                     td.get("family") == f"{stack}-api" and cd.get("command") == ["api"] and cd.get("image") == given["ImageUri"]
                     and [p.get("containerPort") for p in cd.get("portMappings", [])] == [8080]
                     and env.get("HOIST_BUCKET") == bucket and env.get("HOIST_CORS_ORIGINS") == given["AppOrigins"]
                     and {k: v for k, v in env.items() if k in auth} == auth
                     and cd.get("secrets") == [{"name": "HOIST_DATABASE_URL", "valueFrom": given["DatabaseUrlSecretArn"]}]
                     and cd.get("logConfiguration", {}).get("options", {}).get("awslogs-group") == f"/hoist/{stack}/api",
                     json.dumps(cd)[:1500])
    if "WorkerTaskDefinition" in defs:
        td = defs["WorkerTaskDefinition"]
        cd = td["containerDefinitions"][0]
        env = {e["name"]: e["value"] for e in without_novalue(checks, cd.get("environment", []))}
        checks.check(f"{stack}: worker task definition: `hoist worker`, HOIST_SQS_QUEUE_URL = the created queue's URL, the secret",
                     td.get("family") == f"{stack}-worker" and cd.get("command") == ["worker"]
                     and env.get("HOIST_SQS_QUEUE_URL") == outputs.get("QueueUrl", "-")
                     and env.get("HOIST_SQS_QUEUE_URL", "").endswith(f"/123456789012/{bucket}-events")
                     and env.get("HOIST_BUCKET") == bucket and not cd.get("portMappings")
                     and cd.get("secrets") == [{"name": "HOIST_DATABASE_URL", "valueFrom": given["DatabaseUrlSecretArn"]}],
                     json.dumps(cd)[:1500])
    services = {n: physical[n] for n in ("ApiService", "WorkerService") if n in physical}
    if services:
        described = ecs.describe_services(cluster=physical["Cluster"], services=list(services.values()))["services"]
        got = sorted((s.get("serviceName"), s.get("taskDefinition", "").split("/")[-1].split(":")[0], s.get("desiredCount")) for s in described)
        want = sorted(({"ApiService": "api", "WorkerService": "worker"}[n], f"{stack}-{'api' if n == 'ApiService' else 'worker'}",
                       int(given.get("ApiDesiredCount" if n == "ApiService" else "WorkerDesiredCount", 2 if n == "ApiService" else 1)))
                      for n in services)
        checks.check(f"{stack}: services {', '.join(w[0] for w in want)} in the cluster, each on its task definition, desired count",
                     got == want, f"{got} != {want}")
        if any(s.get("launchType") != "FARGATE" for s in described):
            note(checks, "moto's AWS::ECS::Service keeps the cluster, name, task definition and desired count, not LaunchType "
                         f"(answers {sorted({s.get('launchType') for s in described})}) nor the network configuration")
    groups = {g["logGroupName"]: g for g in c["logs"].describe_log_groups(logGroupNamePrefix=f"/hoist/{stack}/")["logGroups"]}
    checks.check(f"{stack}: log groups for api and worker, {given.get('LogRetentionDays', 30)} days' retention",
                 sorted(groups) == [f"/hoist/{stack}/api", f"/hoist/{stack}/worker"]
                 and all(g.get("retentionInDays") == int(given.get("LogRetentionDays", 30)) for g in groups.values()), str(groups))
    sg = c["ec2"].describe_security_groups(GroupIds=[physical["ApiSecurityGroup"]])["SecurityGroups"][0]
    checks.check(f"{stack}: API security group: tcp 8080 from ApiIngressCidr only",
                 [(p.get("FromPort"), p.get("ToPort"), [r["CidrIp"] for r in p.get("IpRanges", [])]) for p in sg["IpPermissions"]]
                 == [(8080, 8080, [given["ApiIngressCidr"]])], str(sg["IpPermissions"]))


def test_deploy_on_moto(checks, moto) -> None:
    import moto as moto_package
    from moto.cloudformation.parsing import get_model_map

    version = moto_package.__version__
    supported = set(get_model_map())
    c = moto_clients(moto.port)
    vpc = c["ec2"].create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [c["ec2"].create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24")["Subnet"]["SubnetId"] for i in (1, 2)]
    secret = c["secretsmanager"].create_secret(Name="hoist/database-url",
                                               SecretString="postgres://hoist:example@db.internal:5432/hoist?sslmode=require")["ARN"]
    key = c["kms"].create_key(Description="hoist uploads")["KeyMetadata"]["Arn"]
    common = {"AppOrigins": "https://app.example.com,https://admin.example.com", "RetentionDays": "14",
              "ImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/hoist:1", "DatabaseUrlSecretArn": secret,
              "VpcId": vpc, "SubnetIds": ",".join(subnets), "ApiIngressCidr": "10.20.0.0/16", "LogRetentionDays": "7"}
    deploy_and_check(checks, c, supported, version, "hoist-oidc",
                     {**common, "BucketName": "hoist-oidc-uploads", "OidcIssuer": "https://login.example.com", "OidcAudiences": "hoist"})
    deploy_and_check(checks, c, supported, version, "hoist-cognito",
                     {**common, "BucketName": "hoist-cognito-uploads", "KmsKeyArn": key})
