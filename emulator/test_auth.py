"""Tests of IAM authorization over HTTP (authorize.py, actions.py) on the servers "auth" and "auth-realistic", where
IAM is enforced after the admin's bootstrap: AccessDenied in AWS's words, S3's actions as AWS names them, the request
context (dates on the emulator's clock, principal and request tags, variables, context keys), AssumeRole's trust,
session policies, token issue time, MFA (TOTP), session tags, role chaining, source identity, documents IAM refuses,
permissions boundaries (users' and roles') and bucket policies.
Run with the others: pytest emulator/.
"""

import base64
import json
import time

from authorize import totp
from botocore.credentials import Credentials
from harness import (
    ACCOUNT,
    ADMINS,
    AUTH,
    as_admin,
    assume,
    assumed,
    boundary_in,
    call,
    clock,
    doc,
    error_code,
    iam,
    is_denied,
    list_all,
    list_bucket,
    managed_policy,
    message,
    new_role,
    new_user,
    put_bucket,
    put_bucket_policy,
    session_arn,
    settled,
    stmt,
    tag_form,
    trusting,
    unique,
    usable,
    xml,
)


def test_totp_rfc6238_vectors():
    seed = base64.b32encode(b"12345678901234567890").decode()
    for at, code in ((59, "287082"), (1111111109, "081804"), (1111111111, "050471"), (1234567890, "005924"), (2000000000, "279037")):
        assert totp(seed, at) == code, at


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


def test_auth_session_policy_limits_a_trust_naming_the_role():
    """A chained AssumeRole whose trust names the first role: the first session's session policy still limits it
    (AWS: a resource policy naming the role ARN is limited by the session policy); naming the session's own ARN is not."""
    for server in AUTH:
        arn, creds = new_user(server)
        first = new_role(server, [trusting(arn)], stmt("sts:AssumeRole"))
        by_role = new_role(server, [trusting(first)])
        narrow = assumed(server, creds, first, "narrow", Policy=doc(stmt("s3:ListAllMyBuckets")))
        settled(server)
        resp = assume(server, narrow, by_role, "chained")
        bare = f"User: {session_arn(first, 'narrow')} is not authorized to perform: sts:AssumeRole on resource: {by_role}"
        assert is_denied(resp) and message(resp) == bare, (server, resp)
        wide = assumed(server, creds, first, "wide", Policy=doc(stmt("sts:AssumeRole")))
        assumed(server, wide, by_role, "chained")
        by_session = new_role(server, [trusting(session_arn(first, "narrow"))])
        assumed(server, narrow, by_session, "chained")


