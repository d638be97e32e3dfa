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


SERVICE_CREDS = ServiceSpecificCredentials()
