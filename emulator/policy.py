"""The policy evaluator: AWS's documented IAM policy evaluation logic (one account; identity, session and role trust policies), pure Python.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html: statements (Action, Resource,
Principal and their Not forms), a policy's answer, and `decide` over all of them; the Condition element's operators,
policy variables and wildcard patterns are conditions.py's. No moto here: the emulator's authorization (authorize.py)
builds the request and the policies, and `POST /sts-lab/decide` calls `decide` as is.

A request is {"principal": ARN, "action": "s3:CreateBucket", "resource": ARN or "*", "context": {key: str or [str]}};
a policy is {"name", "kind": "identity" | "session" | "trust", "document": parsed JSON (or its text)}.
"""

import json
import re
from functools import lru_cache
from typing import NamedTuple

from conditions import as_list, conditions_hold, expand, glob, glob_match, pattern_of, text

KINDS = ("identity", "session", "trust")
# How AWS names each kind in an AccessDenied message.
EXPLICIT = {"identity": "an identity-based policy", "session": "a session policy", "trust": "the role trust policy"}
IMPLICIT = {"identity": "identity-based policy", "session": "session policy", "trust": "role trust policy"}


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


# How a principal names the caller, from the most direct: its own ARN (a user's, or a session's), the role of a
# session, or anyone of its account ("*", the account id, arn:…:root). AWS's evaluation logic: a resource policy
# naming the caller's own ARN grants directly (no session policy limits it); one naming a session's role grants
# to the role, and the session policies still limit it; one naming the account needs the caller's own policies.
EXACT, ROLE, ACCOUNT = "exact", "role", "account"
NAMING = (EXACT, ROLE, ACCOUNT)


def aws_principal_names(wanted, caller):
    """How one AWS principal of a resource policy names the caller's ARN (a user, or an assumed-role session):
    EXACT, ROLE, ACCOUNT, or None."""
    wanted, got = str(wanted), arn_parts(caller)
    if got is None:
        return None
    if wanted == "*":
        return ACCOUNT
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
    ACCOUNT), or None: "*" and {"AWS": "*"} anyone, an account id or arn:…:root any principal of that account, a user
    or session ARN exactly, a role ARN that role's sessions."""
    if principal == "*":
        return ACCOUNT
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
    """Whether the statement applies to the request: its action, resource, principal and condition."""
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


def decide(policies, request):
    """AWS's decision over all the policies, inside one account: an explicit deny anywhere wins (the first in list
    order); else identity policies must allow and, when the session has session policies, one of them too. With a
    role trust policy (AssumeRole), the trust must allow, and then: a statement naming the caller's own ARN (a user's,
    a session's) is enough by itself; one naming a session's role is enough with the session's policies (they still
    limit what a resource policy grants the role); one naming the account needs the caller's identity (and session)
    policies as well."""
    req = prepare(request)
    per_policy = []
    deny = identity_allow = trust_allow = None
    session_given = session_allow = trust_given = False
    trust_naming = set()
    for policy in policies:
        kind, name = policy.get("kind", "identity"), policy.get("name")
        effect, sid, allowing = evaluate(policy.get("document"), req)
        per_policy.append({"name": name, "effect": effect, "statement": sid})
        if effect == "Deny" and deny is None:
            deny = (name, sid, kind)
        if kind == "session":
            session_given = True
            session_allow = session_allow or effect == "Allow"
        elif kind == "trust":
            trust_given = True
            if effect == "Allow":
                trust_allow = trust_allow or (name, sid)
                trust_naming |= {principal_names(st.get("Principal"), req.principal) for st in allowing}
        elif effect == "Allow" and identity_allow is None:
            identity_allow = (name, sid)
    if deny is not None:
        return Decision("ExplicitDeny", deny[0], deny[1], f"with an explicit deny in {EXPLICIT.get(deny[2], EXPLICIT['identity'])}", per_policy)
    identity_ok, session_ok = identity_allow is not None, not session_given or session_allow

    def implicit(kind):
        return Decision("ImplicitDeny", None, None, f"because no {IMPLICIT[kind]} allows the {req.action} action", per_policy)

    if trust_given and trust_allow is None:
        return implicit("trust")
    if trust_given and not (identity_ok and session_ok):
        if EXACT in trust_naming or (ROLE in trust_naming and session_ok):
            return Decision("Allow", trust_allow[0], trust_allow[1], None, per_policy)
        if ROLE in trust_naming:
            return implicit("session")
    if not identity_ok:
        return implicit("identity")
    if not session_ok:
        return implicit("session")
    return Decision("Allow", identity_allow[0], identity_allow[1], None, per_policy)


# -- POST /sts-lab/decide ----------------------------------------------------------------------------


def decide_cases(cases):
    """The answers to /sts-lab/decide's cases (see sts_lab_emulator.py); ValueError with a one-line reason for a
    malformed case."""
    if not isinstance(cases, list):
        raise ValueError('expected {"cases": [{"policies": [...], "request": {...}}]}')
    answers = []
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or not isinstance(case.get("policies"), list) or not isinstance(case.get("request"), dict):
            raise ValueError(f"case {i}: expected an object with a policies list and a request object")
        policies = []
        for j, policy in enumerate(case["policies"]):
            if not isinstance(policy, dict) or policy.get("kind", "identity") not in KINDS:
                raise ValueError(f"case {i}, policy {j}: expected an object whose kind is identity, session or trust")
            document = policy.get("document")
            if isinstance(document, str):
                document = parse_document(document) or None
            if not isinstance(document, dict):
                raise ValueError(f"case {i}, policy {j}: the document is not a JSON policy object")
            policies.append({**policy, "document": document})
        request = case["request"]
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
        decision = decide(policies, request)
        answers.append(
            {"effect": decision.effect, "policy": decision.policy, "statement": decision.statement, "per_policy": decision.per_policy}
        )
    return answers
