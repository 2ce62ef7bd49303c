"""Encryption at rest in `hoist store` (SSE-S3, AES256), driven by boto3 and the AWS CLI.

Put/Get/DeleteBucketEncryption; objects written with `ServerSideEncryption="AES256"` or under a bucket
default, single PUT, boto3's managed multipart upload, copy and ranged GET; `ServerSideEncryption`
on every answer that S3 gives it on; SSE-KMS and SSE-C refused, never stored plain. Then, on the
store's own data folder (when this suite started the store): the master key is mode 0600, no blob
file holds a recognisable run of the plaintext, and a byte flipped in an encrypted file makes GET
answer 500 InternalError instead of wrong bytes.

Env: HOIST_BIN; S3_ENDPOINT (then only the API checks run: the files are not ours to read).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
import subprocess
import tempfile

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from interop_common import tally
from store_common import Target, boto3_client

R = tally(__file__)
MARKER = b"HOIST-PLAINTEXT-MARKER"


def plaintext(size: int) -> bytes:
    line, out = 0, bytearray()
    while len(out) < size:
        out += MARKER + f" line {line} of a private photo;".encode()
        line += 1
    return bytes(out[:size])


def code(e: ClientError) -> str:
    return e.response.get("Error", {}).get("Code", "")


def blob_files(data_dir: str) -> list[str]:
    """The store's blob files (`<data>/store/blobs/<shard>/<name>`)."""
    root = os.path.join(data_dir, "store", "blobs")
    return [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]


