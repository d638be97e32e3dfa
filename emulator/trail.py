"""The emulator's CloudTrail, in every mode: each signed request authorize.py decided (allowed or refused) is recorded
as CloudTrail records it (CloudTrail User Guide, "CloudTrail record contents", "CloudTrail userIdentity element"), in
memory, per account and region, newest last, at most CAP events each (the oldest dropped); lookup.py reads them.

The WSGI app calls `TRAIL.record` once moto (or lookup.py) has answered: authorize.py left the decided request on its
thread-local LOCAL ("decided": moto's IAM request, the Caller, the resource, AccessDenied's message on a refusal). The
record is AWS's shape only: userIdentity from the Caller (IAMUser, or AssumedRole with its sessionIssuer, creationDate,
MFA and source identity), requestParameters from the request (camelCase, without secrets: no secret key, session
token, password, MFA code), responseElements for AssumeRole and CreateAccessKey (never a secret nor a session token),
errorCode and errorMessage as answered, requestID as the answer's header carried it. Nothing is copied or serialized
here: the record is a small dict, made JSON only when LookupEvents returns it.
"""

import json
import re
import sys
import threading
import uuid
from collections import deque
from datetime import datetime
from itertools import count
from xml.sax.saxutils import unescape

import trail_s3
from authorize import LOCAL, iso
from clock import CLOCK

CAP = 50_000  # events kept per account and region
VERSION = "1.09"
# Read-only events: CloudTrail marks AssumeRole read-only too (it changes no resource).
READ_ONLY = ("Get", "List", "Describe", "Head", "Lookup", "AssumeRole")
# Request parameters CloudTrail never shows (any part of a query key, any key of a JSON body).
SECRETS = frozenset({
    "TokenCode", "Password", "NewPassword", "OldPassword", "SecretAccessKey", "SessionToken", "AuthenticationCode1",
    "AuthenticationCode2", "SAMLAssertion", "WebIdentityToken", "PrivateKey", "Base32StringSeed", "QRCodePNG",
})
INTEGERS = frozenset({"durationSeconds", "maxSessionDuration", "maxItems", "maxResults", "timeoutInMinutes"})
# The request parameters that name a resource LookupEvents lists (ResourceType, the parameter).
PARAMETER_RESOURCES = {
    "iam": (("AWS::IAM::User", "userName"), ("AWS::IAM::Role", "roleName"), ("AWS::IAM::Group", "groupName"),
            ("AWS::IAM::Policy", "policyArn"), ("AWS::IAM::AccessKey", "accessKeyId"), ("AWS::IAM::MFADevice", "serialNumber")),
    "sts": (("AWS::IAM::Role", "roleArn"),),
    "s3": (("AWS::S3::Bucket", "bucketName"),),
    "cloudformation": (("AWS::CloudFormation::Stack", "stackName"),),
    "cloudtrail": (("AWS::CloudTrail::Trail", "name"),),
}


class Entry:
    """One recorded event: the record, and what LookupEvents filters on."""

    __slots__ = ("at", "key", "management", "read_only", "record", "resources", "seq", "username")

    def __init__(self, seq, at, record, username, resources):
        self.seq, self.at, self.record, self.username, self.resources = seq, at, record, username, resources
        self.key = record["userIdentity"].get("accessKeyId")
        self.management = record["managementEvent"]
        self.read_only = record["readOnly"]


class Trail:
    """The events, per (account, region), newest last; thread-safe. Sequence numbers never restart (a reset
    included), so a page's token never points into another trail's events."""

    def __init__(self, cap=CAP):
        self.cap = cap
        self.lock = threading.Lock()
        self.numbers = count(1)
        self.stores = {}

    def reset(self):
        with self.lock:
            self.stores = {}

    def add(self, at, record, username, resources):
        """Keeps an event (`at`: its time, whole seconds on the emulator's clock) in its account's and region's store."""
        where = (record["recipientAccountId"], record["awsRegion"])
        with self.lock:
            store = self.stores.get(where)
            if store is None:
                store = self.stores[where] = deque(maxlen=self.cap)
            store.append(Entry(next(self.numbers), at, record, username, resources))

    def newest_first(self, account, region):
        """The events of an account and region, newest first (a copy: recording goes on meanwhile)."""
        with self.lock:
            return list(reversed(self.stores.get((account, region), ())))

    def record(self, environ, status, headers, body):
        """Records the request this thread served, if authorize.py decided it; returns the record (or None)."""
        decided, LOCAL.decided = getattr(LOCAL, "decided", None), None
        if decided is None:
            return None
        at = float(int(CLOCK.now()))
        try:
            record, username, resources = build(decided, at, environ, status, headers, body)
        except Exception as e:  # the request was answered all the same: said in the log, not hidden
            print(f"sts-lab: the request could not be recorded: {e!r}", file=sys.stderr)
            return None
        self.add(at, record, username, resources)
        return record


