"""The realistic layer: real AWS's documented timing and strictness, around moto's app."""

import calendar
import json
import os
import re
import threading
import time

from common import ACCOUNT, backends, now_iso, query_error, query_ok, request_id, s3_error, user_by_arn, user_of_key
from fidelity import SERVICE_CREDS



def env_seconds(name, default):
    return float(os.environ.get(name, default))


class Settings:
    def __init__(self):
        self.key_delay = env_seconds("STS_LAB_KEY_DELAY", 4)
        self.propagation = env_seconds("STS_LAB_PROPAGATION_DELAY", 3)
        self.stack_delay = env_seconds("STS_LAB_STACK_DELAY", 6)
        self.list_lag = env_seconds("STS_LAB_BUCKET_LIST_LAG", 2)
        self.invalid_principal = env_seconds("STS_LAB_INVALID_PRINCIPAL_WINDOW", 0)
        self.iam_rate = env_seconds("STS_LAB_IAM_RATE", 25)
        self.session_lifetime = env_seconds("STS_LAB_SESSION_LIFETIME", 0)
        self.tags_at_create = os.environ.get("STS_LAB_BUCKET_TAGS_AT_CREATE", "1") != "0"


def trusted_user_arns(doc):
    try:
        policy = json.loads(doc) if isinstance(doc, str) else doc
    except ValueError:
        return []
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    arns = []
    for st in statements:
        principal = st.get("Principal", {})
        aws = principal.get("AWS", []) if isinstance(principal, dict) else []
        arns.extend([aws] if isinstance(aws, str) else aws)
    return [a for a in arns if ":user/" in a]


def patch_trust_binding():
    """AWS turns a user ARN in a trust into the user's unique id when the trust is written."""
    from moto.iam.models import Role, iam_backends

    def get(self):
        return self.__dict__.get("_sts_lab_trust")

    def set_(self, doc):
        self.__dict__["_sts_lab_trust"] = doc
        self.__dict__["_sts_lab_trust_at"] = time.time()
        iam = iam_backends[self.account_id]["aws"]
        bound = {}
        for arn in trusted_user_arns(doc):
            user = user_by_arn(iam, arn)
            bound[arn] = user.id if user is not None else None
        self.__dict__["_sts_lab_bound"] = bound

    Role.assume_role_policy_document = property(get, set_)


