"""The policy evaluator: AWS's documented IAM policy evaluation logic (one account; identity, session and role trust policies), pure Python.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html and the condition operators of
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html. No moto here: the
emulator's authorization (authorize.py) builds the request and the policies, and `POST /sts-lab/decide` calls `decide` as is.

A request is {"principal": ARN, "action": "s3:CreateBucket", "resource": ARN or "*", "context": {key: str or [str]}};
a policy is {"name", "kind": "identity" | "session" | "trust", "document": parsed JSON (or its text)}.
"""

import base64
import binascii
import ipaddress
import json
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

KINDS = ("identity", "session", "trust")
# How AWS names each kind in an AccessDenied message.
EXPLICIT = {"identity": "an identity-based policy", "session": "a session policy", "trust": "the role trust policy"}
IMPLICIT = {"identity": "identity-based policy", "session": "session policy", "trust": "role trust policy"}
# Wildcards in a pattern, kept apart from a literal `*` or `?` (a variable's value, `${*}`, `${?}`).
STAR, QMARK = "\x00", "\x01"
VARIABLE = re.compile(r"\$\{([^}]*)\}")
VARIABLE_DEFAULT = re.compile(r"^\s*([^,]+?)\s*(?:,\s*'([^']*)'\s*)?$")


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


def text(value):
    """A policy or context value as IAM compares it: JSON true/false as "true"/"false", numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_list(value):
    return value if isinstance(value, list) else [value]


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


# -- patterns ----------------------------------------------------------------------------------------


def pattern_of(value):
    """A pattern without policy variables: its `*` and `?` are wildcards."""
    return value.replace("*", STAR).replace("?", QMARK)


def expand(value, context, variables):
    """`value` with its policy variables replaced (wildcards outside them kept as STAR/QMARK), or None when a
    variable's key is missing from the request (and has no default): that value matches nothing."""
    if not variables or "${" not in value:
        return pattern_of(value)
    out, at = [], 0
    for found in VARIABLE.finditer(value):
        out.append(pattern_of(value[at : found.start()]))
        at = found.end()
        inner = found.group(1)
        if inner in ("*", "?", "$"):
            out.append(inner)  # a literal character
            continue
        parts = VARIABLE_DEFAULT.match(inner)
        if parts is None:
            return None
        values = context.get(parts.group(1).lower())
        if values is not None and len(values) == 1:
            out.append(values[0])
        elif parts.group(2) is not None:
            out.append(parts.group(2))
        else:
            return None  # missing (or multivalued) key: the value does not match
    out.append(pattern_of(value[at:]))
    return "".join(out)


def literal(pattern):
    """The pattern as plain text (for operators without wildcards)."""
    return pattern.replace(STAR, "*").replace(QMARK, "?")


@lru_cache(maxsize=8192)
def glob(pattern, ignore_case=False):
    parts = []
    for chunk in re.split(f"([{STAR}{QMARK}])", pattern):
        parts.append(".*" if chunk == STAR else "." if chunk == QMARK else re.escape(chunk))
    return re.compile("".join(parts), re.S | (re.I if ignore_case else 0))


def glob_match(pattern, value, ignore_case=False):
    return glob(pattern, ignore_case).fullmatch(value) is not None


def arn_match(pattern, value):
    """ArnEquals/ArnLike: each of the six colon-separated parts matched on its own, wildcards allowed."""
    if pattern == STAR:
        return True
    wanted, got = pattern.split(":", 5), value.split(":", 5)
    return len(wanted) == len(got) == 6 and all(glob_match(w, g) for w, g in zip(wanted, got, strict=True))


# -- condition operators -----------------------------------------------------------------------------


def epoch(value):
    """A date as Unix time: ISO 8601 or epoch seconds; None when it is neither."""
    value = value.strip()
    try:
        if re.fullmatch(r"[+-]?\d+(\.\d+)?", value):
            return float(value)
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp()


def number(value):
    try:
        return float(value)
    except ValueError:
        return None


def compare(convert, test):
    def match(wanted, got):
        a, b = convert(literal(wanted)), convert(got)
        return a is not None and b is not None and test(b, a)

    return match


