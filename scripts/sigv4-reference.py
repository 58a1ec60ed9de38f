#!/usr/bin/env python3
"""The reference the asset store's SigV4 is tested against: botocore, at a fixed instant.

Reads a JSON list of cases on stdin and prints, for each, what botocore makes of it:
  {"kind": "presign", "endpoint", "bucket", "key", "region", "expires", "time", "access", "secret", "token"}
      -> generate_presigned_url('get_object', ...) with path-style addressing (or virtual-hosted
         when "endpoint" is null)
  {"kind": "put", "url", "region", "time", "access", "secret", "token", "body", "content_type"}
      -> the Authorization header of a signed PUT of that body (botocore hashes it itself)
"""
import datetime
import json
import sys

import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials


def freeze(stamp):
    instant = datetime.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda: instant


def presign(case):
    freeze(case["time"])
    session = botocore.session.get_session()
    style = "path" if case.get("endpoint") else "virtual"
    client = session.create_client(
        "s3",
        region_name=case["region"],
        endpoint_url=case.get("endpoint"),
        aws_access_key_id=case["access"],
        aws_secret_access_key=case["secret"],
        aws_session_token=case.get("token"),
        config=Config(signature_version="s3v4", s3={"addressing_style": style}),
    )
    return client.generate_presigned_url(
        "get_object", Params={"Bucket": case["bucket"], "Key": case["key"]}, ExpiresIn=case["expires"]
    )


def put(case):
    freeze(case["time"])
    credentials = Credentials(case["access"], case["secret"], case.get("token"))
    body = case["body"].encode()
    request = AWSRequest(
        method="PUT",
        url=case["url"],
        data=body,
        headers={"Content-Type": case["content_type"], "Content-Length": str(len(body))},
    )
    botocore.auth.S3SigV4Auth(credentials, "s3", case["region"]).add_auth(request)
    return request.headers["Authorization"]


cases = json.load(sys.stdin)
print(json.dumps([presign(c) if c["kind"] == "presign" else put(c) for c in cases]))
