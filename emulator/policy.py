"""The policy evaluator: AWS's documented IAM policy evaluation logic (one account; identity, session and role trust
policies, permissions boundaries, resource-based policies), pure Python.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html: statements (Action, Resource,
Principal and their Not forms), a policy's answer, and `decide` over all of them; the Condition element's operators,
policy variables and wildcard patterns are conditions.py's. No moto here: the emulator's authorization (authorize.py)
builds the request and the policies, and `POST /sts-lab/decide` calls `decide` as is.

A request is {"principal": ARN, "action": "s3:CreateBucket", "resource": ARN or "*", "context": {key: str or [str]}}
(/sts-lab/decide's may name its "account": the principal's, as only requests inside one account are decided);
a policy is {"name", "kind": "identity" | "session" | "trust" | "boundary" | "resource", "document": parsed JSON (or
its text)}. A "resource" policy is an S3 bucket policy, or, for sts:AssumeRole, the role's trust (then it is a "trust").
"""

import json
import re
from functools import lru_cache
from typing import NamedTuple

from conditions import as_list, conditions_hold, expand, glob, glob_match, pattern_of, text, unresolvable

KINDS = ("identity", "session", "trust", "boundary", "resource")
# How AWS names each kind in an AccessDenied message ("with an explicit deny in …", "because no … allows").
EXPLICIT = {
    "identity": "an identity-based policy", "session": "a session policy", "trust": "the role trust policy",
    "boundary": "a permissions boundary", "resource": "a resource-based policy",
}
IMPLICIT = {
    "identity": "identity-based policy", "session": "session policy", "trust": "role trust policy",
    "boundary": "permissions boundary", "resource": "resource-based policy",
}


class Decision(NamedTuple):
    """effect: "Allow", "ExplicitDeny" or "ImplicitDeny"; policy and statement: the deciding policy's name and Sid
    (None on an ImplicitDeny); message_reason: AWS's phrase for an AccessDenied message ("because no identity-based
    policy allows the s3:X action", "with an explicit deny in a session policy", …; None on Allow); per_policy: each
    policy's own answer, {"name", "effect": "Allow" | "Deny" | None, "statement": Sid}."""

    effect: str
    policy: str | None
    statement: str | None
    message_reason: str | None
    per_policy: list


class Request(NamedTuple):
    """A request prepared once: the context's keys lower-cased, each value a list of strings."""

    principal: str
    action: str
    resource: str
    context: dict


def prepare(request):
    """The request as evaluated (a Request is returned as is)."""
    if isinstance(request, Request):
        return request
    context = {}
    for key, value in (request.get("context") or {}).items():
        values = value if isinstance(value, list | tuple) else [value]
        context[str(key).lower()] = [text(v) for v in values if v is not None]
    return Request(str(request.get("principal") or ""), str(request.get("action") or ""), str(request.get("resource") or "*"), context)


@lru_cache(maxsize=1024)
def parse_document(document_text):
    """A policy document's text, parsed (once for each distinct text); {} when it is not JSON."""
    try:
        parsed = json.loads(document_text)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def document_of(document):
    return parse_document(document) if isinstance(document, str) else (document if isinstance(document, dict) else {})


# -- principals --------------------------------------------------------------------------------------


def arn_parts(arn):
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


# How a principal names the caller, from the most direct: its own ARN (a user's, or a session's) or everyone ("*"),
# the role of a session, or its account (the account id, arn:…:root). AWS's evaluation logic, inside one account: a
# resource policy naming the caller's own ARN, or everyone, grants directly (no boundary nor session policy limits
# it); one naming a session's role grants to the role, and the role's boundary and the session policies still limit
# it; one naming the account delegates to the account, whose identity policies must allow.
EXACT, ROLE, ACCOUNT = "exact", "role", "account"
NAMING = (EXACT, ROLE, ACCOUNT)


def aws_principal_names(wanted, caller):
    """How one AWS principal of a resource policy names the caller's ARN (a user, or an assumed-role session):
    EXACT, ROLE, ACCOUNT, or None."""
    wanted, got = str(wanted), arn_parts(caller)
    if got is None:
        return None
    if wanted == "*":
        return EXACT
    if re.fullmatch(r"\d{12}", wanted):
        return ACCOUNT if got[4] == wanted else None
    parts = arn_parts(wanted)
    if parts is None:
        return None  # e.g. a deleted user's unique id: it names nobody
    if parts[2] == "iam" and parts[5] == "root":
        return ACCOUNT if got[4] == parts[4] and got[1] == parts[1] else None
    if wanted == caller:
        return EXACT
    if parts[2] == "iam" and parts[5].startswith("role/") and got[2] == "sts" and got[5].startswith("assumed-role/"):
        # A role names its sessions (a session's ARN keeps the role's name, not its path).
        same = got[1] == parts[1] and got[4] == parts[4] and got[5].split("/")[1] == parts[5].rsplit("/", 1)[-1]
        return ROLE if same else None
    return None


