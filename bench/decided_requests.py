"""The emulator's time a decided request: one boto3 process makes N signed requests that IAM's evaluation decides
(ListRoles, GetUser, and a refused s3:ListBuckets of a user without rights), over the emulator's environment (`eval
"$(cargo xtask emulator env)"`), and prints the median and the 90th percentile a request, in milliseconds. Run it
before and after a change of how the emulator decides: `python bench/decided_requests.py [N]`."""

import statistics
import sys
import time

import boto3
import botocore.exceptions

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300

admin = boto3.session.Session()
iam = admin.client("iam")
user = "bench-decided-requests"
try:
    iam.create_user(UserName=user)
except iam.exceptions.EntityAlreadyExistsException:
    pass
key = iam.create_access_key(UserName=user)["AccessKey"]
learner = boto3.session.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
s3 = learner.client("s3")


def refused():
    try:
        s3.list_buckets()
    except botocore.exceptions.ClientError:
        return


calls = [lambda: iam.list_roles(MaxItems=1), lambda: iam.get_user(UserName=user), refused]
times = {i: [] for i in range(len(calls))}
for _ in range(5):
    for call in calls:
        call()  # warm: connections, the evaluator's process
for n in range(N):
    i = n % len(calls)
    started = time.perf_counter()
    calls[i]()
    times[i].append((time.perf_counter() - started) * 1000)
iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
iam.delete_user(UserName=user)
every = sorted(t for ts in times.values() for t in ts)
for i, name in enumerate(["iam:ListRoles (admin)", "iam:GetUser (admin)", "s3:ListBuckets (refused)"]):
    print(f"{name}: median {statistics.median(times[i]):.2f} ms")
print(f"all {len(every)} requests: median {statistics.median(every):.2f} ms, p90 {every[int(len(every) * 0.9)]:.2f} ms")
