"""Creates the IAM users and the role the integration tests use, on the test server (ministack,
AUTH=true).

Prints shell `export` lines with their keys. Policies are the spec's least-privilege sets and
variants with one permission missing, so tests can check Test Connection's verdicts. For
zero-copy it also makes lakeport's own principal ("lakeport", allowed only sts:AssumeRole) and a
role that trusts it only with the External ID in LAKEPORT_TEST_EXTERNAL_ID.
Usage: seed_iam.py ENDPOINT
"""
import json
import sys

import boto3

endpoint = sys.argv[1]
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="test", aws_secret_access_key="test")

GLUE = ["glue:GetCatalog", "glue:GetDatabase", "glue:GetDatabases", "glue:GetTable", "glue:GetTables", "glue:GetPartitions"]
ZERO_COPY = GLUE + ["s3:GetObject", "s3:ListBucket"]
USERS = {
    "reader": ["s3:GetBucketAcl", "s3:GetObject", "s3:ListBucket"],
    "noacl": ["s3:GetObject", "s3:ListBucket"],
    "noget": ["s3:GetBucketAcl", "s3:ListBucket"],
    "nolist": ["s3:GetBucketAcl", "s3:GetObject"],
    "glue": ZERO_COPY,
    "gluenotables": [a for a in ZERO_COPY if a != "glue:GetTables"],
    "gluenos3": [a for a in ZERO_COPY if a != "s3:GetObject"],
    "gluenodbs": [a for a in ZERO_COPY if a != "glue:GetDatabases"],
    "lakeport": ["sts:AssumeRole"],
    # A REST-catalog pool's writer: the catalog calls of loads (create namespace and table, commit)
    # and the warehouse's objects (data files, manifests, ledger files; vacuum deletes orphans).
    "gluewriter": GLUE + ["glue:CreateDatabase", "glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable",
                          "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListBucket"],
}
EXTERNAL_ID = "lakeport-test-external-id"


def statements(actions):
    out = []
    bucket = [a for a in actions if a in ("s3:ListBucket", "s3:GetBucketAcl")]
    if bucket:
        out.append({"Effect": "Allow", "Action": bucket, "Resource": "arn:aws:s3:::*"})
    objects = [a for a in actions if a in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")]
    if objects:
        out.append({"Effect": "Allow", "Action": objects, "Resource": "arn:aws:s3:::*/*"})
    other = [a for a in actions if not a.startswith("s3:")]
    if other:
        out.append({"Effect": "Allow", "Action": other, "Resource": "*"})
    return {"Version": "2012-10-17", "Statement": out}


def role_with_policy(name, trust_policy, policy_name, actions):
    """The role `name` (created with `trust_policy`, or as it exists), with the inline policy
    `policy_name` granting `actions`."""
    try:
        role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_policy))["Role"]
    except iam.exceptions.EntityAlreadyExistsException:
        role = iam.get_role(RoleName=name)["Role"]
    iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(statements(actions)))
    return role


keys = {}
for name, actions in USERS.items():
    try:
        iam.create_user(UserName=name)
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    iam.put_user_policy(UserName=name, PolicyName="lakeport-test", PolicyDocument=json.dumps(statements(actions)))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    keys[name] = key
    up = name.upper()
    print(f"export LAKEPORT_TEST_{up}_KEY={key['AccessKeyId']}")
    print(f"export LAKEPORT_TEST_{up}_SECRET={key['SecretAccessKey']}")

# The customer's role: trusts lakeport's principal, only with the External ID.
principal = iam.get_user(UserName="lakeport")["User"]["Arn"]
trust = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole",
    "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]}
role = role_with_policy("lakeport-zero-copy", trust, "zero-copy", ZERO_COPY)
print(f"export LAKEPORT_TEST_ROLE_ARN={role['Arn']}")
print(f"export LAKEPORT_TEST_EXTERNAL_ID={EXTERNAL_ID}")
# lakeport's own identity (the principal the role trusts).
print(f"export LAKEPORT_AWS_ACCESS_KEY_ID={keys['lakeport']['AccessKeyId']}")
print(f"export LAKEPORT_AWS_SECRET_ACCESS_KEY={keys['lakeport']['SecretAccessKey']}")
# Extraction connections without static keys: a role with exactly the extraction permissions that
# trusts lakeport's principal with the External ID (assumed-role and profile-chain tests), and a
# role for web identity (as on EKS) trusting a test OIDC provider (ministack does not check the
# token's signature).
xrole = role_with_policy("lakeport-extraction", trust, "extraction", USERS["reader"])
print(f"export LAKEPORT_TEST_EXTRACT_ROLE_ARN={xrole['Arn']}")
try:
    oidc = iam.create_open_id_connect_provider(Url="https://oidc.lakeport.test", ClientIDList=["sts.amazonaws.com"], ThumbprintList=["0" * 40])["OpenIDConnectProviderArn"]
except iam.exceptions.EntityAlreadyExistsException:
    oidc = "arn:aws:iam::000000000000:oidc-provider/oidc.lakeport.test"
wi_trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Federated": oidc}, "Action": "sts:AssumeRoleWithWebIdentity"}]}
wrole = role_with_policy("lakeport-web-identity", wi_trust, "extraction", USERS["reader"])
print(f"export LAKEPORT_TEST_WEB_IDENTITY_ROLE_ARN={wrole['Arn']}")
