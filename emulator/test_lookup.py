"""Tests of CloudTrail's LookupEvents on the emulator (lookup.py): its lookup attributes, time range, paging and
errors, management events only, newest first; signed and authorized as every request (cloudtrail:LookupEvents) and
recorded itself; its rate (2 a second per account and region, ThrottlingException, in both modes; STS_LAB_CLOUDTRAIL_RATE
0 on "plain"); and the aws CLI's `cloudtrail lookup-events` against it, unchanged. Run with the others: pytest emulator/.
"""

import json
import os
import subprocess
import sys
import time

import lookup as lookup_module
import pytest
from botocore.credentials import Credentials
from harness import (
    ACCOUNT,
    ADMINS,
    AUTH,
    SERVERS,
    advance,
    assume,
    by,
    call,
    clock,
    list_all,
    lookup,
    lookup_once,
    new_role,
    new_user,
    put_bucket,
    raw,
    settled,
    stats,
    stmt,
    trail,
    trusting,
    unique,
    xml,
)


def error(answer):
    """(status, __type, message) of a LookupEvents answer."""
    return answer[0], (answer[2] or {}).get("__type"), (answer[2] or {}).get("message")


def test_lookup_events_attributes_time_range_and_paging():
    """Each lookup attribute, StartTime and EndTime (inclusive, on the emulator's clock), MaxResults and NextToken;
    management events only (the user's object calls and bucket listing are data events), newest first. (On one
    server: the lookup is the same in both modes, and every lookup waits for the rate, 2 a second.)"""
    for server in ("auth-realistic",):
        arn, creds = new_user(server, stmt("s3:*"))
        name, bucket = arn.rsplit("/", 1)[1], unique("look")
        assert put_bucket(server, creds, bucket)[0] == 200
        for method, path, query in (("PUT", f"/{bucket}/k", ""), ("GET", f"/{bucket}/k", ""), ("GET", f"/{bucket}", "list-type=2")):
            assert call(server, "s3", method=method, path=path, query=query, body=b"x" if method == "PUT" else b"", creds=creds)[0] == 200
        assert list_all(server, creds)[0] == 200
        mine = trail(server, **by("Username", name))
        assert [e["EventName"] for e, _ in mine] == ["ListBuckets", "CreateBucket", "GetCallerIdentity"], (server, mine)
        ids = [e["EventId"] for e, _ in mine]
        for key, value, expected in (("AccessKeyId", creds.access_key, ids), ("EventId", ids[1], ids[1:2]),
                                     ("ResourceName", bucket, ids[1:2])):
            assert [e["EventId"] for e, _ in trail(server, **by(key, value))] == expected, (server, key)
        start = mine[-1][0]["EventTime"]
        for key, value, field in (("EventName", "CreateBucket", "EventName"), ("ReadOnly", "false", "ReadOnly"),
                                  ("EventSource", "s3.amazonaws.com", "EventSource"), ("ResourceType", "AWS::S3::Bucket", None)):
            found = trail(server, **by(key, value, StartTime=start))
            assert ids[1] in [e["EventId"] for e, _ in found] and all(field is None or e[field] == value for e, _ in found), (server, key)
        # Paging: one event a page, in the same order; a token is bound to the parameters it was made with.
        pages, tokens = [], [None]
        while True:
            status, _, page = lookup(server, by("Username", name, MaxResults=1, **({"NextToken": tokens[-1]} if tokens[-1] else {})))
            assert status == 200 and len(page["Events"]) == 1, page
            pages.append(page["Events"][0]["EventId"])
            if "NextToken" not in page:
                break
            tokens.append(page["NextToken"])
        assert pages == ids and len(tokens) == len(ids)
        assert error(lookup(server, by("Username", "someone-else", NextToken=tokens[1])))[:2] == (400, "InvalidNextTokenException")
        assert error(lookup(server, {"NextToken": "not-a-token"}))[:2] == (400, "InvalidNextTokenException")
        # A time range: an event an hour ahead on the emulator's clock, found only from its own second on.
        try:
            later = clock(server, 3600)["epoch"]
            assert call(server, "sts", form={"Action": "GetCallerIdentity"}, creds=creds)[0] == 200
        finally:
            clock(server, 0)
        (event, _), = trail(server, **by("Username", name, StartTime=int(later)))
        assert event["EventName"] == "GetCallerIdentity" and int(later) <= event["EventTime"] <= later + 5
        assert [e["EventId"] for e, _ in trail(server, **by("Username", name, StartTime=event["EventTime"], EndTime=event["EventTime"]))] == [event["EventId"]]
        assert [e["EventId"] for e, _ in trail(server, **by("Username", name, EndTime=int(later) - 1))] == ids


