"""Tests of the emulator (policy evaluator, IAM authorization, fidelity fixes, realistic layer, counters): starts it
five ways on free ports and drives it with botocore-signed requests. Run: .lab/venv/bin/python emulator/test_emulator.py
(or pytest)."""

import base64
import calendar
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from authorize import totp  # noqa: E402  (the sibling module, wherever this file is)
from policy import decide, evaluate_policy, principal_matches  # noqa: E402

ACCOUNT = "123456789012"
KEY = "AKIAEXAMPLE000000000"
VERSIONS = {"iam": "2010-05-08", "sts": "2011-06-15", "cloudformation": "2010-05-15"}
STACK_DELAY = 1.5
WINDOW = 4  # STS_LAB_INVALID_PRINCIPAL_WINDOW
HOLD = 2  # STS_LAB_BUCKET_NAME_HOLD
LAG = 1  # STS_LAB_BUCKET_LIST_LAG
CFN_RATE = 20
TIMINGS = {
    "STS_LAB_KEY_DELAY": "0.5",
    "STS_LAB_PROPAGATION_DELAY": "0.5",
    "STS_LAB_STACK_DELAY": str(STACK_DELAY),
    "STS_LAB_BUCKET_LIST_LAG": str(LAG),
    "STS_LAB_INVALID_PRINCIPAL_WINDOW": str(WINDOW),
    "STS_LAB_BUCKET_NAME_HOLD": str(HOLD),
}
CONFIGS = {
    "realistic": (["--realistic"], {**TIMINGS, "STS_LAB_IAM_RATE": "0", "STS_LAB_CFN_RATE": str(CFN_RATE), "STS_LAB_UNIMPLEMENTED": "GetAccountSummary"}),
    "switches": (
        ["--realistic"],
        {**TIMINGS, "STS_LAB_BUCKET_LIST_LAG": "0", "STS_LAB_IAM_RATE": "5", "STS_LAB_CFN_RATE": "0",
         "STS_LAB_S3_REGION_CHECK": "0", "STS_LAB_LIST_BUCKET_REGION": "0"},
    ),
    "plain": ([], {"STS_LAB_UNIMPLEMENTED": " ListServiceSpecificCredentials , GetAccountSummary"}),
    # IAM enforced after the admin's bootstrap, as lab-core starts the emulator: every later request is authorized.
    "auth": ([], {"INITIAL_NO_AUTH_ACTION_COUNT": "3"}),
    "auth-realistic": (["--realistic"], {**TIMINGS, "INITIAL_NO_AUTH_ACTION_COUNT": "3", "STS_LAB_IAM_RATE": "0", "STS_LAB_CFN_RATE": "0"}),
}
AUTH = ("auth", "auth-realistic")
PROPAGATION = float(TIMINGS["STS_LAB_PROPAGATION_DELAY"])
SERVERS = {}  # name -> (port, process)
ADMINS = {}  # server -> the bootstrapped admin's Credentials

TEMPLATE = """
Parameters:
  LabUserArn:
    Type: String
Resources:
  StsRole:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal:
              AWS:
                - !Ref LabUserArn
            Action: sts:AssumeRole
Outputs:
  RoleArn:
    Value: !GetAtt StsRole.Arn
"""


# -- the servers ------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def setup_module(module=None):
    for name, (args, env) in CONFIGS.items():
        port = free_port()
        full_env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "100000", **env}
        cmd = [sys.executable, os.path.join(HERE, "sts_lab_emulator.py"), "-p", str(port), *args]
        SERVERS[name] = (port, subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    try:
        for name, (port, _) in SERVERS.items():
            wait_for(lambda port=port: listening(port), 20, f"the {name} server")
        for name in AUTH:
            bootstrap(name)
    except BaseException:
        teardown_module()
        raise


def teardown_module(module=None):
    for _, process in SERVERS.values():
        process.terminate()
    for _, process in SERVERS.values():
        process.wait(10)
    SERVERS.clear()
    ADMINS.clear()


ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def bootstrap(server):
    """The emulator's admin with the unauthenticated requests it allows, as lab-core does (its key then signs)."""
    assert call(server, "iam", form={"Action": "CreateUser", "UserName": "emulator-admin"})[0] == 200
    form = {"Action": "PutUserPolicy", "UserName": "emulator-admin", "PolicyName": "AdministratorAccess", "PolicyDocument": json.dumps(ADMIN_POLICY)}
    assert call(server, "iam", form=form)[0] == 200
    resp = call(server, "iam", form={"Action": "CreateAccessKey", "UserName": "emulator-admin"})
    assert resp[0] == 200, resp
    doc = xml(resp[2])
    ADMINS[server] = Credentials(doc.findtext(".//AccessKeyId"), doc.findtext(".//SecretAccessKey"))
    # From now on the test's made-up key is refused: IAM is enforced.
    assert error_code(call(server, "iam", form={"Action": "ListUsers"})) == "InvalidClientTokenId"


# -- requests ---------------------------------------------------------------------------------------


def raw(server, method, target, body=b"", headers=None):
    """(status, headers with lower-case names, body text); (0, {}, "") if nothing listens."""
    try:
        conn = http.client.HTTPConnection("127.0.0.1", SERVERS[server][0], timeout=30)
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read().decode()
    except OSError:
        return 0, {}, ""


def call(server, service, region="us-east-1", form=None, method="POST", path="/", query="", body=b"", creds=None):
    """A SigV4-signed request, as an SDK would send it (with `creds`, else the test's key)."""
    headers = {}
    if form is not None:
        body = urllib.parse.urlencode({"Version": VERSIONS[service], **form}).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    target = path + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=f"http://127.0.0.1:{SERVERS[server][0]}{target}", data=body, headers=headers)
    if service == "s3":
        request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    (S3SigV4Auth if service == "s3" else SigV4Auth)(creds or Credentials(KEY, "secret"), service, region).add_auth(request)
    return raw(server, method, target, body, dict(request.headers.items()))


def xml(text):
    """The XML document, its default namespace dropped; fails on XML built from unescaped input."""
    return ET.fromstring(re.sub(r'\sxmlns="[^"]+"', "", text, count=1))


def error_code(resp):
    return xml(resp[2]).findtext(".//Code")


