#!/usr/bin/env bash
# The hand-run guide (shared/seeds) as a script, as its reader runs it: one `aws` process per step,
# the same steps as `cargo xtask setup`, `assume`, `verify` and `cleanup` of the default lab.
# `cargo xtask bench` runs it against the emulator, with the emulator's environment and:
#   TEMPLATE, POLICY: infra/template.yaml and infra/policy.json; WORK: a scratch folder.
set -euo pipefail
USER_NAME=sts-machine-user
STACK=sts-stack-aws-prep

ACCOUNT=$(aws sts get-caller-identity --query Account --output text)
PREFIX="sts-lab-default-$ACCOUNT-"
# The lab's expiry (the template's Expires and the policy's DateLessThan), eight hours on.
EXPIRES=$(date -u -d '+8 hours' +%Y-%m-%dT%H:%M:%SZ)

# Create a user with no permissions and an access key; write it as profile sts.
USER_ID=$(aws iam create-user --user-name "$USER_NAME" --tags Key=sts-lab,Value=default \
  --query User.UserId --output text)
read -r KEY_ID SECRET < <(aws iam create-access-key --user-name "$USER_NAME" \
  --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)
aws configure set aws_access_key_id "$KEY_ID" --profile sts
aws configure set aws_secret_access_key "$SECRET" --profile sts

# Verify the identity, and that it has no S3 access.
aws sts get-caller-identity --profile sts >/dev/null
if aws s3 ls --profile sts >/dev/null 2>&1; then
  echo "profile sts must not list buckets" >&2
  exit 1
fi

# Deploy the role (the guide's ./deploy), read its ARN, allow the user to assume it.
aws cloudformation create-stack --stack-name "$STACK" --template-body "file://$TEMPLATE" \
  --parameters "ParameterKey=LabUserArn,ParameterValue=arn:aws:iam::$ACCOUNT:user/$USER_NAME" \
  "ParameterKey=LabUserId,ParameterValue=$USER_ID" "ParameterKey=BucketPrefix,ParameterValue=$PREFIX" \
  "ParameterKey=Expires,ParameterValue=$EXPIRES" \
  --capabilities CAPABILITY_IAM >/dev/null
aws cloudformation wait stack-create-complete --stack-name "$STACK"
ROLE_ARN=$(aws cloudformation describe-stacks --stack-name "$STACK" \
  --query "Stacks[0].Outputs[?OutputKey=='RoleArn'].OutputValue" --output text)
sed -e "s|{{ROLE_ARN}}|$ROLE_ARN|" -e "s|{{EXPIRES}}|$EXPIRES|" "$POLICY" >"$WORK/policy.json"
aws iam put-user-policy --user-name "$USER_NAME" --policy-name StsAssumePolicy \
  --policy-document "file://$WORK/policy.json"

# Assume the role; write the temporary credentials as profile assumed.
read -r AK SK ST < <(aws sts assume-role --role-arn "$ROLE_ARN" --role-session-name s3-sts-aws-prep \
  --profile sts --query 'Credentials.[AccessKeyId,SecretAccessKey,SessionToken]' --output text)
aws configure set aws_access_key_id "$AK" --profile assumed
aws configure set aws_secret_access_key "$SK" --profile assumed
aws configure set aws_session_token "$ST" --profile assumed

# Check the assumed identity; create and list a bucket with it.
aws sts get-caller-identity --profile assumed >/dev/null
aws s3 mb "s3://${PREFIX}verify" --profile assumed >/dev/null
aws s3 ls --profile assumed | grep -q "${PREFIX}verify"

# Clean up: bucket, stack, user policy, access key, user.
aws s3 rb "s3://${PREFIX}verify" >/dev/null
aws cloudformation delete-stack --stack-name "$STACK"
aws cloudformation wait stack-delete-complete --stack-name "$STACK"
aws iam delete-user-policy --user-name "$USER_NAME" --policy-name StsAssumePolicy
aws iam delete-access-key --access-key-id "$KEY_ID" --user-name "$USER_NAME"
aws iam delete-user --user-name "$USER_NAME"
