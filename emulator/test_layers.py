"""Tests of the emulator's layers over HTTP: the realistic layer (S3's regions, bucket names and listing lag;
CloudFormation's stacks, rollbacks and throttling), the counters (/sts-lab/stats), STS_LAB_UNIMPLEMENTED, the fidelity
fixes and the clock (/sts-lab/clock), on the servers harness.py starts. Run with the others: pytest emulator/
"""

import calendar
import json
import threading
import time

from botocore.credentials import Credentials
from harness import (
    ACCOUNT,
    CFN_RATE,
    HOLD,
    LAG,
    STACK_DELAY,
    WINDOW,
    advance,
    call,
    clock,
    error_code,
    in_threads,
    raw,
    stats,
    unique,
    wait_for,
    xml,
)

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


# -- speed fixes ------------------------------------------------------------------------------------


def test_templates_parse_on_libyaml_into_the_same_documents():
    """speed.patch_template_parsing: moto reads a template, short-form tags and all, on libyaml into the same document
    as on PyYAML's pure-Python loader, and a JSON template too."""
    import pathlib

    import speed
    import yaml
    from moto.cloudformation import models
    from moto.cloudformation.utils import yaml_tag_constructor

    speed.patch_template_parsing()
    assert issubclass(models.yaml.Loader, yaml.CLoader)
    yaml.add_multi_constructor("", yaml_tag_constructor, Loader=yaml.Loader)
    lab = (pathlib.Path(__file__).parent.parent / "infra" / "template.yaml").read_text()
    for template in (lab, TEMPLATE, json.dumps(yaml.load(lab, Loader=yaml.Loader))):
        assert models.Stack.parse_template(template) == yaml.load(template, Loader=yaml.Loader)
    assert "Fn::GetAtt" in json.dumps(models.Stack.parse_template(TEMPLATE))


def test_the_service_of_a_host_is_found_once_and_the_same():
    """speed.patch_backend_lookup: each host's service is moto's own answer, found by its patterns once; a host that
    names no service is asked again."""
    import speed
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    hosts = ["iam.amazonaws.com", "sts.amazonaws.com", "s3.us-east-1.amazonaws.com", "bucket.s3.amazonaws.com",
             "cloudformation.eu-west-1.amazonaws.com", "cloudtrail.us-east-1.amazonaws.com", "moto_api", None,
             "nothing.example.com"]
    expected = {h: DomainDispatcherApplication(create_backend_app).get_backend_for_host(h) for h in hosts}
    assert expected["iam.amazonaws.com"] == "iam" and expected["nothing.example.com"] is None
    asked = []
    original = DomainDispatcherApplication.get_backend_for_host
    DomainDispatcherApplication.get_backend_for_host = lambda self, host: asked.append(host) or original(self, host)
    try:
        speed.patch_backend_lookup()
        app = DomainDispatcherApplication(create_backend_app)
        for _ in range(3):
            assert {h: app.get_backend_for_host(h) for h in hosts} == expected
    finally:
        DomainDispatcherApplication.get_backend_for_host = original
    assert sorted(map(str, asked)) == sorted(map(str, [*hosts, None, None, "nothing.example.com", "nothing.example.com"]))


def test_timestamps_are_written_as_moto_writes_them_each_parsed_once():
    """speed.patch_timestamps: every stored value gives moto's own text, in every format; a stored string is parsed
    once however many answers carry it."""
    import datetime

    import speed
    from moto.core import serialize
    from moto.core.serialize import TimestampSerializer

    values = ["2026-12-03T18:00:00Z", "2026-12-03T18:00:00.123456Z", "2026-12-03 18:00:00+01:00", "1764784800",
              1764784800, 1764784800.5, datetime.datetime(2026, 12, 3, 18, tzinfo=datetime.UTC)]
    formats = ["iso8601", "iso8601_zeroed", "rfc822", "unixtimestamp"]
    ser = TimestampSerializer("iso8601")
    expected = {(str(v), f): ser._convert_timestamp_to_str(v, f) for v in values for f in formats}
    original, parse = TimestampSerializer._convert_timestamp_to_str, serialize.parse_to_aware_datetime
    parsed = []
    serialize.parse_to_aware_datetime = lambda value: parsed.append(value) or parse(value)
    try:
        speed.patch_timestamps()
        for _ in range(3):
            assert {(str(v), f): ser._convert_timestamp_to_str(v, f) for v in values for f in formats} == expected
    finally:
        TimestampSerializer._convert_timestamp_to_str = original
        serialize.parse_to_aware_datetime = parse
    # Each string and number once a format; the datetime each time (it is not parsed, only formatted).
    assert len(parsed) == (len(values) - 1) * len(formats) + 3 * len(formats)


