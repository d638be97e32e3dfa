"""IAM authorization of every signed request, in every mode: moto's check decides as AWS does (decider.decide: the
lab's own evaluator, lab-policy, asked in a process of its own).

moto's `IAMRequestBase.check_action_permitted` (called once moto enforces IAM, after INITIAL_NO_AUTH_ACTION_COUNT
requests, with moto's signature check before it) is replaced: the caller's policies (a user's inline, attached and
group policies; a session's role policies and its session policies; the permissions boundary of the user or of the
session's role), the request context AWS builds (time on the emulator's clock, principal keys and tags, token issue
time, MFA, source identity, request tags, STS keys, S3's keys), for sts:AssumeRole the target role's trust policy and
for S3 the bucket's policy go to decider.decide, with the request's action and resource as AWS names them (actions.py);
moto's own principal-blind check of a bucket policy's Deny then stands aside. AccessDenied is worded as AWS words it,
raised as moto's own exception classes (query XML for IAM/STS, S3's XML for S3). AssumeRole also verifies an MFA code
(TOTP on the emulator's clock against the seed of moto's virtual MFA device), and what AWS keeps with a session
(session policies, tags, transitive tag keys, source identity, MFA) is kept on moto's session object. Each decided
request is left on LOCAL.decided (moto's request, the Caller, the resource, AccessDenied's message when refused) for
trail.py to record once moto has answered.
"""

import base64
import binascii
import hashlib
import hmac
import struct
import threading
from datetime import UTC, datetime

from actions import NO_RESOURCE, form_value, iam_resource, members, request_tags, s3_action, s3_bucket_name, s3_list_keys
from clock import CLOCK
from common import query_error
from decider import decide

# The request being served on this thread (moto runs it on the thread of our WSGI app): the caller's address, and
# what an authorized AssumeRole keeps for the session moto is about to create.
LOCAL = threading.local()
CHAINING_LIMIT = 3600
CHAINING_MESSAGE = "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
MFA_MESSAGE = "MultiFactorAuthentication failed with invalid MFA one time pass code."


def begin_request(environ):
    """Called by the WSGI app for each request, before moto."""
    LOCAL.source_ip = environ.get("REMOTE_ADDR")
    LOCAL.secure = environ.get("wsgi.url_scheme") == "https"
    LOCAL.pending = None
    LOCAL.decided = None


def iso(at):
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def denied_message(principal, action, resource, reason=None, quote=False):
    """AWS's AccessDenied message: `User: ARN is not authorized to perform: ACTION[ on resource: R][ REASON]`; S3
    quotes the resource ("arn:aws:s3:::b")."""
    message = f"User: {principal} is not authorized to perform: {action}"
    if resource and resource not in NO_RESOURCE:
        message += f' on resource: "{resource}"' if quote else f" on resource: {resource}"
    return f"{message} {reason}" if reason else message


def default_document(policy):
    """A managed policy's default version's document."""
    return next((v.document for v in policy.versions if v.is_default), "{}")


def managed_policy(iam, arn):
    """The managed policy of that ARN (the account's, or AWS's), or None."""
    found = iam.managed_policies.get(arn)
    return found if found is not None else next((p for p in iam.aws_managed_policies if p.arn == arn), None)


# -- TOTP (RFC 6238) ---------------------------------------------------------------------------------


