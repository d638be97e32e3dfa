"""IAM's documented evaluation, asked of the emulator end to end: every case (actions and resources, every condition
operator, set operators, policy variables, decide() over trusts, session policies, permissions boundaries and bucket
policies, each written from AWS's documentation) goes through POST /sts-lab/decide on the "plain" server, which asks
the lab's one evaluator (lab-policy, in its own process: decider.py); and the endpoint's own checks. Run with the
others: pytest emulator/.
"""

import base64
import calendar
import json
from typing import NamedTuple

from harness import ACCOUNT, raw


class Decision(NamedTuple):
    effect: str
    policy: str | None
    statement: str | None
    message_reason: str | None


def decide(policies, request):
    """The emulator's decision, asked over HTTP (a document IAM would refuse is never decided on: an implicit deny)."""
    body = json.dumps({"cases": [{"policies": policies, "request": request}]}).encode()
    status, _, answer = raw("plain", "POST", "/sts-lab/decide", body)
    if status == 400 and "MalformedPolicyDocument" in (answer or ""):
        return Decision("ImplicitDeny", None, None, None)
    assert status == 200, (status, answer)
    got = json.loads(answer)["decisions"][0]
    return Decision(got["effect"], got["policy"], got["statement"], got.get("message_reason"))


def evaluate_policy(document, request):
    """One identity policy's answer to `request`: ("Allow", Sid), ("Deny", Sid) or (None, None)."""
    got = decide([{"name": "p", "kind": "identity", "document": document}], request)
    return {"Allow": ("Allow", got.statement), "ExplicitDeny": ("Deny", got.statement)}.get(got.effect, (None, None))


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
    assert allows({"Effect": "Allow", "Action": ["iam:*", "s3:ListBucket"], "Resource": ["arn:aws:s3:::x", "arn:aws:s3:::b"]}, req())
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