def principal_names(principal, caller):
    """How a Principal element ("*", {"AWS": …}, lists) names the caller, the most direct way it does (EXACT, ROLE,
    ACCOUNT), or None: "*" and {"AWS": "*"} everyone (EXACT: as directly as the caller's own ARN), an account id or
    arn:…:root the account (ACCOUNT), a user or session ARN exactly (EXACT), a role ARN that role's sessions (ROLE)."""
    if principal == "*":
        return EXACT
    if not isinstance(principal, dict) or principal.get("AWS") is None:
        return None
    found = {aws_principal_names(p, caller) for p in as_list(principal["AWS"])}
    return next((how for how in NAMING if how in found), None)


def principal_matches(principal, caller):
    """Whether a Principal element names the caller at all."""
    return principal_names(principal, caller) is not None


# -- statements and policies -------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def action_pattern(pattern):
    return glob(pattern_of(pattern), True)


def action_matches(patterns, action):
    return any(isinstance(p, str) and action_pattern(p).fullmatch(action) is not None for p in as_list(patterns))


def resource_matches(patterns, req, variables):
    for p in as_list(patterns):
        if not isinstance(p, str):
            continue
        pattern = expand(p, req.context, variables)
        if pattern is not None and glob_match(pattern, req.resource):
            return True
    return False


def applies(statement, req, variables):
    """Whether the statement applies to the request: its action, resource, principal and condition; never when a
    policy variable of it cannot be resolved."""
    if variables and unresolvable(statement, req.context):
        return False
    if "Action" in statement:
        if not action_matches(statement["Action"], req.action):
            return False
    elif "NotAction" in statement:
        if action_matches(statement["NotAction"], req.action):
            return False
    else:
        return False
    if "Resource" in statement:
        if not resource_matches(statement["Resource"], req, variables):
            return False
    elif "NotResource" in statement and resource_matches(statement["NotResource"], req, variables):
        return False
    if "Principal" in statement:
        if not principal_matches(statement["Principal"], req.principal):
            return False
    elif "NotPrincipal" in statement and principal_matches(statement["NotPrincipal"], req.principal):
        return False
    return conditions_hold(statement.get("Condition"), req.context, variables)


def statements(document):
    found = document.get("Statement", [])
    return [s for s in as_list(found) if isinstance(s, dict)]


def evaluate(document, req):
    """(effect, sid, allowing statements) of one policy: its first applicable Deny, else its first applicable Allow."""
    document = document_of(document)
    variables = document.get("Version") == "2012-10-17"  # policy variables exist since this version only
    allow, allowing = None, []
    for st in statements(document):
        effect = st.get("Effect")
        if effect not in ("Allow", "Deny") or not applies(st, req, variables):
            continue
        if effect == "Deny":
            return "Deny", st.get("Sid"), []
        if allow is None:
            allow = st
        allowing.append(st)
    return ("Allow", allow.get("Sid"), allowing) if allow is not None else (None, None, [])


def evaluate_policy(document, request):
    """(effect, sid) of one policy for the request: "Deny" if a statement denies, else "Allow" if one allows,
    else None (the policy does not apply); sid is the deciding statement's Sid."""
    effect, sid, _ = evaluate(document, prepare(request))
    return effect, sid


class Answer(NamedTuple):
    """One policy's answer to the request (evaluate's), with its kind as decide reads it."""

    kind: str
    name: str | None
    effect: str | None
    sid: str | None
    allowing: list


def kind_of(policy, req):
    """A policy's kind as decide reads it: a "resource" policy of sts:AssumeRole is the role's trust, an unknown kind
    an identity policy."""
    kind = policy.get("kind", "identity")
    if kind == "resource" and req.action.lower() == "sts:assumerole":
        return "trust"
    return kind if kind in KINDS else "identity"


def naming_of(answer, req):
    """(how, Sid): the most direct way an allowing statement of a resource-side policy names the caller (EXACT, ROLE,
    ACCOUNT) and the first statement naming it so; (None, None) when none names the caller."""
    named = [(principal_names(st.get("Principal"), req.principal), st.get("Sid")) for st in answer.allowing]
    for how in NAMING:
        for found, sid in named:
            if found == how:
                return how, sid
    return None, None


