"""Tests of the emulator's CloudTrail records (trail.py, trail_s3.py): every decided request recorded as CloudTrail
records it (userIdentity of a user and of a role's session, requestParameters, responseElements, errors, the request
id the answer carried, the emulator's clock, regions), never a secret, on the servers "auth" and "auth-realistic"
(IAM enforced); and the pure parts (the store's cap, the parameters' names, S3's event names). Run with the others:
pytest emulator/.
"""

import base64
import calendar
import re
import time

import trail as trail_module
import trail_s3
from authorize import totp
from botocore.credentials import Credentials
from harness import (
    ACCOUNT,
    AUTH,
    assume,
    assumed,
    by,
    call,
    clock,
    iam,
    list_all,
    message,
    new_role,
    new_user,
    put_bucket,
    session_arn,
    settled,
    stmt,
    trail,
    trusting,
    unique,
    xml,
)


def epoch(iso_z):
    return calendar.timegm(time.strptime(iso_z, "%Y-%m-%dT%H:%M:%SZ"))


def named(events, name):
    """The record of the newest event of that name."""
    return next(record for event, record in events if event["EventName"] == name)


def test_trail_records_a_user_a_session_and_a_refusal():
    """The lab user's AssumeRole (IAMUser), the session's CreateBucket (AssumedRole, with its issuer, creation date and
    MFA), the user's refused ListBuckets (AccessDenied in AWS's words): as CloudTrail records them, each with the
    request id its answer carried, on the emulator's clock."""
    for server in AUTH:
        arn, creds = new_user(server, stmt("sts:AssumeRole"))
        name = arn.rsplit("/", 1)[1]
        role = new_role(server, [trusting(arn)], stmt("s3:*"))
        user_id = iam(server, "GetUser", UserName=name).findtext(".//UserId")
        role_id = iam(server, "GetRole", RoleName=role.rsplit("/", 1)[1]).findtext(".//RoleId")
        settled(server)
        before, session_name = int(clock(server)["epoch"]), unique("s")
        answered = assume(server, creds, role, session_name, ExternalId="ext-7", DurationSeconds="900")
        assert answered[0] == 200, (server, answered)
        found = xml(answered[2])
        session = Credentials(*(found.findtext(f".//{k}") for k in ("AccessKeyId", "SecretAccessKey", "SessionToken")))
        bucket = unique("trail")
        made, refused = put_bucket(server, session, bucket), list_all(server, creds)
        assert made[0] == 200 and refused[0] == 403, (server, made, refused)
        after = clock(server)["epoch"]

        mine = trail(server, **by("Username", name))
        assert [e["EventName"] for e, _ in mine][:2] == ["ListBuckets", "AssumeRole"], (server, mine)
        record = named(mine, "AssumeRole")
        assert record["userIdentity"] == {"type": "IAMUser", "principalId": user_id, "arn": arn, "accountId": ACCOUNT,
                                          "accessKeyId": creds.access_key, "userName": name}
        assert {k: record[k] for k in ("eventVersion", "eventSource", "eventName", "awsRegion", "sourceIPAddress", "eventType")} == {
            "eventVersion": "1.09", "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "awsRegion": "us-east-1",
            "sourceIPAddress": "127.0.0.1", "eventType": "AwsApiCall"}
        assert record["requestParameters"] == {"roleArn": role, "roleSessionName": session_name, "externalId": "ext-7", "durationSeconds": 900}
        elements = record["responseElements"]
        assert elements["credentials"]["accessKeyId"] == session.access_key and set(elements["credentials"]) == {"accessKeyId", "expiration"}
        assert re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{1,2}:\d\d:\d\d [AP]M", elements["credentials"]["expiration"]), elements
        assert elements["assumedRoleUser"] == {"assumedRoleId": f"{role_id}:{session_name}", "arn": session_arn(role, session_name)}
        assert record["requestID"] == answered[1]["x-amzn-requestid"]
        assert next(e for e, _ in mine if e["EventName"] == "AssumeRole")["EventId"] == record["eventID"]
        assert record["readOnly"] is True and record["managementEvent"] is True and record["eventCategory"] == "Management"
        assert record["recipientAccountId"] == ACCOUNT and "errorCode" not in record
        assert record["resources"] == [{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role}]
        assert before <= epoch(record["eventTime"]) <= after + 1

        listing = named(mine, "ListBuckets")
        assert (listing["errorCode"], listing["errorMessage"]) == ("AccessDenied", message(refused))
        assert listing["eventSource"] == "s3.amazonaws.com" and listing["responseElements"] is None and listing["readOnly"] is True
        assert listing["requestID"] == refused[1]["x-amzn-requestid"]

        (event, created), = trail(server, **by("Username", session_name))
        assert event["EventName"] == "CreateBucket" and event["AccessKeyId"] == session.access_key and event["Username"] == session_name
        assert event["Resources"] == [{"ResourceType": "AWS::S3::Bucket", "ResourceName": bucket}] and event["ReadOnly"] == "false"
        identity = created["userIdentity"]
        assert {k: identity[k] for k in ("type", "principalId", "arn", "accountId", "accessKeyId")} == {
            "type": "AssumedRole", "principalId": f"{role_id}:{session_name}", "arn": session_arn(role, session_name),
            "accountId": ACCOUNT, "accessKeyId": session.access_key}
        context = identity["sessionContext"]
        assert context["sessionIssuer"] == {"type": "Role", "principalId": role_id, "arn": role, "accountId": ACCOUNT,
                                            "userName": role.rsplit("/", 1)[1]}
        assert context["attributes"]["mfaAuthenticated"] == "false" and "sourceIdentity" not in context
        assert before <= epoch(context["attributes"]["creationDate"]) <= after + 1
        assert created["requestParameters"]["bucketName"] == bucket and created["requestID"] == made[1]["x-amzn-requestid"]
        assert created["readOnly"] is False and created["eventCategory"] == "Management"


