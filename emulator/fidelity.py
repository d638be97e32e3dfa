"""Fidelity fixes, in every mode: where moto differs from AWS in ways the lab meets."""

import json
import random
import string
import threading

from common import ACCOUNT, now_iso, query_error, query_ok, xml_fields


class ServiceSpecificCredentials:
    """IAM's service-specific credentials (CodeCommit, Keyspaces …), which moto lacks; thread-safe."""

    def __init__(self):
        self.by_user = {}
        self.lock = threading.Lock()

    def clear(self):
        with self.lock:
            self.by_user.clear()

    def of_user(self, user):
        with self.lock:
            return list(self.by_user.get(user, []))

    def handle(self, action, form):
        """The answer to `action`, or None for an action this class does not serve."""
        method = {
            "CreateServiceSpecificCredential": self.create_cred,
            "ListServiceSpecificCredentials": self.list_creds,
            "DeleteServiceSpecificCredential": self.delete_cred,
        }.get(action)
        if method is None:
            return None
        with self.lock:
            return method(action, form.get("UserName", ""), form)

    def create_cred(self, action, user, form):
        cred = {
            "UserName": user,
            "Status": "Active",
            "ServiceUserName": f"{user}-at-{ACCOUNT}",
            "CreateDate": now_iso(),
            "ServiceSpecificCredentialId": "ACCA" + "".join(random.choices(string.ascii_uppercase + string.digits, k=17)),
            "ServiceName": form.get("ServiceName", "codecommit.amazonaws.com"),
        }
        self.by_user.setdefault(user, []).append(cred)
        password = "".join(random.choices(string.ascii_letters + string.digits, k=32))
        return query_ok(
            "iam",
            action,
            f"<ServiceSpecificCredential>{xml_fields(cred)}<ServicePassword>{password}</ServicePassword></ServiceSpecificCredential>",
        )

    def list_creds(self, action, user, form):
        members = "".join(f"<member>{xml_fields(c)}</member>" for c in self.by_user.get(user, []))
        return query_ok("iam", action, f"<ServiceSpecificCredentials>{members}</ServiceSpecificCredentials>")

    def delete_cred(self, action, user, form):
        wanted = form.get("ServiceSpecificCredentialId")
        creds = self.by_user.get(user, [])
        if not any(c["ServiceSpecificCredentialId"] == wanted for c in creds):
            return query_error("iam", 404, "NoSuchEntity", f"No such credential {wanted}")
        self.by_user[user] = [c for c in creds if c["ServiceSpecificCredentialId"] != wanted]
        return query_ok("iam", action, "")


def patch_role_updates():
    """A CloudFormation update of AWS::IAM::Role rewrites the trust and MaxSessionDuration on AWS."""
    from moto.iam.models import Role

    original = Role.update_from_cloudformation_json.__func__

    def update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
        role = original(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        props = cloudformation_json.get("Properties", {})
        doc = props.get("AssumeRolePolicyDocument")
        if doc is not None:
            role.assume_role_policy_document = doc if isinstance(doc, str) else json.dumps(doc)
        role.max_session_duration = props.get("MaxSessionDuration", 3600)
        return role

    Role.update_from_cloudformation_json = classmethod(update)


def patch_unsigned_sts():
    """AssumeRoleWithWebIdentity and AssumeRoleWithSAML are unsigned on AWS (the token is the
    credential); moto's IAM enforcement fails on a request without an Authorization header."""
    from moto.core.responses import BaseResponse

    original = BaseResponse._authenticate_and_authorize_normal_action

    def authorize(self, resource="*"):
        if self._get_action() in ("AssumeRoleWithWebIdentity", "AssumeRoleWithSAML") and "Authorization" not in self.headers:
            return None
        return original(self, resource)

    BaseResponse._authenticate_and_authorize_normal_action = authorize


# AWS's AttachedPermissionsBoundary (GetUser's User.PermissionsBoundary, GetAccountAuthorizationDetails' UserDetail's).
BOUNDARY_TYPE = "PermissionsBoundaryPolicy"


def boundary_arn(iam, arn):
    """The ARN of a policy to set as a user's permissions boundary, as IAM checks it: InvalidInput for an ARN that is
    not a policy's (worded as moto words it for a role), NoSuchEntity for a policy that does not exist."""
    from moto.iam.exceptions import InvalidInput, NotFoundException

    if not arn or not iam.policy_arn_regex.match(arn):
        raise InvalidInput(f"Value ({arn}) for parameter PermissionsBoundary is invalid.")
    if arn not in iam.managed_policies and not any(p.arn == arn for p in iam.aws_managed_policies):
        raise NotFoundException(f"Policy {arn} does not exist or is not attachable.")
    return arn


def patch_user_boundaries():
    """Users' permissions boundaries, which moto lacks: PutUserPermissionsBoundary, DeleteUserPermissionsBoundary and
    CreateUser's PermissionsBoundary keep the policy's ARN on moto's user (`permissions_boundary_arn`, as moto keeps a
    role's), answered as IAM answers them (an empty result; NoSuchEntity for a missing user); GetUser, CreateUser and
    GetAccountAuthorizationDetails carry it as AWS's AttachedPermissionsBoundary, ListUsers does not (as AWS)."""
    from moto.core.responses import EmptyResult
    from moto.core.serialize import never_return
    from moto.iam.models import User
    from moto.iam.responses import IamResponse

    User.permissions_boundary_arn = None
    User.permissions_boundary = property(
        lambda self: {"PermissionsBoundaryType": BOUNDARY_TYPE, "PermissionsBoundaryArn": self.permissions_boundary_arn}
        if self.permissions_boundary_arn else None
    )
    IamResponse.RESPONSE_KEY_PATH_TO_TRANSFORMER["ListUsersResponse.Users.User.PermissionsBoundary"] = never_return

    def put_user_permissions_boundary(self):
        user = self.backend.get_user(self._get_param("UserName"))
        user.permissions_boundary_arn = boundary_arn(self.backend, self._get_param("PermissionsBoundary"))
        return EmptyResult()

    def delete_user_permissions_boundary(self):
        self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = None
        return EmptyResult()

    create_user = IamResponse.create_user

    def create_user_with_boundary(self):
        arn = self._get_param("PermissionsBoundary")
        if arn is not None:
            boundary_arn(self.backend, arn)  # checked before the user exists
        result = create_user(self)
        if arn is not None:
            self.backend.get_user(self._get_param("UserName")).permissions_boundary_arn = arn
        return result

    IamResponse.put_user_permissions_boundary = put_user_permissions_boundary
    IamResponse.delete_user_permissions_boundary = delete_user_permissions_boundary
    IamResponse.create_user = create_user_with_boundary


SERVICE_CREDS = ServiceSpecificCredentials()
