"""The guide's API calls from one Python process with boto3: the reference near the emulator's own
limit for `cargo xtask bench`. Same environment as guide.sh (TEMPLATE, POLICY, emulator env)."""
import os
from datetime import UTC, datetime, timedelta

import boto3
import botocore.exceptions

USER_NAME = "sts-machine-user"
STACK = "sts-stack-aws-prep"

admin = boto3.session.Session()
account = admin.client("sts").get_caller_identity()["Account"]
prefix = f"sts-lab-default-{account}-"
# The lab's expiry (the template's Expires and the policy's DateLessThan), eight hours on.
expires = (datetime.now(UTC) + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
iam, cfn, s3 = admin.client("iam"), admin.client("cloudformation"), admin.client("s3")

user_id = iam.create_user(UserName=USER_NAME, Tags=[{"Key": "sts-lab", "Value": "default"}])["User"]["UserId"]
key = iam.create_access_key(UserName=USER_NAME)["AccessKey"]
user = boto3.session.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
user.client("sts").get_caller_identity()
try:
    user.client("s3").list_buckets()
    raise SystemExit("the user must not list buckets")
except botocore.exceptions.ClientError as e:
    assert e.response["Error"]["Code"] == "AccessDenied", e

with open(os.environ["TEMPLATE"]) as f:
    template = f.read()
cfn.create_stack(
    StackName=STACK,
    TemplateBody=template,
    Parameters=[
        {"ParameterKey": "LabUserArn", "ParameterValue": f"arn:aws:iam::{account}:user/{USER_NAME}"},
        {"ParameterKey": "LabUserId", "ParameterValue": user_id},
        {"ParameterKey": "BucketPrefix", "ParameterValue": prefix},
        {"ParameterKey": "Expires", "ParameterValue": expires},
    ],
    Capabilities=["CAPABILITY_IAM"],
)
cfn.get_waiter("stack_create_complete").wait(StackName=STACK)
outputs = cfn.describe_stacks(StackName=STACK)["Stacks"][0]["Outputs"]
role_arn = next(o["OutputValue"] for o in outputs if o["OutputKey"] == "RoleArn")
with open(os.environ["POLICY"]) as f:
    policy = f.read().replace("{{ROLE_ARN}}", role_arn).replace("{{EXPIRES}}", expires)
iam.put_user_policy(UserName=USER_NAME, PolicyName="StsAssumePolicy", PolicyDocument=policy)

creds = user.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="s3-sts-aws-prep")["Credentials"]
assumed = boto3.session.Session(
    aws_access_key_id=creds["AccessKeyId"],
    aws_secret_access_key=creds["SecretAccessKey"],
    aws_session_token=creds["SessionToken"],
)
assumed.client("sts").get_caller_identity()
bucket = f"{prefix}verify"
assumed_s3 = assumed.client("s3")
assumed_s3.create_bucket(Bucket=bucket)
assert bucket in [b["Name"] for b in assumed_s3.list_buckets()["Buckets"]]

s3.delete_bucket(Bucket=bucket)
cfn.delete_stack(StackName=STACK)
cfn.get_waiter("stack_delete_complete").wait(StackName=STACK)
iam.delete_user_policy(UserName=USER_NAME, PolicyName="StsAssumePolicy")
iam.delete_access_key(UserName=USER_NAME, AccessKeyId=key["AccessKeyId"])
iam.delete_user(UserName=USER_NAME)
