"""The realistic layer: real AWS's documented timing and strictness, around moto's app."""

import json
import os
import re
import threading
import urllib.parse
from xml.sax.saxutils import escape, unescape

from authorize import denied_message
from clock import CLOCK
from common import (
    TokenBucket,
    backends,
    list_content,
    now_iso,
    query_error,
    s3_bucket,
    s3_error,
    user_by_arn,
    user_of_key,
    xml_fields,
)
from fidelity import SERVICE_CREDS
from stacks import StackLayer


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
        self.__dict__["_sts_lab_trust_at"] = CLOCK.timers()
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


class Realistic(StackLayer):
    """Timing and strictness of real AWS, around moto's app. Its callers hold `lock`."""

    def __init__(self, settings):
        self.s = settings
        self.lock = threading.RLock()
        self.reset()

    def reset(self):
        self.keys_born = {}
        self.users_born = {}  # user name -> when it was created, on the timers
        self.user_policy_at = {}
        self.stacks = {}  # name -> {"op", "until", "region"}
        self.forced = {}  # name -> status
        self.phantoms = {}  # name -> {"since", "until", "region", "user", "tags", "deleting"}
        self.rollbacks = {}  # name -> {"user", "at", "until", "region", "stack_id"}: UpdateStack's invalid principal
        self.buckets_new = {}
        self.buckets_gone = {}  # name -> {"at": deleted at, "bucket": moto's bucket as it was}
        self.rates = {"iam": TokenBucket(self.s.iam_rate, CLOCK.timers), "cloudformation": TokenBucket(self.s.cfn_rate, CLOCK.timers)}

    # -- before the request reaches moto --------------------------------------------------------

    def before(self, req):
        """An answer in moto's stead (an error, or a state moto never reaches), or None."""
        iam, _, cfn_backends = backends()
        now = CLOCK.timers()
        self.finish_due_deletes(cfn_backends)
        if req["service"] == "s3":
            req["s3_bucket"] = s3_bucket(req["path_bucket"]) if req["path_bucket"] else None
        return (
            self.throttled(req["service"])
            or self.wrong_region(req)
            or self.refused_credentials(req, now)
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

    def refused_credentials(self, req, now):
        """A key too new to be known everywhere (a session's end is the clock's, in every mode)."""
        svc, key = req["service"], req["key"]
        born = self.keys_born.get(key)
        if born is not None and now < born + self.s.key_delay:
            if svc == "s3":
                return s3_error(403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.")
            return query_error(svc, 403, "InvalidClientTokenId", "The security token included in the request is invalid.")
        return None

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
        try:
            role = iam.get_role_by_arn(role_arn)
        except Exception:
            return None  # authorize.py denies a role that does not exist, in every mode
        if int(duration) > int(role.max_session_duration):
            return query_error(
                "sts", 400, "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
            )
        caller = user_of_key(iam, key)
        if caller is None:
            return None
        # Only the timing of AWS here (a new trust or user policy still propagating, a trust bound to an earlier
        # user of the same name); whether the trust and policies allow is authorize.py's decision.
        denied = query_error("sts", 403, "AccessDenied", denied_message(caller.arn, "sts:AssumeRole", role_arn))
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

    # -- after moto answered --------------------------------------------------------------------

    def after(self, req, status, body):
        """moto's answer (status, body) as AWS would give it."""
        if status >= 300:
            return body
        if req["service"] == "cloudformation":
            return self.after_stack(req, body, CLOCK.timers())
        if req["service"] == "s3":
            return self.after_s3(req, body, CLOCK.timers())
        self.after_identity(req, body, CLOCK.timers())
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
        elif svc == "iam" and action in ("PutUserPolicy", "AttachUserPolicy"):
            self.user_policy_at[form.get("UserName", "")] = now
        elif svc == "iam" and action == "CreateUser" and b"<CreateUserResult>" in body:
            self.users_born[form.get("UserName", "")] = now

    def after_s3(self, req, body, now):
        name = req["bucket"]
        if name and not req["query"] and req["method"] == "PUT":
            self.buckets_new[name] = now
            self.buckets_gone.pop(name, None)
        elif name and not req["query"] and req["method"] == "DELETE":
            self.buckets_gone[name] = {"at": now, "bucket": req.get("s3_bucket")}
            self.buckets_new.pop(name, None)
        elif req["method"] == "GET" and req["path"] in ("", "/"):
            prefix = urllib.parse.parse_qs(req["query"]).get("prefix", [""])[0]
            body = self.lagging_list(body, now, prefix)
            if self.s.list_bucket_region:
                body = with_bucket_regions(body)
        return body

    def lagging_list(self, body, now, prefix):
        """A ListBuckets answer as S3's lagging listing gives it: new buckets not in it yet, deleted ones still in it
        (those that `prefix`, ListBuckets' Prefix, begins)."""
        lag = self.s.list_lag
        for name, at in list(self.buckets_new.items()):
            if now < at + lag:
                body = re.sub(rf"<Bucket><Name>{re.escape(escape(name))}</Name>.*?</Bucket>".encode(), b"", body, flags=re.S)
        extra = b"".join(
            self.gone_entry(name, gone).encode()
            for name, gone in self.buckets_gone.items()
            if now < gone["at"] + lag and name.startswith(prefix) and f"<Name>{escape(name)}</Name>".encode() not in body
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
