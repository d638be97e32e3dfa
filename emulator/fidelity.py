"""Fidelity fixes, in every mode: where moto differs from AWS in ways the lab meets."""

import json
import random
import string

from common import ACCOUNT, now_iso, query_error, query_ok



class ServiceSpecificCredentials:
    """IAM's service-specific credentials (CodeCommit, Keyspaces …), which moto lacks."""

    def __init__(self):
        self.by_user = {}

    def handle(self, action, form):
        user = form.get("UserName", "")
        creds = self.by_user.setdefault(user, [])
        if action == "CreateServiceSpecificCredential":
            cred = {
                "UserName": user,
                "Status": "Active",
                "ServiceUserName": f"{user}-at-{ACCOUNT}",
                "CreateDate": now_iso(),
                "ServiceSpecificCredentialId": "ACCA" + "".join(random.choices(string.ascii_uppercase + string.digits, k=17)),
                "ServiceName": form.get("ServiceName", "codecommit.amazonaws.com"),
            }
            creds.append(cred)
            fields = "".join(f"<{k}>{v}</{k}>" for k, v in cred.items())
            password = "".join(random.choices(string.ascii_letters + string.digits, k=32))
            return query_ok(
                "iam",
                action,
                f"<ServiceSpecificCredential>{fields}<ServicePassword>{password}</ServicePassword></ServiceSpecificCredential>",
            )
        if action == "ListServiceSpecificCredentials":
            members = "".join(
                "<member>" + "".join(f"<{k}>{v}</{k}>" for k, v in c.items()) + "</member>" for c in creds
            )
            return query_ok("iam", action, f"<ServiceSpecificCredentials>{members}</ServiceSpecificCredentials>")
        if action == "DeleteServiceSpecificCredential":
            wanted = form.get("ServiceSpecificCredentialId")
            if not any(c["ServiceSpecificCredentialId"] == wanted for c in creds):
                return query_error("iam", 404, "NoSuchEntity", f"No such credential {wanted}")
            creds[:] = [c for c in creds if c["ServiceSpecificCredentialId"] != wanted]
            return query_ok("iam", action, "")
        return None


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
