"""sts-lab's local AWS emulator: moto's own server application with IAM enforcement, plus

* always, fidelity fixes where moto differs from AWS in ways the lab meets: a CloudFormation update
  of a role rewrites its trust policy (moto keeps the old one), IAM's service-specific credentials
  exist (moto has none: ListServiceSpecificCredentials answers HTTP 500), and an unsigned
  AssumeRoleWithWebIdentity is served (moto's IAM enforcement fails on it with HTTP 500);
* with --realistic, a thin WSGI layer that reproduces real AWS's documented timing and strictness:
  a new access key refused for a few seconds, AssumeRole denied while a new trust or user policy
  propagates, a trust bound to the user's unique id, stacks *_IN_PROGRESS for seconds (DeleteStack
  refused during an update), "Invalid principal" for a user created a moment ago, DeleteUser refused
  (DeleteConflict) while anything is attached, bucket listings that lag, Throttling past a request
  rate, ExpiredToken after a session's end and DurationSeconds above the role's maximum refused.

Every delay is read from the environment (seconds), so tests set them short:
STS_LAB_KEY_DELAY (4), STS_LAB_PROPAGATION_DELAY (3), STS_LAB_STACK_DELAY (6),
STS_LAB_BUCKET_LIST_LAG (2), STS_LAB_INVALID_PRINCIPAL_WINDOW (0: off), STS_LAB_IAM_RATE (25
requests/s; 0: off), STS_LAB_SESSION_LIFETIME (0: as issued), STS_LAB_BUCKET_TAGS_AT_CREATE (1; 0
refuses Tags in CreateBucket as some S3-compatible endpoints do).

`POST /sts-lab/stack-status?name=N&status=S` makes DescribeStacks report stack N as S (states moto
never reaches, e.g. UPDATE_ROLLBACK_COMPLETE); `POST /moto-api/reset` also resets this layer.
"""

import argparse
import calendar
import io
import json
import os
import random
import re
import string
import threading
import time
import urllib.parse
from datetime import datetime, timezone

ACCOUNT = "123456789012"
QUERY_NS = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "cloudformation": "http://cloudformation.amazonaws.com/doc/2010-05-15/",
}


def env_seconds(name, default):
    return float(os.environ.get(name, default))


class Settings:
    def __init__(self, realistic):
        self.realistic = realistic
        self.key_delay = env_seconds("STS_LAB_KEY_DELAY", 4)
        self.propagation = env_seconds("STS_LAB_PROPAGATION_DELAY", 3)
        self.stack_delay = env_seconds("STS_LAB_STACK_DELAY", 6)
        self.list_lag = env_seconds("STS_LAB_BUCKET_LIST_LAG", 2)
        self.invalid_principal = env_seconds("STS_LAB_INVALID_PRINCIPAL_WINDOW", 0)
        self.iam_rate = env_seconds("STS_LAB_IAM_RATE", 25)
        self.session_lifetime = env_seconds("STS_LAB_SESSION_LIFETIME", 0)
        self.tags_at_create = os.environ.get("STS_LAB_BUCKET_TAGS_AT_CREATE", "1") != "0"


def now_iso():
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def request_id():
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=32))


def query_error(service, status, code, message):
    ns = QUERY_NS.get(service, QUERY_NS["iam"])
    kind = "Receiver" if status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type><Code>{code}</Code>'
        f"<Message>{message}</Message></Error><RequestId>{request_id()}</RequestId></ErrorResponse>"
    )
    return status, "text/xml", body


def s3_error(status, code, message):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{message}</Message><RequestId>{request_id()}</RequestId></Error>"
    )
    return status, "application/xml", body


def query_ok(service, action, inner):
    ns = QUERY_NS[service]
    return (
        200,
        "text/xml",
        f'<{action}Response xmlns="{ns}"><{action}Result>{inner}</{action}Result>'
        f"<ResponseMetadata><RequestId>{request_id()}</RequestId></ResponseMetadata></{action}Response>",
    )