def evaluate_policy_effect(statements, request, version=V):
    """The effect one policy of `statements` gives `request` ("Allow", "Deny", or None)."""
    return evaluate_policy({"Version": version, "Statement": statements}, request)[0]


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
    # A variable that cannot be resolved makes the whole statement not apply: in NotResource, a Deny no longer
    # denies everything else; in a negated condition, it does not hold by default.
    fence = {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::${aws:username}/*"}
    assert evaluate_policy_effect([fence], req(resource="arn:aws:s3:::b/k")) is None
    assert evaluate_policy_effect([fence], req(resource="arn:aws:s3:::b/k", context=ctx)) == "Deny"
    negated = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "Condition": {"StringNotEquals": {"s3:prefix": "${aws:username}/"}}}
    assert evaluate_policy_effect([negated], req(context={"s3:prefix": "x/"})) is None
    # Before the 2012-10-17 version there are no variables: IAM refuses such a document when it is written.
    old = {"Version": "2008-10-17", "Statement": own}
    case = {"policies": [{"name": "p", "kind": "identity", "document": old}], "request": req(context=ctx)}
    status, _, reason = raw("plain", "POST", "/sts-lab/decide", json.dumps({"cases": [case]}).encode())
    assert status == 400 and "Policy document must be version 2012-10-17 or greater" in reason, (status, reason)


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


def test_policy_decide_resource_policies_and_session_policies_as_aws_documents_them():
    """Hand-written from AWS's documentation (the evaluator is the lab's one, so only cases written from the
    documentation find a mistake in it). IAM User Guide, "Session policies": a resource-based policy naming the role (or
    user) ARN is limited by the session policy; one naming the session's own ARN is not. Policy evaluation logic, same
    account: a trust naming the account needs the caller's own identity policy; an explicit deny always wins."""

    def pol(name, kind, *statements):
        return {"name": name, "kind": kind, "document": {"Version": V, "Statement": list(statements)}}

    role, second = f"arn:aws:iam::{ACCOUNT}:role/First", f"arn:aws:iam::{ACCOUNT}:role/Second"
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/First/s"
    chained = req("sts:AssumeRole", second, principal=session)
    list_only = pol("sp", "session", {"Sid": "List", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"})
    may_chain = pol("sp", "session", {"Sid": "Chain", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})
    role_policy = pol("rp", "identity", {"Sid": "Assume", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"})

    def trust(principal):
        return pol("trust", "trust", {"Sid": "T", "Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})

    # Naming the role: the session policy still limits it, with or without the role's own policy.
    assert decide([list_only, trust(role)], chained)[:4] == (
        "ImplicitDeny", None, None, "because no session policy allows the sts:AssumeRole action")
    assert decide([role_policy, list_only, trust(role)], chained).effect == "ImplicitDeny"
    assert decide([may_chain, trust(role)], chained)[:3] == ("Allow", "trust", "T")
    assert decide([trust(role)], chained)[:3] == ("Allow", "trust", "T")
    # Naming the session itself: not limited by its session policy; an explicit deny still refuses.
    assert decide([list_only, trust(session)], chained)[:3] == ("Allow", "trust", "T")
    no_chains = pol("sp", "session", {"Sid": "No", "Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"})
    assert decide([no_chains, trust(session)], chained)[:4] == ("ExplicitDeny", "sp", "No", "with an explicit deny in a session policy")
    # Naming the account: the caller's identity and session policies must allow it.
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert decide([trust(root)], chained)[3] == "because no identity-based policy allows the sts:AssumeRole action"
    assert decide([role_policy, list_only, trust(root)], chained)[3] == "because no session policy allows the sts:AssumeRole action"
    assert decide([role_policy, may_chain, trust(root)], chained)[:3] == ("Allow", "rp", "Assume")


# Permissions boundaries and bucket policies, for a user (ALICE) and for a session of the role Deploy.
ROLE = f"arn:aws:iam::{ACCOUNT}:role/Deploy"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/Deploy/s"
BUCKET = "arn:aws:s3:::b"
NO_BOUNDARY = "because no permissions boundary allows the s3:ListBucket action"
NO_IDENTITY = "because no identity-based policy allows the s3:ListBucket action"
NO_SESSION = "because no session policy allows the s3:ListBucket action"


def pol(name, kind, *statements):
    return {"name": name, "kind": kind, "document": {"Version": V, "Statement": list(statements)}}


def grant(sid, action="s3:ListBucket", effect="Allow"):
    return {"Sid": sid, "Effect": effect, "Action": action, "Resource": "*"}


IDENTITY = pol("id", "identity", grant("Id"))
BOUNDARY = pol("cap", "boundary", grant("Cap", "s3:*"))
NARROW = pol("cap", "boundary", grant("Cap", "iam:*"))  # allows no S3 action
SESSION_ALL = pol("sp", "session", grant("Sp", "s3:*"))
SESSION_NARROW = pol("sp", "session", grant("Sp", "s3:GetObject"))


def bucket_policy(principal, effect="Allow", action="s3:ListBucket"):
    named = principal if principal == "*" else {"AWS": principal}
    return pol("bucket policy of b", "resource", {"Sid": "B", "Effect": effect, "Principal": named, "Action": action, "Resource": BUCKET})


def listing(principal):
    return req("s3:ListBucket", BUCKET, principal=principal)


def test_policy_decide_permissions_boundaries_as_aws_documents_them():
    """Hand-written from the IAM User Guide. "Permissions boundaries for IAM entities", evaluating effective
    permissions: a boundary grants nothing, it caps the identity-based policies (identity ∩ boundary), and an explicit
    deny in it wins. "Session policies": a session's permissions are its role's identity policies ∩ the role's
    boundary ∩ its session policies. "Policy evaluation for requests within a single account": a trust naming the
    user's own ARN allows by itself (the user's boundary does not limit it); one naming the account needs the user's
    identity policy, within its boundary. And "Policy evaluation logic": an explicit deny anywhere wins."""
    for caller in (ALICE, SESSION):
        assert decide([IDENTITY, BOUNDARY], listing(caller))[:3] == ("Allow", "id", "Id"), caller
        assert decide([IDENTITY, NARROW], listing(caller))[:4] == ("ImplicitDeny", None, None, NO_BOUNDARY), caller
        assert decide([BOUNDARY], listing(caller))[3] == NO_IDENTITY, caller  # the boundary alone grants nothing
        denying = pol("cap", "boundary", grant("Cap", "*"), grant("No", "s3:List*", "Deny"))
        assert decide([IDENTITY, denying], listing(caller))[:4] == ("ExplicitDeny", "cap", "No", "with an explicit deny in a permissions boundary")
    # A session: identity, boundary and session policies, each must allow; the first missing is named.
    assert decide([IDENTITY, BOUNDARY, SESSION_ALL], listing(SESSION))[:3] == ("Allow", "id", "Id")
    assert decide([IDENTITY, BOUNDARY, SESSION_NARROW], listing(SESSION))[3] == NO_SESSION
    assert decide([IDENTITY, NARROW, SESSION_ALL], listing(SESSION))[3] == NO_BOUNDARY
    assert decide([IDENTITY, NARROW, SESSION_NARROW], listing(SESSION))[3] == NO_BOUNDARY
    assert decide([BOUNDARY, SESSION_ALL], listing(SESSION))[3] == NO_IDENTITY
    assert decide([NARROW, SESSION_NARROW], listing(SESSION))[3] == NO_IDENTITY
    assert decide([IDENTITY, BOUNDARY, pol("sp", "session", grant("Sp", "*"), grant("No", "s3:*", "Deny"))], listing(SESSION))[3] == (
        "with an explicit deny in a session policy")
    # A trust and the user's boundary.
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/Target"
    assume = req("sts:AssumeRole", role_arn)
    may_assume = pol("id", "identity", grant("Assume", "sts:AssumeRole"))
    cap_assume = pol("cap", "boundary", grant("Cap", "sts:AssumeRole"))

    def trust(principal, kind="trust", effect="Allow"):
        return pol("role trust policy", kind, {"Sid": "T", "Effect": effect, "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"})

    assert decide([NARROW, trust(ALICE)], assume)[:3] == ("Allow", "role trust policy", "T")
    assert decide([may_assume, NARROW, trust(ACCOUNT)], assume)[:4] == (
        "ImplicitDeny", None, None, "because no permissions boundary allows the sts:AssumeRole action")
    assert decide([NARROW, trust(f"arn:aws:iam::{ACCOUNT}:root")], assume)[3] == "because no identity-based policy allows the sts:AssumeRole action"
    assert decide([may_assume, cap_assume, trust(ACCOUNT)], assume)[:3] == ("Allow", "id", "Assume")
    assert decide([may_assume, cap_assume, trust(f"{ALICE}-admin")], assume)[3] == "because no role trust policy allows the sts:AssumeRole action"
    # A "resource" policy of sts:AssumeRole is the role's trust.
    assert decide([NARROW, trust(ALICE, "resource")], assume)[:3] == ("Allow", "role trust policy", "T")
    assert decide([may_assume, cap_assume, trust(f"{ALICE}-admin", "resource")], assume)[3] == (
        "because no role trust policy allows the sts:AssumeRole action")
    assert decide([may_assume, trust(ALICE, "resource", "Deny")], assume)[3] == "with an explicit deny in the role trust policy"


def test_policy_decide_bucket_policies_as_aws_documents_them():
    """Hand-written from the IAM User Guide. "Policy evaluation for requests within a single account": the request is
    allowed if the identity-based policy or the resource-based policy allows it; an explicit deny in either wins; a
    bucket policy naming the account delegates to the account's identity policies. "Permissions boundaries for IAM
    entities": an implicit deny in a boundary does not limit what a resource-based policy grants the user's ARN or the
    role session's ARN, but does limit a grant to the role's ARN. "Session policies": a grant to the session's ARN is
    not limited by the session policies either, a grant to the role ARN is. "*" names everyone directly."""
    other = f"arn:aws:iam::{ACCOUNT}:user/bob"
    root = f"arn:aws:iam::{ACCOUNT}:root"
    for caller in (ALICE, SESSION):
        # Either allows; a bucket policy need not allow, nor name the caller.
        assert decide([IDENTITY, bucket_policy(other)], listing(caller))[:3] == ("Allow", "id", "Id"), caller
        assert decide([bucket_policy(caller)], listing(caller))[:3] == ("Allow", "bucket policy of b", "B"), caller
        assert decide([bucket_policy(other)], listing(caller))[3] == NO_IDENTITY, caller
        # An explicit deny in the bucket policy wins over the identity policy's allow.
        assert decide([IDENTITY, bucket_policy(caller, "Deny")], listing(caller))[:4] == (
            "ExplicitDeny", "bucket policy of b", "B", "with an explicit deny in a resource-based policy"), caller
        assert decide([IDENTITY, bucket_policy(ACCOUNT, "Deny", "s3:*")], listing(caller)).effect == "ExplicitDeny", caller
        # Naming the account: the identity policy must allow, within the boundary.
        for account in (ACCOUNT, root):
            assert decide([bucket_policy(account)], listing(caller))[3] == NO_IDENTITY, caller
            assert decide([IDENTITY, bucket_policy(account)], listing(caller))[:3] == ("Allow", "id", "Id"), caller
            assert decide([IDENTITY, NARROW, bucket_policy(account)], listing(caller))[3] == NO_BOUNDARY, caller
        # The caller's own ARN, or everyone: no implicit deny (boundary, session policy) limits the grant.
        limited = ([], [NARROW], [NARROW, SESSION_NARROW]) if caller == SESSION else ([], [NARROW])
        for named in (caller, "*", [other, "*"]):
            for limits in limited:
                got = decide([*limits, bucket_policy(named)], listing(caller))
                assert got[:3] == ("Allow", "bucket policy of b", "B"), (caller, named, limits)
        assert decide([NARROW, bucket_policy(caller, "Allow", "s3:Get*")], listing(caller))[3] == NO_IDENTITY, caller
    assert decide([bucket_policy(ALICE)], listing(other))[3] == NO_IDENTITY
    # The role's ARN: a grant to the role, limited by its boundary and the session policies, not by its identity policy.
    assert decide([bucket_policy(ROLE)], listing(SESSION))[:3] == ("Allow", "bucket policy of b", "B")
    assert decide([BOUNDARY, SESSION_ALL, bucket_policy(ROLE)], listing(SESSION))[:3] == ("Allow", "bucket policy of b", "B")
    assert decide([NARROW, bucket_policy(ROLE)], listing(SESSION))[:4] == ("ImplicitDeny", None, None, NO_BOUNDARY)
    assert decide([IDENTITY, NARROW, bucket_policy(ROLE)], listing(SESSION))[3] == NO_BOUNDARY
    assert decide([BOUNDARY, SESSION_NARROW, bucket_policy(ROLE)], listing(SESSION))[3] == NO_SESSION
    assert decide([NARROW, SESSION_NARROW, bucket_policy(ROLE)], listing(SESSION))[3] == NO_BOUNDARY
    assert decide([bucket_policy(ROLE)], listing(ALICE))[3] == NO_IDENTITY  # a role names its sessions only
    # The most direct naming counts: the session's own ARN beside the role's.
    both = pol("bucket policy of b", "resource", {"Sid": "Role", "Effect": "Allow", "Principal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"},
               {"Sid": "Own", "Effect": "Allow", "Principal": {"AWS": SESSION}, "Action": "s3:*", "Resource": "*"})
    assert decide([NARROW, both], listing(SESSION))[:3] == ("Allow", "bucket policy of b", "Own")
    # "*" in a trust names everyone too: no identity policy needed, the user's boundary does not limit it.
    anyone = pol("role trust policy", "trust", {"Sid": "T", "Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"})
    assert decide([NARROW, anyone], req("sts:AssumeRole", ROLE))[:3] == ("Allow", "role trust policy", "T")


# -- POST /sts-lab/decide ----------------------------------------------------------------------------


def test_decide_endpoint():
    trust = {"Version": V, "Statement": [{"Sid": "T", "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"}]}
    cases = [
        {"policies": [{"name": "id", "kind": "identity", "document": {"Version": V, "Statement": [{"Sid": "A", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}},
                      {"name": "sp", "kind": "session", "document": json.dumps({"Version": V, "Statement": [
                          {"Sid": "L", "Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]})}],
         "request": {"principal": ALICE, "action": "s3:GetObject", "resource": "arn:aws:s3:::b/k", "context": {"aws:TagKeys": ["a"]}}},
        {"policies": [{"name": "role trust policy", "kind": "trust", "document": trust}],
         "request": {"principal": ALICE, "action": "sts:AssumeRole", "resource": f"arn:aws:iam::{ACCOUNT}:role/R", "context": {}}},
    ]
    status, _, body = raw("plain", "POST", "/sts-lab/decide", json.dumps({"cases": cases}).encode())
    assert status == 200, body
    assert json.loads(body) == {"decisions": [
        {"effect": "ImplicitDeny", "policy": None, "statement": None, "message_reason": "because no session policy allows the s3:GetObject action"},
        {"effect": "Allow", "policy": "role trust policy", "statement": "T", "message_reason": None},
    ]}


def test_decide_endpoint_refuses_what_iam_refuses():
    """A document IAM would refuse when it is written (no Effect, an unknown condition operator, an unknown top-level
    element) is refused here too, with IAM's error: never decided on."""
    request = {"principal": ALICE, "action": "s3:ListAllMyBuckets", "resource": "*", "context": {}}
    for document in (
        {"Version": V, "Statement": [{"Action": "s3:*", "Resource": "*"}]},
        {"Version": V, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEqualz": {"a": "b"}}}]},
        {"Version": V, "Extra": 1, "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]},
    ):
        cases = [{"policies": [{"name": "p", "kind": "identity", "document": document}], "request": request}]
        status, _, body = raw("plain", "POST", "/sts-lab/decide", json.dumps({"cases": cases}).encode())
        assert status == 400 and "MalformedPolicyDocument" in body, (status, body)
    bad = [b"not json", b'{"cases": 3}', json.dumps({"cases": [{"policies": [{"kind": "bucket", "document": {}}], "request": {}}]}).encode(),
           json.dumps({"cases": [{"policies": [], "request": {"principal": ALICE, "action": "s3:X", "context": {"k": 1}}}]}).encode()]
    for body in bad:
        status, _, reason = raw("plain", "POST", "/sts-lab/decide", body)
        assert status == 400 and reason and "\n" not in reason, (body, reason)


def test_decide_endpoint_boundaries_resource_policies_and_one_account():
    """/sts-lab/decide takes permissions boundaries and resource-based policies (their documents checked when they
    are written: a boundary and a bucket policy need a Resource, a trust of kind "resource" (sts:AssumeRole) has
    none), and refuses a request from another account than its principal's: only requests inside one account are
    decided."""
    bucket = {"Version": V, "Statement": [{"Sid": "B", "Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "s3:ListBucket", "Resource": BUCKET}]}
    trust = {"Version": V, "Statement": [{"Sid": "T", "Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"}]}
    narrow = NARROW["document"]
    cases = [
        {"policies": [{"name": "cap", "kind": "boundary", "document": narrow}, {"name": "bucket policy of b", "kind": "resource", "document": bucket}],
         "request": {"principal": ALICE, "action": "s3:ListBucket", "resource": BUCKET, "context": {}, "account": ACCOUNT}},
        {"policies": [IDENTITY, {"name": "cap", "kind": "boundary", "document": json.dumps(narrow)}],
         "request": {"principal": ALICE, "action": "s3:ListBucket", "resource": BUCKET}},
        {"policies": [{"name": "role trust policy", "kind": "resource", "document": trust}],
         "request": {"principal": ALICE, "action": "sts:AssumeRole", "resource": ROLE}},
    ]
    status, _, body = raw("plain", "POST", "/sts-lab/decide", json.dumps({"cases": cases}).encode())
    assert status == 200, body
    assert [d["effect"] for d in json.loads(body)["decisions"]] == ["Allow", "ImplicitDeny", "ImplicitDeny"]
    assert json.loads(body)["decisions"][0]["policy"] == "bucket policy of b"
    assert json.loads(body)["decisions"][1]["message_reason"] == "because no permissions boundary allows the s3:ListBucket action"
    other = "210987654321"
    for request, expected in (
        ({**cases[0]["request"], "account": other},
         f"case 0: request.account {other} is not the principal's account: only requests inside one account are decided"),
        ({**cases[0]["request"], "account": "12345"}, "case 0: request.account must be an account id (12 digits)"),
    ):
        status, _, reason = raw("plain", "POST", "/sts-lab/decide", json.dumps({"cases": [{**cases[0], "request": request}]}).encode())
        assert (status, reason) == (400, expected), (status, reason)
    status, _, reason = raw("plain", "POST", "/sts-lab/decide", json.dumps({"cases": [{**cases[0], "policies": [{"kind": "bucket", "document": bucket}]}]}).encode())
    assert status == 400 and reason == "case 0, policy 0: expected an object whose kind is identity, session, trust, boundary or resource", reason
    # A trust as resource policy of sts:AssumeRole is checked as a trust (no Resource); a bucket policy needs one.
    for kind, document, action in (("resource", {**trust, "Statement": [{**trust["Statement"][0], "Resource": "*"}]}, "sts:AssumeRole"),
                                   ("resource", {**bucket, "Statement": [{k: v for k, v in bucket["Statement"][0].items() if k != "Resource"}]}, "s3:ListBucket"),
                                   ("boundary", {**bucket, "Statement": [{"Effect": "Allow", "Action": "s3:*"}]}, "s3:ListBucket")):
        case = {"policies": [{"name": "p", "kind": kind, "document": document}], "request": {"principal": ALICE, "action": action, "resource": "*"}}
        status, _, reason = raw("plain", "POST", "/sts-lab/decide", json.dumps({"cases": [case]}).encode())
        assert status == 400 and "MalformedPolicyDocument" in reason, (kind, action, status, reason)
