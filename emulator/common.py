"""Shared by the emulator's modules: the account, error and success bodies, moto's backends."""

import random
import string
from datetime import datetime, timezone

ACCOUNT = "123456789012"
QUERY_NS = {
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "cloudformation": "http://cloudformation.amazonaws.com/doc/2010-05-15/",
}


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