def test_auth_documents_iam_refuses_are_refused_when_written():
    """A trust (CreateRole, UpdateAssumeRolePolicy), an inline policy (PutRolePolicy) or a session policy (AssumeRole)
    without Effect, with an unknown condition operator or an unknown top-level element, and an identity or session
    policy with a Principal: MalformedPolicyDocument, as IAM and STS answer when it is written."""
    bad_statements = (
        {"Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"},
        {**trusting(ACCOUNT), "Condition": {"StringEqualz": {"aws:username": "x"}}},
    )
    for server in AUTH:
        arn, creds = new_user(server)
        role = new_role(server, [trusting(arn)], stmt("s3:*"))
        name = role.rsplit("/", 1)[1]
        trusts = [doc(s) for s in bad_statements] + [json.dumps({"Version": "2012-10-17", "Extra": 1, "Statement": [trusting(arn)]})]
        for trust in trusts:
            resp = as_admin(server, "iam", form={"Action": "CreateRole", "RoleName": unique("bad"), "AssumeRolePolicyDocument": trust})
            assert resp[0] == 400 and error_code(resp) == "MalformedPolicyDocument", (server, trust, resp)
            resp = as_admin(server, "iam", form={"Action": "UpdateAssumeRolePolicy", "RoleName": name, "PolicyDocument": trust})
            assert resp[0] == 400 and error_code(resp) == "MalformedPolicyDocument", (server, trust, resp)
        named = doc({**stmt("s3:*"), "Principal": {"AWS": ACCOUNT}})
        identity = [doc({"Action": "s3:*", "Resource": "*"}), doc(stmt("s3:*", condition={"StringEqualz": {"a": "b"}})),
                    json.dumps({"Version": "2012-10-17", "Extra": 1, "Statement": [stmt("s3:*")]}), named]
        for policy in identity:
            resp = as_admin(server, "iam", form={"Action": "PutRolePolicy", "RoleName": name, "PolicyName": "bad", "PolicyDocument": policy})
            assert resp[0] == 400 and error_code(resp) == "MalformedPolicyDocument", (server, policy, resp)
            settled(server)
            resp = assume(server, creds, role, "bad", Policy=policy)
            assert resp[0] == 400 and error_code(resp) == "MalformedPolicyDocument", (server, policy, resp)
        # A policy attached to a principal names none: IAM's own message, wherever an identity policy is written.
        for form in ({"Action": "PutUserPolicy", "UserName": arn.rsplit("/", 1)[1], "PolicyName": "bad", "PolicyDocument": named},
                     {"Action": "CreatePolicy", "PolicyName": unique("bad"), "PolicyDocument": named}):
            resp = as_admin(server, "iam", form=form)
            assert resp[0] == 400 and "should not specify a principal" in message(resp), (server, form, resp)
        # IAM takes an unknown operator with nothing under it, and numbers unquoted, and so do we.
        fine = doc(stmt("s3:ListAllMyBuckets", condition={"StringEqualz": {}, "NumericLessThan": {"aws:EpochTime": 9999999999}}))
        resp = as_admin(server, "iam", form={"Action": "PutRolePolicy", "RoleName": name, "PolicyName": "fine", "PolicyDocument": fine})
        assert resp[0] == 200, (server, resp)
        assumed(server, creds, role, "fine", Policy=fine)


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


BOUNDARY = "PermissionsBoundaryPolicy"


def detail(answer, kind, name):
    """The UserDetailList (kind "User") or RoleDetailList ("Role") entry of that name in GetAccountAuthorizationDetails."""
    return next(m for m in answer.find(f".//{kind}DetailList").findall("member") if m.findtext(f"{kind}Name") == name)


def test_auth_permissions_boundaries_cap_users_and_sessions():
    """A permissions boundary caps the identity policies (IAM User Guide, "Permissions boundaries for IAM entities"): a
    user's (PutUserPermissionsBoundary, which moto lacks) caps the user, AssumeRole included, a role's caps its
    sessions; refused "because no permissions boundary allows the … action". A trust naming the user itself is not
    limited by the user's boundary, one naming the account is. GetUser and GetAccountAuthorizationDetails show the
    boundaries as AWS's AttachedPermissionsBoundary; DeleteUserPermissionsBoundary removes it."""
    for server in AUTH:
        cap = managed_policy(server, stmt("s3:ListAllMyBuckets"), stmt("sts:AssumeRole"))
        arn, creds = new_user(server, stmt("s3:*"), stmt("sts:AssumeRole"))
        name = arn.rsplit("/", 1)[1]
        assert put_bucket(server, creds, unique("cap"))[0] == 200
        iam(server, "PutUserPermissionsBoundary", UserName=name, PermissionsBoundary=cap)
        assert list_all(server, creds)[0] == 200
        bucket = unique("cap")
        resp = put_bucket(server, creds, bucket)
        assert is_denied(resp) and message(resp) == (
            f'User: {arn} is not authorized to perform: s3:CreateBucket on resource: "arn:aws:s3:::{bucket}" '
            "because no permissions boundary allows the s3:CreateBucket action"), (server, resp)
        assert boundary_in(iam(server, "GetUser", UserName=name).find(".//User")) == (BOUNDARY, cap)
        # A role's boundary caps its sessions.
        role = new_role(server, [trusting(arn)], stmt("s3:*"))
        role_name = role.rsplit("/", 1)[1]
        iam(server, "PutRolePermissionsBoundary", RoleName=role_name, PermissionsBoundary=cap)
        session = assumed(server, creds, role)
        assert list_all(server, session)[0] == 200
        resp = put_bucket(server, session, bucket)
        assert is_denied(resp) and message(resp) == (
            f'User: {session_arn(role)} is not authorized to perform: s3:CreateBucket on resource: "arn:aws:s3:::{bucket}" '
            "because no permissions boundary allows the s3:CreateBucket action"), (server, resp)
        details = iam(server, "GetAccountAuthorizationDetails")
        assert boundary_in(detail(details, "User", name)) == (BOUNDARY, cap)
        assert boundary_in(detail(details, "Role", role_name)) == (BOUNDARY, cap)
        # AssumeRole under a boundary without sts:AssumeRole: a trust naming the account needs it, one naming the user not.
        s3_only = managed_policy(server, stmt("s3:*"))
        iam(server, "PutUserPermissionsBoundary", UserName=name, PermissionsBoundary=s3_only)
        by_account, by_user = new_role(server, [trusting(ACCOUNT)]), new_role(server, [trusting(arn)])
        assumed(server, creds, by_user)
        settled(server)
        resp = assume(server, creds, by_account)
        assert is_denied(resp) and message(resp) == f"User: {arn} is not authorized to perform: sts:AssumeRole on resource: {by_account}"
        # Deleted: the identity policy alone decides again.
        iam(server, "DeleteUserPermissionsBoundary", UserName=name)
        assert boundary_in(iam(server, "GetUser", UserName=name).find(".//User")) is None
        assert boundary_in(detail(iam(server, "GetAccountAuthorizationDetails"), "User", name)) is None
        assert put_bucket(server, creds, bucket)[0] == 200
        assumed(server, creds, by_account)