def binary(wanted, got):
    try:
        value = base64.b64decode(literal(wanted), validate=True)
    except (binascii.Error, ValueError):
        return False
    if got.encode() == value:
        return True
    try:
        return base64.b64decode(got, validate=True) == value
    except (binascii.Error, ValueError):
        return False


def ip_match(wanted, got):
    try:
        return ipaddress.ip_address(got.strip()) in ipaddress.ip_network(literal(wanted).strip(), strict=False)
    except ValueError:
        return False


def lt(a, b):
    return a < b


def le(a, b):
    return a <= b


def gt(a, b):
    return a > b


def ge(a, b):
    return a >= b


def eq(a, b):
    return a == b


class Operator(NamedTuple):
    match: object  # (policy value as pattern, request value) -> bool, the positive test
    negated: bool
    variables: bool  # policy variables allowed in its values


def string_equals(w, g):
    return literal(w) == g


def string_equals_ignore_case(w, g):
    return literal(w).lower() == g.lower()


def string_like(w, g):
    return glob_match(w, g)


def bool_equals(w, g):
    return literal(w).lower() == g.lower()


OPERATORS = {
    "StringEquals": Operator(string_equals, False, True),
    "StringNotEquals": Operator(string_equals, True, True),
    "StringEqualsIgnoreCase": Operator(string_equals_ignore_case, False, True),
    "StringNotEqualsIgnoreCase": Operator(string_equals_ignore_case, True, True),
    "StringLike": Operator(string_like, False, True),
    "StringNotLike": Operator(string_like, True, True),
    "NumericEquals": Operator(compare(number, eq), False, False),
    "NumericNotEquals": Operator(compare(number, eq), True, False),
    "NumericLessThan": Operator(compare(number, lt), False, False),
    "NumericLessThanEquals": Operator(compare(number, le), False, False),
    "NumericGreaterThan": Operator(compare(number, gt), False, False),
    "NumericGreaterThanEquals": Operator(compare(number, ge), False, False),
    "DateEquals": Operator(compare(epoch, eq), False, False),
    "DateNotEquals": Operator(compare(epoch, eq), True, False),
    "DateLessThan": Operator(compare(epoch, lt), False, False),
    "DateLessThanEquals": Operator(compare(epoch, le), False, False),
    "DateGreaterThan": Operator(compare(epoch, gt), False, False),
    "DateGreaterThanEquals": Operator(compare(epoch, ge), False, False),
    "Bool": Operator(bool_equals, False, True),
    "BinaryEquals": Operator(binary, False, False),
    "IpAddress": Operator(ip_match, False, False),
    "NotIpAddress": Operator(ip_match, True, False),
    "ArnEquals": Operator(arn_match, False, True),
    "ArnLike": Operator(arn_match, False, True),
    "ArnNotEquals": Operator(arn_match, True, True),
    "ArnNotLike": Operator(arn_match, True, True),
}
OPERATORS_LOWER = {name.lower(): op for name, op in OPERATORS.items()}
SET_OPERATORS = {"forallvalues": "all", "foranyvalue": "any"}


@lru_cache(maxsize=512)
def parse_operator(name):
    """(set operator "all" | "any" | None, Operator or "Null", if-exists) of an operator's name, or None if unknown."""
    set_op = None
    if ":" in name:
        prefix, name = name.split(":", 1)
        set_op = SET_OPERATORS.get(prefix.lower())
        if set_op is None:
            return None
    if name.lower() == "null":
        return None if set_op else (None, "Null", False)
    if_exists = name.lower().endswith("ifexists")
    if if_exists:
        name = name[: -len("IfExists")]
    op = OPERATORS_LOWER.get(name.lower())
    return None if op is None else (set_op, op, if_exists)


