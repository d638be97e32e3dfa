"""Condition operators and patterns of the policy evaluator (policy.py): the Condition element, pure Python.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html: String*, Numeric*,
Date*, Bool, BinaryEquals, IpAddress, Arn*, their IfExists forms, Null, and the ForAllValues/ForAnyValue set operators;
policy variables (`${aws:username}`, `${key, 'default'}`, `${*}`) and the wildcard patterns Action, Resource and the
operators share. A context is {lower-cased key: [str]}, as policy.prepare builds it.
"""

import base64
import binascii
import ipaddress
import re
from datetime import UTC, datetime
from functools import lru_cache
from typing import NamedTuple

# Wildcards in a pattern, kept apart from a literal `*` or `?` (a variable's value, `${*}`, `${?}`).
STAR, QMARK = "\x00", "\x01"
VARIABLE = re.compile(r"\$\{([^}]*)\}")
VARIABLE_DEFAULT = re.compile(r"^\s*([^,]+?)\s*(?:,\s*'([^']*)'\s*)?$")


def text(value):
    """A policy or context value as IAM compares it: JSON true/false as "true"/"false", numbers as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_list(value):
    return value if isinstance(value, list) else [value]


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


def unresolvable(statement, context):
    """Whether a policy variable of the statement has no value in the request (and no default): in Resource,
    NotResource, or a value of a condition operator that reads variables. AWS then treats the whole statement as
    invalid: it does not apply, whatever its effect ("If AWS cannot resolve a variable this might cause the entire
    statement to be invalid", IAM User Guide, "IAM policy elements: Variables and tags")."""
    values = [v for element in ("Resource", "NotResource") for v in as_list(statement.get(element) or [])]
    condition = statement.get("Condition")
    for operator_name, block in (condition.items() if isinstance(condition, dict) else ()):
        parsed = parse_operator(operator_name)
        if parsed is None or parsed[1] == "Null" or not parsed[1].variables or not isinstance(block, dict):
            continue
        values.extend(text(v) for vs in block.values() for v in as_list(vs) if v is not None)
    return any(isinstance(v, str) and "${" in v and expand(v, context, True) is None for v in values)


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
