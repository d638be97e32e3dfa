"""CloudTrail's LookupEvents, in every mode, answered in the WSGI layer before moto (moto 5.2.5's CloudTrail has no
LookupEvents: its dispatcher fails on the target with HTTP 500); the events are trail.py's.

CloudTrail API Reference, LookupEvents (JSON 1.1: POST, `X-Amz-Target: com.amazonaws.cloudtrail.v20131101.
CloudTrail_20131101.LookupEvents`): the request is authenticated and authorized by moto's own check (its SigV4
signature check, then authorize.py's check_action_permitted: the caller's policies must allow cloudtrail:LookupEvents,
decided by policy.decide), refused in the JSON protocol's words (AccessDeniedException, UnrecognizedClientException,
InvalidSignatureException), and recorded as an event itself once answered. LookupAttributes (at most one: EventId,
EventName, ReadOnly, Username, ResourceType, ResourceName, EventSource, AccessKeyId), StartTime and EndTime (epoch
seconds, inclusive, on the emulator's clock), MaxResults (1 to 50, 50 by default), NextToken (opaque, bound to the
other parameters), EventCategory ("insight": no Insights events here) answer the account's and region's management
events, newest first (data events are left out, as LookupEvents does). Past STS_LAB_CLOUDTRAIL_RATE requests a second
per account and region (2, as AWS; 0: off) the answer is HTTP 400 ThrottlingException "Rate exceeded", which the SDKs
and the aws CLI retry; a throttled request is not recorded.
"""

import base64
import binascii
import hashlib
import io
import json
import os
import threading
import uuid
from datetime import datetime

from clock import CLOCK
from common import ACCOUNT, MOTO_LOCK, TokenBucket
from trail import TRAIL, xml_text

JSON_TYPE = "application/x-amz-json-1.1"
ATTRIBUTE_KEYS = ("EventId", "EventName", "ReadOnly", "Username", "ResourceType", "ResourceName", "EventSource", "AccessKeyId")
MAX_RESULTS = 50
# The JSON protocol's names of the errors the query protocol names otherwise.
JSON_CODES = {
    "InvalidClientTokenId": "UnrecognizedClientException", "SignatureDoesNotMatch": "InvalidSignatureException",
    "ExpiredToken": "ExpiredTokenException", "AccessDenied": "AccessDeniedException", "Throttling": "ThrottlingException",
}


class Invalid(Exception):
    """A LookupEvents request CloudTrail refuses: its error code and message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


def cloudtrail_rate():
    """STS_LAB_CLOUDTRAIL_RATE: LookupEvents requests a second per account and region (2, as AWS; 0: no limit)."""
    return float(os.environ.get("STS_LAB_CLOUDTRAIL_RATE", 2))


def is_lookup(req):
    return req["service"] == "cloudtrail" and req["action"] == "LookupEvents"


def json_error(code, message, status=400):
    """An error in the JSON 1.1 protocol's shape, with a request id of its own."""
    return status, JSON_TYPE, json.dumps({"__type": code, "message": message}), [("x-amzn-RequestId", str(uuid.uuid4()))]


def as_json(answer):
    """An XML error answered before moto (an expired session, a key too new) in the JSON protocol's words; any other
    answer as it is."""
    status, ctype, text = answer[:3]
    if "xml" not in ctype or status < 400:
        return answer
    body = text.encode() if isinstance(text, str) else text
    code = xml_text(body, "Code") or "InternalFailure"
    return json_error(JSON_CODES.get(code, code), xml_text(body, "Message") or "", status if status >= 500 else 400)


class Lookups:
    """LookupEvents' answers, and its request rate per account and region (on the emulator's timers, as the realistic
    layer's rates: moving the clock forward fills the buckets)."""

    def __init__(self, rate):
        self.rate = rate
        self.lock = threading.Lock()
        self.buckets = {}

    def reset(self):
        with self.lock:
            self.buckets = {}

    def throttled(self, account, region):
        with self.lock:
            bucket = self.buckets.get((account, region))
            if bucket is None:
                bucket = self.buckets[(account, region)] = TokenBucket(self.rate, CLOCK.timers)
        return not bucket.take()

    def answer(self, environ, req):
        """The answer to a LookupEvents request (status, content type, text, headers), the request recorded."""
        refused, account = authenticate(environ, req["body"])
        if refused is None and self.throttled(account, req["region"]):
            from authorize import LOCAL

            LOCAL.decided = None  # refused before it was served: not an event
            return json_error("ThrottlingException", "Rate exceeded")
        answer = refused
        if answer is None:
            try:
                found = lookup(TRAIL.newest_first(account, req["region"]), parse_request(req["body"]))
                answer = 200, JSON_TYPE, json.dumps(found), [("x-amzn-RequestId", str(uuid.uuid4()))]
            except Invalid as e:
                answer = json_error(e.code, e.message)
        TRAIL.record(environ, answer[0], answer[3], answer[2].encode())
        return answer


