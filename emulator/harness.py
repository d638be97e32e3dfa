"""The emulator tests' shared harness (not a test file): the five servers, each started when a test first asks for it
and stopped by conftest.py's session fixture, botocore-signed requests to them, the authorization tests' helpers,
and the CloudTrail tests' LookupEvents.

The servers: "realistic" and "switches" (--realistic, short delays, different switches), "plain", and "auth" and
"auth-realistic" where IAM is enforced after the admin's bootstrap, as lab-core starts the emulator.
"""

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
    "plain": ([], {"STS_LAB_UNIMPLEMENTED": " ListServiceSpecificCredentials , GetAccountSummary", "STS_LAB_CLOUDTRAIL_RATE": "0"}),
    # IAM enforced after the admin's bootstrap, as lab-core starts the emulator: every later request is authorized.
    "auth": ([], {"INITIAL_NO_AUTH_ACTION_COUNT": "3"}),
    "auth-realistic": (["--realistic"], {**TIMINGS, "INITIAL_NO_AUTH_ACTION_COUNT": "3", "STS_LAB_IAM_RATE": "0", "STS_LAB_CFN_RATE": "0"}),
}
AUTH = ("auth", "auth-realistic")
PROPAGATION = float(TIMINGS["STS_LAB_PROPAGATION_DELAY"])


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


# How long a server may take to listen: moto's import is seconds of CPU, and under `cargo test` eight test threads on
# two cores start emulators at once (a start past 20 s was seen on a slow evening); one that never listens still fails.
SERVER_START_TIMEOUT = 60


def start_server(name):
    """Starts the server `name` of CONFIGS on a port of its own, and bootstraps its admin if IAM is enforced there."""
    args, env = CONFIGS[name]
    port = free_port()
    full_env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "100000", **env}
    cmd = [sys.executable, os.path.join(HERE, "sts_lab_emulator.py"), "-p", str(port), *args]
    process = subprocess.Popen(cmd, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    dict.__setitem__(SERVERS, name, (port, process))
    try:
        wait_for(lambda: listening(port), SERVER_START_TIMEOUT, f"the {name} server")
        if name in AUTH:
            bootstrap(name)
    except BaseException:
        process.terminate()
        dict.__delitem__(SERVERS, name)
        raise


class Servers(dict):
    """name -> (port, process): a server is started when a test first asks for it, so that a test file run on its
    own (`cargo test` runs one pytest a file, side by side) starts only the servers it uses."""

    def __missing__(self, name):
        with _STARTING:
            if not dict.__contains__(self, name):
                start_server(name)
        return dict.__getitem__(self, name)


class Admins(dict):
    """server -> the bootstrapped admin's Credentials, its server started when first asked for."""

    def __missing__(self, server):
        SERVERS[server]  # starts and bootstraps it
        return dict.__getitem__(self, server)


_STARTING = threading.RLock()
SERVERS = Servers()
ADMINS = Admins()


def stop_servers():
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
    return raw(server, *signed(server, service, region, form, method, path, query, body, creds))


def signed(server, service, region="us-east-1", form=None, method="POST", path="/", query="", body=b"", creds=None):
    """What `call` sends: (method, target, body, headers)."""
    headers = {}
    if form is not None:
        body = urllib.parse.urlencode({"Version": VERSIONS[service], **form}).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    target = path + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=f"http://127.0.0.1:{SERVERS[server][0]}{target}", data=body, headers=headers)
    if service == "s3":
        request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    (S3SigV4Auth if service == "s3" else SigV4Auth)(creds or Credentials(KEY, "secret"), service, region).add_auth(request)
    return method, target, body, dict(request.headers.items())


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


def advance(server, seconds):
    """Moves the server's clock `seconds` forward: the realistic layer's waits run on it, so a test moves the clock
    past a wait rather than sleeping through it."""
    clock(server, clock(server)["offset"] + seconds)


def clock(server, offset=None):
    if offset is None:
        status, _, body = raw(server, "GET", "/sts-lab/clock")
    else:
        status, _, body = raw(server, "POST", "/sts-lab/clock", json.dumps({"offset": offset}).encode())
    assert status == 200, body
    return json.loads(body)


# -- for test_auth.py (servers "auth" and "auth-realistic": IAM enforced after the bootstrap) --------------


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
    """Past the realistic layer's propagation delay (its clock moved past it): an AccessDenied now is the policies'
    own."""
    if server.endswith("realistic"):
        advance(server, PROPAGATION + 0.1)


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


def managed_policy(server, *statements):
    """The ARN of a new customer managed policy of those statements (e.g. a permissions boundary)."""
    return iam(server, "CreatePolicy", PolicyName=unique("p"), PolicyDocument=doc(*statements)).findtext(".//Arn")


def put_bucket_policy(server, bucket, *statements):
    resp = as_admin(server, "s3", method="PUT", path=f"/{bucket}", query="policy", body=doc(*statements).encode())
    assert resp[0] in (200, 204), resp


def list_bucket(server, creds, bucket, query="list-type=2"):
    return call(server, "s3", method="GET", path=f"/{bucket}", query=query, creds=creds)


def boundary_in(element):
    """(PermissionsBoundaryType, PermissionsBoundaryArn) of an answer's element (a User, a UserDetail …), or None."""
    found = element.find("PermissionsBoundary")
    return None if found is None else (found.findtext("PermissionsBoundaryType"), found.findtext("PermissionsBoundaryArn"))


# -- for test_trail.py and test_lookup.py: CloudTrail's LookupEvents ------------------------------------

LOOKUP_TARGET = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents"


def lookup_once(server, params=None, creds=None, region="us-east-1"):
    """(status, headers, JSON answer) of one signed LookupEvents (JSON 1.1), as an SDK sends it (the admin's, by default)."""
    body = json.dumps(params or {}).encode()
    headers = {"X-Amz-Target": LOOKUP_TARGET, "Content-Type": "application/x-amz-json-1.1"}
    request = AWSRequest(method="POST", url=f"http://127.0.0.1:{SERVERS[server][0]}/", data=body, headers=headers)
    SigV4Auth(creds or ADMINS[server], "cloudtrail", region).add_auth(request)
    status, answer_headers, text = raw(server, "POST", "/", body, dict(request.headers.items()))
    return status, answer_headers, json.loads(text) if text else None


def lookup(server, params=None, creds=None, region="us-east-1"):
    """A LookupEvents asked again while throttled (2 a second), as the SDKs retry ThrottlingException."""
    answer = lookup_once(server, params, creds, region)
    end = time.time() + 15
    while answer[0] == 400 and (answer[2] or {}).get("__type") == "ThrottlingException" and time.time() < end:
        time.sleep(0.25)
        answer = lookup_once(server, params, creds, region)
    return answer


def trail(server, region="us-east-1", **params):
    """Every event LookupEvents answers for those parameters, NextToken followed: [(Event, its record)], newest first."""
    found, token = [], None
    while True:
        status, _, answer = lookup(server, {**params, **({"NextToken": token} if token else {})}, region=region)
        assert status == 200, answer
        found.extend((e, json.loads(e["CloudTrailEvent"])) for e in answer["Events"])
        token = answer.get("NextToken")
        if not token:
            return found


def by(key, value, **params):
    """LookupEvents' parameters with one lookup attribute."""
    return {"LookupAttributes": [{"AttributeKey": key, "AttributeValue": value}], **params}
