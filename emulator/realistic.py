"""The realistic layer: real AWS's documented timing and strictness, around moto's app."""

import calendar
import json
import os
import re
import threading
import time
from xml.sax.saxutils import escape, unescape

from common import (
    ACCOUNT,
    TokenBucket,
    backends,
    now_iso,
    query_error,
    query_ok,
    request_id,
    s3_bucket,
    s3_error,
    user_by_arn,
    user_of_key,
    xml_fields,
)
from fidelity import SERVICE_CREDS

FAILED_TO_UPDATE = "The following resource(s) failed to update: [StsRole]."


def env_seconds(name, default):
    return float(os.environ.get(name, default))


def env_flag(name, default):
    return os.environ.get(name, "1" if default else "0") != "0"


class Settings:
    def __init__(self):
        self.key_delay = env_seconds("STS_LAB_KEY_DELAY", 4)
        self.propagation = env_seconds("STS_LAB_PROPAGATION_DELAY", 3)
        self.stack_delay = env_seconds("STS_LAB_STACK_DELAY", 6)
        self.list_lag = env_seconds("STS_LAB_BUCKET_LIST_LAG", 2)
        self.invalid_principal = env_seconds("STS_LAB_INVALID_PRINCIPAL_WINDOW", 0)
        self.iam_rate = env_seconds("STS_LAB_IAM_RATE", 25)
        self.cfn_rate = env_seconds("STS_LAB_CFN_RATE", 5)
        self.session_lifetime = env_seconds("STS_LAB_SESSION_LIFETIME", 0)
        self.name_hold = env_seconds("STS_LAB_BUCKET_NAME_HOLD", 60)
        self.tags_at_create = env_flag("STS_LAB_BUCKET_TAGS_AT_CREATE", True)
        self.region_check = env_flag("STS_LAB_S3_REGION_CHECK", True)
        self.list_bucket_region = env_flag("STS_LAB_LIST_BUCKET_REGION", True)


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


def invalid_duration(text):
    """AWS's answer to a DurationSeconds that is not a whole number from 900 to 43200, else None."""
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None:
        constraint = "Member must be a number"
    elif value < 900:
        constraint = "Member must have value greater than or equal to 900"
    elif value > 43200:
        constraint = "Member must have value less than or equal to 43200"
    else:
        return None
    return query_error(
        "sts", 400, "ValidationError",
        f"1 validation error detected: Value '{text}' at 'durationSeconds' failed to satisfy constraint: {constraint}",
    )


def stack_name_of(name_or_id):
    """The stack's name, from its name or its id (arn:…:stack/NAME/uuid)."""
    return name_or_id.split("/")[1] if name_or_id.startswith("arn:") and name_or_id.count("/") >= 2 else name_or_id


def top_members(xml):
    """The top-level `<member>…</member>` elements of an XML list's content (bytes)."""
    members, depth, start = [], 0, 0
    for tag in re.finditer(rb"<(/?)member>", xml):
        if not tag.group(1):
            start = tag.start() if depth == 0 else start
            depth += 1
            continue
        depth -= 1
        if depth == 0:
            members.append(xml[start : tag.end()])
    return members


def list_content(body, element):
    """(start, end) of the content of `<element>` in body, an empty `<element/>` opened first."""
    body = body.replace(f"<{element}/>".encode(), f"<{element}></{element}>".encode(), 1)
    found = re.search(rf"<{element}>(.*)</{element}>".encode(), body, flags=re.S)
    return body, (found.start(1), found.end(1)) if found else None


def stack_event(stack_id, name, logical, rtype, status, reason, at):
    fields = {
        "StackId": stack_id,
        "EventId": request_id(),
        "StackName": name,
        "LogicalResourceId": logical,
        "ResourceType": rtype,
        "Timestamp": now_iso(at),
        "ResourceStatus": status,
    }
    if reason:
        fields["ResourceStatusReason"] = reason
    return f"<member>{xml_fields(fields)}</member>"


def invalid_principal_reason(user_arn):
    principal = json.dumps({"AWS": user_arn}, separators=(",", ":"))
    return f"Invalid principal in policy: {principal} (Service: Iam, Status Code: 400, Request ID: {request_id()})"