def condition_holds(operator_name, key, policy_values, context, variables):
    """One key of one operator; the policy's values are ORed (NORed for a negated operator)."""
    parsed = parse_operator(operator_name)
    if parsed is None:
        return False  # an operator IAM does not know never matches
    set_op, op, if_exists = parsed
    values = context.get(key.lower()) or None  # an empty list is a missing key
    wanted = [text(v) for v in as_list(policy_values) if v is not None]
    if op == "Null":
        return any((w.lower() == "true") == (values is None) for w in wanted)
    if values is None:
        # A missing key: true for IfExists and ForAllValues, false for ForAnyValue; otherwise
        # true for a negated operator, false for a positive one (the docs' "Important" note).
        if if_exists or set_op == "all":
            return True
        return False if set_op == "any" else op.negated
    patterns = [p for p in (expand(w, context, variables and op.variables) for w in wanted) if p is not None]

    def hit(value):
        return any(op.match(p, value) for p in patterns)

    if set_op == "all":
        return all(hit(v) != op.negated for v in values)
    # ForAnyValue; and a key with several values under a plain operator, which AWS leaves undefined ("multivalued
    # context keys require a condition set operator"), is read as ForAnyValue too. One value: the plain operator.
    return any(hit(v) != op.negated for v in values)


def conditions_hold(condition, context, variables):
    """Every operator and every key of the Condition element (ANDed)."""
    if not condition:
        return True
    if not isinstance(condition, dict):
        return False
    for operator_name, block in condition.items():
        if not isinstance(block, dict):
            return False
        for key, policy_values in block.items():
            if not condition_holds(operator_name, key, policy_values, context, variables):
                return False
    return True


# -- principals --------------------------------------------------------------------------------------


def arn_parts(arn):
    parts = arn.split(":", 5)
    return parts if len(parts) == 6 and parts[0] == "arn" else None


def aws_principal_matches(wanted, caller, itself_only=False):
    """One AWS principal of a trust policy against the caller's ARN (a user, or an assumed-role session).
    itself_only: only a principal that names the caller itself (its ARN; a session's role), not "*" or its account."""
    wanted, got = str(wanted), arn_parts(caller)
    if got is None:
        return False
    if wanted == "*":
        return not itself_only
    if re.fullmatch(r"\d{12}", wanted):
        return not itself_only and got[4] == wanted
    parts = arn_parts(wanted)
    if parts is None:
        return False  # e.g. a deleted user's unique id: it names nobody
    if parts[2] == "iam" and parts[5] == "root":
        return not itself_only and got[4] == parts[4] and got[1] == parts[1]
    if wanted == caller:
        return True
    if parts[2] == "iam" and parts[5].startswith("role/") and got[2] == "sts" and got[5].startswith("assumed-role/"):
        # A role names its sessions (a session's ARN keeps the role's name, not its path).
        return got[1] == parts[1] and got[4] == parts[4] and got[5].split("/")[1] == parts[5].rsplit("/", 1)[-1]
    return False


def principal_matches(principal, caller, itself_only=False):
    """Whether a Principal element ("*", {"AWS": …}, lists) names the caller: "*" and {"AWS": "*"} anyone, an account
    id or arn:…:root any principal of that account, a user or session ARN exactly, a role ARN that role's sessions."""
    if principal == "*":
        return not itself_only
    if not isinstance(principal, dict):
        return False
    aws = principal.get("AWS")
    return aws is not None and any(aws_principal_matches(p, caller, itself_only) for p in as_list(aws))


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
    """AWS's decision over all the policies: an explicit deny anywhere wins (the first in list order); else identity
    policies must allow and, when the session has session policies, one of them too. With a role trust policy
    (AssumeRole), the trust must allow, and unless the allowing statement names the caller itself (its user ARN; a
    session's role or session ARN), the caller's identity (and session) policies must allow as well."""
    req = prepare(request)
    per_policy = []
    deny = identity_allow = trust_allow = None
    session_given = session_allow = trust_given = trust_itself = False
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
                trust_itself = trust_itself or any(principal_matches(st.get("Principal"), req.principal, True) for st in allowing)
        elif effect == "Allow" and identity_allow is None:
            identity_allow = (name, sid)
    if deny is not None:
        return Decision("ExplicitDeny", deny[0], deny[1], f"with an explicit deny in {EXPLICIT.get(deny[2], EXPLICIT['identity'])}", per_policy)
    identity_ok, session_ok = identity_allow is not None, not session_given or session_allow

    def implicit(kind):
        return Decision("ImplicitDeny", None, None, f"because no {IMPLICIT[kind]} allows the {req.action} action", per_policy)

    if trust_given and trust_allow is None:
        return implicit("trust")
    if trust_given and trust_itself and not (identity_ok and session_ok):
        return Decision("Allow", trust_allow[0], trust_allow[1], None, per_policy)
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