def wait_for(check, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def in_threads(count, work):
    threads = [threading.Thread(target=work) for _ in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def stats(server):
    status, _, body = raw(server, "GET", "/sts-lab/stats")
    assert status == 200
    return json.loads(body)


# -- S3 ---------------------------------------------------------------------------------------------


def create_bucket(server, name, region, signed_in=None):
    body = b"" if region == "us-east-1" else (
        '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
    ).encode()
    return call(server, "s3", signed_in or region, method="PUT", path=f"/{name}", body=body)


def list_buckets(server, region):
    resp = call(server, "s3", region, method="GET", path="/")
    assert resp[0] == 200, resp
    return {b.findtext("Name"): b.findtext("BucketRegion") for b in xml(resp[2]).iter("Bucket")}


def test_s3_wrong_region():
    bucket = unique("eu")
    assert create_bucket("realistic", bucket, "eu-west-1")[0] == 200
    assert call("realistic", "s3", "eu-west-1", method="PUT", path=f"/{bucket}/k", body=b"hello")[0] == 200
    for method, path, query in [("GET", f"/{bucket}/k", "x-id=GetObject"), ("PUT", f"/{bucket}/k2", ""), ("GET", f"/{bucket}", "list-type=2"),
                                ("PUT", f"/{bucket}", ""), ("DELETE", f"/{bucket}/k", "")]:
        status, headers, body = call("realistic", "s3", "us-east-1", method=method, path=path, query=query, body=b"x" if method == "PUT" else b"")
        assert status == 400, (method, path, status, body)
        assert headers["x-amz-bucket-region"] == "eu-west-1"
        doc = xml(body)
        assert doc.findtext("Code") == "AuthorizationHeaderMalformed"
        assert doc.findtext("Message") == "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'"
        assert doc.findtext("Region") == "eu-west-1"
    status, headers, body = call("realistic", "s3", "us-east-1", method="HEAD", path=f"/{bucket}")
    assert (status, headers["x-amz-bucket-region"]) == (400, "eu-west-1")
    # GetBucketLocation, and CreateBucket of a new bucket, from any region; the right region works.
    status, _, body = call("realistic", "s3", "us-east-1", method="GET", path=f"/{bucket}", query="location")
    assert status == 200 and "eu-west-1" in body
    assert create_bucket("realistic", unique("de"), "eu-central-1", signed_in="us-east-1")[0] == 200
    assert call("realistic", "s3", "eu-west-1", method="GET", path=f"/{bucket}/k")[2] == "hello"


def test_s3_region_check_off():
    bucket = unique("off")
    assert create_bucket("switches", bucket, "eu-west-1")[0] == 200
    assert call("switches", "s3", "eu-west-1", method="PUT", path=f"/{bucket}/k", body=b"hi")[0] == 200
    assert call("switches", "s3", "us-east-1", method="GET", path=f"/{bucket}/k")[:3:2] == (200, "hi")
    listed = list_buckets("switches", "us-east-1")
    assert bucket in listed and listed[bucket] is None  # STS_LAB_LIST_BUCKET_REGION=0: no BucketRegion


def test_list_buckets_regions():
    eu, us = unique("eu"), unique("us")
    assert create_bucket("realistic", eu, "eu-west-1")[0] == 200
    assert create_bucket("realistic", us, "us-east-1")[0] == 200
    time.sleep(LAG + 0.1)
    for region in ("ap-south-1", "us-east-1", "eu-west-1"):
        listed = list_buckets("realistic", region)
        assert listed[eu] == "eu-west-1" and listed[us] == "us-east-1", (region, listed)


def test_bucket_name_held_after_delete():
    name = unique("held")
    assert create_bucket("realistic", name, "us-east-1")[0] == 200
    assert call("realistic", "s3", method="DELETE", path=f"/{name}")[0] == 204
    status, _, body = create_bucket("realistic", name, "us-east-1")
    doc = xml(body)
    assert status == 409 and doc.findtext("Code") == "OperationAborted"
    assert doc.findtext("Message") == "A conflicting conditional operation is currently in progress against this resource. Please try again."
    time.sleep(HOLD + 0.1)
    assert create_bucket("realistic", name, "us-east-1")[0] == 200


# -- CloudFormation ---------------------------------------------------------------------------------


def cfn(server, region, action, **form):
    return call(server, "cloudformation", region, {"Action": action, **form})


def stack_form(user_arn, tags=None):
    form = {"TemplateBody": TEMPLATE, "Parameters.member.1.ParameterKey": "LabUserArn", "Parameters.member.1.ParameterValue": user_arn}
    for i, (k, v) in enumerate((tags or {}).items(), 1):
        form[f"Tags.member.{i}.Key"], form[f"Tags.member.{i}.Value"] = k, v
    return form


def create_user(server):
    name = unique("user")
    assert call(server, "iam", form={"Action": "CreateUser", "UserName": name})[0] == 200
    return f"arn:aws:iam::{ACCOUNT}:user/{name}"


def nobody():
    """A user ARN IAM does not know: no propagation delay applies to it."""
    return f"arn:aws:iam::{ACCOUNT}:user/{unique('nobody')}"


def stacks(region, name=None):
    """DescribeStacks: {name: {"status", "reason", "outputs", "params", "tags"}}, or the error response."""
    resp = cfn("realistic", region, "DescribeStacks", **({"StackName": name} if name else {}))
    if resp[0] != 200:
        return resp
    found = {}
    for m in xml(resp[2]).find(".//Stacks").findall("member"):
        found[m.findtext("StackName")] = {
            "status": m.findtext("StackStatus"),
            "reason": m.findtext("StackStatusReason"),
            "outputs": [o.findtext("OutputValue") for o in m.findall("Outputs/member")],
            "params": [p.findtext("ParameterValue") for p in m.findall("Parameters/member")],
            "tags": {t.findtext("Key"): t.findtext("Value") for t in m.findall("Tags/member")},
        }
    return found


def events(region, name):
    resp = cfn("realistic", region, "DescribeStackEvents", StackName=name)
    assert resp[0] == 200, resp
    return [{c.tag: c.text for c in m} for m in xml(resp[2]).find(".//StackEvents").findall("member")]


def settle(region, name):
    wait_for(lambda: not stacks(region, name)[name]["status"].endswith("_IN_PROGRESS"), STACK_DELAY + 5, f"{name} settled")
    return stacks(region, name)[name]


def test_cloudformation_throttling():
    before = stats("realistic")["throttled"].get("cloudformation:ListStacks", 0)
    codes = [cfn("realistic", "us-east-1", "ListStacks") for _ in range(CFN_RATE + 15)]
    assert all(r[0] == 200 for r in codes[: CFN_RATE - 2])
    refused = [r for r in codes if r[0] != 200]
    assert refused and all(r[0] == 400 and error_code(r) == "Throttling" and "Rate exceeded" in r[2] for r in refused)
    assert stats("realistic")["throttled"]["cloudformation:ListStacks"] - before == len(refused)
    time.sleep(1.1)  # the bucket fills again for the tests after this one
    # STS_LAB_CFN_RATE=0: never throttled; IAM throttling (STS_LAB_IAM_RATE=5) still works.
    assert all(cfn("switches", "us-east-1", "ListStacks")[0] == 200 for _ in range(30))
    iam = [call("switches", "iam", form={"Action": "ListUsers"}) for _ in range(15)]
    assert any(r[0] == 400 and error_code(r) == "Throttling" for r in iam)


def test_update_rolled_back_for_invalid_principal():
    region, name, old = "eu-north-1", unique("upd"), nobody()
    assert cfn("realistic", region, "CreateStack", StackName=name, **stack_form(old))[0] == 200
    first = settle(region, name)
    assert first["status"] == "CREATE_COMPLETE" and first["outputs"]
    fresh, born = create_user("realistic"), time.time()
    resp = cfn("realistic", region, "UpdateStack", StackName=name, **stack_form(fresh))
    assert resp[0] == 200 and f":stack/{name}/" in xml(resp[2]).findtext(".//StackId")
    during = stacks(region, name)[name]
    assert during["status"] == "UPDATE_IN_PROGRESS" and not during["outputs"]
    after = settle(region, name)
    assert after["status"] == "UPDATE_ROLLBACK_COMPLETE"
    assert after["reason"] == "The following resource(s) failed to update: [StsRole]."
    assert after["outputs"] == first["outputs"] and after["params"] == [old]
    assert stacks(region)[name]["status"] == "UPDATE_ROLLBACK_COMPLETE"
    evs = events(region, name)
    assert evs[0]["ResourceStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    failed = [e for e in evs if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert len(failed) == 1 and failed[0]["LogicalResourceId"] == "StsRole" and failed[0]["ResourceType"] == "AWS::IAM::Role"
    assert failed[0]["ResourceStatusReason"].startswith('Invalid principal in policy: {"AWS":"' + fresh + '"} (Service: Iam, Status Code: 400')
    assert "CREATE_COMPLETE" in [e["ResourceStatus"] for e in evs]  # moto's own events are kept
    # Once IAM knows the user, the update goes through and the rollback is history.
    time.sleep(max(0, born + WINDOW + 0.2 - time.time()))
    assert cfn("realistic", region, "UpdateStack", StackName=name, **stack_form(fresh))[0] == 200
    assert stacks(region, name)[name]["status"] == "UPDATE_IN_PROGRESS"
    done = settle(region, name)
    assert done["status"] == "UPDATE_COMPLETE" and done["params"] == [fresh] and done["reason"] is None and done["outputs"]


def test_describe_all_stacks():
    region = "ap-northeast-1"
    a, b, p, elsewhere = unique("a"), unique("b"), unique("p"), unique("c")
    for name in (a, b):
        assert cfn("realistic", region, "CreateStack", StackName=name, **stack_form(nobody()))[0] == 200
    assert cfn("realistic", "ap-northeast-2", "CreateStack", StackName=elsewhere, **stack_form(nobody()))[0] == 200
    tags = {"k&<": 'v>&"'}
    assert cfn("realistic", region, "CreateStack", StackName=p, **stack_form(create_user("realistic"), tags))[0] == 200
    listed = stacks(region)
    assert set(listed) == {a, b, p}
    assert all(s["status"] == "CREATE_IN_PROGRESS" and not s["outputs"] for s in listed.values()), listed
    assert listed[p]["tags"] == tags
    raw("realistic", "POST", f"/sts-lab/stack-status?name={b}&status=UPDATE_ROLLBACK_COMPLETE")
    time.sleep(STACK_DELAY + 0.1)
    listed = stacks(region)
    assert listed[a]["status"] == "CREATE_COMPLETE" and listed[a]["outputs"]
    assert listed[b]["status"] == "UPDATE_ROLLBACK_COMPLETE" and listed[b]["outputs"]
    assert listed[p]["status"] == "ROLLBACK_COMPLETE" and listed[p]["tags"] == tags
    for name in (a, p):
        assert cfn("realistic", region, "DeleteStack", StackName=name)[0] == 200
    listed = stacks(region)
    assert listed[a]["status"] == listed[p]["status"] == "DELETE_IN_PROGRESS" and not listed[a]["outputs"]
    time.sleep(STACK_DELAY + 0.1)
    assert set(stacks(region)) == {b}
    for name in (a, p):
        gone = stacks(region, name)
        assert gone[0] == 400 and error_code(gone) == "ValidationError"
        assert xml(gone[2]).findtext(".//Message") == f"Stack with id {name} does not exist"


# -- counters, unimplemented actions, fixes ---------------------------------------------------------


def test_stats_count_and_reset():
    assert raw("plain", "POST", "/moto-api/reset")[0] == 200
    empty = stats("plain")
    assert empty["since"] is None and empty["calls"] == {} and empty["throttled"] == {}
    in_threads(6, lambda: [call("plain", "iam", form={"Action": "ListUsers"}) for _ in range(10)])
    call("plain", "s3", method="GET", path="/")
    call("plain", "s3", method="PUT", path=f"/{unique('st')}")
    call("plain", "sts", form={"Action": "GetCallerIdentity"})
    counted = stats("plain")
    assert counted["calls"] == {"iam:ListUsers": 60, "s3:GET": 1, "s3:PUT": 1, "sts:GetCallerIdentity": 1}
    assert counted["throttled"] == {} and counted["since"] <= counted["now"] <= time.time() + 1
    assert raw("plain", "POST", "/moto-api/reset")[0] == 200
    assert stats("plain")["calls"] == {}


def test_unimplemented_actions():
    # What moto answers for an action it lacks (GenerateServiceLastAccessedDetails in moto 5.2.5) ...
    moto = call("plain", "iam", form={"Action": "GenerateServiceLastAccessedDetails", "Arn": nobody()})
    assert moto[0] == 500 and moto[1]["content-type"] == "text/html; charset=utf-8"
    # ... is what an action listed in STS_LAB_UNIMPLEMENTED gets, in both modes.
    for server, action in [("plain", "ListServiceSpecificCredentials"), ("plain", "GetAccountSummary"), ("realistic", "GetAccountSummary")]:
        ours = call(server, "iam", form={"Action": action, "UserName": "x"})
        assert (ours[0], ours[1]["content-type"], ours[2]) == (moto[0], moto[1]["content-type"], moto[2]), (server, action)
    assert call("realistic", "iam", form={"Action": "ListServiceSpecificCredentials", "UserName": "x"})[0] == 200


def test_service_credentials_threads_and_escaping():
    user = unique("sc")
    assert call("realistic", "iam", form={"Action": "CreateUser", "UserName": user})[0] == 200
    service, created = "a&b<c>.amazonaws.com", []
    form = {"Action": "CreateServiceSpecificCredential", "UserName": user, "ServiceName": service}
    in_threads(8, lambda: created.extend(call("realistic", "iam", form=form) for _ in range(10)))
    assert len(created) == 80 and all(r[0] == 200 and xml(r[2]).findtext(".//ServiceName") == service for r in created)
    resp = call("realistic", "iam", form={"Action": "ListServiceSpecificCredentials", "UserName": user})
    ids = [m.findtext("ServiceSpecificCredentialId") for m in xml(resp[2]).iter("member")]
    assert len(ids) == len(set(ids)) == 80
    refused = call("realistic", "iam", form={"Action": "DeleteUser", "UserName": user})
    assert refused[0] == 409 and "service specific credentials" in xml(refused[2]).findtext(".//Message")


def clock(server, offset=None):
    if offset is None:
        status, _, body = raw(server, "GET", "/sts-lab/clock")
    else:
        status, _, body = raw(server, "POST", "/sts-lab/clock", json.dumps({"offset": offset}).encode())
    assert status == 200, body
    return json.loads(body)


def assume_session(server, form):
    """(credentials, Expiration) of a session, asked again while a new trust propagates."""
    answer = []

    def assumed():
        answer[:] = [call(server, "sts", form=form)]
        return answer[0][0] == 200

    wait_for(assumed, 10, "the new trust")
    doc = xml(answer[0][2])
    creds = Credentials(*(doc.findtext(f".//{k}") for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")))
    return creds, doc.findtext(".//Expiration")


def test_the_clock_ends_sessions_in_both_modes():
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]})
    for server in ("plain", "realistic"):
        assert clock(server, 0)["offset"] == 0
        role = unique("clk")
        assert call(server, "iam", form={"Action": "CreateRole", "RoleName": role, "AssumeRolePolicyDocument": trust})[0] == 200
        form = {"Action": "AssumeRole", "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{role}", "RoleSessionName": "s", "DurationSeconds": "900"}

        session, _ = assume_session(server, form)
        whoami = {"Action": "GetCallerIdentity"}
        assert call(server, "sts", form=whoami, creds=session)[0] == 200, server
        moved = clock(server, 901)
        assert moved["offset"] == 901 and moved["epoch"] >= time.time() + 900, moved
        expired = call(server, "sts", form=whoami, creds=session)
        assert (expired[0], error_code(expired)) == (400, "ExpiredToken"), (server, expired)
        listed = call(server, "s3", method="GET", path="/", creds=session)
        assert (listed[0], error_code(listed)) == (400, "ExpiredToken"), (server, listed)
        # A session issued now is dated by the moved clock, and works.
        fresh, expiration = assume_session(server, form)
        ends = calendar.timegm(time.strptime(expiration[:19], "%Y-%m-%dT%H:%M:%S"))
        assert abs(ends - (moved["epoch"] + 900)) < 5, (server, expiration, moved)
        assert call(server, "sts", form=whoami, creds=fresh)[0] == 200, server
        assert raw(server, "POST", "/sts-lab/clock", b"soon")[0] == 400
        assert raw(server, "POST", "/moto-api/reset")[0] == 200 and clock(server)["offset"] == 0


def test_assume_role_duration_validated():
    role = unique("r")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]})
    assert call("realistic", "iam", form={"Action": "CreateRole", "RoleName": role, "AssumeRolePolicyDocument": trust})[0] == 200
    arn = f"arn:aws:iam::{ACCOUNT}:role/{role}"
    expected = {
        "abc": "Member must be a number",
        "100": "Member must have value greater than or equal to 900",
        "50000": "Member must have value less than or equal to 43200",
    }
    for value, constraint in expected.items():
        resp = call("realistic", "sts", form={"Action": "AssumeRole", "RoleArn": arn, "RoleSessionName": "s", "DurationSeconds": value})
        assert resp[0] == 400 and error_code(resp) == "ValidationError", resp
        message = f"1 validation error detected: Value '{value}' at 'durationSeconds' failed to satisfy constraint: {constraint}"
        assert xml(resp[2]).findtext(".//Message") == message
    resp = call("realistic", "sts", form={"Action": "AssumeRole", "RoleArn": arn, "RoleSessionName": "s", "DurationSeconds": "7200"})
    assert resp[0] == 400 and "exceeds the MaxSessionDuration" in resp[2]