def authenticate(environ, body):
    """(None, the caller's account) when moto's check lets the request through (or IAM is not enforced yet), else
    (the refusal in the JSON protocol's words, the account)."""
    from moto.cloudtrail.responses import CloudTrailResponse
    from moto.core.request import Request
    from werkzeug.exceptions import HTTPException

    environ["wsgi.input"] = io.BytesIO(body)
    response = CloudTrailResponse()
    with MOTO_LOCK:
        try:
            response.setup_class(Request(environ))
            response._authenticate_and_authorize_normal_action("*")
        except HTTPException as e:
            code = getattr(e, "error_type", None) or "AccessDeniedException"
            message = getattr(e, "message", None) or e.description or ""
            return json_error(JSON_CODES.get(code, code), message), getattr(response, "current_account", ACCOUNT)
    return None, response.current_account


# -- the request -------------------------------------------------------------------------------------


def seconds(value, name):
    """A timestamp of the request (epoch seconds, as the SDKs send them in JSON 1.1; or ISO 8601) as epoch seconds."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        pass
    try:
        return datetime.fromisoformat(str(value)).timestamp()
    except ValueError:
        raise Invalid("InvalidTimeRangeException", f"{name} is not a valid timestamp.") from None


def parse_request(body):
    """LookupEvents' parameters: {"attribute": (key, value) or None, "start", "end", "max", "insight", "digest", "before"}."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        doc = None
    if not isinstance(doc, dict):
        raise Invalid("SerializationException", "Start of structure or map found where not expected.")
    attributes = doc.get("LookupAttributes") or []
    if not isinstance(attributes, list) or len(attributes) > 1:
        raise Invalid("InvalidLookupAttributesException", "You can specify only one lookup attribute.")
    attribute = None
    if attributes:
        first = attributes[0] if isinstance(attributes[0], dict) else {}
        key, value = first.get("AttributeKey"), first.get("AttributeValue")
        if key not in ATTRIBUTE_KEYS or not isinstance(value, str) or not value:
            raise Invalid("InvalidLookupAttributesException", f"Invalid lookup attribute: {key}={value}.")
        attribute = (key, value)
    start, end = seconds(doc.get("StartTime"), "StartTime"), seconds(doc.get("EndTime"), "EndTime")
    if start is not None and end is not None and start > end:
        raise Invalid("InvalidTimeRangeException", "Start time must be before or equal to end time.")
    most = doc.get("MaxResults", MAX_RESULTS)
    if isinstance(most, bool) or not isinstance(most, int) or not 1 <= most <= MAX_RESULTS:
        raise Invalid("InvalidMaxResultsException", f"MaxResults must be between 1 and {MAX_RESULTS}.")
    category = doc.get("EventCategory")
    if category is not None and category != "insight":
        raise Invalid("InvalidEventCategoryException", f"Invalid event category: {category}.")
    same = json.dumps([attribute, start, end, category]).encode()
    query = {"attribute": attribute, "start": start, "end": end, "max": most, "insight": category == "insight",
             "digest": hashlib.sha256(same).hexdigest()[:16], "before": None}
    if doc.get("NextToken") is not None:
        query["before"] = token_position(doc["NextToken"], query["digest"])
    return query


def next_token(seq, digest):
    return base64.urlsafe_b64encode(f"{seq}:{digest}".encode()).decode()


def token_position(token, digest):
    """The position a NextToken continues from; InvalidNextTokenException for one not made for these parameters."""
    try:
        seq, made_for = base64.urlsafe_b64decode(str(token).encode()).decode().split(":")
        if made_for == digest and seq.isdigit():
            return int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise Invalid("InvalidNextTokenException", "Invalid NextToken.")


# -- the answer --------------------------------------------------------------------------------------


def matches(entry, attribute):
    if attribute is None:
        return True
    key, value = attribute
    record = entry.record
    found = {
        "EventId": lambda: record["eventID"] == value,
        "EventName": lambda: record["eventName"] == value,
        "EventSource": lambda: record["eventSource"] == value,
        "ReadOnly": lambda: ("true" if entry.read_only else "false") == value,
        "Username": lambda: entry.username == value,
        "AccessKeyId": lambda: entry.key == value,
        "ResourceType": lambda: any(r["ResourceType"] == value for r in entry.resources),
        "ResourceName": lambda: any(r["ResourceName"] == value for r in entry.resources),
    }[key]
    return found()


def lookup(entries, query):
    """The page of management events (entries newest first) the query asks, and a NextToken when more remain."""
    if query["insight"]:
        return {"Events": []}
    page, more = [], False
    start, end, before = query["start"], query["end"], query["before"]
    for entry in entries:
        if (before is not None and entry.seq >= before) or not entry.management:
            continue
        if (start is not None and entry.at < start) or (end is not None and entry.at > end) or not matches(entry, query["attribute"]):
            continue
        if len(page) == query["max"]:
            more = True
            break
        page.append(entry)
    found = {"Events": [event(e) for e in page]}
    if more:
        found["NextToken"] = next_token(page[-1].seq, query["digest"])
    return found


def event(entry):
    """LookupEvents' Event: the record's fields it lists, and the record itself as JSON text."""
    record = entry.record
    found = {"EventId": record["eventID"], "EventName": record["eventName"], "ReadOnly": "true" if entry.read_only else "false"}
    if entry.key:
        found["AccessKeyId"] = entry.key
    found.update({"EventTime": entry.at, "EventSource": record["eventSource"], "Username": entry.username,
                  "Resources": entry.resources, "CloudTrailEvent": json.dumps(record)})
    return found