def build(decided, at, environ, status, headers, body):
    """(the record, its Username, its LookupEvents Resources) of a decided request and its answer."""
    req, caller = decided["request"], decided["caller"]
    service, operation = req._service, req._action.split(":", 1)[1]
    account, region = req.account_id, "us-east-1" if req._service == "iam" else req._region
    resources = None
    if service == "s3":
        operation, category, params, resources = trail_s3.describe(req._method, req._path, decided["resource"], req._headers, req._body, account)
    else:
        category, params = "Management", json_parameters(req._body) if is_json(req._headers) else query_parameters(req._data)
    error = error_of(decided.get("refused"), status, body)
    response = None if error else response_elements(service, operation, body)
    record = {
        "eventVersion": VERSION,
        "userIdentity": user_identity(caller, req._access_key._access_key_id, account),
        "eventTime": iso(at),
        "eventSource": f"{service}.amazonaws.com",
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": environ.get("REMOTE_ADDR", ""),
        "userAgent": environ.get("HTTP_USER_AGENT", ""),
    }
    if error:
        record["errorCode"], record["errorMessage"] = error
    record.update({"requestParameters": params or None, "responseElements": response, "requestID": request_id_of(headers),
                   "eventID": str(uuid.uuid4()), "readOnly": operation.startswith(READ_ONLY)})
    if service == "sts" and isinstance(params, dict) and isinstance(params.get("roleArn"), str):
        resources = [{"accountId": account, "type": "AWS::IAM::Role", "ARN": params["roleArn"]}]
    if resources:
        record["resources"] = resources
    record.update({"eventType": "AwsApiCall", "managementEvent": category == "Management", "recipientAccountId": account,
                   "eventCategory": category})
    identity = record["userIdentity"]
    username = identity.get("userName") or caller.arn.rsplit("/", 1)[-1]
    return record, username, lookup_resources(service, params, response)


def user_identity(caller, key, account):
    """CloudTrail's userIdentity of authorize.py's Caller: an IAM user, or a role's session."""
    if caller.user is not None:
        user = caller.user
        return {"type": "IAMUser", "principalId": user.id, "arn": user.arn, "accountId": getattr(user, "account_id", account),
                "accessKeyId": key, "userName": user.name}
    session, role, state = caller.session, caller.role, caller.state
    role_id = role.id if role is not None else session.user_id.split(":")[0]
    issued = session.__dict__.get("sts_lab_issued")
    attributes = {"creationDate": iso(issued)} if issued is not None else {}
    attributes["mfaAuthenticated"] = "true" if state.get("mfa_at") is not None else "false"
    context = {
        "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": session.role_arn, "accountId": session.account_id,
                          "userName": session.role_arn.rsplit("/", 1)[-1]},
        "webIdFederationData": {},
        "attributes": attributes,
    }
    if state.get("source_identity"):
        context["sourceIdentity"] = state["source_identity"]
    return {"type": "AssumedRole", "principalId": f"{role_id}:{session.session_name}", "arn": caller.arn,
            "accountId": session.account_id, "accessKeyId": key, "sessionContext": context}


# -- request parameters -----------------------------------------------------------------------------


def camel(name):
    """CloudTrail's name of a request parameter: RoleArn is roleArn, TransitiveTagKeys transitiveTagKeys."""
    return name[:1].lower() + name[1:]


def query_parameters(data):
    """A query request's parameters (moto's {key: [value]}) as CloudTrail shows them: camelCase, `X.member.N.Y` as
    lists ([{"key", "value"}] for tags), whole numbers as numbers, secrets left out."""
    tree = {}
    for key, value in data.items():
        parts = [p for p in key.split(".") if p not in ("member", "entry")]
        if key in ("Action", "Version") or not parts or any(p in SECRETS for p in parts):
            continue
        value = (value[0] if value else "") if isinstance(value, list) else value
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(int(part) if part.isdigit() else camel(part), {})
            if not isinstance(node, dict):
                break
        else:
            leaf = int(parts[-1]) if parts[-1].isdigit() else camel(parts[-1])
            node[leaf] = int(value) if leaf in INTEGERS and value.isdigit() else value
    return as_lists(tree)