def test_lookup_events_refuses_what_cloudtrail_refuses():
    for server in ("auth",):
        for params, code in (
            ({"MaxResults": 0}, "InvalidMaxResultsException"),
            ({"MaxResults": 51}, "InvalidMaxResultsException"),
            ({"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "a"}, {"AttributeKey": "EventName", "AttributeValue": "b"}]},
             "InvalidLookupAttributesException"),
            (by("UserName", "a"), "InvalidLookupAttributesException"),
            ({"StartTime": 1700000100, "EndTime": 1700000000}, "InvalidTimeRangeException"),
            ({"EventCategory": "data"}, "InvalidEventCategoryException"),
        ):
            assert error(lookup(server, params))[:2] == (400, code), (server, params)
        status, headers, answer = lookup(server, {"EventCategory": "insight"})
        assert (status, answer, headers["content-type"]) == (200, {"Events": []}, "application/x-amz-json-1.1")


def recorded_lookups(server, request_ids, since):
    """The records of LookupEvents calls among those request ids, since then."""
    found = trail(server, **by("EventName", "LookupEvents", StartTime=since))
    return [r for _, r in found if r["requestID"] in request_ids]


def test_lookup_events_is_authorized_and_recorded():
    """cloudtrail:LookupEvents is decided as every request: refused AccessDeniedException in AWS's words (and recorded,
    AccessDenied), allowed by a policy, refused by an explicit deny; a bad signature, an unknown key and an ended session
    are refused in the JSON protocol's words and not recorded; an allowed call is recorded, read-only."""
    for server in AUTH:
        since = int(clock(server)["epoch"])
        arn, creds = new_user(server)
        refused = lookup(server, creds=creds)
        reason = "because no identity-based policy allows the cloudtrail:LookupEvents action"
        assert error(refused) == (400, "AccessDeniedException", f"User: {arn} is not authorized to perform: cloudtrail:LookupEvents {reason}")
        _, reader = new_user(server, stmt("cloudtrail:LookupEvents"))
        allowed = lookup(server, by("Username", arn.rsplit("/", 1)[1]), creds=reader)
        assert allowed[0] == 200 and allowed[1]["x-amzn-requestid"], allowed
        deny_arn, denied = new_user(server, stmt("*"), stmt("cloudtrail:*", effect="Deny"))
        assert error(lookup(server, creds=denied)) == (
            400, "AccessDeniedException", f"User: {deny_arn} is not authorized to perform: cloudtrail:LookupEvents with an explicit deny in an identity-based policy")
        forged = lookup_once(server, creds=Credentials(reader.access_key, "wrong"))
        assert error(forged)[:2] == (400, "InvalidSignatureException"), forged
        unknown = lookup_once(server, creds=Credentials("AKIAUNKNOWN000000000", "x"))
        assert error(unknown)[:2] == (400, "UnrecognizedClientException"), unknown
        role = new_role(server, [trusting(arn)], stmt("cloudtrail:LookupEvents"))
        settled(server)
        found = xml(assume(server, creds, role, "ends", DurationSeconds="900")[2])
        session = Credentials(*(found.findtext(f".//{k}") for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")))
        assert lookup(server, creds=session)[0] == 200
        try:
            clock(server, 901)
            ended = lookup_once(server, creds=session)
        finally:
            clock(server, 0)
        assert error(ended) == (400, "ExpiredTokenException", "The security token included in the request is expired"), ended
        ids = {answer[1]["x-amzn-requestid"] for answer in (refused, allowed, forged, unknown, ended)}
        records = {r["requestID"]: r for r in recorded_lookups(server, ids, since)}
        assert set(records) == {refused[1]["x-amzn-requestid"], allowed[1]["x-amzn-requestid"]}, records
        record = records[refused[1]["x-amzn-requestid"]]
        assert (record["errorCode"], record["errorMessage"]) == ("AccessDenied", refused[2]["message"])
        assert record["eventSource"] == "cloudtrail.amazonaws.com" and record["readOnly"] is True and record["userIdentity"]["arn"] == arn
        good = records[allowed[1]["x-amzn-requestid"]]
        assert "errorCode" not in good and good["requestParameters"] == {"lookupAttributes": [{"attributeKey": "Username", "attributeValue": arn.rsplit("/", 1)[1]}]}


def test_lookup_events_rate():
    """2 requests a second per account and region, in both modes: past it HTTP 400 ThrottlingException "Rate exceeded"
    (counted by /sts-lab/stats, not recorded); /sts-lab/info reports it; STS_LAB_CLOUDTRAIL_RATE=0 ("plain") lifts it."""
    for server in AUTH:
        assert json.loads(raw(server, "GET", "/sts-lab/info")[2])["rates"]["cloudtrail"] == 2
        advance(server, 1.1)  # the bucket full again (it fills on the emulator's timers, as the realistic layer's rates)
        since, before = int(clock(server)["epoch"]), stats(server)["throttled"].get("cloudtrail:LookupEvents", 0)
        answers = [lookup_once(server, {"MaxResults": 1}) for _ in range(8)]
        throttled = [a for a in answers if a[0] != 200]
        assert 2 <= 8 - len(throttled) <= 4 and answers[0][0] == answers[1][0] == 200, [a[0] for a in answers]
        assert all(error(a) == (400, "ThrottlingException", "Rate exceeded") for a in throttled)
        assert stats(server)["throttled"]["cloudtrail:LookupEvents"] - before == len(throttled)
        ids = {a[1]["x-amzn-requestid"] for a in answers}
        recorded = {r["requestID"] for r in recorded_lookups(server, ids, since)}
        assert recorded == {a[1]["x-amzn-requestid"] for a in answers if a[0] == 200}
    assert json.loads(raw("plain", "GET", "/sts-lab/info")[2])["rates"]["cloudtrail"] == 0
    plain = Credentials("AKIAEXAMPLE000000000", "secret")
    assert all(lookup_once("plain", creds=plain)[0] == 200 for _ in range(10))


def aws_cli(server, *args):
    """The aws CLI's JSON answer to `aws cloudtrail lookup-events ARGS` against the server, with the admin's keys."""
    env = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "AWS_ACCESS_KEY_ID": ADMINS[server].access_key,
           "AWS_SECRET_ACCESS_KEY": ADMINS[server].secret_key, "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, "AWS_EC2_METADATA_DISABLED": "true"}
    cli = os.path.join(os.path.dirname(sys.executable), "aws")
    command = [cli, "cloudtrail", "lookup-events", "--endpoint-url", f"http://127.0.0.1:{SERVERS[server][0]}", "--output", "json", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, (command, done.stderr)
    return json.loads(done.stdout)


def iso(at):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def test_aws_cli_lookup_events():
    """`aws cloudtrail lookup-events`, unchanged: by the user's name and a time range, a page of one event at a time
    (NextToken), it finds the user's refused ListBuckets (AccessDenied) and AssumeRole (IAMUser); by the session's
    name, the session's CreateBucket (AssumedRole, its role as sessionIssuer)."""
    if not os.path.exists(os.path.join(os.path.dirname(sys.executable), "aws")):
        pytest.skip("the aws CLI is not installed beside this Python (cargo xtask emulator install --test-tools)")
    server = "auth"
    arn, creds = new_user(server, stmt("sts:AssumeRole"))
    name, session_name, bucket = arn.rsplit("/", 1)[1], unique("cli"), unique("cli")
    role = new_role(server, [trusting(arn)], stmt("s3:CreateBucket"))
    start = clock(server)["epoch"]
    found = xml(assume(server, creds, role, session_name)[2])
    session = Credentials(*(found.findtext(f".//{k}") for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")))
    assert put_bucket(server, session, bucket)[0] == 200 and list_all(server, creds)[0] == 403
    window = ["--start-time", iso(start - 1), "--end-time", iso(clock(server)["epoch"] + 1)]
    pages, token = [], []
    while True:
        page = aws_cli(server, "--lookup-attributes", f"AttributeKey=Username,AttributeValue={name}", *window, "--max-results", "1", *token)
        assert len(page["Events"]) == 1, page
        pages.append(page["Events"][0])
        if "NextToken" not in page:
            break
        token = ["--next-token", page["NextToken"]]
    assert [e["EventName"] for e in pages][:2] == ["ListBuckets", "AssumeRole"], pages
    listing, assumed_role = (json.loads(e["CloudTrailEvent"]) for e in pages[:2])
    assert listing["errorCode"] == "AccessDenied" and listing["userIdentity"]["arn"] == arn
    assert assumed_role["userIdentity"]["type"] == "IAMUser" and assumed_role["requestParameters"]["roleSessionName"] == session_name
    (created,) = aws_cli(server, "--lookup-attributes", f"AttributeKey=Username,AttributeValue={session_name}")["Events"]
    record = json.loads(created["CloudTrailEvent"])
    assert created["EventName"] == "CreateBucket" and record["requestParameters"]["bucketName"] == bucket
    identity = record["userIdentity"]
    assert identity["type"] == "AssumedRole" and identity["sessionContext"]["sessionIssuer"]["arn"] == role
    assert identity["accessKeyId"] == session.access_key and record["recipientAccountId"] == ACCOUNT
    agents = [r["userAgent"] for _, r in trail(server, **by("EventName", "LookupEvents", StartTime=int(start)))]
    assert any(agent.startswith("aws-cli/") for agent in agents), agents


def test_lookup_request_parsing_and_json_errors():
    """Timestamps as epoch seconds or ISO 8601; a NextToken holds for the same parameters, whatever MaxResults; an error
    answered before moto (query XML) is put in the JSON protocol's words."""
    from common import query_error

    query = lookup_module.parse_request(b'{"StartTime": "2026-01-01T00:00:00Z", "EndTime": 1767225600.5}')
    assert (query["start"], query["end"], query["max"], query["attribute"], query["before"]) == (1767225600.0, 1767225600.5, 50, None, None)
    token = lookup_module.next_token(42, query["digest"])
    same = {"StartTime": 1767225600, "EndTime": 1767225600.5, "MaxResults": 5, "NextToken": token}
    assert lookup_module.parse_request(json.dumps(same).encode())["before"] == 42
    with pytest.raises(lookup_module.Invalid) as refused:
        lookup_module.parse_request(json.dumps({**same, "EndTime": 1767225601}).encode())
    assert refused.value.code == "InvalidNextTokenException"
    status, ctype, text, _ = lookup_module.as_json(query_error("cloudtrail", 403, "InvalidClientTokenId", "The security token included in the request is invalid."))
    assert (status, ctype, json.loads(text)) == (400, "application/x-amz-json-1.1", {
        "__type": "UnrecognizedClientException", "message": "The security token included in the request is invalid."})