def test_trail_records_iam_globally_and_sts_by_region():
    """IAM is global (its events in us-east-1 whatever the request's region), STS regional; the admin's CreateUser and
    CreateAccessKey (its key, never its secret) name the user among their Resources."""
    for server in AUTH:
        arn, creds = new_user(server, stmt("sts:GetCallerIdentity"))
        name = arn.rsplit("/", 1)[1]
        assert call(server, "iam", region="eu-west-1", form={"Action": "GetUser"}, creds=creds)[0] == 403
        assert call(server, "sts", region="eu-west-1", form={"Action": "GetCallerIdentity"}, creds=creds)[0] == 200
        home = {e["EventName"]: r for e, r in trail(server, **by("Username", name))}
        assert home["GetUser"]["awsRegion"] == "us-east-1" and home["GetUser"]["errorCode"] == "AccessDenied"
        away = trail(server, "eu-west-1", **by("Username", name))
        assert [(e["EventName"], r["awsRegion"]) for e, r in away] == [("GetCallerIdentity", "eu-west-1")], away
        about = {e["EventName"]: (e, r) for e, r in trail(server, **by("ResourceName", name))}
        event, created = about["CreateAccessKey"]
        assert event["Username"] == "emulator-admin" and created["userIdentity"]["userName"] == "emulator-admin"
        assert created["requestParameters"] == {"userName": name}
        key = created["responseElements"]["accessKey"]
        assert {k: key[k] for k in ("accessKeyId", "userName", "status")} == {"accessKeyId": creds.access_key, "userName": name, "status": "Active"}
        assert set(key) == {"accessKeyId", "userName", "status", "createDate"}
        assert {"ResourceType": "AWS::IAM::AccessKey", "ResourceName": creds.access_key} in event["Resources"]
        assert about["CreateUser"][1]["requestParameters"] == {"userName": name}


def mfa_device(server, name):
    """(serial, seed) of a virtual MFA device enabled for the user, and the codes that enabled it."""
    device = iam(server, "CreateVirtualMFADevice", VirtualMFADeviceName=name)
    serial, seed = device.findtext(".//SerialNumber"), base64.b64decode(device.findtext(".//Base32StringSeed")).decode()
    now = clock(server)["epoch"]
    codes = (totp(seed, now - 60), totp(seed, now - 30))
    iam(server, "EnableMFADevice", UserName=name, SerialNumber=serial, AuthenticationCode1=codes[0], AuthenticationCode2=codes[1])
    return serial, seed, device.findtext(".//Base32StringSeed"), codes