def test_auth_user_permissions_boundary_actions_answer_as_iam():
    """CreateUser takes a PermissionsBoundary; PutUserPermissionsBoundary answers NoSuchEntity for a missing user or
    policy, InvalidInput for an ARN that is not a policy's; ListUsers leaves boundaries out, as AWS's does; a user
    whose identity policy does not allow iam:PutUserPermissionsBoundary is refused it."""
    for server in AUTH:
        cap = managed_policy(server, stmt("s3:ListAllMyBuckets"))
        name = unique("u")
        created = iam(server, "CreateUser", UserName=name, PermissionsBoundary=cap)
        assert boundary_in(created.find(".//User")) == (BOUNDARY, cap)
        listed = iam(server, "ListUsers").findall(".//Users/member")
        assert any(m.findtext("UserName") == name for m in listed) and all(boundary_in(m) is None for m in listed)
        for form, status, code in (
            ({"UserName": unique("gone"), "PermissionsBoundary": cap}, 404, "NoSuchEntity"),
            ({"UserName": name, "PermissionsBoundary": f"arn:aws:iam::{ACCOUNT}:policy/{unique('gone')}"}, 404, "NoSuchEntity"),
            ({"UserName": name, "PermissionsBoundary": "arn:aws:s3:::not-a-policy"}, 400, "InvalidInput"),
        ):
            resp = as_admin(server, "iam", form={"Action": "PutUserPermissionsBoundary", **form})
            assert (resp[0], error_code(resp)) == (status, code), (server, form, resp)
        resp = as_admin(server, "iam", form={"Action": "CreateUser", "UserName": unique("u"), "PermissionsBoundary": "arn:aws:s3:::not-a-policy"})
        assert (resp[0], error_code(resp)) == (400, "InvalidInput"), resp
        assert boundary_in(iam(server, "GetUser", UserName=name).find(".//User")) == (BOUNDARY, cap)
        arn, creds = new_user(server, stmt("iam:GetUser"))
        resp = call(server, "iam", form={"Action": "PutUserPermissionsBoundary", "UserName": name, "PermissionsBoundary": cap}, creds=creds)
        assert is_denied(resp) and message(resp) == (
            f"User: {arn} is not authorized to perform: iam:PutUserPermissionsBoundary on resource: arn:aws:iam::{ACCOUNT}:user/{name} "
            "because no identity-based policy allows the iam:PutUserPermissionsBoundary action")