# -- the policy evaluator (policy.py), without a server ----------------------------------------------

V = "2012-10-17"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"


def req(action="s3:ListBucket", resource="arn:aws:s3:::b", context=None, principal=ALICE):
    return {"principal": principal, "action": action, "resource": resource, "context": context or {}}


def allow_if(condition, version=V):
    return {"Version": version, "Statement": [{"Sid": "S", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": condition}]}


def holds(condition, context=None):
    """Whether an Allow with that condition applies to a request with that context."""
    return evaluate_policy(allow_if(condition), req(context=context)) == ("Allow", "S")


def allows(statement, request, version=V):
    return evaluate_policy({"Version": version, "Statement": statement}, request)[0] == "Allow"


def test_policy_actions_and_resources():
    st = {"Effect": "Allow", "Action": "S3:list*", "Resource": "arn:aws:s3:::b*"}
    assert allows(st, req()) and allows(st, req("s3:ListBucketVersions", "arn:aws:s3:::bx"))  # actions ignore case
    assert not allows(st, req("s3:GetObject")) and not allows(st, req(resource="arn:aws:s3:::B"))  # resources do not
    assert allows({"Effect": "Allow", "Action": "s3:Li?tBucket", "Resource": "arn:aws:s3:::?"}, req())
    assert not allows({"Effect": "Allow", "Action": "s3:Li?tBucket", "Resource": "arn:aws:s3:::??"}, req())
    assert allows({"Effect": "Allow", "Action": "*", "Resource": "*"}, req("iam:CreateUser", "*"))
    assert allows({"Effect": "Allow", "Action": ["iam:*", "s3:ListBucket"], "Resource": ["x", "arn:aws:s3:::b"]}, req())
    not_iam = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert allows(not_iam, req()) and not allows(not_iam, req("IAM:ListUsers", "*"))
    not_secret = {"Effect": "Allow", "Action": "s3:*", "NotResource": ["arn:aws:s3:::secret*"]}
    assert allows(not_secret, req()) and not allows(not_secret, req(resource="arn:aws:s3:::secret-1/k"))
    both = [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}, {"Sid": "D", "Effect": "Deny", "Action": "s3:List*", "Resource": "*"}]
    assert evaluate_policy({"Version": V, "Statement": both}, req()) == ("Deny", "D")
    assert evaluate_policy({"Version": V, "Statement": both}, req("s3:GetObject")) == ("Allow", "A")
    assert evaluate_policy({"Version": V, "Statement": both}, req("iam:GetUser")) == (None, None)
    # A Deny whose condition does not hold does not deny.
    unmet = [both[0], {**both[1], "Condition": {"StringEquals": {"aws:PrincipalTag/blocked": "yes"}}}]
    assert evaluate_policy({"Version": V, "Statement": unmet}, req()) == ("Allow", "A")
    assert evaluate_policy({"Version": V, "Statement": unmet}, req(context={"aws:PrincipalTag/blocked": "yes"})) == ("Deny", "D")
    assert evaluate_policy(json.dumps({"Version": V, "Statement": both[0]}), req()) == ("Allow", "A")  # text, one statement


def test_policy_string_operators():
    ctx = {"aws:username": "Alice"}
    assert holds({"StringEquals": {"aws:username": "Alice"}}, ctx) and not holds({"StringEquals": {"aws:username": "alice"}}, ctx)
    assert holds({"StringEquals": {"AWS:UserName": ["bob", "Alice"]}}, ctx)  # keys ignore case; values ORed
    assert holds({"StringNotEquals": {"aws:username": ["bob", "carol"]}}, ctx)
    assert not holds({"StringNotEquals": {"aws:username": ["bob", "Alice"]}}, ctx)  # NOR of the values
    assert holds({"StringEqualsIgnoreCase": {"aws:username": "ALICE"}}, ctx)
    assert not holds({"StringNotEqualsIgnoreCase": {"aws:username": "ALICE"}}, ctx)
    assert holds({"StringNotEqualsIgnoreCase": {"aws:username": "bob"}}, ctx)
    assert holds({"StringLike": {"aws:username": "A?i*"}}, ctx) and not holds({"StringLike": {"aws:username": "a*"}}, ctx)
    assert holds({"StringNotLike": {"aws:username": "B*"}}, ctx) and not holds({"StringNotLike": {"aws:username": "*ce"}}, ctx)
    assert not holds({"StringEquals": {"aws:username": "A*"}}, ctx)  # no wildcards in StringEquals
    # Several keys and several operators are ANDed.
    two = {"aws:username": "Alice", "aws:PrincipalTag/team": "blue"}
    assert holds({"StringEquals": {"aws:username": "Alice", "aws:PrincipalTag/team": "blue"}}, two)
    assert not holds({"StringEquals": {"aws:username": "Alice", "aws:PrincipalTag/team": "red"}}, two)
    assert not holds({"StringEquals": {"aws:username": "Alice"}, "StringLike": {"aws:PrincipalTag/team": "r*"}}, two)
    assert not holds({"StringAlmostEquals": {"aws:username": "Alice"}}, ctx)  # an unknown operator never matches


def test_policy_missing_keys_and_if_exists():
    # A missing key: positive operators false, negated ones true (the docs' note), IfExists true.
    for op in ("StringEquals", "StringLike", "StringEqualsIgnoreCase", "NumericEquals", "DateLessThan", "Bool", "IpAddress",
               "ArnLike", "ArnEquals", "BinaryEquals", "NumericGreaterThan", "DateEquals"):
        assert not holds({op: {"aws:nothing": "1"}}), op
        assert holds({f"{op}IfExists": {"aws:nothing": "1"}}), op
    for op in ("StringNotEquals", "StringNotLike", "StringNotEqualsIgnoreCase", "NumericNotEquals", "DateNotEquals", "NotIpAddress",
               "ArnNotEquals", "ArnNotLike"):
        assert holds({op: {"aws:nothing": "1"}}), op
        assert holds({f"{op}IfExists": {"aws:nothing": "1"}}), op
    # IfExists on a present key is the operator itself.
    assert holds({"StringEqualsIfExists": {"aws:username": "alice"}}, {"aws:username": "alice"})
    assert not holds({"StringEqualsIfExists": {"aws:username": "bob"}}, {"aws:username": "alice"})
    assert not holds({"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, {"aws:MultiFactorAuthPresent": "true"})
    assert holds({"NumericLessThanIfExists": {"aws:MultiFactorAuthAge": "60"}}, {"aws:MultiFactorAuthAge": "5"})
    # Null: whether the key is missing.
    assert holds({"Null": {"aws:TokenIssueTime": "true"}}) and not holds({"Null": {"aws:TokenIssueTime": "false"}})
    issued = {"aws:TokenIssueTime": "2026-01-01T00:00:00Z"}
    assert holds({"Null": {"aws:TokenIssueTime": False}}, issued) and not holds({"Null": {"aws:TokenIssueTime": True}}, issued)


def test_policy_numeric_date_bool_binary_ip_arn():
    n = {"s3:max-keys": "10"}
    assert holds({"NumericEquals": {"s3:max-keys": 10}}, n) and holds({"NumericEquals": {"s3:max-keys": "10.0"}}, n)
    assert holds({"NumericNotEquals": {"s3:max-keys": "11"}}, n) and not holds({"NumericNotEquals": {"s3:max-keys": ["9", "10"]}}, n)
    assert holds({"NumericLessThan": {"s3:max-keys": "11"}}, n) and not holds({"NumericLessThan": {"s3:max-keys": "10"}}, n)
    assert holds({"NumericLessThanEquals": {"s3:max-keys": "10"}}, n) and not holds({"NumericLessThanEquals": {"s3:max-keys": "9"}}, n)
    assert holds({"NumericGreaterThan": {"s3:max-keys": "9"}}, n) and not holds({"NumericGreaterThan": {"s3:max-keys": "10"}}, n)
    assert holds({"NumericGreaterThanEquals": {"s3:max-keys": "10"}}, n) and not holds({"NumericGreaterThanEquals": {"s3:max-keys": "11"}}, n)
    assert not holds({"NumericEquals": {"s3:max-keys": "ten"}}, n)
    t = {"aws:CurrentTime": "2026-06-01T12:00:00Z"}
    epoch = str(calendar.timegm((2026, 6, 1, 12, 0, 0)))
    assert holds({"DateEquals": {"aws:CurrentTime": epoch}}, t)  # epoch seconds in the policy
    assert holds({"DateEquals": {"aws:CurrentTime": "2026-06-01T12:00:00Z"}}, {"aws:CurrentTime": epoch})  # or in the request
    assert holds({"DateEquals": {"aws:CurrentTime": "2026-06-01T14:00:00.000+02:00"}}, t)
    assert holds({"DateNotEquals": {"aws:CurrentTime": "2026-06-01"}}, t) and not holds({"DateNotEquals": {"aws:CurrentTime": epoch}}, t)
    assert holds({"DateLessThan": {"aws:CurrentTime": "2026-06-01T12:00:01Z"}}, t) and not holds({"DateLessThan": {"aws:CurrentTime": epoch}}, t)
    assert holds({"DateLessThanEquals": {"aws:CurrentTime": epoch}}, t) and not holds({"DateLessThanEquals": {"aws:CurrentTime": "2026-05-01"}}, t)
    assert holds({"DateGreaterThan": {"aws:CurrentTime": "2026-06-01"}}, t) and not holds({"DateGreaterThan": {"aws:CurrentTime": epoch}}, t)
    assert holds({"DateGreaterThanEquals": {"aws:CurrentTime": epoch}}, t) and not holds({"DateGreaterThanEquals": {"aws:CurrentTime": "2027-01-01"}}, t)
    assert not holds({"DateLessThan": {"aws:CurrentTime": "next week"}}, t)
    m = {"aws:MultiFactorAuthPresent": "true"}
    assert holds({"Bool": {"aws:MultiFactorAuthPresent": True}}, m) and holds({"Bool": {"aws:MultiFactorAuthPresent": "TRUE"}}, m)
    assert not holds({"Bool": {"aws:MultiFactorAuthPresent": "false"}}, m)
    assert holds({"Bool": {"aws:MultiFactorAuthPresent": "${aws:PrincipalTag/mfa}"}}, {**m, "aws:PrincipalTag/mfa": "true"})  # variables too
    assert not holds({"NumericEquals": {"s3:max-keys": "${aws:PrincipalTag/n}"}}, {"s3:max-keys": "1", "aws:PrincipalTag/n": "1"})  # not here
    b = {"custom:blob": "hello"}
    assert holds({"BinaryEquals": {"custom:blob": base64.b64encode(b"hello").decode()}}, b)
    assert not holds({"BinaryEquals": {"custom:blob": base64.b64encode(b"bye").decode()}}, b)
    ip = {"aws:SourceIp": "203.0.113.9"}
    assert holds({"IpAddress": {"aws:SourceIp": ["198.51.100.0/24", "203.0.113.0/24"]}}, ip)
    assert not holds({"IpAddress": {"aws:SourceIp": "203.0.113.10/32"}}, ip) and holds({"IpAddress": {"aws:SourceIp": "203.0.113.9"}}, ip)
    assert holds({"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}}, ip) and not holds({"NotIpAddress": {"aws:SourceIp": "203.0.0.0/8"}}, ip)
    assert holds({"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}, {"aws:SourceIp": "2001:db8::1"})
    arn = {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/team/Deploy"}
    assert holds({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/team/*"}}, arn)
    assert holds({"ArnEquals": {"aws:PrincipalArn": "arn:*:iam::?????????012:role/team/Deploy"}}, arn)
    assert not holds({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*"}}, arn)  # each of the six parts on its own
    assert not holds({"ArnLike": {"aws:PrincipalArn": "arn:aws:sts::*:role/team/*"}}, arn)
    assert holds({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}, arn)
    assert not holds({"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::*:role/team/Deploy"}}, arn)


def test_policy_set_operators():
    keys = {"aws:TagKeys": ["team", "cost"]}
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["team", "cost", "owner"]}}, keys)
    assert not holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}, keys)
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}})  # a missing key: true
    assert holds({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}, {"aws:TagKeys": []})
    assert holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner", "cost"]}}, keys)
    assert not holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner"]}}, keys)
    assert not holds({"ForAnyValue:StringEquals": {"aws:TagKeys": ["owner"]}})  # a missing key: false
    assert holds({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["owner"]}}, keys)
    assert not holds({"ForAllValues:StringNotEquals": {"aws:TagKeys": ["cost"]}}, keys)
    assert holds({"ForAnyValue:StringNotLike": {"aws:TagKeys": ["t*"]}}, keys) and not holds({"ForAnyValue:StringNotLike": {"aws:TagKeys": ["*"]}}, keys)
    assert holds({"ForAnyValue:StringLike": {"aws:TagKeys": "c*"}}, keys)
    assert holds({"ForAllValues:StringLikeIfExists": {"aws:TagKeys": "*"}}, keys)
    assert not holds({"Sometimes:StringEquals": {"aws:TagKeys": "team"}}, keys)
    # Several request values under a plain operator (undefined by AWS): read as ForAnyValue.
    assert holds({"StringEquals": {"aws:TagKeys": "cost"}}, keys) and not holds({"StringEquals": {"aws:TagKeys": "owner"}}, keys)
    assert holds({"StringNotEquals": {"aws:TagKeys": "cost"}}, keys) and not holds({"StringNotEquals": {"aws:TagKeys": ["cost", "team"]}}, keys)


def test_policy_variables():
    ctx = {"aws:username": "alice", "aws:userid": "AIDAALICE", "aws:PrincipalTag/team": "blue"}
    own = {"Effect": "Allow", "Action": "s3:*", "Resource": ["arn:aws:s3:::${aws:username}-*", "arn:aws:s3:::team-${aws:PrincipalTag/Team}/*"]}
    assert allows(own, req(resource="arn:aws:s3:::alice-1", context=ctx))
    assert not allows(own, req(resource="arn:aws:s3:::bob-1", context=ctx))
    assert allows(own, req(resource="arn:aws:s3:::team-blue/k", context=ctx)) and not allows(own, req(resource="arn:aws:s3:::team-red/k", context=ctx))
    # A variable whose key is missing matches nothing (unless it has a default).
    assert not allows(own, req(resource="arn:aws:s3:::team-/k", context={"aws:username": "alice"}))
    fallback = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::team-${aws:PrincipalTag/team, 'none'}"}
    assert allows(fallback, req(resource="arn:aws:s3:::team-none")) and allows(fallback, req(resource="arn:aws:s3:::team-blue", context=ctx))
    assert holds({"StringEquals": {"s3:prefix": "home/${aws:userid}/"}}, {**ctx, "s3:prefix": "home/AIDAALICE/"})
    assert holds({"StringEquals": {"aws:PrincipalTag/owner": "${aws:username}"}}, {**ctx, "aws:PrincipalTag/owner": "alice"})
    assert holds({"StringLike": {"s3:prefix": "${aws:CurrentTime}*"}}, {"s3:prefix": "2026-x", "aws:CurrentTime": "2026"})  # any key
    # ${*}, ${?} and ${$} are the literal characters; a value's own wildcards are literal too.
    star = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/${*}${?}${$}"}
    assert allows(star, req(resource="arn:aws:s3:::b/*?$")) and not allows(star, req(resource="arn:aws:s3:::b/key$"))
    literal_star = {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::${aws:username}"}
    assert allows(literal_star, req(resource="arn:aws:s3:::a*", context={"aws:username": "a*"}))
    assert not allows(literal_star, req(resource="arn:aws:s3:::abc", context={"aws:username": "a*"}))
    # Before the 2012-10-17 version there are no variables.
    assert not allows(own, req(resource="arn:aws:s3:::alice-1", context=ctx), version="2008-10-17")
    assert allows(own, req(resource="arn:aws:s3:::${aws:username}-1", context=ctx), version="2008-10-17")


def test_policy_trust_principals():
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/s1"
    for principal in ("*", {"AWS": "*"}, {"AWS": ACCOUNT}, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, {"AWS": [ALICE, "x"]}):
        assert principal_matches(principal, ALICE), principal
    # Exactly, never as a substring (a plain string, as some emulators read it, or an id).
    for principal in ({"AWS": f"{ALICE}2"}, {"AWS": ALICE[:-1]}, {"AWS": "arn:aws:iam::999999999999:root"}, {"AWS": "999999999999"},
                      {"AWS": "AIDAALICE"}, {"Service": "ec2.amazonaws.com"}, "alice"):
        assert not principal_matches(principal, ALICE), principal
    assert not principal_matches({"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}, f"arn:aws:iam::{ACCOUNT}:user/alice-admin")
    # A role names its sessions (whatever its path); a session ARN names that session only.
    assert principal_matches({"AWS": f"arn:aws:iam::{ACCOUNT}:role/path/Deploy"}, session)
    assert not principal_matches({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Deploy2"}, session)
    assert principal_matches({"AWS": session}, session) and not principal_matches({"AWS": f"{session}x"}, session)
    assert not principal_matches({"AWS": f"arn:aws:iam::{ACCOUNT}:role/Deploy"}, ALICE)


def test_policy_decide():
    def pol(name, kind, *statements):
        return {"name": name, "kind": kind, "document": {"Version": V, "Statement": list(statements)}}

    s3_all = {"Sid": "S3", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}
    list_only = {"Sid": "List", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}
    deny_create = {"Sid": "NoCreate", "Effect": "Deny", "Action": "s3:CreateBucket", "Resource": "*"}
    create = req("s3:CreateBucket", "arn:aws:s3:::b")
    assert decide([], create)[:4] == ("ImplicitDeny", None, None, "because no identity-based policy allows the s3:CreateBucket action")
    assert decide([pol("a", "identity", s3_all)], create)[:3] == ("Allow", "a", "S3")
    got = decide([pol("a", "identity", s3_all), pol("b", "identity", deny_create), pol("c", "session", deny_create)], create)
    assert got[:4] == ("ExplicitDeny", "b", "NoCreate", "with an explicit deny in an identity-based policy")
    assert got.per_policy == [{"name": "a", "effect": "Allow", "statement": "S3"}, {"name": "b", "effect": "Deny", "statement": "NoCreate"},
                              {"name": "c", "effect": "Deny", "statement": "NoCreate"}]
    assert decide([pol("a", "identity", s3_all), pol("s", "session", s3_all, deny_create)], create)[3] == "with an explicit deny in a session policy"
    # Session policies narrow the identity's: both must allow.
    narrowed = [pol("a", "identity", s3_all), pol("s", "session", list_only)]
    assert decide(narrowed, create)[:4] == ("ImplicitDeny", None, None, "because no session policy allows the s3:CreateBucket action")
    assert decide(narrowed, req("s3:ListAllMyBuckets", "*"))[:3] == ("Allow", "a", "S3")
    assert decide([pol("a", "identity", list_only), pol("s", "session", s3_all)], create)[3].startswith("because no identity-based policy")
    # AssumeRole: the trust must allow; naming the caller itself is enough, naming its account needs its policies too.
    role = f"arn:aws:iam::{ACCOUNT}:role/Deploy"
    assume = req("sts:AssumeRole", role)
    assume_any = {"Sid": "Assume", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}

    def trust(principal, effect="Allow"):
        return pol("trust", "trust", {"Sid": "T", "Effect": effect, "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})

    assert decide([trust(ALICE)], assume)[:3] == ("Allow", "trust", "T")
    assert decide([pol("a", "identity", assume_any), trust(ALICE)], assume)[:3] == ("Allow", "a", "Assume")
    assert decide([trust(ACCOUNT)], assume)[:4] == ("ImplicitDeny", None, None, "because no identity-based policy allows the sts:AssumeRole action")
    assert decide([pol("a", "identity", assume_any), trust(f"arn:aws:iam::{ACCOUNT}:root")], assume)[:3] == ("Allow", "a", "Assume")
    refused = decide([pol("a", "identity", assume_any), trust(f"{ALICE}-admin")], assume)
    assert refused[:4] == ("ImplicitDeny", None, None, "because no role trust policy allows the sts:AssumeRole action")
    assert decide([pol("a", "identity", assume_any), trust(ACCOUNT, "Deny"), trust("*")], assume)[:4] == (
        "ExplicitDeny", "trust", "T", "with an explicit deny in the role trust policy")
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/Other/s"
    chained = req("sts:AssumeRole", role, principal=session)
    assert decide([trust(f"arn:aws:iam::{ACCOUNT}:role/Other")], chained).effect == "Allow"
    assert decide([pol("a", "identity", assume_any), pol("s", "session", list_only), trust(ACCOUNT)], chained)[3].startswith("because no session policy")


def test_totp_rfc6238_vectors():
    seed = base64.b32encode(b"12345678901234567890").decode()
    for at, code in ((59, "287082"), (1111111109, "081804"), (1111111111, "050471"), (1234567890, "005924"), (2000000000, "279037")):
        assert totp(seed, at) == code, at


# -- IAM authorization over HTTP (servers "auth" and "auth-realistic": IAM enforced after the bootstrap) ----


def as_admin(server, service, **kwargs):
    return call(server, service, creds=ADMINS[server], **kwargs)


def iam(server, action, **form):
    resp = as_admin(server, "iam", form={"Action": action, **form})
    assert resp[0] == 200, (action, resp)
    return xml(resp[2])


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(action, resource="*", condition=None, effect="Allow", sid=None):
    found = {"Effect": effect, "Action": action, "Resource": resource}
    found.update({"Condition": condition} if condition else {})
    found.update({"Sid": sid} if sid else {})
    return found


def trusting(principal, condition=None, action="sts:AssumeRole"):
    found = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": action}
    return {**found, "Condition": condition} if condition else found


def tag_form(tags):
    form = {}
    for i, (k, v) in enumerate(tags.items(), 1):
        form[f"Tags.member.{i}.Key"], form[f"Tags.member.{i}.Value"] = k, v
    return form


def usable(server, creds):
    """The credentials, once the emulator knows them (the realistic layer refuses a new key for a moment)."""
    wait_for(lambda: call(server, "sts", form={"Action": "GetCallerIdentity"}, creds=creds)[0] == 200, 10, "a new key")
    return creds


def new_user(server, *statements, tags=None):
    """(ARN, credentials) of a new user with an inline policy of those statements."""
    name = unique("u")
    iam(server, "CreateUser", UserName=name, **tag_form(tags or {}))
    if statements:
        iam(server, "PutUserPolicy", UserName=name, PolicyName="p", PolicyDocument=doc(*statements))
    key = iam(server, "CreateAccessKey", UserName=name)
    return f"arn:aws:iam::{ACCOUNT}:user/{name}", usable(server, Credentials(key.findtext(".//AccessKeyId"), key.findtext(".//SecretAccessKey")))


def new_role(server, trust, *statements, max_duration=None):
    name = unique("r")
    form = {"RoleName": name, "AssumeRolePolicyDocument": doc(*trust)}
    if max_duration:
        form["MaxSessionDuration"] = str(max_duration)
    iam(server, "CreateRole", **form)
    if statements:
        iam(server, "PutRolePolicy", RoleName=name, PolicyName="p", PolicyDocument=doc(*statements))
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def assume(server, creds, role_arn, session="s", **form):
    return call(server, "sts", form={"Action": "AssumeRole", "RoleArn": role_arn, "RoleSessionName": session, **form}, creds=creds)


def assumed(server, creds, role_arn, session="s", **form):
    """A session's credentials, asked again while a new trust or policy propagates (realistic)."""
    answer = []

    def allowed():
        answer[:] = [assume(server, creds, role_arn, session, **form)]
        return answer[0][0] == 200

    wait_for(allowed, 10, f"AssumeRole of {role_arn} allowed")
    found = xml(answer[0][2])
    return Credentials(*(found.findtext(f".//{k}") for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")))


def settled(server):
    """Past the realistic layer's propagation delay: an AccessDenied now is the policies' own."""
    if server.endswith("realistic"):
        time.sleep(PROPAGATION + 0.1)


def message(resp):
    return xml(resp[2]).findtext(".//Message")


def is_denied(resp):
    return resp[0] == 403 and error_code(resp) == "AccessDenied"


def list_all(server, creds):
    return call(server, "s3", method="GET", path="/", creds=creds)


def put_bucket(server, creds, name):
    return call(server, "s3", method="PUT", path=f"/{name}", creds=creds)


def session_arn(role_arn, session="s"):
    return f"arn:aws:sts::{ACCOUNT}:assumed-role/{role_arn.rsplit('/', 1)[1]}/{session}"


def test_auth_user_without_policy_denied_in_aws_words():
    for server in AUTH:
        arn, creds = new_user(server)
        resp = list_all(server, creds)
        assert is_denied(resp), (server, resp)
        assert message(resp) == f"User: {arn} is not authorized to perform: s3:ListAllMyBuckets because no identity-based policy allows the s3:ListAllMyBuckets action"
        bucket = unique("nope")
        resp = put_bucket(server, creds, bucket)
        assert is_denied(resp) and message(resp) == (
            f'User: {arn} is not authorized to perform: s3:CreateBucket on resource: "arn:aws:s3:::{bucket}" '
            "because no identity-based policy allows the s3:CreateBucket action")
        resp = call(server, "iam", form={"Action": "ListUsers"}, creds=creds)
        doc_ = xml(resp[2])
        assert resp[0] == 403 and doc_.findtext(".//Type") == "Sender" and doc_.findtext(".//Code") == "AccessDenied"
        assert message(resp) == f"User: {arn} is not authorized to perform: iam:ListUsers because no identity-based policy allows the iam:ListUsers action"
        resp = call(server, "iam", form={"Action": "GetUser", "UserName": "emulator-admin"}, creds=creds)
        assert message(resp).startswith(f"User: {arn} is not authorized to perform: iam:GetUser on resource: arn:aws:iam::{ACCOUNT}:user/emulator-admin because")
        # The admin's key works; a wrong signature is still refused; GetCallerIdentity is never denied.
        assert list_all(server, ADMINS[server])[0] == 200
        wrong = call(server, "iam", form={"Action": "ListUsers"}, creds=Credentials(ADMINS[server].access_key, "wrong"))
        assert error_code(wrong) == "SignatureDoesNotMatch", wrong
        _, denied_all = new_user(server, stmt("*", effect="Deny"))
        assert call(server, "sts", form={"Action": "GetCallerIdentity"}, creds=denied_all)[0] == 200


def test_auth_s3_actions_as_aws_names_them():
    for server in AUTH:
        bucket = unique("acts")
        assert put_bucket(server, ADMINS[server], bucket)[0] == 200
        # Each request is allowed by exactly its IAM action (moto names HeadBucket, publicAccessBlock … otherwise).
        bucket_policy = doc({"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
        cases = [("HEAD", f"/{bucket}", "", "s3:ListBucket"), ("GET", f"/{bucket}", "list-type=2", "s3:ListBucket"),
                 ("GET", f"/{bucket}", "tagging", "s3:GetBucketTagging"), ("PUT", f"/{bucket}", "publicAccessBlock", "s3:PutBucketPublicAccessBlock"),
                 ("DELETE", f"/{bucket}", "tagging", "s3:PutBucketTagging"), ("GET", f"/{bucket}/k", "", "s3:GetObject"),
                 ("DELETE", f"/{bucket}/k", "tagging", "s3:DeleteObjectTagging"), ("PUT", f"/{bucket}", "policy", "s3:PutBucketPolicy")]
        _, other = new_user(server, stmt("s3:NoSuchAction", "*"))
        only_arn, only = new_user(server)
        for method, path, query, action in cases:
            policy = doc(stmt(action, [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]))
            iam(server, "PutUserPolicy", UserName=only_arn.rsplit("/", 1)[1], PolicyName="p", PolicyDocument=policy)
            body = (bucket_policy if query == "policy" else "<x/>").encode() if method == "PUT" else b""
            resp = call(server, "s3", method=method, path=path, query=query, creds=only, body=body)
            assert resp[0] != 403, (server, method, path, query, resp)
            resp = call(server, "s3", method=method, path=path, query=query, creds=other, body=body)
            assert resp[0] == 403 and (method == "HEAD" or f"perform: {action} on resource" in message(resp)), (server, action, resp)


def test_auth_dates_on_the_emulators_clock():
    for server in AUTH:
        past = {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}}
        _, expired = new_user(server, stmt("s3:ListAllMyBuckets", condition=past))
        resp = list_all(server, expired)
        assert is_denied(resp) and message(resp).endswith("because no identity-based policy allows the s3:ListAllMyBuckets action")
        now = clock(server)["epoch"]
        soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3600))
        since = {"DateGreaterThan": {"aws:EpochTime": str(int(now) - 60), "aws:CurrentTime": str(int(now) - 60)}}
        _, creds = new_user(server, stmt("s3:ListAllMyBuckets", condition={"DateLessThan": {"aws:CurrentTime": soon}, **since}))
        try:
            assert list_all(server, creds)[0] == 200
            clock(server, 7200)
            assert is_denied(list_all(server, creds)), server
        finally:
            clock(server, 0)
        assert list_all(server, creds)[0] == 200


def test_auth_principal_tags_and_variables():
    for server in AUTH:
        blue = {"StringEquals": {"aws:PrincipalTag/team": "blue"}}
        arn, creds = new_user(server, stmt("s3:ListAllMyBuckets", condition=blue), stmt("s3:CreateBucket", "arn:aws:s3:::${aws:PrincipalTag/team}-*"))
        assert is_denied(list_all(server, creds))
        name = arn.rsplit("/", 1)[1]
        iam(server, "TagUser", UserName=name, **tag_form({"team": "blue"}))
        assert list_all(server, creds)[0] == 200
        assert put_bucket(server, creds, unique("blue"))[0] == 200 and is_denied(put_bucket(server, creds, unique("red")))
        # Tags in a request: aws:RequestTag and aws:TagKeys.
        tagged = {"StringEquals": {"aws:RequestTag/team": "blue"}, "ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}
        _, tagger = new_user(server, stmt("iam:CreateUser", condition=tagged))
        assert call(server, "iam", form={"Action": "CreateUser", "UserName": unique("t"), **tag_form({"team": "blue"})}, creds=tagger)[0] == 200
        assert is_denied(call(server, "iam", form={"Action": "CreateUser", "UserName": unique("t"), **tag_form({"team": "red"})}, creds=tagger))
        both = tag_form({"team": "blue", "cost": "x"})
        assert is_denied(call(server, "iam", form={"Action": "CreateUser", "UserName": unique("t"), **both}, creds=tagger))
        assert is_denied(call(server, "iam", form={"Action": "CreateUser", "UserName": unique("t")}, creds=tagger))


def test_auth_deny_only_when_its_condition_holds():
    for server in AUTH:
        tagged = {"StringEquals": {"aws:PrincipalTag/blocked": "yes"}}
        arn, creds = new_user(server, stmt("s3:ListAllMyBuckets"), stmt("s3:ListAllMyBuckets", condition=tagged, effect="Deny"))
        assert list_all(server, creds)[0] == 200
        iam(server, "TagUser", UserName=arn.rsplit("/", 1)[1], **tag_form({"blocked": "yes"}))
        resp = list_all(server, creds)
        assert is_denied(resp) and message(resp) == f"User: {arn} is not authorized to perform: s3:ListAllMyBuckets with an explicit deny in an identity-based policy"
        # AWS's "no MFA" guard: long-term keys carry no aws:MultiFactorAuthPresent, so BoolIfExists false denies them.
        no_mfa = {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
        _, guarded = new_user(server, stmt("s3:ListAllMyBuckets"), stmt("s3:*", condition=no_mfa, effect="Deny"))
        assert is_denied(list_all(server, guarded))
        _, plain_bool = new_user(server, stmt("s3:ListAllMyBuckets"), stmt("s3:*", condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}}, effect="Deny"))
        assert list_all(server, plain_bool)[0] == 200


def test_auth_trust_external_id_and_principals():
    for server in AUTH:
        arn, creds = new_user(server)
        role = new_role(server, [trusting([arn], {"StringEquals": {"sts:ExternalId": "ext-42"}})])
        assumed(server, creds, role, ExternalId="ext-42")  # the trust names the user: no identity policy needed
        settled(server)
        bare = f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {role}"
        for form in ({}, {"ExternalId": "ext-41"}):
            resp = assume(server, creds, role, **form)
            assert is_denied(resp) and message(resp) == bare, (server, form, resp)
        # The account in the trust: the caller's own policy must allow too; the admin's "*" alone never does.
        by_account = new_role(server, [trusting(ACCOUNT)])
        settled(server)
        assert message(assume(server, creds, by_account)) == f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {by_account}"
        _, allowed = new_user(server, stmt("sts:AssumeRole", by_account))
        assumed(server, allowed, by_account)
        by_user = new_role(server, [trusting(arn)])
        settled(server)
        assert is_denied(assume(server, ADMINS[server], by_user))
        # A principal is matched exactly, never as a substring of a plain string.
        longer = new_role(server, [trusting(f"{arn}-admin")])
        settled(server)
        assert is_denied(assume(server, creds, longer))


def test_auth_missing_role_denied_and_escaped():
    for server in AUTH:
        arn, creds = new_user(server, stmt("sts:AssumeRole"))
        missing = f"arn:aws:iam::{ACCOUNT}:role/a<b>&c"
        resp = assume(server, creds, missing)
        assert is_denied(resp) and message(resp) == f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {missing}"
        assert is_denied(assume(server, ADMINS[server], f"arn:aws:iam::{ACCOUNT}:role/{unique('gone')}"))


def test_auth_session_policies_narrow_the_role():
    for server in AUTH:
        arn, creds = new_user(server)
        role = new_role(server, [trusting(arn)], stmt("s3:*"))
        narrow = doc(stmt("s3:ListAllMyBuckets"))
        session = assumed(server, creds, role, "narrow", Policy=narrow)
        assert list_all(server, session)[0] == 200
        bucket = unique("sess")
        resp = put_bucket(server, session, bucket)
        assert is_denied(resp) and message(resp) == (
            f'User: {session_arn(role, "narrow")} is not authorized to perform: s3:CreateBucket on resource: "arn:aws:s3:::{bucket}" '
            "because no session policy allows the s3:CreateBucket action")
        # A managed policy as session policy; an explicit deny in a session policy.
        managed = iam(server, "CreatePolicy", PolicyName=unique("sp"), PolicyDocument=doc(stmt("s3:CreateBucket")))
        by_arn = assumed(server, creds, role, "m", **{"PolicyArns.member.1.arn": managed.findtext(".//Arn")})
        assert put_bucket(server, by_arn, unique("sess"))[0] == 200 and is_denied(list_all(server, by_arn))
        denying = assumed(server, creds, role, "d", Policy=doc(stmt("*"), stmt("s3:CreateBucket", effect="Deny")))
        assert list_all(server, denying)[0] == 200
        assert message(put_bucket(server, denying, unique("sess"))).endswith("with an explicit deny in a session policy")
        # Without session policies, the role's own.
        whole = assumed(server, creds, role, "whole")
        assert put_bucket(server, whole, unique("sess"))[0] == 200


def test_auth_token_issue_time_revokes_older_sessions():
    for server in AUTH:
        arn, creds = new_user(server)
        role = new_role(server, [trusting(arn)], stmt("s3:ListAllMyBuckets"))
        older = assumed(server, creds, role, "older")
        try:
            moved = clock(server, 120)
            newer = assumed(server, creds, role, "newer")
            cutoff = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moved["epoch"] - 60))
            revoke = stmt("*", condition={"DateLessThan": {"aws:TokenIssueTime": cutoff}}, effect="Deny", sid="RevokeOlderSessions")
            iam(server, "PutRolePolicy", RoleName=role.rsplit("/", 1)[1], PolicyName="revoke", PolicyDocument=doc(revoke))
            resp = list_all(server, older)
            assert is_denied(resp) and message(resp) == (
                f"User: {session_arn(role, 'older')} is not authorized to perform: s3:ListAllMyBuckets with an explicit deny in an identity-based policy")
            assert list_all(server, newer)[0] == 200
        finally:
            clock(server, 0)


def test_auth_mfa_trust():
    for server in AUTH:
        arn, creds = new_user(server)
        name = arn.rsplit("/", 1)[1]
        device = iam(server, "CreateVirtualMFADevice", VirtualMFADeviceName=name)
        serial, seed = device.findtext(".//SerialNumber"), base64.b64decode(device.findtext(".//Base32StringSeed")).decode()
        iam(server, "EnableMFADevice", UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
        mfa = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        recent = {"Bool": {"aws:MultiFactorAuthPresent": "true"}, "NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}
        role = new_role(server, [trusting([arn], mfa)], stmt("s3:ListAllMyBuckets", condition=recent))
        # The code of the emulator's clock (it is valid a step before and after: enough for the retries of `assumed`).
        session = assumed(server, creds, role, "mfa", SerialNumber=serial, TokenCode=totp(seed, clock(server)["epoch"]))
        assert list_all(server, session)[0] == 200
        resp = assume(server, creds, role)
        assert is_denied(resp) and message(resp) == f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {role}"
        now = clock(server)["epoch"]
        wrong = next(c for c in ("000000", "111111", "222222") if c not in {totp(seed, now + d * 30) for d in (-2, -1, 0, 1, 2)})
        resp = assume(server, creds, role, SerialNumber=serial, TokenCode=wrong)
        assert is_denied(resp) and message(resp) == "MultiFactorAuthentication failed with invalid MFA one time pass code."
        # Without MFA, a session's aws:MultiFactorAuthPresent is false.
        plain = new_role(server, [trusting([arn])], stmt("s3:ListAllMyBuckets", condition=mfa))
        assert is_denied(list_all(server, assumed(server, creds, plain)))


def test_auth_session_tags():
    for server in AUTH:
        arn, creds = new_user(server)
        blue = {"StringEquals": {"aws:PrincipalTag/team": "blue"}}
        role = new_role(server, [trusting(arn, action=["sts:AssumeRole", "sts:TagSession"])], stmt("s3:ListAllMyBuckets", condition=blue))
        assert list_all(server, assumed(server, creds, role, "tagged", **tag_form({"team": "blue"})))[0] == 200
        assert is_denied(list_all(server, assumed(server, creds, role, "untagged")))
        no_tagging = new_role(server, [trusting(arn)])
        assumed(server, creds, no_tagging)
        resp = assume(server, creds, no_tagging, **tag_form({"team": "blue"}))
        assert is_denied(resp) and message(resp) == f"User: {arn} is not authorized to perform: sts:TagSession on resource: {no_tagging}"


def test_auth_role_chaining_limit():
    for server in AUTH:
        arn, creds = new_user(server)
        first = new_role(server, [trusting(arn)], stmt("sts:AssumeRole"))
        second = new_role(server, [trusting(first)], stmt("s3:ListAllMyBuckets"), max_duration=7200)
        session = assumed(server, creds, first)
        resp = assume(server, session, second, "chained", DurationSeconds="3601")
        assert resp[0] == 400 and error_code(resp) == "ValidationError", (server, resp)
        assert message(resp) == "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
        chained = assumed(server, session, second, "chained", DurationSeconds="3600")
        assert list_all(server, chained)[0] == 200
        # A user may ask the second role for more (its maximum is 7200), were it trusted.
        assert is_denied(assume(server, creds, second, DurationSeconds="3601"))


def test_auth_principal_context_keys():
    for server in AUTH:
        name = unique("ctx")
        arn = f"arn:aws:iam::{ACCOUNT}:user/{name}"
        who = {"StringEquals": {"aws:PrincipalType": "User", "aws:PrincipalAccount": ACCOUNT, "aws:username": name, "aws:RequestedRegion": "us-east-1"},
               "StringLike": {"aws:userid": "?*"}, "ArnEquals": {"aws:PrincipalArn": arn}, "IpAddress": {"aws:SourceIp": "127.0.0.0/8"},
               "Null": {"aws:TokenIssueTime": "true", "aws:MultiFactorAuthPresent": "true"}}
        iam(server, "CreateUser", UserName=name)
        iam(server, "PutUserPolicy", UserName=name, PolicyName="p", PolicyDocument=doc(
            stmt("s3:ListAllMyBuckets", condition=who), stmt("sts:AssumeRole"),
            stmt("s3:CreateBucket", "arn:aws:s3:::${aws:username}-*")))
        key = iam(server, "CreateAccessKey", UserName=name)
        creds = usable(server, Credentials(key.findtext(".//AccessKeyId"), key.findtext(".//SecretAccessKey")))
        assert list_all(server, creds)[0] == 200
        assert put_bucket(server, creds, f"{name}-b")[0] == 200 and is_denied(put_bucket(server, creds, unique("other")))
        # A session: the role's ARN, AssumedRole, ROLEID:session, no aws:username; sts:RoleSessionName in the trust.
        role_name = unique("ctx")
        role = f"arn:aws:iam::{ACCOUNT}:role/{role_name}"
        session_keys = {"StringEquals": {"aws:PrincipalType": "AssumedRole"}, "StringLike": {"aws:userid": f"AROA*:{name}"},
                        "ArnEquals": {"aws:PrincipalArn": role}, "Null": {"aws:username": "true", "aws:TokenIssueTime": "false"},
                        "Bool": {"aws:MultiFactorAuthPresent": "false"}}
        trust = trusting(ACCOUNT, {"StringEquals": {"sts:RoleSessionName": "${aws:username}"}})
        iam(server, "CreateRole", RoleName=role_name, AssumeRolePolicyDocument=doc(trust))
        iam(server, "PutRolePolicy", RoleName=role_name, PolicyName="p", PolicyDocument=doc(stmt("s3:ListAllMyBuckets", condition=session_keys)))
        session = assumed(server, creds, role, name)
        assert list_all(server, session)[0] == 200
        settled(server)
        assert is_denied(assume(server, creds, role, "someone-else"))  # the session must bear the user's name


def test_auth_source_identity_and_transitive_tags():
    for server in AUTH:
        arn, creds = new_user(server)
        alice = {"StringEquals": {"aws:SourceIdentity": "alice", "aws:PrincipalTag/team": "blue"}}
        first = new_role(server, [trusting(arn, {"StringEquals": {"sts:SourceIdentity": "alice"}}, ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"])],
                         stmt("sts:AssumeRole"), stmt("s3:ListAllMyBuckets", condition=alice))
        second = new_role(server, [trusting(first, action=["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"])], stmt("s3:ListAllMyBuckets", condition=alice))
        tags = {**tag_form({"team": "blue"}), "TransitiveTagKeys.member.1": "team"}
        session = assumed(server, creds, first, "si", SourceIdentity="alice", **tags)
        assert list_all(server, session)[0] == 200
        settled(server)
        assert is_denied(assume(server, creds, first, "si", SourceIdentity="bob", **tags))  # the trust wants alice
        assert is_denied(assume(server, creds, first, "si", **tags))
        # Along the chain: the source identity and the transitive tag pass on; neither can change. Passing the source
        # identity on needs sts:SetSourceIdentity in the chained session's own policy too, not only in the trust.
        resp = assume(server, session, second, "chained")
        assert is_denied(resp) and message(resp) == (
            f"User: {session_arn(first, 'si')} is not authorized to perform: sts:SetSourceIdentity on resource: {second}")
        iam(server, "PutRolePolicy", RoleName=first.rsplit("/", 1)[1], PolicyName="si", PolicyDocument=doc(stmt("sts:SetSourceIdentity")))
        chained = assumed(server, session, second, "chained")
        assert list_all(server, chained)[0] == 200
        assert is_denied(assume(server, session, second, "chained", SourceIdentity="bob"))
        kept = assumed(server, session, second, "kept", **tag_form({"team": "red"}))
        assert list_all(server, kept)[0] == 200
        # Without TransitiveTagKeys, the tag stays with the first session.
        untransitive = assumed(server, creds, first, "t", SourceIdentity="alice", **tag_form({"team": "blue"}))
        assert list_all(server, untransitive)[0] == 200
        assert is_denied(list_all(server, assumed(server, untransitive, second, "lost")))


def test_decide_endpoint():
    trust = {"Version": V, "Statement": [{"Sid": "T", "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"}]}
    cases = [
        {"policies": [{"name": "id", "kind": "identity", "document": {"Version": V, "Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}},
                      {"name": "sp", "kind": "session", "document": json.dumps({"Version": V, "Statement": []})}],
         "request": {"principal": ALICE, "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", "context": {"aws:TagKeys": ["a"]}}},
        {"policies": [{"name": "role trust policy", "kind": "trust", "document": trust}],
         "request": {"principal": ALICE, "action": "sts:AssumeRole", "resource": f"arn:aws:iam::{ACCOUNT}:role/R", "context": {}}},
    ]
    status, _, body = raw("plain", "POST", "/sts-lab/decide", json.dumps({"cases": cases}).encode())
    assert status == 200, body
    assert json.loads(body) == {"decisions": [
        {"effect": "ImplicitDeny", "policy": None, "statement": None,
         "per_policy": [{"name": "id", "effect": "Allow", "statement": "A"}, {"name": "sp", "effect": None, "statement": None}]},
        {"effect": "Allow", "policy": "role trust policy", "statement": "T", "per_policy": [{"name": "role trust policy", "effect": "Allow", "statement": "T"}]},
    ]}
    bad = [b"not json", b'{"cases": 3}', json.dumps({"cases": [{"policies": [{"kind": "boundary", "document": {}}], "request": {}}]}).encode(),
           json.dumps({"cases": [{"policies": [], "request": {"principal": ALICE, "action": "s3:X", "context": {"k": 1}}}]}).encode()]
    for body in bad:
        status, _, reason = raw("plain", "POST", "/sts-lab/decide", body)
        assert status == 400 and reason and "\n" not in reason, (body, reason)


def main():
    tests = [(n, f) for n, f in globals().items() if n.startswith("test_") and callable(f)]
    started, failed = time.time(), 0
    try:
        setup_module()
        for name, test in tests:
            t = time.time()
            try:
                test()
                print(f"ok      {name} ({time.time() - t:.1f} s)")
            except Exception as e:  # report every test, not only the first failure
                failed += 1
                print(f"FAILED  {name}: {type(e).__name__}: {e}")
    finally:
        teardown_module()
    print(f"{len(tests) - failed} passed, {failed} failed in {time.time() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
