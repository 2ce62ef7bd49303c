#!/usr/bin/env python3
"""Time botocore's pre-signed PUT, the baseline for Hoist's signer.

Usage: python3 Benchmarks/botocore_presign.py [ITERATIONS]   (default 5000)

Measures `generate_presigned_url('put_object', Params={Bucket, Key, ContentType},
ExpiresIn=900)` on a client for http://127.0.0.1:9000 (path-style), a new key per
iteration, after a warm-up. Nothing is sent over the network. Prints one JSON line:
{"tool":"botocore","op":"presign_put","ns_per_op":X,"iterations":N}
"""

import json
import sys
import time

import boto3
from botocore.config import Config


def main() -> int:
    iterations = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    if iterations < 1:
        print("ITERATIONS must be at least 1", file=sys.stderr)
        return 2
    client = boto3.session.Session().client(
        "s3",
        endpoint_url="http://127.0.0.1:9000",
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    presign = client.generate_presigned_url
    keys = [f"articles/bench/raw/{i:08d}.png" for i in range(iterations)]
    warmup = min(1000, max(100, iterations // 5))
    for i in range(warmup):
        presign("put_object", Params={"Bucket": "article-images", "Key": f"warmup/{i}.png",
                                      "ContentType": "image/png"}, ExpiresIn=900)
    start = time.perf_counter_ns()
    for key in keys:
        presign("put_object", Params={"Bucket": "article-images", "Key": key, "ContentType": "image/png"},
                ExpiresIn=900)
    elapsed = time.perf_counter_ns() - start
    print(json.dumps({"tool": "botocore", "op": "presign_put", "ns_per_op": round(elapsed / iterations, 1),
                      "iterations": iterations}, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
