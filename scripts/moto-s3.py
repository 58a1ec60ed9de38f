#!/usr/bin/env python3
"""A real S3 implementation on loopback for the asset store tests: moto's server mode.

Prints one JSON line — {"endpoint", "bucket", "access", "secret"} — once the server listens with
the bucket created, then serves until its standard input closes.

  --auth   checks request signatures: started with INITIAL_NO_AUTH_ACTION_COUNT, its first
           actions create an IAM user with full access and that user's key, which is printed.
           (In this mode moto answers a presigned GET with a 500, so end-to-end flows use a
           server started without --auth, and presigned URLs are checked against botocore.)
"""
import json
import os
import socket
import sys

auth = "--auth" in sys.argv
if auth:
    os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "4"
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")

import boto3  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
endpoint = f"http://127.0.0.1:{port}"
bucket = "kling-films"
access, secret = "AKIDMOTOTESTS", "moto-tests-secret"
if auth:
    iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1")
    iam.create_user(UserName="kling")
    iam.put_user_policy(
        UserName="kling",
        PolicyName="all",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    key = iam.create_access_key(UserName="kling")["AccessKey"]
    access, secret = key["AccessKeyId"], key["SecretAccessKey"]
s3 = boto3.client(
    "s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=access, aws_secret_access_key=secret
)
s3.create_bucket(Bucket=bucket)
print(json.dumps({"endpoint": endpoint, "bucket": bucket, "access": access, "secret": secret}), flush=True)
sys.stdin.read()
server.stop()
