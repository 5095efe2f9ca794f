"""Creates the IAM users the integration tests use, on the test S3 server (ministack, AUTH=true).

Prints shell `export` lines with their keys. Policies are the spec's least-privilege set and
variants with one permission missing, so tests can check Test Connection's verdicts.
Usage: seed_iam.py ENDPOINT
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")

USERS = {
    "reader": ["s3:GetBucketAcl", "s3:GetObject", "s3:ListBucket"],
    "noacl": ["s3:GetObject", "s3:ListBucket"],
    "noget": ["s3:GetBucketAcl", "s3:ListBucket"],
    "nolist": ["s3:GetBucketAcl", "s3:GetObject"],
}

for name, actions in USERS.items():
    try:
        iam.create_user(UserName=name)
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    statements = []
    bucket_actions = [a for a in actions if a in ("s3:ListBucket", "s3:GetBucketAcl")]
    if bucket_actions:
        statements.append({"Effect": "Allow", "Action": bucket_actions, "Resource": "arn:aws:s3:::*"})
    if "s3:GetObject" in actions:
        statements.append({"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::*/*"})
    iam.put_user_policy(UserName=name, PolicyName="lakeport-test",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    up = name.upper()
    print(f"export LAKEPORT_TEST_{up}_KEY={key['AccessKeyId']}")
    print(f"export LAKEPORT_TEST_{up}_SECRET={key['SecretAccessKey']}")