def test_trail_never_records_a_secret():
    """No secret access key, session token, password, MFA seed or MFA code used here appears in any event recorded
    meanwhile (AssumeRole's TokenCode is left out, its SerialNumber kept), though each went through a recorded request."""
    for server in AUTH:
        start = int(clock(server)["epoch"])
        arn, creds = new_user(server, stmt("sts:AssumeRole"))
        name = arn.rsplit("/", 1)[1]
        password, new_password = f"Pw-{unique('a')}", f"Pw-{unique('b')}"
        iam(server, "CreateLoginProfile", UserName=name, Password=password)
        iam(server, "UpdateLoginProfile", UserName=name, Password=new_password)
        serial, seed, seed_b64, codes = mfa_device(server, name)
        role = new_role(server, [trusting([arn], {"Bool": {"aws:MultiFactorAuthPresent": "true"}})], stmt("s3:ListAllMyBuckets"))
        code = totp(seed, clock(server)["epoch"])
        session = assumed(server, creds, role, "mfa", SerialNumber=serial, TokenCode=code)
        assert list_all(server, session)[0] == 200
        wrong = next(c for c in ("000000", "111111", "222222") if c not in {totp(seed, clock(server)["epoch"] + d * 30) for d in range(-3, 4)})
        assert assume(server, creds, role, "mfa", SerialNumber=serial, TokenCode=wrong)[0] == 403
        events = trail(server, StartTime=start, EndTime=clock(server)["epoch"] + 1)
        texts = [e["CloudTrailEvent"] for e, _ in events]
        assert len(texts) >= 10, events
        for secret in (creds.secret_key, session.secret_key, session.token, password, new_password, seed, seed_b64):
            assert not any(secret in text for text in texts), (server, secret)
        for mfa_code in (code, wrong, *codes):
            assert not any(re.search(rf"(?<!\d){mfa_code}(?!\d)", text) for text in texts), (server, mfa_code)
        mine = [r for _, r in events if r["userIdentity"].get("userName") == name and r["eventName"] == "AssumeRole"]
        assert mine and all(r["requestParameters"]["serialNumber"] == serial and "tokenCode" not in r["requestParameters"] for r in mine)
        assert any(r.get("errorMessage") == "MultiFactorAuthentication failed with invalid MFA one time pass code." for r in mine)
        listed = next(r for _, r in events if r["eventName"] == "ListBuckets" and r["userIdentity"]["type"] == "AssumedRole"
                      and r["userIdentity"]["accessKeyId"] == session.access_key)
        assert listed["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] == "true"
        changed = [r for _, r in events if r["eventName"] in ("CreateLoginProfile", "UpdateLoginProfile")]
        assert len(changed) == 2 and all(r["requestParameters"] == {"userName": name} for r in changed), changed


def test_trail_store_is_capped_and_reset():
    """Each account's and region's events are kept up to the cap, the oldest dropped; a reset empties the trail, and
    sequence numbers go on (a page token from before never points into new events)."""
    store = trail_module.Trail(cap=3)
    for n in range(5):
        store.add(float(n), {"recipientAccountId": ACCOUNT, "awsRegion": "us-east-1", "userIdentity": {}, "managementEvent": True,
                             "readOnly": False, "n": n}, "u", [])
    store.add(9.0, {"recipientAccountId": ACCOUNT, "awsRegion": "eu-west-1", "userIdentity": {}, "managementEvent": True,
                    "readOnly": True, "n": 9}, "u", [])
    assert [e.record["n"] for e in store.newest_first(ACCOUNT, "us-east-1")] == [4, 3, 2]
    assert [e.seq for e in store.newest_first(ACCOUNT, "eu-west-1")] == [6]
    store.reset()
    assert store.newest_first(ACCOUNT, "us-east-1") == []
    store.add(10.0, {"recipientAccountId": ACCOUNT, "awsRegion": "us-east-1", "userIdentity": {}, "managementEvent": True,
                     "readOnly": True}, "u", [])
    assert [e.seq for e in store.newest_first(ACCOUNT, "us-east-1")] == [7]


def test_trail_request_parameters_as_cloudtrail_names_them():
    form = {"Action": ["AssumeRole"], "Version": ["2011-06-15"], "RoleArn": ["arn:aws:iam::1:role/r"], "RoleSessionName": ["s"],
            "DurationSeconds": ["900"], "SerialNumber": ["arn:aws:iam::1:mfa/u"], "TokenCode": ["123456"], "Tags.member.2.Key": ["b"],
            "Tags.member.1.Key": ["a"], "Tags.member.1.Value": ["1"], "Tags.member.2.Value": ["2"], "TransitiveTagKeys.member.1": ["a"],
            "PolicyArns.member.1.arn": ["arn:aws:iam::1:policy/p"], "Password": ["x"]}
    assert trail_module.query_parameters(form) == {
        "roleArn": "arn:aws:iam::1:role/r", "roleSessionName": "s", "durationSeconds": 900, "serialNumber": "arn:aws:iam::1:mfa/u",
        "tags": [{"key": "a", "value": "1"}, {"key": "b", "value": "2"}], "transitiveTagKeys": ["a"],
        "policyArns": [{"arn": "arn:aws:iam::1:policy/p"}]}
    assert trail_module.json_parameters(b'{"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "u"}], "MaxResults": 1}') == {
        "lookupAttributes": [{"attributeKey": "Username", "attributeValue": "u"}], "maxResults": 1}
    assert trail_module.when("2022-10-27T06:29:06Z") == "Oct 27, 2022, 6:29:06 AM"
    assert trail_module.when("2026-12-02T00:05:40.065714Z") == "Dec 2, 2026, 12:05:40 AM"
    assert trail_module.when("2026-12-02T12:00:00+00:00") == "Dec 2, 2026, 12:00:00 PM"


class Headers(dict):
    """Request headers as moto's (case-insensitive get)."""

    def get(self, key, default=None):
        return next((v for k, v in self.items() if k.lower() == key.lower()), default)


def test_trail_s3_event_names_and_categories():
    """S3's calls as CloudTrail names them; object-level calls and bucket listings are data events."""
    plain, copy = Headers(Host="h"), Headers({"Host": "h", "x-amz-copy-source": "b/o"})
    cases = [
        ("GET", "/", "arn:aws:s3:::*", plain, "ListBuckets", "Management"),
        ("PUT", "/b", "arn:aws:s3:::b", plain, "CreateBucket", "Management"),
        ("DELETE", "/b", "arn:aws:s3:::b", plain, "DeleteBucket", "Management"),
        ("HEAD", "/b", "arn:aws:s3:::b", plain, "HeadBucket", "Management"),
        ("PUT", "/b?policy", "arn:aws:s3:::b", plain, "PutBucketPolicy", "Management"),
        ("GET", "/b?policy", "arn:aws:s3:::b", plain, "GetBucketPolicy", "Management"),
        ("DELETE", "/b?policy", "arn:aws:s3:::b", plain, "DeleteBucketPolicy", "Management"),
        ("GET", "/b?location", "arn:aws:s3:::b", plain, "GetBucketLocation", "Management"),
        ("PUT", "/b?publicAccessBlock", "arn:aws:s3:::b", plain, "PutBucketPublicAccessBlock", "Management"),
        ("GET", "/b?list-type=2&prefix=a", "arn:aws:s3:::b", plain, "ListObjects", "Data"),
        ("GET", "/b?versions", "arn:aws:s3:::b", plain, "ListObjectVersions", "Data"),
        ("POST", "/b?delete", "arn:aws:s3:::b", plain, "DeleteObjects", "Data"),
        ("GET", "/b/k?x-id=GetObject", "arn:aws:s3:::b/k", plain, "GetObject", "Data"),
        ("HEAD", "/b/k", "arn:aws:s3:::b/k", plain, "HeadObject", "Data"),
        ("PUT", "/b/k", "arn:aws:s3:::b/k", plain, "PutObject", "Data"),
        ("PUT", "/b/k", "arn:aws:s3:::b/k", copy, "CopyObject", "Data"),
        ("DELETE", "/b/k", "arn:aws:s3:::b/k", plain, "DeleteObject", "Data"),
        ("GET", "/b/k?tagging", "arn:aws:s3:::b/k", plain, "GetObjectTagging", "Data"),
    ]
    for method, path, resource, headers, name, category in cases:
        found = trail_s3.describe(method, path, resource, headers, b"", ACCOUNT)
        assert found[:2] == (name, category), (method, path, found)
    _, _, params, resources = trail_s3.describe("GET", "/b?list-type=2&prefix=&x-id=ListObjectsV2", "arn:aws:s3:::b", plain, b"", ACCOUNT)
    assert params == {"list-type": "2", "prefix": "", "bucketName": "b", "Host": "h"}
    assert resources == [{"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::b"}]
    policy = b'{"Version": "2012-10-17", "Statement": []}'
    assert trail_s3.describe("PUT", "/b?policy", "arn:aws:s3:::b", plain, policy, ACCOUNT)[2]["bucketPolicy"] == {"Version": "2012-10-17", "Statement": []}
    where = b"<CreateBucketConfiguration><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
    assert trail_s3.describe("PUT", "/b", "arn:aws:s3:::b", plain, where, ACCOUNT)[2]["CreateBucketConfiguration"] == {"LocationConstraint": "eu-west-1"}