def test_auth_bucket_policies():
    """A bucket policy is a resource-based policy (IAM User Guide, "Policy evaluation for requests within a single
    account"): granting the user's ARN, it lets a user with no S3 identity policy list that bucket (not another), even
    under a boundary without S3 (a resource-based policy naming the user is not limited by it); its explicit deny
    refuses even the admin, "with an explicit deny in a resource-based policy", and only whom it names (moto alone
    refuses everyone); S3's context keys: s3:prefix, s3:delimiter, aws:SecureTransport, aws:ResourceAccount."""
    admin_arn = f"arn:aws:iam::{ACCOUNT}:user/emulator-admin"
    for server in AUTH:
        shared, other, keyed = unique("shared"), unique("other"), unique("keyed")
        for bucket in (shared, other, keyed):
            assert put_bucket(server, ADMINS[server], bucket)[0] == 200
        assert call(server, "s3", method="PUT", path=f"/{shared}/k", body=b"hello", creds=ADMINS[server])[0] == 200
        arn, creds = new_user(server)
        _, reader = new_user(server, stmt("s3:GetObject"))
        put_bucket_policy(server, shared, {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{shared}"},
                          {"Effect": "Deny", "Principal": {"AWS": admin_arn}, "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{shared}/*"})
        assert list_bucket(server, creds, shared)[0] == 200
        resp = list_bucket(server, creds, other)
        assert is_denied(resp) and message(resp) == (
            f'User: {arn} is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::{other}" '
            "because no identity-based policy allows the s3:ListBucket action"), (server, resp)
        iam(server, "PutUserPermissionsBoundary", UserName=arn.rsplit("/", 1)[1], PermissionsBoundary=managed_policy(server, stmt("iam:GetUser")))
        assert list_bucket(server, creds, shared)[0] == 200
        resp = call(server, "s3", method="GET", path=f"/{shared}/k", creds=ADMINS[server])
        assert is_denied(resp) and message(resp) == (
            f'User: {admin_arn} is not authorized to perform: s3:GetObject on resource: "arn:aws:s3:::{shared}/k" '
            "with an explicit deny in a resource-based policy"), (server, resp)
        assert call(server, "s3", method="GET", path=f"/{shared}/k", creds=reader)[0] == 200
        assert list_bucket(server, ADMINS[server], shared)[0] == 200
        # S3's context keys in a bucket policy's condition.
        keys = {"StringEquals": {"s3:prefix": "home/", "s3:delimiter": "/", "aws:ResourceAccount": ACCOUNT}, "Bool": {"aws:SecureTransport": "false"}}
        put_bucket_policy(server, keyed, {"Effect": "Allow", "Principal": {"AWS": arn}, "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{keyed}",
                                          "Condition": keys})
        assert list_bucket(server, creds, keyed, "delimiter=%2F&list-type=2&prefix=home%2F")[0] == 200
        for query in ("list-type=2&prefix=home%2F", "list-type=2", "delimiter=%2F&list-type=2&prefix=work%2F"):
            assert is_denied(list_bucket(server, creds, keyed, query)), (server, query)


def test_auth_bucket_policy_naming_the_role_is_limited_by_its_boundary():
    """IAM User Guide, "Permissions boundaries for IAM entities": a resource-based policy granting the role's ARN is
    limited by the role's boundary (refused "because no permissions boundary allows …"), one granting the session's
    own ARN is not; without a boundary the grant to the role needs no identity policy of the role."""
    for server in AUTH:
        arn, creds = new_user(server)
        role = new_role(server, [trusting(arn)])
        role_name = role.rsplit("/", 1)[1]
        iam(server, "PutRolePermissionsBoundary", RoleName=role_name, PermissionsBoundary=managed_policy(server, stmt("iam:GetUser")))
        session = assumed(server, creds, role, "s")
        by_role, by_session = unique("role"), unique("sess")
        for bucket, principal in ((by_role, role), (by_session, session_arn(role, "s"))):
            assert put_bucket(server, ADMINS[server], bucket)[0] == 200
            put_bucket_policy(server, bucket, {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "s3:ListBucket", "Resource": f"arn:aws:s3:::{bucket}"})
        resp = list_bucket(server, session, by_role)
        assert is_denied(resp) and message(resp) == (
            f'User: {session_arn(role, "s")} is not authorized to perform: s3:ListBucket on resource: "arn:aws:s3:::{by_role}" '
            "because no permissions boundary allows the s3:ListBucket action"), (server, resp)
        assert list_bucket(server, session, by_session)[0] == 200
        iam(server, "DeleteRolePermissionsBoundary", RoleName=role_name)
        assert list_bucket(server, session, by_role)[0] == 200