def as_lists(node):
    """Dicts keyed by list positions (1, 2 …) turned into lists."""
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, int) for k in node):
        return [as_lists(node[k]) for k in sorted(node)]
    return {k: as_lists(v) for k, v in node.items()}


def json_parameters(body):
    """A JSON request's body as CloudTrail shows it: its keys camelCase, secrets left out; None when it is not JSON."""
    try:
        return camel_keys(json.loads(body or b"{}"))
    except ValueError:
        return None


def camel_keys(value):
    if isinstance(value, dict):
        return {camel(k): camel_keys(v) for k, v in value.items() if k not in SECRETS}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def is_json(headers):
    return "x-amz-json" in (headers.get("Content-Type") or "")


# -- the answer --------------------------------------------------------------------------------------


def request_id_of(headers):
    """The request id the answer carried to the client: S3's x-amz-request-id, else x-amzn-RequestId."""
    found = {k.lower(): v for k, v in headers if k.lower() in ("x-amz-request-id", "x-amzn-requestid")}
    return found.get("x-amz-request-id") or found.get("x-amzn-requestid")


def error_of(refused, status, body):
    """(errorCode, errorMessage) of a refused or failed request, else None: an AccessDenied in AWS's words, or the error
    the answer carries (query and S3 XML, or JSON's __type)."""
    if refused is not None:
        return "AccessDenied", refused
    if status < 400:
        return None
    code = message = None
    head = body[:8192]
    if head.lstrip().startswith(b"{"):
        try:
            doc = json.loads(body)
            code = str(doc.get("__type", "")).rsplit("#", 1)[-1] or None
            message = doc.get("message") or doc.get("Message")
        except (ValueError, AttributeError):
            pass
    else:
        code, message = xml_text(head, "Code"), xml_text(head, "Message")
    fallback = {403: "AccessDenied", 404: "NotFound"}.get(status, "InternalError" if status >= 500 else "BadRequest")
    return code or fallback, message


def xml_text(body, tag):
    found = re.search(rb"<%s>([^<]*)</%s>" % (tag.encode(), tag.encode()), body)
    return unescape(found.group(1).decode("utf-8", "replace")) if found else None


def when(text):
    """CloudTrail's date in responseElements (`Oct 27, 2022, 6:29:06 AM`) of an ISO 8601 time; None stays None."""
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return text
    hour = at.hour % 12 or 12
    return f"{at:%b} {at.day}, {at.year}, {hour}:{at:%M:%S} {'AM' if at.hour < 12 else 'PM'}"


def response_elements(service, operation, body):
    """AssumeRole's credentials (their key id and expiration: no secret, no session token) and assumed role user;
    CreateAccessKey's key (no secret); None for every other call, as CloudTrail has it for most."""
    if service == "sts" and operation == "AssumeRole":
        found = {"credentials": {"accessKeyId": xml_text(body, "AccessKeyId"), "expiration": when(xml_text(body, "Expiration"))},
                 "assumedRoleUser": {"assumedRoleId": xml_text(body, "AssumedRoleId"), "arn": xml_text(body, "Arn")}}
        size = xml_text(body, "PackedPolicySize")
        if size and size.isdigit():
            found["packedPolicySize"] = int(size)
        if xml_text(body, "SourceIdentity"):
            found["sourceIdentity"] = xml_text(body, "SourceIdentity")
        return found
    if service == "iam" and operation == "CreateAccessKey":
        fields = {k: xml_text(body, k[:1].upper() + k[1:]) for k in ("accessKeyId", "userName", "status", "createDate")}
        fields["createDate"] = when(fields["createDate"])
        return {"accessKey": fields}
    return None


def lookup_resources(service, params, response):
    """LookupEvents' Resources of an event: what its parameters name, and the key or session it created."""
    found = []
    for kind, name in PARAMETER_RESOURCES.get(service, ()):
        value = params.get(name) if isinstance(params, dict) else None
        if isinstance(value, str) and value:
            found.append({"ResourceType": kind, "ResourceName": value})
    if response and "accessKey" in response:
        found.insert(0, {"ResourceType": "AWS::IAM::AccessKey", "ResourceName": response["accessKey"]["accessKeyId"]})
    if response and "credentials" in response:
        found[:0] = [{"ResourceType": "AWS::IAM::AccessKey", "ResourceName": response["credentials"]["accessKeyId"]},
                     {"ResourceType": "AWS::STS::AssumedRole", "ResourceName": response["assumedRoleUser"]["assumedRoleId"]}]
    return found


TRAIL = Trail()