class Realistic:
    """Timing and strictness of real AWS, around moto's app."""

    def __init__(self, settings):
        self.s = settings
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        self.keys_born = {}
        self.sessions_issued = {}
        self.user_policy_at = {}
        self.stacks = {}  # name -> {"op", "until", "region"}
        self.forced = {}  # name -> status
        self.phantoms = {}  # name -> {"since", "until", "region", "user", "deleting"}
        self.buckets_new = {}
        self.buckets_gone = {}  # name -> (deleted at, creation date)
        self.tokens = float(max(self.s.iam_rate, 1))
        self.tokens_at = time.time()

    # -- before the request reaches moto --------------------------------------------------------

    def throttled(self):
        if self.s.iam_rate <= 0:
            return False
        now = time.time()
        self.tokens = min(self.s.iam_rate, self.tokens + (now - self.tokens_at) * self.s.iam_rate)
        self.tokens_at = now
        if self.tokens < 1:
            return True
        self.tokens -= 1
        return False

    def before(self, req):
        s, svc, action, form, key = self.s, req["service"], req["action"], req["form"], req["key"]
        iam, sts, cfn_backends = backends()
        now = time.time()
        self.finish_due_deletes(cfn_backends)
        if svc == "iam" and self.throttled():
            return query_error("iam", 400, "Throttling", "Rate exceeded")
        born = self.keys_born.get(key)
        if born is not None and now < born + s.key_delay:
            if svc == "s3":
                return s3_error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
            return query_error(svc, 403, "InvalidClientTokenId", "The security token included in the request is invalid.")
        if key and key.startswith("ASIA"):
            session = next((r for r in sts.assumed_roles if r.access_key_id == key), None)
            if session is not None:
                ends = calendar.timegm(session.expiration.utctimetuple())
                if s.session_lifetime > 0 and key in self.sessions_issued:
                    # As if AWS's clock ran ahead of the expiry the session was given.
                    ends = min(ends, self.sessions_issued[key] + s.session_lifetime)
                if now > ends:
                    if svc == "s3":
                        return s3_error(400, "ExpiredToken", "The provided token has expired.")
                    return query_error(svc, 400, "ExpiredToken", "The security token included in the request is expired")
        if svc == "sts" and action == "AssumeRole":
            return self.check_assume_role(iam, key, form, now)
        if svc == "iam" and action == "DeleteUser":
            return self.check_delete_user(iam, form.get("UserName", ""))
        if svc == "cloudformation":
            return self.before_stack(req, iam, cfn_backends, now)
        if svc == "s3" and req["method"] == "PUT" and req["bucket"] and not req["query"] and not s.tags_at_create:
            if b"<Tags>" in req["body"]:
                return s3_error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
        return None

    def check_assume_role(self, iam, key, form, now):
        role_arn = form.get("RoleArn", "")
        caller = user_of_key(iam, key)
        denied = query_error(
            "sts",
            403,
            "AccessDenied",
            f"User: {caller.arn if caller else key} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        )
        try:
            role = iam.get_role_by_arn(role_arn)
        except Exception:
            return denied  # AWS denies a role that does not exist
        duration = int(form.get("DurationSeconds", "3600"))
        if duration > int(role.max_session_duration):
            return query_error(
                "sts", 400, "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            )
        if caller is None:
            return None
        trust_at = role.__dict__.get("_sts_lab_trust_at", 0)
        if now < trust_at + self.s.propagation or now < self.user_policy_at.get(caller.name, 0) + self.s.propagation:
            return denied
        bound = role.__dict__.get("_sts_lab_bound", {})
        if caller.arn in bound and bound[caller.arn] != caller.id:
            return denied  # the trust names an earlier user of the same name
        return None

    def check_delete_user(self, iam, name):
        user = iam.users.get(name)
        if user is None:
            return None
        blockers = [
            (user.access_keys, "must delete access keys first"),
            (user.policies, "must delete policies first"),
            (user.managed_policies, "must detach all policies first"),
            (iam.get_groups_for_user(name), "must remove users from group first"),
            (user.password, "must delete login profile first"),
            (user.mfa_devices, "must delete MFA device first"),
            (user.ssh_public_keys, "must delete SSH public keys first"),
            (user.signing_certificates, "must delete signing certificates first"),
            (SERVICE_CREDS.by_user.get(name), "must delete service specific credentials first"),
        ]
        for present, what in blockers:
            if present:
                return query_error("iam", 409, "DeleteConflict", f"Cannot delete entity, {what}.")
        return None

    # -- CloudFormation -------------------------------------------------------------------------

    def stack_status(self, name, now):
        st = self.stacks.get(name)
        if st and now < st["until"]:
            return {"CREATE": "CREATE_IN_PROGRESS", "UPDATE": "UPDATE_IN_PROGRESS", "DELETE": "DELETE_IN_PROGRESS"}[st["op"]]
        if st and st["op"] == "DELETE":
            return "DELETE_IN_PROGRESS"
        return self.forced.get(name)

    def finish_due_deletes(self, cfn_backends):
        now = time.time()
        for name, st in list(self.stacks.items()):
            if st["op"] == "DELETE" and now >= st["until"]:
                del self.stacks[name]
                self.forced.pop(name, None)
                try:
                    cfn_backends[ACCOUNT][st["region"]].delete_stack(name)
                except Exception:
                    pass
        for name, ph in list(self.phantoms.items()):
            if ph.get("deleting") and now >= ph["until"]:
                del self.phantoms[name]

    def before_stack(self, req, iam, cfn_backends, now):
        action, form = req["action"], req["form"]
        name = form.get("StackName", "")
        ph = self.phantoms.get(name)
        if ph is not None:
            return self.phantom_reply(action, name, ph, now)
        if action == "CreateStack" and self.s.invalid_principal > 0:
            for key, value in form.items():
                if key.endswith("ParameterValue") and ":user/" in value:
                    user = user_by_arn(iam, value)
                    if user is not None and now - user.create_date.timestamp() < self.s.invalid_principal:
                        tags = "".join(
                            f"<member><Key>{form[k]}</Key><Value>{form.get(k[:-3] + 'Value', '')}</Value></member>"
                            for k in form
                            if k.startswith("Tags.member.") and k.endswith(".Key")
                        )
                        self.phantoms[name] = {"since": now, "until": now + self.s.stack_delay, "region": req["region"], "user": value, "tags": tags}
                        stack_id = f"arn:aws:cloudformation:{req['region']}:{ACCOUNT}:stack/{name}/{request_id()}"
                        return query_ok("cloudformation", action, f"<StackId>{stack_id}</StackId>")
        status = self.stack_status(name, now)
        if action in ("UpdateStack", "DeleteStack") and status == "UPDATE_IN_PROGRESS":
            verb = "updated" if action == "UpdateStack" else "deleted"
            return query_error("cloudformation", 400, "ValidationError", f"Stack [{name}] cannot be {verb} while in status UPDATE_IN_PROGRESS")
        if action == "DeleteStack":
            if status == "DELETE_IN_PROGRESS":
                return query_ok("cloudformation", action, "")
            try:
                cfn_backends[ACCOUNT][req["region"]].describe_stacks(name)
            except Exception:
                return None  # moto answers for a stack it does not know
            # AWS deletes in the background; the role goes when the stack has gone.
            self.stacks[name] = {"op": "DELETE", "until": now + self.s.stack_delay, "region": req["region"]}
            return query_ok("cloudformation", action, "")
        return None

    def phantom_reply(self, action, name, ph, now):
        region = ph["region"]
        stack_id = f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{name}/phantom"
        if ph.get("deleting"):
            status = "DELETE_IN_PROGRESS"
        elif now < ph["until"]:
            status = "CREATE_IN_PROGRESS"
        else:
            status = "ROLLBACK_COMPLETE"
        if action == "DescribeStacks":
            reason = "The following resource(s) failed to create: [StsRole]. Rollback requested by user." if status == "ROLLBACK_COMPLETE" else ""
            member = (
                f"<member><StackName>{name}</StackName><StackId>{stack_id}</StackId><CreationTime>{now_iso()}</CreationTime>"
                f"<StackStatus>{status}</StackStatus><StackStatusReason>{reason}</StackStatusReason><Tags>{ph['tags']}</Tags></member>"
            )
            return query_ok("cloudformation", action, f"<Stacks>{member}</Stacks>")
        if action == "DescribeStackEvents":
            principal = json.dumps({"AWS": ph["user"]})
            event = (
                f"<member><StackId>{stack_id}</StackId><EventId>{request_id()}</EventId><StackName>{name}</StackName>"
                f"<LogicalResourceId>StsRole</LogicalResourceId><ResourceType>AWS::IAM::Role</ResourceType>"
                f"<Timestamp>{now_iso()}</Timestamp><ResourceStatus>CREATE_FAILED</ResourceStatus>"
                f"<ResourceStatusReason>Invalid principal in policy: {principal} (Service: Iam, Status Code: 400)</ResourceStatusReason></member>"
            )
            return query_ok("cloudformation", action, f"<StackEvents>{event}</StackEvents>")
        if action == "DeleteStack":
            if not ph.get("deleting"):
                ph["deleting"] = True
                ph["until"] = now + self.s.stack_delay
            return query_ok("cloudformation", action, "")
        if action in ("CreateStack",):
            return query_error("cloudformation", 400, "AlreadyExistsException", f"Stack [{name}] already exists")
        return query_error("cloudformation", 400, "ValidationError", f"Stack [{name}] is in {status} state and can not be updated.")

    # -- after moto answered --------------------------------------------------------------------

    def after(self, req, status, body):
        svc, action, form, now = req["service"], req["action"], req["form"], time.time()
        if status >= 300:
            return body
        if svc == "iam" and action == "CreateAccessKey":
            iam, _, _ = backends()
            # The emulator's own bootstrap (before IAM is enforced) is not delayed.
            if user_of_key(iam, req["key"]) is not None:
                found = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", body)
                if found:
                    self.keys_born[found.group(1).decode()] = now
        elif svc == "sts" and action == "AssumeRole":
            found = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", body)
            if found:
                self.sessions_issued[found.group(1).decode()] = now
        elif svc == "iam" and action in ("PutUserPolicy", "AttachUserPolicy"):
            self.user_policy_at[form.get("UserName", "")] = now
        elif svc == "cloudformation" and action in ("CreateStack", "UpdateStack"):
            self.stacks[form.get("StackName", "")] = {"op": action[:6].upper(), "until": now + self.s.stack_delay, "region": req["region"]}
        elif svc == "cloudformation" and action == "DescribeStacks":
            name = form.get("StackName", "")
            st = self.stack_status(name, now)
            if st:
                body = re.sub(rb"<StackStatus>[^<]*</StackStatus>", f"<StackStatus>{st}</StackStatus>".encode(), body, count=1)
                if st.endswith("_IN_PROGRESS"):
                    body = re.sub(rb"<Outputs>.*?</Outputs>", b"", body, flags=re.S)
        elif svc == "s3" and req["bucket"] and not req["query"]:
            if req["method"] == "PUT":
                self.buckets_new[req["bucket"]] = now
            elif req["method"] == "DELETE":
                self.buckets_gone[req["bucket"]] = now
                self.buckets_new.pop(req["bucket"], None)
        elif svc == "s3" and req["method"] == "GET" and req["path"] in ("", "/"):
            body = self.lagging_list(body, now)
        return body

    def lagging_list(self, body, now):
        lag = self.s.list_lag
        for name, at in list(self.buckets_new.items()):
            if now < at + lag:
                body = re.sub(rf"<Bucket><Name>{re.escape(name)}</Name>.*?</Bucket>".encode(), b"", body, flags=re.S)
        extra = b"".join(
            f"<Bucket><Name>{name}</Name><CreationDate>{now_iso()}</CreationDate></Bucket>".encode()
            for name, at in self.buckets_gone.items()
            if now < at + lag and f"<Name>{name}</Name>".encode() not in body
        )
        if extra:
            if b"<Buckets/>" in body:
                body = body.replace(b"<Buckets/>", b"<Buckets>" + extra + b"</Buckets>")
            else:
                body = body.replace(b"<Buckets>", b"<Buckets>" + extra, 1)
        return body