def totp(seed, at, step=30, digits=6):
    """The one-time code of a base32 seed at Unix time `at` (HMAC-SHA1, 30 s steps, 6 digits)."""
    key = base64.b32decode(seed.upper() + "=" * (-len(seed) % 8))
    mac = hmac.new(key, struct.pack(">Q", int(at // step)), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


def totp_valid(seed, code, at):
    """The code of the step at `at`, or of the one before or after (clock drift)."""
    try:
        return any(hmac.compare_digest(totp(seed, at + drift * 30), code or "") for drift in (-1, 0, 1))
    except (binascii.Error, ValueError):
        return False


# -- the caller --------------------------------------------------------------------------------------


class Caller:
    """Who signed the request: a user, or an assumed-role session (with its role, which may be gone)."""

    def __init__(self, req, iam, sts):
        from moto.iam.access_control import IAMUserAccessKey

        key = req._access_key
        self.iam, self.user, self.session, self.role = iam, None, None, None
        if isinstance(key, IAMUserAccessKey):
            self.user = iam.users[key._owner_user_name]
            self.arn = self.user.arn
        else:
            self.session = sts.get_assumed_role_from_access_key(key._access_key_id)
            self.arn = key.arn
            self.role = next((r for r in iam.roles.values() if r.arn == self.session.role_arn), None)
        self.state = self.session.__dict__.get("sts_lab", {}) if self.session is not None else {}

    def policies(self):
        """The caller's identity policies, then its session policies."""
        found = []

        def add(owner):
            found.extend({"name": name, "kind": "identity", "document": doc} for name, doc in owner.policies.items())
            found.extend({"name": p.name, "kind": "identity", "document": default_document(p)} for p in owner.managed_policies.values())

        if self.user is not None:
            add(self.user)
            for group in self.iam.get_groups_for_user(self.user.name):
                add(group)
        elif self.role is not None:
            add(self.role)
        boundary = self.boundary()
        if boundary is not None:
            found.append({"name": boundary.name, "kind": "boundary", "document": default_document(boundary)})
        found.extend({"name": name, "kind": "session", "document": doc} for name, doc in self.state.get("session_policies", []))
        return found

    def boundary(self):
        """The managed policy that is the caller's permissions boundary (a user's, or a session's role's), or None: a
        user's is kept by fidelity.py's PutUserPermissionsBoundary, a role's by moto; an ARN naming no policy (AWS
        refuses to set one) is none."""
        owner = self.user if self.user is not None else self.role
        arn = getattr(owner, "permissions_boundary_arn", None) if owner is not None else None
        return managed_policy(self.iam, arn) if arn else None

    def tags(self):
        """The principal's tags: a user's, or a session's role's overridden by its session tags."""
        if self.user is not None:
            listed = self.iam.tagger.list_tags_for_resource(self.user.arn)["Tags"]
        else:
            listed = self.role.tags if self.role is not None else []
        return {**{t["Key"]: t["Value"] for t in listed}, **self.state.get("tags", {})}

    def context(self, account, region):
        now = CLOCK.now()
        ctx = {
            "aws:CurrentTime": iso(now),
            "aws:EpochTime": str(int(now)),
            "aws:PrincipalAccount": account,
            "aws:RequestedRegion": region,
            "aws:ViaAWSService": "false",
            "aws:PrincipalIsAWSService": "false",
            "aws:SecureTransport": "true" if getattr(LOCAL, "secure", False) else "false",
        }
        if getattr(LOCAL, "source_ip", None):
            ctx["aws:SourceIp"] = LOCAL.source_ip
        if self.user is not None:
            ctx.update({"aws:PrincipalArn": self.arn, "aws:PrincipalType": "User", "aws:userid": self.user.id, "aws:username": self.user.name})
        else:
            session = self.session
            role_id = self.role.id if self.role is not None else session.user_id.split(":")[0]
            ctx.update({"aws:PrincipalArn": session.role_arn, "aws:PrincipalType": "AssumedRole", "aws:userid": f"{role_id}:{session.session_name}"})
            issued = session.__dict__.get("sts_lab_issued")
            if issued is not None:
                ctx["aws:TokenIssueTime"] = iso(issued)
            mfa_at = self.state.get("mfa_at")
            ctx["aws:MultiFactorAuthPresent"] = "true" if mfa_at is not None else "false"
            if mfa_at is not None:
                ctx["aws:MultiFactorAuthAge"] = str(max(0, int(now - mfa_at)))
            if self.state.get("source_identity"):
                ctx["aws:SourceIdentity"] = self.state["source_identity"]
        for key, value in self.tags().items():
            ctx[f"aws:PrincipalTag/{key}"] = value
        return ctx


# -- the check ---------------------------------------------------------------------------------------


def access_denied(req, message):
    """moto's AccessDenied exception for the service, with AWS's message."""
    from moto.core.exceptions import AccessDeniedError
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import BucketAccessDeniedError, S3AccessDeniedError

    decided = getattr(LOCAL, "decided", None)
    if decided is not None:
        decided["refused"] = message
    if isinstance(req, S3IAMRequest):
        bucket = req._data.get("BucketName")
        error = BucketAccessDeniedError(bucket) if bucket else S3AccessDeniedError()
        error.message = message
        error.args = (message,)
        return error
    error = AccessDeniedError(user_arn="", action="")
    error.message = message
    error.description = query_error(req._service, 403, "AccessDenied", message)[2]
    return error


def check_action_permitted(req, resource):
    """moto's check, as AWS decides: raises AccessDenied, or returns (an AssumeRole keeps what its session needs)."""
    from moto.sts.models import sts_backends
    from moto.utilities.utils import get_partition

    LOCAL.pending = None
    action = req._action
    iam = req.backend
    sts = sts_backends[req.account_id][get_partition(req._region)]
    caller = Caller(req, iam, sts)
    LOCAL.decided = {"request": req, "caller": caller, "resource": resource}
    if action == "sts:GetCallerIdentity":
        return  # AWS never denies it, even with an explicit deny
    data = req._data
    if req._service == "s3":
        action = s3_action(req._method, req._path, resource, action)
    elif req._service == "iam":
        resource = iam_resource(iam, data, action, caller)
    context = caller.context(req.account_id, req._region)
    tags = request_tags(data)
    for key, value in tags.items():
        context[f"aws:RequestTag/{key}"] = value
    if tags:
        context["aws:TagKeys"] = list(tags)
    policies = caller.policies()
    quote = req._service == "s3"
    if quote:
        policies.extend(bucket_policy(req, resource, action, context))
    if action == "sts:AssumeRole":
        assume_role(req, caller, iam, data, resource, context, policies, tags)
        return
    decision = decide(policies, {"principal": caller.arn, "action": action, "resource": resource, "context": context})
    if decision.effect != "Allow":
        raise access_denied(req, denied_message(caller.arn, action, resource, decision.message_reason, quote))


def bucket_policy(req, resource, action, context):
    """An S3 request's bucket policy (kind "resource"; none without a bucket, or when it has none), the bucket being
    looked up in the request's account as moto's S3 does; adds S3's context keys: aws:ResourceAccount and a listing's
    s3:prefix, s3:delimiter, s3:max-keys."""
    from moto.s3.models import s3_backends
    from moto.utilities.utils import get_partition

    context.update(s3_list_keys(req._path, action))
    name = s3_bucket_name(resource)
    if name is None:
        return []
    bucket = s3_backends[req.account_id][get_partition(req._region)].buckets.get(name)
    context["aws:ResourceAccount"] = bucket.account_id if bucket is not None else req.account_id
    document = bucket.policy if bucket is not None else None
    if not document:
        return []
    text = document.decode("utf-8", "replace") if isinstance(document, bytes) else str(document)
    return [{"name": f"bucket policy of {name}", "kind": "resource", "document": text}]


def assume_role(req, caller, iam, data, role_arn, context, policies, tags):
    """sts:AssumeRole: the target role must exist and its trust allow the caller (with the caller's policies unless
    the trust names the caller itself); an MFA code must be right. Keeps, for the session moto then creates, what AWS
    keeps with it."""
    role = next((r for r in iam.roles.values() if r.arn == role_arn), None)

    def denied(decision=None, action="sts:AssumeRole"):
        reason = decision.message_reason if decision is not None and decision.effect == "ExplicitDeny" else None
        return access_denied(req, denied_message(caller.arn, action, role_arn, reason))

    if role is None:
        raise denied()  # moto would let a missing role be assumed
    now = CLOCK.now()
    mfa_at = caller.state.get("mfa_at")
    serial = form_value(data, "SerialNumber")
    if serial is not None or form_value(data, "TokenCode") is not None:
        device = iam.virtual_mfa_devices.get(serial or "")
        if caller.user is None or device is None or device.user is not caller.user:
            raise access_denied(req, MFA_MESSAGE)
        if not totp_valid(device.base32_string_seed, form_value(data, "TokenCode"), now):
            raise access_denied(req, MFA_MESSAGE)
        mfa_at = now
    if mfa_at is not None:
        context["aws:MultiFactorAuthPresent"] = "true"
        context["aws:MultiFactorAuthAge"] = str(max(0, int(now - mfa_at)))
    inherited = caller.state.get("source_identity")
    source_identity = form_value(data, "SourceIdentity")
    if inherited and source_identity is not None and source_identity != inherited:
        raise denied()  # a source identity, once set, cannot change along a role chain
    source_identity = source_identity or inherited
    transitive_keys = members(data, "TransitiveTagKeys")
    for key, value in (
        ("sts:ExternalId", form_value(data, "ExternalId")),
        ("sts:SourceIdentity", source_identity),
        ("sts:RoleSessionName", form_value(data, "RoleSessionName")),
        ("sts:TransitiveTagKeys", transitive_keys or None),
    ):
        if value is not None:
            context[key] = value
    trust = {"name": "role trust policy", "kind": "trust", "document": role.assume_role_policy_document or "{}"}
    request = {"principal": caller.arn, "action": "sts:AssumeRole", "resource": role_arn, "context": context}
    decision = decide([*policies, trust], request)
    if decision.effect != "Allow":
        raise denied(decision)
    # Passing session tags needs sts:TagSession, setting a source identity sts:SetSourceIdentity, both decided as
    # AssumeRole is; along a role chain (a source identity set or inherited) the chained session's own policies must
    # allow sts:SetSourceIdentity too, whatever the trust names.
    chained = caller.session is not None
    for needed, action, own_policies_too in (
        (tags or transitive_keys, "sts:TagSession", False),
        (form_value(data, "SourceIdentity") is not None or (chained and source_identity), "sts:SetSourceIdentity", chained),
    ):
        if needed:
            extra = decide([*policies, trust], {**request, "action": action})
            if extra.effect == "Allow" and own_policies_too:
                extra = decide(policies, {**request, "action": action})
            if extra.effect != "Allow":
                raise denied(extra, action)
    # Transitive tags of the caller's session pass to the new one and cannot be overridden by it.
    inherited_tags = {k: v for k, v in caller.state.get("tags", {}).items() if k.lower() in caller.state.get("transitive", ())}
    session_policies = []
    if form_value(data, "Policy"):
        session_policies.append(("session policy", form_value(data, "Policy")))
    for arn in members(data, "PolicyArns", "arn"):
        managed = iam.managed_policies.get(arn)
        if managed is not None:
            session_policies.append((managed.name, default_document(managed)))
    LOCAL.pending = {
        "role_arn": role_arn,
        "chained": chained,
        "state": {
            "session_policies": session_policies,
            "tags": {**tags, **inherited_tags},
            "transitive": {k.lower() for k in transitive_keys} | {k.lower() for k in inherited_tags},
            "source_identity": source_identity,
            "mfa_at": mfa_at,
        },
    }


def patch_authorization():
    """Every signed request decided by decider.decide (moto's signature check kept), and each new session given what
    its AssumeRole kept; a chained AssumeRole longer than an hour refused as AWS refuses it."""
    from moto.iam.access_control import IAMRequestBase
    from moto.sts.exceptions import STSValidationError
    from moto.sts.models import STSBackend

    IAMRequestBase.check_action_permitted = check_action_permitted
    original = STSBackend.assume_role

    def assume(self, *args, **kwargs):
        pending, LOCAL.pending = getattr(LOCAL, "pending", None), None
        if pending is not None and pending["role_arn"] != kwargs.get("role_arn"):
            pending = None
        if pending is not None and pending["chained"] and int(kwargs.get("duration") or 3600) > CHAINING_LIMIT:
            raise STSValidationError(CHAINING_MESSAGE)
        session = original(self, *args, **kwargs)
        if pending is not None:
            session.sts_lab = pending["state"]
        return session

    STSBackend.assume_role = assume
    patch_source_identity_answer()
    patch_bucket_policy_check()


def patch_bucket_policy_check():
    """moto refuses an object request (a bare 403) whenever its bucket policy has a Deny for the action, whoever it
    names (its conditions read without the request's context); once moto enforces IAM, check_action_permitted has
    decided with the bucket policy as AWS does, so moto's check stands aside (before, nothing is authorized: kept)."""
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    original = FakeBucket.get_permission

    def get_permission(self, action, resource):
        if ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT:
            return PermissionResult.NEUTRAL
        return original(self, action, resource)

    FakeBucket.get_permission = get_permission


def patch_source_identity_answer():
    """AssumeRole's answer names the session's SourceIdentity, as AWS's does (moto's leaves it out)."""
    from moto.sts.responses import TokenResponse

    answer = TokenResponse.assume_role

    def assume_role(self):
        result = answer(self)
        fields = result.result if isinstance(result.result, dict) else {}
        state = getattr(fields.get("Credentials"), "sts_lab", None) or {}
        if state.get("source_identity"):
            fields["SourceIdentity"] = state["source_identity"]
        return result

    TokenResponse.assume_role = assume_role
