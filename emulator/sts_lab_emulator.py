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
import io
import os
import re
import sys
import urllib.parse

# The sibling modules, wherever this file was copied with them.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fidelity import SERVICE_CREDS, patch_role_updates, patch_unsigned_sts  # noqa: E402
from realistic import Realistic, Settings, patch_trust_binding  # noqa: E402


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
        realistic = Realistic(Settings())
    app = App(DomainDispatcherApplication(create_backend_app), realistic)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