def test_an_error_code_table_is_built_once_a_service():
    """speed.patch_error_lookup: moto's table of a service's error codes is built once, not once an error, and finds
    what moto's own finds."""
    import speed
    from moto.core import errors
    from moto.core.utils import get_service_model

    model = get_service_model("iam")
    expected = errors.ErrorLookupFactory().for_service(model).from_code("NoSuchEntity")
    built, create, init = [], errors.ErrorLookupFactory._create_error_lut, errors.ErrorLookupFactory.__init__
    errors.ErrorLookupFactory._create_error_lut = staticmethod(lambda m: built.append(m) or create(m))
    try:
        speed.patch_error_lookup()
        found = [errors.ErrorLookupFactory().for_service(model).from_code("NoSuchEntity") for _ in range(3)]
    finally:
        errors.ErrorLookupFactory._create_error_lut = staticmethod(create)
        errors.ErrorLookupFactory.__init__ = init
    assert [f.error_code for f in found] == [expected.error_code] * 3
    assert len(built) == 1


# -- the server -------------------------------------------------------------------------------------


def test_a_connection_carries_one_request_after_another():
    """speed.keep_alive: an HTTP/1.1 connection stays open after each answer (to a request with no body, one of known
    length, one sent chunked), and the next request on it is answered; one that asks to close is closed."""
    import http.client

    from harness import SERVERS, signed

    conn = http.client.HTTPConnection("127.0.0.1", SERVERS["plain"][0], timeout=30)
    conn.connect()
    opened = conn.sock

    def ask(method, path, body=None, headers=None, chunked=False):
        conn.request(method, path, body=body, headers=headers or {}, encode_chunked=chunked)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Connection"), resp.read().decode()

    cases = json.dumps({"cases": []}).encode()
    assert ask("GET", "/sts-lab/info")[:2] == (200, None)
    assert ask("POST", "/sts-lab/decide", cases)[:2] == (200, None)
    assert ask("POST", "/sts-lab/decide", iter([cases[:5], cases[5:]]), chunked=True) == (200, None, '{"decisions": []}')
    method, target, body, headers = signed("plain", "sts", form={"Action": "GetCallerIdentity"})
    status, _, body = ask(method, target, body, headers)
    assert status == 200 and "<GetCallerIdentityResult>" in body, (status, body)  # through moto
    assert conn.sock is opened
    assert ask("GET", "/sts-lab/info", headers={"Connection": "close"})[:2] == (200, "close")
    assert conn.sock is None


def test_a_kept_connection_sends_its_answers_at_once():
    """speed.keep_alive: each kept connection has Nagle's algorithm off (TCP_NODELAY), so an answer's body, written
    after its head, is not held back until the client acknowledges the head: 44 ms a request, every request after a
    connection's first, before. Read from the connection the handler answers on, in a server of werkzeug's own."""
    import http.client
    import socket
    import threading

    import speed
    from werkzeug.serving import WSGIRequestHandler, make_server

    def app(environ, start_response):
        environ[speed.DRAINED] = True  # a GET: nothing to read
        nodelay = environ["werkzeug.socket"].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        body = json.dumps({"nodelay": bool(nodelay)}).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]

    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=speed.keep_alive(WSGIRequestHandler))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
        answers = []
        for _ in range(2):
            conn.request("GET", "/")
            answers.append(json.loads(conn.getresponse().read()))
        assert answers == [{"nodelay": True}] * 2, answers
        conn.close()
    finally:
        server.shutdown()
        server.server_close()


# -- S3 ---------------------------------------------------------------------------------------------


def create_bucket(server, name, region, signed_in=None):
    body = b"" if region == "us-east-1" else (
        '<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<LocationConstraint>{region}</LocationConstraint></CreateBucketConfiguration>"
    ).encode()
    return call(server, "s3", signed_in or region, method="PUT", path=f"/{name}", body=body)


def list_buckets(server, region, prefix=None):
    resp = call(server, "s3", region, method="GET", path="/", query=f"prefix={prefix}" if prefix else "")
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
    advance("realistic", LAG + 0.1)
    for region in ("ap-south-1", "us-east-1", "eu-west-1"):
        listed = list_buckets("realistic", region)
        assert listed[eu] == "eu-west-1" and listed[us] == "us-east-1", (region, listed)