def test_encryption_at_rest(s3_target: Target) -> None:
    s3 = boto3_client(s3_target)
    bucket = f"sse-{secrets.token_hex(4)}"
    s3.create_bucket(Bucket=bucket)
    try:
        # --- the bucket's default ---
        try:
            s3.get_bucket_encryption(Bucket=bucket)
            R.check("GetBucketEncryption without one: ServerSideEncryptionConfigurationNotFoundError", False)
        except ClientError as e:
            R.check("GetBucketEncryption without one: ServerSideEncryptionConfigurationNotFoundError",
                    code(e) == "ServerSideEncryptionConfigurationNotFoundError", str(e))
        plain_body = plaintext(70_000)
        plain = s3.put_object(Bucket=bucket, Key="plain.bin", Body=plain_body)
        R.check("a PUT without SSE to a bucket without a default: no ServerSideEncryption", "ServerSideEncryption" not in plain, str(plain))

        asked_body = plaintext(200_001)
        asked = s3.put_object(Bucket=bucket, Key="asked.bin", Body=asked_body, ServerSideEncryption="AES256")
        R.check("PutObject with ServerSideEncryption=AES256 answers AES256", asked.get("ServerSideEncryption") == "AES256", str(asked))
        got = s3.get_object(Bucket=bucket, Key="asked.bin")
        R.check("GetObject of it: AES256 and the same bytes",
                got.get("ServerSideEncryption") == "AES256" and got["Body"].read() == asked_body)
        head = s3.head_object(Bucket=bucket, Key="asked.bin")
        R.check("HeadObject: AES256, the plaintext length", head.get("ServerSideEncryption") == "AES256"
                and head["ContentLength"] == len(asked_body), str(head))
        ranged = s3.get_object(Bucket=bucket, Key="asked.bin", Range="bytes=65530-131080")["Body"].read()
        R.check("a ranged GET across chunk boundaries reads the plaintext", ranged == asked_body[65530:131081])

        for label, kwargs in [("SSE-KMS", {"ServerSideEncryption": "aws:kms"}),
                              ("SSE-C", {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": "k" * 32})]:
            try:
                s3.put_object(Bucket=bucket, Key=f"refused-{label}", Body=b"x", **kwargs)
                R.check(f"a PUT asking for {label} is refused", False)
            except ClientError as e:
                R.check(f"a PUT asking for {label} is refused", code(e) in ("InvalidArgument", "NotImplemented"), str(e))

        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
        rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        R.check("PutBucketEncryption AES256, read back", rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256",
                str(rules))
        try:
            s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k"}}]})
            R.check("PutBucketEncryption aws:kms is refused (no KMS here)", False)
        except ClientError as e:
            R.check("PutBucketEncryption aws:kms is refused (no KMS here)", code(e) == "NotImplemented", str(e))
        defaulted = s3.put_object(Bucket=bucket, Key="defaulted.bin", Body=plaintext(5000))
        R.check("a PUT under the bucket's default answers AES256", defaulted.get("ServerSideEncryption") == "AES256", str(defaulted))
        R.check("an object written before the default stays as written",
                "ServerSideEncryption" not in s3.head_object(Bucket=bucket, Key="plain.bin"))

        # --- multipart through boto3's transfer manager, and a copy ---
        big = plaintext(13 * 1024 * 1024 + 321)
        with tempfile.NamedTemporaryFile() as f:
            f.write(big)
            f.flush()
            s3.upload_file(f.name, bucket, "big.bin",
                           Config=TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024))
        bighead = s3.head_object(Bucket=bucket, Key="big.bin")
        R.check("a multipart upload under the default is encrypted", bighead.get("ServerSideEncryption") == "AES256"
                and bighead["ETag"].endswith('-3"'), str(bighead))
        R.check("and reads back whole", hashlib.sha256(s3.get_object(Bucket=bucket, Key="big.bin")["Body"].read()).digest()
                == hashlib.sha256(big).digest())
        part2 = s3.get_object(Bucket=bucket, Key="big.bin", PartNumber=2)
        R.check("GetObject PartNumber=2 of it", part2["Body"].read() == big[5 * 1024 * 1024:10 * 1024 * 1024]
                and part2.get("ServerSideEncryption") == "AES256")
        copied = s3.copy_object(Bucket=bucket, Key="plain-copy.bin", CopySource={"Bucket": bucket, "Key": "plain.bin"})
        R.check("copying a plain object into the encrypting bucket encrypts the copy", copied.get("ServerSideEncryption") == "AES256",
                str(copied))
        R.check("the copy reads back", s3.get_object(Bucket=bucket, Key="plain-copy.bin")["Body"].read() == plain_body)

        # --- the AWS CLI ---
        env = dict(os.environ, AWS_ACCESS_KEY_ID=s3_target.access_key, AWS_SECRET_ACCESS_KEY=s3_target.secret_key,
                   AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        cli = subprocess.run(["aws", "--endpoint-url", s3_target.endpoint, "s3api", "head-object", "--bucket", bucket,
                              "--key", "asked.bin", "--query", "ServerSideEncryption", "--output", "text"],
                             env=env, capture_output=True, text=True, timeout=60)
        R.check("the AWS CLI's head-object shows AES256", cli.returncode == 0 and cli.stdout.strip() == "AES256",
                cli.stdout + cli.stderr)

        s3.delete_bucket_encryption(Bucket=bucket)
        R.check("DeleteBucketEncryption: new objects are plain again",
                "ServerSideEncryption" not in s3.put_object(Bucket=bucket, Key="after.bin", Body=b"x"))

        # --- on disk (only for a store this suite started) ---
        store = s3_target.store
        if store is None:
            R.info("S3_ENDPOINT given: the on-disk checks need the store's data folder; not run")
            return
        key_file = os.path.join(store.data_dir, "store", "master.key")
        mode = stat.S_IMODE(os.stat(key_file).st_mode) if os.path.exists(key_file) else None
        R.check("the master key file is mode 0600", mode == 0o600, f"{key_file}: {oct(mode) if mode is not None else 'missing'}")
        files = blob_files(store.data_dir)
        holding = [p for p in files if MARKER in open(p, "rb").read()]
        # plain.bin (one file) holds plaintext; every encrypted object's files must not.
        R.check("only the plain object's file holds plaintext on disk", len(holding) == 1, f"{len(holding)} of {len(files)} files")

        asked_file = [p for p in files if os.path.getsize(p) == 68 + 3 * (65536 + 16) + (200_001 - 3 * 65536) + 16]
        R.check("the encrypted object's file has the size of its sealed chunks", len(asked_file) == 1, str(len(asked_file)))
        if asked_file:
            with open(asked_file[0], "r+b") as f:
                f.seek(68 + 65536 + 16 + 100)
                byte = f.read(1)
                f.seek(-1, 1)
                f.write(bytes([byte[0] ^ 0x01]))
            try:
                s3.get_object(Bucket=bucket, Key="asked.bin")["Body"].read()
                R.check("a byte flipped on disk: GET answers 500 InternalError", False)
            except ClientError as e:
                R.check("a byte flipped on disk: GET answers 500 InternalError",
                        code(e) == "InternalError" and e.response["ResponseMetadata"]["HTTPStatusCode"] == 500, str(e))
            with open(asked_file[0], "r+b") as f:
                f.seek(68 + 65536 + 16 + 100)
                f.write(byte)
            R.check("restored, it reads again", s3.get_object(Bucket=bucket, Key="asked.bin")["Body"].read() == asked_body)
    finally:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            for obj in page.get("Contents", []):
                s3.delete_object(Bucket=bucket, Key=obj["Key"])
        s3.delete_bucket(Bucket=bucket)
