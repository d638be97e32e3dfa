"""Shared by the emulator's modules: the account, error and success bodies, a token bucket, moto's backends."""

import random
import re
import string
import threading
import time
from datetime import UTC, datetime
from xml.sax.saxutils import escape

ACCOUNT = "123456789012"
# moto's backends are not thread-safe (a request deleting one role while another lists roles can fail with "dictionary
# changed size during iteration"), and the server answers on many threads: every call into moto holds this lock. Python
# runs one thread at a time anyway, and moto never waits inside a request, so it costs nothing.
MOTO_LOCK = threading.RLock()
QUERY_NS = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "cloudformation": "http://cloudformation.amazonaws.com/doc/2010-05-15/",
}


def now_iso(at=None):
    when = datetime.now(UTC) if at is None else datetime.fromtimestamp(at, UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def request_id():
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=32))


def xml_fields(fields):
    """`<k>v</k>` for each item, the values escaped."""
    return "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in fields.items())


def query_error(service, status, code, message):
    ns = QUERY_NS.get(service, QUERY_NS["iam"])
    kind = "Receiver" if status >= 500 else "Sender"
    body = (
        f'<ErrorResponse xmlns="{ns}"><Error><Type>{kind}</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error><RequestId>{request_id()}</RequestId></ErrorResponse>"
    )
    return status, "text/xml", body


def s3_error(status, code, message, extra=None, headers=()):
    """An S3 error; `extra` adds elements (e.g. Region) after the message, `headers` response headers."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message>{xml_fields(extra or {})}"
        f"<RequestId>{request_id()}</RequestId></Error>"
    )
    return status, "application/xml", body, list(headers)


def query_ok(service, action, inner):
    ns = QUERY_NS[service]
    return (
        200,
        "text/xml",
        f'<{action}Response xmlns="{ns}"><{action}Result>{inner}</{action}Result>'
        f"<ResponseMetadata><RequestId>{request_id()}</RequestId></ResponseMetadata></{action}Response>",
    )


class TokenBucket:
    """A request rate: `rate` tokens a second, as many in a burst (at least one); rate 0 never refuses. `clock` gives
    the time it fills by (the machine's, or the emulator's timers)."""

    def __init__(self, rate, clock=time.monotonic):
        self.rate = rate
        self.capacity = max(rate, 1)
        self.tokens = float(self.capacity)
        self.clock = clock
        self.at = clock()
        self.lock = threading.Lock()

    def take(self):
        """False when the bucket is empty (the request is throttled), else takes a token."""
        if self.rate <= 0:
            return True
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + max(0.0, now - self.at) * self.rate)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


def backends():
    from moto.cloudformation.models import cloudformation_backends
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    return iam_backends[ACCOUNT]["aws"], sts_backends[ACCOUNT]["aws"], cloudformation_backends


def s3_bucket(name):
    """moto's bucket of that name (its `region_name`, `creation_date_ISO8601`), or None."""
    from moto.s3.models import s3_backends

    return s3_backends[ACCOUNT]["aws"].buckets.get(name)


def user_of_key(iam, key_id):
    for user in list(iam.users.values()):
        if any(k.access_key_id == key_id for k in user.access_keys):
            return user
    return None


def user_by_arn(iam, arn):
    name = arn.rsplit("/", 1)[-1]
    user = iam.users.get(name)
    return user if user is not None and user.arn == arn else None


def list_content(body, element):
    """(start, end) of the content of `<element>` in body, an empty `<element/>` opened first."""
    body = body.replace(f"<{element}/>".encode(), f"<{element}></{element}>".encode(), 1)
    found = re.search(rf"<{element}>(.*)</{element}>".encode(), body, flags=re.S)
    return body, (found.start(1), found.end(1)) if found else None
