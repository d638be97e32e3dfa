"""Policy documents as IAM refuses them when they are written: MalformedPolicyDocument, never a document decided on.

IAM checks a document's grammar when it is written (https://docs.aws.amazon.com/IAM/latest/UserGuide/
reference_policies_grammar.html): only Version, Id and Statement at the top, each statement's Effect (Allow or Deny),
known elements and condition operators. moto checks PutUserPolicy, PutRolePolicy, CreatePolicy(Version) and
UpdateAssumeRolePolicy with its own validators (their messages are those AWS answers), but not CreateRole's trust nor
AssumeRole's session policy; here both are checked with the same validators, and /sts-lab/decide refuses what IAM
would. STS answers a malformed session policy with MalformedPolicyDocument too (AssumeRole's errors).
"""

from decider import KINDS


class Malformed(ValueError):
    """A document IAM would refuse, with IAM's message."""


def problem(document_text, kind, action=None):
    """None when IAM would take the document as a policy of `kind`, else IAM's message. Identity and session policies
    and permissions boundaries are checked as identity policies (moto's IAMPolicyDocumentValidator: Resource required),
    trust policies as trust policies (IAMTrustPolicyDocumentValidator: no Resource, STS actions only); a resource-based
    policy is a trust when `action` is sts:AssumeRole, else (a bucket policy) checked as an identity policy, whose
    grammar allows Principal and NotPrincipal and requires Resource, as a bucket policy's does (moto checks ECR's
    repository policies with that validator too)."""
    from moto.iam.exceptions import MalformedPolicyDocument
    from moto.iam.policy_validation import IAMPolicyDocumentValidator, IAMTrustPolicyDocumentValidator

    trust = kind == "trust" or (kind == "resource" and isinstance(action, str) and action.lower() == "sts:assumerole")
    validator = IAMTrustPolicyDocumentValidator if trust else IAMPolicyDocumentValidator
    try:
        validator(document_text).validate()
    except MalformedPolicyDocument as e:
        return e.message or "Syntax errors in policy."
    if kind in ("identity", "session", "boundary") and names_a_principal(document_text):
        return NO_PRINCIPAL
    return None


# IAM's answer to an identity policy (or a session policy, or a boundary) with a Principal: a policy attached to a
# principal names none (IAM User Guide, "AWS JSON policy elements: Principal"). moto's validator takes it, since it
# checks bucket policies with the same grammar.
NO_PRINCIPAL = "Policy document should not specify a principal."


def names_a_principal(document_text):
    """Whether any statement of the document has a Principal or a NotPrincipal."""
    import json

    try:
        statements = json.loads(document_text).get("Statement", [])
    except (ValueError, AttributeError):
        return False
    statements = statements if isinstance(statements, list) else [statements]
    return any(isinstance(s, dict) and ("Principal" in s or "NotPrincipal" in s) for s in statements)


def check(document_text, kind):
    """Raises Malformed with IAM's message when IAM would refuse the document."""
    reason = problem(document_text, kind)
    if reason is not None:
        raise Malformed(reason)


def patch_document_checks():
    """CreateRole's trust and AssumeRole's session policy checked as IAM and STS check them when they are given; a
    condition's number or boolean written unquoted taken, as IAM's grammar allows (moto refuses a number)."""
    from moto.iam.exceptions import MalformedPolicyDocument
    from moto.iam.models import IAMBackend
    from moto.iam.policy_validation import BaseIAMPolicyValidator
    from moto.sts.exceptions import STSClientError
    from moto.sts.models import STSBackend

    condition_syntax = BaseIAMPolicyValidator._validate_condition_syntax

    def unquoted_numbers(statement):
        quoted = statement
        if isinstance(statement.get("Condition"), dict):
            quoted = {**statement, "Condition": {
                operator: {k: quote(v) for k, v in block.items()} if isinstance(block, dict) else block
                for operator, block in statement["Condition"].items()}}
        return condition_syntax(quoted)

    BaseIAMPolicyValidator._validate_condition_syntax = staticmethod(unquoted_numbers)

    class SessionPolicyMalformed(STSClientError):
        code = "MalformedPolicyDocument"

    create_role = IAMBackend.create_role

    def checked_create_role(self, role_name, assume_role_policy_document, *args, **kwargs):
        reason = problem(assume_role_policy_document, "trust")
        if reason is not None:
            raise MalformedPolicyDocument(reason)
        return create_role(self, role_name, assume_role_policy_document, *args, **kwargs)

    IAMBackend.create_role = checked_create_role
    for name, document_arg in (("put_user_policy", "policy_json"), ("put_role_policy", "policy_json"),
                                ("put_group_policy", "policy_json"), ("create_policy", "policy_document"),
                                ("create_policy_version", "policy_document")):
        setattr(IAMBackend, name, without_principal(getattr(IAMBackend, name), document_arg, MalformedPolicyDocument))
    assume_role = STSBackend.assume_role

    def checked_assume_role(self, *args, **kwargs):
        policy = kwargs.get("policy")
        if policy:
            reason = problem(policy, "session")
            if reason is not None:
                raise SessionPolicyMalformed(reason)
        return assume_role(self, *args, **kwargs)

    STSBackend.assume_role = checked_assume_role


def without_principal(method, document_arg, error):
    """`method` of moto's IAM backend refusing an identity policy that names a principal, as IAM does."""
    import functools
    import inspect

    signature = inspect.signature(method)

    @functools.wraps(method)
    def checked(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        document = bound.arguments.get(document_arg)
        if isinstance(document, str) and names_a_principal(document):
            raise error(NO_PRINCIPAL)
        return method(self, *args, **kwargs)

    return checked


def quote(value):
    """A condition value with its unquoted numbers as IAM reads them (text), lists too."""
    if isinstance(value, list):
        return [quote(v) for v in value]
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def check_cases(cases):
    """Raises Malformed (case, policy and IAM's message) for the first document of /sts-lab/decide's cases that IAM
    would refuse; the cases' shape is policy.decide_cases's to check."""
    import json

    for i, case in enumerate(cases if isinstance(cases, list) else []):
        policies = case.get("policies") if isinstance(case, dict) else None
        request = case.get("request") if isinstance(case, dict) else None
        action = request.get("action") if isinstance(request, dict) else None
        for j, policy in enumerate(policies if isinstance(policies, list) else []):
            if not isinstance(policy, dict) or policy.get("kind", "identity") not in KINDS:
                continue
            document = policy.get("document")
            text = document if isinstance(document, str) else json.dumps(document)
            reason = problem(text, policy.get("kind", "identity"), action)
            if reason is not None:
                raise Malformed(f"case {i}, policy {j}: IAM refuses this document (MalformedPolicyDocument: {reason})")