def test_a_lagging_listing_keeps_to_its_prefix():
    """Within the lag a new bucket is missing from the listing and a deleted one still in it; a listing with a prefix
    shows only the names the prefix begins (ListBuckets' Prefix), lagging or not."""
    stem = unique("lag")
    gone, new = f"{stem}-gone", f"{stem}-new"
    assert create_bucket("realistic", gone, "us-east-1")[0] == 200
    advance("realistic", LAG + 0.1)
    assert call("realistic", "s3", method="DELETE", path=f"/{gone}")[0] == 204
    assert create_bucket("realistic", new, "us-east-1")[0] == 200
    everything = list_buckets("realistic", "us-east-1")
    assert gone in everything and new not in everything
    assert set(list_buckets("realistic", "us-east-1", prefix=gone)) == {gone}
    assert list_buckets("realistic", "us-east-1", prefix=new) == {}
    advance("realistic", LAG + 0.1)
    assert set(list_buckets("realistic", "us-east-1", prefix=stem)) == {new}


def test_bucket_name_held_after_delete():
    name = unique("held")
    assert create_bucket("realistic", name, "us-east-1")[0] == 200
    assert call("realistic", "s3", method="DELETE", path=f"/{name}")[0] == 204
    status, _, body = create_bucket("realistic", name, "us-east-1")
    doc = xml(body)
    assert status == 409 and doc.findtext("Code") == "OperationAborted"
    assert doc.findtext("Message") == "A conflicting conditional operation is currently in progress against this resource. Please try again."
    advance("realistic", HOLD + 0.1)
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


def at_once(count, request):
    """`count` requests released together (a barrier): they reach the rate limit within moments, however slow the
    machine (one after another, a loaded machine can be slower than the rate itself)."""
    barrier, answers, lock = threading.Barrier(count), [], threading.Lock()

    def work():
        barrier.wait()
        answer = request()
        with lock:
            answers.append(answer)

    in_threads(count, work)
    return answers


def test_cloudformation_throttling():
    before = stats("realistic")["throttled"].get("cloudformation:ListStacks", 0)
    codes = at_once(CFN_RATE + 15, lambda: cfn("realistic", "us-east-1", "ListStacks"))
    assert sum(r[0] == 200 for r in codes) >= CFN_RATE - 2
    refused = [r for r in codes if r[0] != 200]
    assert refused and all(r[0] == 400 and error_code(r) == "Throttling" and "Rate exceeded" in r[2] for r in refused)
    assert stats("realistic")["throttled"]["cloudformation:ListStacks"] - before == len(refused)
    advance("realistic", 1.1)  # the bucket fills again for the tests after this one
    # STS_LAB_CFN_RATE=0: never throttled; IAM throttling (STS_LAB_IAM_RATE=5) still works.
    assert all(cfn("switches", "us-east-1", "ListStacks")[0] == 200 for _ in range(30))
    iam = at_once(15, lambda: call("switches", "iam", form={"Action": "ListUsers"}))
    assert any(r[0] == 400 and error_code(r) == "Throttling" for r in iam)


def test_update_rolled_back_for_invalid_principal():
    region, name, old = "eu-north-1", unique("upd"), nobody()
    assert cfn("realistic", region, "CreateStack", StackName=name, **stack_form(old))[0] == 200
    first = settle(region, name)
    assert first["status"] == "CREATE_COMPLETE" and first["outputs"]
    fresh = create_user("realistic")
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
    advance("realistic", WINDOW + 0.2)
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
    advance("realistic", STACK_DELAY + 0.1)
    listed = stacks(region)
    assert listed[a]["status"] == "CREATE_COMPLETE" and listed[a]["outputs"]
    assert listed[b]["status"] == "UPDATE_ROLLBACK_COMPLETE" and listed[b]["outputs"]
    assert listed[p]["status"] == "ROLLBACK_COMPLETE" and listed[p]["tags"] == tags
    for name in (a, p):
        assert cfn("realistic", region, "DeleteStack", StackName=name)[0] == 200
    listed = stacks(region)
    assert listed[a]["status"] == listed[p]["status"] == "DELETE_IN_PROGRESS" and not listed[a]["outputs"]
    advance("realistic", STACK_DELAY + 0.1)
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