class Realistic:
    """Timing and strictness of real AWS, around moto's app. Its callers hold `lock`."""

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
        self.phantoms = {}  # name -> {"since", "until", "region", "user", "tags", "deleting"}
        self.rollbacks = {}  # name -> {"user", "at", "until", "region", "stack_id"}: UpdateStack's invalid principal
        self.buckets_new = {}
        self.buckets_gone = {}  # name -> {"at": deleted at, "bucket": moto's bucket as it was}
        self.rates = {"iam": TokenBucket(self.s.iam_rate), "cloudformation": TokenBucket(self.s.cfn_rate)}

    # -- before the request reaches moto --------------------------------------------------------

    def before(self, req):
        """An answer in moto's stead (an error, or a state moto never reaches), or None."""
        iam, sts, cfn_backends = backends()
        now = time.time()
        self.finish_due_deletes(cfn_backends)
        if req["service"] == "s3":
            req["s3_bucket"] = s3_bucket(req["path_bucket"]) if req["path_bucket"] else None
        return (
            self.throttled(req["service"])
            or self.wrong_region(req)
            or self.refused_credentials(req, sts, now)
            or self.by_action(req, iam, cfn_backends, now)
        )

    def throttled(self, service):
        rate = self.rates.get(service)
        if rate is None or rate.take():
            return None
        return query_error(service, 400, "Throttling", "Rate exceeded")

    def wrong_region(self, req):
        """AWS refuses a request to a bucket signed for another region (GetBucketLocation excepted)."""
        bucket = req.get("s3_bucket")
        if not self.s.region_check or bucket is None or not req["key"] or bucket.region_name == req["region"]:
            return None
        keys = {p.split("=", 1)[0] for p in req["query"].split("&")}
        if req["method"] == "GET" and req["bucket"] and "location" in keys:
            return None
        expected, got = bucket.region_name, req["region"]
        headers = [("x-amz-bucket-region", expected)]
        if "X-Amz-Credential" in keys:
            what, code = "Error parsing the X-Amz-Credential parameter", "AuthorizationQueryParametersError"
        else:
            what, code = "The authorization header is malformed", "AuthorizationHeaderMalformed"
        message = f"{what}; the region '{got}' is wrong; expecting '{expected}'"
        return s3_error(400, code, message, {"Region": expected}, headers)

    def refused_credentials(self, req, sts, now):
        """A key too new to be known everywhere, or a session past its end."""
        svc, key = req["service"], req["key"]
        born = self.keys_born.get(key)
        if born is not None and now < born + self.s.key_delay:
            if svc == "s3":
                return s3_error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
            return query_error(svc, 403, "InvalidClientTokenId", "The security token included in the request is invalid.")
        if not key.startswith("ASIA"):
            return None
        session = next((r for r in sts.assumed_roles if r.access_key_id == key), None)
        if session is None:
            return None
        ends = calendar.timegm(session.expiration.utctimetuple())
        if self.s.session_lifetime > 0 and key in self.sessions_issued:
            # As if AWS's clock ran ahead of the expiry the session was given.
            ends = min(ends, self.sessions_issued[key] + self.s.session_lifetime)
        if now <= ends:
            return None
        if svc == "s3":
            return s3_error(400, "ExpiredToken", "The provided token has expired.")
        return query_error(svc, 400, "ExpiredToken", "The security token included in the request is expired")

    def by_action(self, req, iam, cfn_backends, now):
        svc, action = req["service"], req["action"]
        if svc == "sts" and action == "AssumeRole":
            return self.check_assume_role(iam, req["key"], req["form"], now)
        if svc == "iam" and action == "DeleteUser":
            return self.check_delete_user(iam, req["form"].get("UserName", ""))
        if svc == "cloudformation":
            return self.before_stack(req, iam, cfn_backends, now)
        if svc == "s3":
            return self.before_s3(req, now)
        return None

    def before_s3(self, req, now):
        """CreateBucket: a name deleted a moment ago is held; Tags refused where so configured."""
        if req["method"] != "PUT" or not req["bucket"] or req["query"]:
            return None
        if not self.s.tags_at_create and b"<Tags>" in req["body"]:
            return s3_error(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
        gone = self.buckets_gone.get(req["bucket"])
        if req.get("s3_bucket") is None and gone is not None and now < gone["at"] + self.s.name_hold:
            return s3_error(
                409, "OperationAborted",
                "A conflicting conditional operation is currently in progress against this resource. Please try again.",
            )
        return None

    def check_assume_role(self, iam, key, form, now):
        duration = form.get("DurationSeconds", "3600")
        invalid = invalid_duration(duration)
        if invalid is not None:
            return invalid
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
        if int(duration) > int(role.max_session_duration):
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
            (SERVICE_CREDS.of_user(name), "must delete service specific credentials first"),
        ]
        for present, what in blockers:
            if present:
                return query_error("iam", 409, "DeleteConflict", f"Cannot delete entity, {what}.")
        return None

    # -- CloudFormation -------------------------------------------------------------------------

    def stack_status(self, name, now, region):
        """The status this layer shows for stack `name` of `region`, or None for moto's own."""
        st = self.stacks.get(name)
        if st and st["region"] != region:
            st = None
        if st and now < st["until"]:
            return {"CREATE": "CREATE_IN_PROGRESS", "UPDATE": "UPDATE_IN_PROGRESS", "DELETE": "DELETE_IN_PROGRESS"}[st["op"]]
        if st and st["op"] == "DELETE":
            return "DELETE_IN_PROGRESS"
        return self.forced.get(name)

    def stack_reason(self, name, status, region):
        rolled = self.rollbacks.get(name)
        if status == "UPDATE_ROLLBACK_COMPLETE" and rolled and rolled["region"] == region:
            return FAILED_TO_UPDATE
        return None

    def finish_due_deletes(self, cfn_backends):
        now = time.time()
        for name, st in list(self.stacks.items()):
            if st["op"] == "DELETE" and now >= st["until"]:
                del self.stacks[name]
                self.forced.pop(name, None)
                self.rollbacks.pop(name, None)
                try:
                    cfn_backends[ACCOUNT][st["region"]].delete_stack(name)
                except Exception:
                    pass
        for name, ph in list(self.phantoms.items()):
            if ph.get("deleting") and now >= ph["until"]:
                del self.phantoms[name]

    def before_stack(self, req, iam, cfn_backends, now):
        action, form, region = req["action"], req["form"], req["region"]
        name = form.get("StackName", "")
        ph = self.phantoms.get(name)
        if ph is not None and ph["region"] == region:
            return self.phantom_reply(action, name, ph, now)
        user = self.fresh_principal(iam, form, now) if action in ("CreateStack", "UpdateStack") else None
        if action == "CreateStack" and user:
            return self.create_phantom(req, name, user, now)
        status = self.stack_status(name, now, region)
        if action in ("UpdateStack", "DeleteStack") and status == "UPDATE_IN_PROGRESS":
            verb = "updated" if action == "UpdateStack" else "deleted"
            return query_error("cloudformation", 400, "ValidationError", f"Stack [{name}] cannot be {verb} while in status UPDATE_IN_PROGRESS")
        if action == "UpdateStack" and user:
            return self.fail_update(req, name, user, cfn_backends, now)
        if action == "DeleteStack":
            return self.delete_stack(req, name, status, cfn_backends, now)
        return None

    def fresh_principal(self, iam, form, now):
        """The ARN of a user created less than STS_LAB_INVALID_PRINCIPAL_WINDOW ago among the parameters."""
        if self.s.invalid_principal <= 0:
            return None
        for key, value in form.items():
            if key.endswith("ParameterValue") and ":user/" in value:
                user = user_by_arn(iam, value)
                if user is not None and now - user.create_date.timestamp() < self.s.invalid_principal:
                    return value
        return None

    def create_phantom(self, req, name, user, now):
        """A CreateStack that IAM's propagation will roll back: moto never sees it."""
        form = req["form"]
        tags = "".join(
            f"<member>{xml_fields({'Key': form[k], 'Value': form.get(k[:-3] + 'Value', '')})}</member>"
            for k in form
            if k.startswith("Tags.member.") and k.endswith(".Key")
        )
        self.phantoms[name] = {"since": now, "until": now + self.s.stack_delay, "region": req["region"], "user": user, "tags": tags}
        stack_id = f"arn:aws:cloudformation:{req['region']}:{ACCOUNT}:stack/{name}/{request_id()}"
        return query_ok("cloudformation", "CreateStack", f"<StackId>{escape(stack_id)}</StackId>")

    def fail_update(self, req, name, user, cfn_backends, now):
        """An UpdateStack that IAM's propagation will roll back: the stack keeps its old self in moto."""
        region = req["region"]
        try:
            stack = cfn_backends[ACCOUNT][region].describe_stacks(name)[0]
        except Exception:
            return None  # moto answers for a stack it does not know
        until = now + self.s.stack_delay
        self.stacks[name] = {"op": "UPDATE", "until": until, "region": region}
        self.forced[name] = "UPDATE_ROLLBACK_COMPLETE"
        self.rollbacks[name] = {"user": user, "at": now, "until": until, "region": region, "stack_id": stack.stack_id}
        return query_ok("cloudformation", "UpdateStack", f"<StackId>{escape(stack.stack_id)}</StackId>")

    def delete_stack(self, req, name, status, cfn_backends, now):
        if status == "DELETE_IN_PROGRESS":
            return query_ok("cloudformation", "DeleteStack", "")
        try:
            cfn_backends[ACCOUNT][req["region"]].describe_stacks(name)
        except Exception:
            return None  # moto answers for a stack it does not know
        # AWS deletes in the background; the role goes when the stack has gone.
        self.stacks[name] = {"op": "DELETE", "until": now + self.s.stack_delay, "region": req["region"]}
        return query_ok("cloudformation", "DeleteStack", "")

    @staticmethod
    def phantom_status(ph, now):
        if ph.get("deleting"):
            return "DELETE_IN_PROGRESS"
        return "CREATE_IN_PROGRESS" if now < ph["until"] else "ROLLBACK_COMPLETE"

    @staticmethod
    def phantom_id(name, ph):
        return f"arn:aws:cloudformation:{ph['region']}:{ACCOUNT}:stack/{name}/phantom"

    def phantom_member(self, name, ph, now):
        status = self.phantom_status(ph, now)
        fields = {"StackName": name, "StackId": self.phantom_id(name, ph), "CreationTime": now_iso(ph["since"]), "StackStatus": status}
        if status == "ROLLBACK_COMPLETE":
            fields["StackStatusReason"] = "The following resource(s) failed to create: [StsRole]. Rollback requested by user."
        return f"<member>{xml_fields(fields)}<Tags>{ph['tags']}</Tags></member>"

    def phantom_reply(self, action, name, ph, now):
        if action == "DescribeStacks":
            return query_ok("cloudformation", action, f"<Stacks>{self.phantom_member(name, ph, now)}</Stacks>")
        if action == "DescribeStackEvents":
            event = stack_event(
                self.phantom_id(name, ph), name, "StsRole", "AWS::IAM::Role", "CREATE_FAILED", invalid_principal_reason(ph["user"]), ph["since"]
            )
            return query_ok("cloudformation", action, f"<StackEvents>{event}</StackEvents>")
        if action == "DeleteStack":
            if not ph.get("deleting"):
                ph["deleting"] = True
                ph["until"] = now + self.s.stack_delay
            return query_ok("cloudformation", action, "")
        if action == "CreateStack":
            return query_error("cloudformation", 400, "AlreadyExistsException", f"Stack [{name}] already exists")
        status = self.phantom_status(ph, now)
        return query_error("cloudformation", 400, "ValidationError", f"Stack [{name}] is in {status} state and can not be updated.")

    # -- after moto answered --------------------------------------------------------------------

    def after(self, req, status, body):
        """moto's answer (status, body) as AWS would give it."""
        if status >= 300:
            return body
        if req["service"] == "cloudformation":
            return self.after_stack(req, body, time.time())
        if req["service"] == "s3":
            return self.after_s3(req, body, time.time())
        self.after_identity(req, body, time.time())
        return body

    def after_identity(self, req, body, now):
        svc, action, form = req["service"], req["action"], req["form"]
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

    def after_stack(self, req, body, now):
        action, name = req["action"], req["form"].get("StackName", "")
        if action in ("CreateStack", "UpdateStack"):
            self.stacks[name] = {"op": action[:6].upper(), "until": now + self.s.stack_delay, "region": req["region"]}
            # The operation went through: a status set by hand or left by a rollback is history.
            self.rollbacks.pop(name, None)
            self.forced.pop(name, None)
        elif action == "DescribeStacks":
            return self.rewrite_stacks(req, body, now)
        elif action == "DescribeStackEvents":
            return self.with_rollback_events(req, body, now)
        return body

    def rewrite_stacks(self, req, body, now):
        """Every stack of the answer as this layer sees it; with no StackName, the phantoms too."""
        body, span = list_content(body, "Stacks")
        if span is None:
            return body
        members = [self.rewrite_stack(m, req["region"], now) for m in top_members(body[span[0] : span[1]])]
        if not req["form"].get("StackName"):
            members += [self.phantom_member(n, ph, now).encode() for n, ph in self.phantoms.items() if ph["region"] == req["region"]]
        return body[: span[0]] + b"".join(members) + body[span[1] :]

    def rewrite_stack(self, member, region, now):
        found = re.search(rb"<StackName>([^<]*)</StackName>", member)
        name = unescape(found.group(1).decode()) if found else ""
        status = self.stack_status(name, now, region)
        if not status:
            return member
        member = re.sub(rb"<StackStatus>[^<]*</StackStatus>", f"<StackStatus>{escape(status)}</StackStatus>".encode(), member, count=1)
        reason = self.stack_reason(name, status, region)
        if reason:
            member = re.sub(rb"<StackStatusReason>[^<]*</StackStatusReason>|<StackStatusReason/>", b"", member)
            member = member.replace(b"</StackStatus>", f"</StackStatus><StackStatusReason>{escape(reason)}</StackStatusReason>".encode(), 1)
        if status.endswith("_IN_PROGRESS"):
            member = re.sub(rb"<Outputs>.*?</Outputs>", b"", member, flags=re.S)
        return member

    def with_rollback_events(self, req, body, now):
        name = stack_name_of(req["form"].get("StackName", ""))
        rolled = self.rollbacks.get(name)
        if rolled is None or rolled["region"] != req["region"]:
            return body
        body, span = list_content(body, "StackEvents")
        if span is None:
            return body
        return body[: span[0]] + self.rollback_events(name, rolled, now).encode() + body[span[0] :]

    @staticmethod
    def rollback_events(name, rolled, now):
        """The events of an update IAM refused, newest first."""
        sid, at, until = rolled["stack_id"], rolled["at"], rolled["until"]
        stack = "AWS::CloudFormation::Stack"
        events = [
            stack_event(sid, name, name, stack, "UPDATE_IN_PROGRESS", "User Initiated", at),
            stack_event(sid, name, "StsRole", "AWS::IAM::Role", "UPDATE_FAILED", invalid_principal_reason(rolled["user"]), at),
        ]
        if now >= until:
            events.append(stack_event(sid, name, name, stack, "UPDATE_ROLLBACK_IN_PROGRESS", FAILED_TO_UPDATE, until))
            events.append(stack_event(sid, name, name, stack, "UPDATE_ROLLBACK_COMPLETE", "", until))
        return "".join(reversed(events))

    def after_s3(self, req, body, now):
        name = req["bucket"]
        if name and not req["query"] and req["method"] == "PUT":
            self.buckets_new[name] = now
            self.buckets_gone.pop(name, None)
        elif name and not req["query"] and req["method"] == "DELETE":
            self.buckets_gone[name] = {"at": now, "bucket": req.get("s3_bucket")}
            self.buckets_new.pop(name, None)
        elif req["method"] == "GET" and req["path"] in ("", "/"):
            body = self.lagging_list(body, now)
            if self.s.list_bucket_region:
                body = with_bucket_regions(body)
        return body

    def lagging_list(self, body, now):
        lag = self.s.list_lag
        for name, at in list(self.buckets_new.items()):
            if now < at + lag:
                body = re.sub(rf"<Bucket><Name>{re.escape(escape(name))}</Name>.*?</Bucket>".encode(), b"", body, flags=re.S)
        extra = b"".join(
            self.gone_entry(name, gone).encode()
            for name, gone in self.buckets_gone.items()
            if now < gone["at"] + lag and f"<Name>{escape(name)}</Name>".encode() not in body
        )
        if extra:
            body, span = list_content(body, "Buckets")
            if span is not None:
                body = body[: span[0]] + extra + body[span[0] :]
        return body

    def gone_entry(self, name, gone):
        """A deleted bucket, as the lagging listing still shows it."""
        bucket = gone["bucket"]
        fields = {"Name": name, "CreationDate": bucket.creation_date_ISO8601 if bucket is not None else now_iso()}
        if bucket is not None and self.s.list_bucket_region:
            fields["BucketRegion"] = bucket.region_name
        return f"<Bucket>{xml_fields(fields)}</Bucket>"


def with_bucket_regions(body):
    """ListBuckets with each bucket's BucketRegion, as AWS answers since 2024 (moto 5.2.5 leaves it out)."""

    def add(entry):
        text = entry.group(0)
        bucket = s3_bucket(unescape(entry.group(1).decode()))
        if b"<BucketRegion>" in text or bucket is None:
            return text
        return text[: -len(b"</Bucket>")] + f"<BucketRegion>{escape(bucket.region_name)}</BucketRegion></Bucket>".encode()

    return re.sub(rb"<Bucket><Name>([^<]*)</Name>.*?</Bucket>", add, body, flags=re.S)