def backends():
    from moto.cloudformation.models import cloudformation_backends
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    return iam_backends[ACCOUNT]["aws"], sts_backends[ACCOUNT]["aws"], cloudformation_backends


def user_of_key(iam, key_id):
    for user in list(iam.users.values()):
        if any(k.access_key_id == key_id for k in user.access_keys):
            return user
    return None


def user_by_arn(iam, arn):
    name = arn.rsplit("/", 1)[-1]
    user = iam.users.get(name)
    return user if user is not None and user.arn == arn else None


# ---------------------------------------------------------------------------------------------
# Fidelity fixes, in every mode.


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


# ---------------------------------------------------------------------------------------------
# The realistic layer's view of IAM: when trusts were written, and for which user ids.


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
                f"The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
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


SERVICE_CREDS = ServiceSpecificCredentials()


def parse(environ, body):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    query = environ.get("QUERY_STRING", "")
    cred = re.search(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/", auth) or re.search(
        r"X-Amz-Credential=([^%/&]+)(?:/|%2F)\d+(?:/|%2F)([^/%]+)(?:/|%2F)([^/%]+)", query
    )
    key, region, service = cred.groups() if cred else ("", "us-east-1", "")
    # The SDKs add x-id=<Operation> to some S3 requests; it says nothing of the bucket.
    query = "&".join(p for p in query.split("&") if p and not p.startswith("x-id="))
    form = {}
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    path = environ.get("PATH_INFO", "")
    bucket = path.strip("/").split("/")[0] if service == "s3" and path.strip("/") and "/" not in path.strip("/") else ""
    return {
        "service": service,
        "region": region,
        "key": key,
        "form": form,
        "action": form.get("Action", ""),
        "method": environ.get("REQUEST_METHOD", "GET"),
        "path": path,
        "bucket": bucket,
        "query": query,
        "body": body,
    }


class App:
    """The WSGI app: fidelity fixes always, the realistic layer when asked, moto inside."""

    def __init__(self, moto_app, realistic):
        self.moto = moto_app
        self.realistic = realistic

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/moto-api/reset") and self.realistic is not None and not path.endswith("auth"):
            with self.realistic.lock:
                self.realistic.reset()
            SERVICE_CREDS.by_user.clear()
        if path == "/sts-lab/stack-status":
            q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            if self.realistic is not None:
                with self.realistic.lock:
                    self.realistic.forced[q["name"][0]] = q["status"][0]
            return self.reply(start_response, (200, "text/plain", "ok"))
        req = parse(environ, body)
        if req["service"] == "iam" and req["action"].endswith(("ServiceSpecificCredential", "ServiceSpecificCredentials")):
            answer = SERVICE_CREDS.handle(req["action"], req["form"])
            if answer is not None:
                return self.reply(start_response, answer)
        if self.realistic is None:
            return self.moto(environ, start_response)
        with self.realistic.lock:
            early = self.realistic.before(req)
        if early is not None:
            return self.reply(start_response, early)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        chunks = self.moto(environ, capture)
        try:
            out = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        code = int(captured["status"].split(" ", 1)[0])
        with self.realistic.lock:
            new = self.realistic.after(req, code, out)
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        headers.append(("Content-Length", str(len(new))))
        start_response(captured["status"], headers)
        return [new]

    @staticmethod
    def reply(start_response, answer):
        status, ctype, text = answer
        data = text.encode()
        reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict"}.get(status, "Error")
        start_response(f"{status} {reason}", [("Content-Type", ctype), ("Content-Length", str(len(data)))])
        return [data]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5055)
    parser.add_argument("--realistic", action="store_true", help="AWS's timing and strictness")
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))

    from werkzeug.serving import run_simple
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    patch_role_updates()
    patch_unsigned_sts()
    realistic = None
    if args.realistic:
        patch_trust_binding()
        realistic = Realistic(Settings(True))
    app = App(DomainDispatcherApplication(create_backend_app), realistic)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