def decide(policies, request):
    """AWS's decision over all the policies, inside one account (IAM User Guide: "Policy evaluation logic", "Policy
    evaluation for requests within a single account"; "Permissions boundaries for IAM entities", its evaluation of
    effective permissions; "Session policies"):

    1. an explicit deny in any policy wins (the first in list order);
    2. a role trust policy (kind "trust", or "resource" for sts:AssumeRole), when given, must allow; a bucket policy
       (kind "resource") need not;
    3. the identity policies allowing, within the boundary (when the caller has one) and the session policies (when
       the session has some), allow;
    4. else a resource-side policy (trust, bucket policy) allows by itself when it names the caller's own ARN (a
       user's, a session's) or everyone ("*"): no implicit deny limits it; naming a session's role, it allows within
       the role's boundary and the session policies (the role's identity policies need not allow); naming the
       account, it delegates to the identity policies (3.);
    5. else an implicit deny, naming the first kind that did not allow (identity, boundary, session; for a grant to
       the role, boundary, session)."""
    req = prepare(request)
    answers = []
    for policy in policies:
        effect, sid, allowing = evaluate(policy.get("document"), req)
        answers.append(Answer(kind_of(policy, req), policy.get("name"), effect, sid, allowing))
    per_policy = [{"name": a.name, "effect": a.effect, "statement": a.sid} for a in answers]
    deny = next((a for a in answers if a.effect == "Deny"), None)
    if deny is not None:
        return Decision("ExplicitDeny", deny.name, deny.sid, f"with an explicit deny in {EXPLICIT[deny.kind]}", per_policy)

    def implicit(kind):
        return Decision("ImplicitDeny", None, None, f"because no {IMPLICIT[kind]} allows the {req.action} action", per_policy)

    def allows(kind):
        """Whether a policy of that kind allows; a boundary or session policies, when there are none, never limit."""
        given = [a for a in answers if a.kind == kind]
        return any(a.effect == "Allow" for a in given) or (kind in ("boundary", "session") and not given)

    if any(a.kind == "trust" for a in answers) and not allows("trust"):
        return implicit("trust")
    missing = [kind for kind in ("identity", "boundary", "session") if not allows(kind)]
    if not missing:
        first = next(a for a in answers if a.kind == "identity" and a.effect == "Allow")
        return Decision("Allow", first.name, first.sid, None, per_policy)
    grants = [(a.name, *naming_of(a, req)) for a in answers if a.kind in ("trust", "resource") and a.effect == "Allow"]
    exact = next(((name, sid) for name, how, sid in grants if how == EXACT), None)
    if exact is not None:
        return Decision("Allow", exact[0], exact[1], None, per_policy)
    to_role = next(((name, sid) for name, how, sid in grants if how == ROLE), None)
    if to_role is not None:
        limits = [kind for kind in missing if kind != "identity"]
        return implicit(limits[0]) if limits else Decision("Allow", to_role[0], to_role[1], None, per_policy)
    return implicit(missing[0])


# -- POST /sts-lab/decide ----------------------------------------------------------------------------


def case_policies(i, case):
    """A case's policies, their documents parsed; ValueError for a malformed one."""
    policies = []
    for j, policy in enumerate(case["policies"]):
        if not isinstance(policy, dict) or policy.get("kind", "identity") not in KINDS:
            raise ValueError(f"case {i}, policy {j}: expected an object whose kind is {', '.join(KINDS[:-1])} or {KINDS[-1]}")
        document = policy.get("document")
        if isinstance(document, str):
            document = parse_document(document) or None
        if not isinstance(document, dict):
            raise ValueError(f"case {i}, policy {j}: the document is not a JSON policy object")
        policies.append({**policy, "document": document})
    return policies


def check_request(i, request):
    """ValueError for a malformed request, or one from another account than its principal's (only requests inside
    one account are decided)."""
    for field in ("principal", "action"):
        if not isinstance(request.get(field), str):
            raise ValueError(f"case {i}: request.{field} must be a string")
    if not isinstance(request.get("resource", "*"), str):
        raise ValueError(f"case {i}: request.resource must be a string")
    context = request.get("context", {})
    if not isinstance(context, dict) or not all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)) for v in context.values()
    ):
        raise ValueError(f"case {i}: request.context must map keys to a string or a list of strings")
    account = request.get("account")
    if account is None:
        return
    if not isinstance(account, str) or re.fullmatch(r"\d{12}", account) is None:
        raise ValueError(f"case {i}: request.account must be an account id (12 digits)")
    principal = arn_parts(request["principal"])
    if principal is None or principal[4] != account:
        raise ValueError(f"case {i}: request.account {account} is not the principal's account: only requests inside one account are decided")


def decide_cases(cases):
    """The answers to /sts-lab/decide's cases (see sts_lab_emulator.py); ValueError with a one-line reason for a
    malformed case."""
    if not isinstance(cases, list):
        raise ValueError('expected {"cases": [{"policies": [...], "request": {...}}]}')
    answers = []
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or not isinstance(case.get("policies"), list) or not isinstance(case.get("request"), dict):
            raise ValueError(f"case {i}: expected an object with a policies list and a request object")
        policies = case_policies(i, case)
        check_request(i, case["request"])
        decision = decide(policies, case["request"])
        answers.append(
            {"effect": decision.effect, "policy": decision.policy, "statement": decision.statement, "per_policy": decision.per_policy}
        )
    return answers
