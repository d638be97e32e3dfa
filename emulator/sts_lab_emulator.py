"""sts-lab's local AWS emulator: moto's own server application with IAM enforcement, plus

* always, IAM authorization as AWS decides it (authorize.py with actions.py, decider.py): once moto enforces IAM,
  every signed request is decided by the lab's own evaluator (lab-policy, in a process of its own: IAM's rules are
  written once, in Rust), AWS's policy evaluation logic (identity, session and role
  trust policies, permissions boundaries, bucket policies, every condition operator, the request context AWS builds
  on the emulator's clock, MFA, session tags, source identity, role chaining) and refused AccessDenied in AWS's words;
* always, fidelity fixes where moto differs from AWS in ways the lab meets: a CloudFormation update
  of a role rewrites its trust policy (moto keeps the old one), IAM's service-specific credentials
  exist (moto has none: ListServiceSpecificCredentials answers HTTP 500), so do users' permissions
  boundaries (moto has none: PutUserPermissionsBoundary answers HTTP 500), and an unsigned
  AssumeRoleWithWebIdentity is served (moto's IAM enforcement fails on it with HTTP 500), and a
  session ends at its Expiration (ExpiredToken) on the emulator's clock, which a learner moves;
* with --realistic, a thin WSGI layer that reproduces real AWS's documented timing and strictness:
  a new access key refused for a few seconds, AssumeRole denied while a new trust or user policy
  propagates, a trust bound to the user's unique id, stacks *_IN_PROGRESS for seconds (DeleteStack
  refused during an update), "Invalid principal" for a user created a moment ago (a CreateStack
  rolls back, an UpdateStack ends UPDATE_ROLLBACK_COMPLETE), DeleteUser refused (DeleteConflict)
  while anything is attached, bucket listings that lag and name each bucket's region, a bucket
  request signed for another region refused (AuthorizationHeaderMalformed), a deleted bucket's name
  held for a while (OperationAborted), Throttling past a request rate (IAM, CloudFormation), and
  DurationSeconds outside 900 s to the role's maximum refused;
* always, a CloudTrail (trail.py, trail_s3.py): every signed request authorize.py decides (allowed or refused: IAM,
  STS, S3, CloudFormation, CloudTrail; not the control endpoints below, not unsigned requests, not those answered
  before moto) is recorded once answered as CloudTrail records it (userIdentity, requestParameters without secrets,
  responseElements of AssumeRole and CreateAccessKey without secrets, errorCode and errorMessage, the answer's request
  id, the emulator's clock), in memory per account and region (at most 50,000 each); CloudTrail's LookupEvents
  (lookup.py; moto has none) answers its management events as AWS does, signed and authorized
  (cloudtrail:LookupEvents) like every request, and throttled past STS_LAB_CLOUDTRAIL_RATE requests a second per
  account and region (2; 0: off), in both modes, with HTTP 400 ThrottlingException "Rate exceeded".

Every delay is read from the environment (seconds), so tests set them short:
STS_LAB_KEY_DELAY (4), STS_LAB_PROPAGATION_DELAY (3), STS_LAB_STACK_DELAY (6),
STS_LAB_BUCKET_LIST_LAG (2), STS_LAB_INVALID_PRINCIPAL_WINDOW (0: off), STS_LAB_IAM_RATE (25
requests/s; 0: off), STS_LAB_CFN_RATE (5 requests/s over all CloudFormation actions; 0: off),
STS_LAB_BUCKET_NAME_HOLD (60), and switches (1: on, 0:
off): STS_LAB_BUCKET_TAGS_AT_CREATE (1; 0 refuses Tags in CreateBucket as some S3-compatible
endpoints do), STS_LAB_S3_REGION_CHECK (1), STS_LAB_LIST_BUCKET_REGION (1; 0 leaves BucketRegion
out of ListBuckets as some S3-compatible endpoints do). In both modes, STS_LAB_UNIMPLEMENTED lists
actions (comma-separated, e.g. ListServiceSpecificCredentials) to answer as moto answers an action
it lacks (HTTP 500, an HTML page), as an endpoint without them would; STS_LAB_CLOCK_DELAY (seconds, 0)
answers GET /sts-lab/clock that late, so that a test sees whether its clients ask it side by side.

`POST /sts-lab/stack-status?name=N&status=S` makes DescribeStacks report stack N as S (states moto
never reaches, e.g. UPDATE_ROLLBACK_COMPLETE); `GET /sts-lab/stats` counts the requests served, by
"service:Action" (S3: by method), and those throttled, and the most /sts-lab/clock requests answered at once:
{"since", "now", "calls", "throttled", "clock_in_flight_max"};
`GET /sts-lab/info` says the mode {"realistic", "propagation_delay", "rates": {"iam", "cloudformation", "cloudtrail"}} (a client
waits out IAM's propagation only where there is one, and keeps to the request rates it enforces; 0: none); `GET /sts-lab/clock` is the emulator's time {"now", "epoch", "offset"}, `POST /sts-lab/clock` with
{"offset": seconds} sets it to the machine's time plus that; `POST /sts-lab/decide` with {"cases":
[{"policies": [{"name", "kind": "identity"|"session"|"trust"|"boundary"|"resource", "document"}], "request":
{"principal", "action", "resource", "context": {key: str or [str]}, "account" (optional: the principal's, else
400)}}]} answers {"decisions": [{"effect":
"Allow"|"ExplicitDeny"|"ImplicitDeny", "policy", "statement", "message_reason"}]}: the evaluator alone, no state (a malformed body: 400 and a
one-line reason); `POST /moto-api/reset` also resets this layer, the clock, the counts and the trail.
STS_LAB_EXIT_WITH_PARENT (any value) ends the emulator when the process that started it ends.
"""


import argparse
import io
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from collections import Counter

# The sibling modules, wherever this file was copied with them.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import speed
from authorize import begin_request, patch_authorization
from clock import CLOCK, expired_session, patch_session_clock
from common import MOTO_LOCK
from decider import decide_cases
from documents import check_cases, patch_document_checks
from fidelity import SERVICE_CREDS, patch_role_updates, patch_unsigned_sts, patch_user_boundaries
from lookup import Lookups, as_json, cloudtrail_rate, is_lookup
from realistic import Realistic, Settings, patch_trust_binding
from trail import TRAIL


def parse(environ, body):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    query = environ.get("QUERY_STRING", "")
    cred = re.search(r"Credential=([^/]+)/\d+/([^/]+)/([^/]+)/", auth) or re.search(
        r"X-Amz-Credential=([^%/&]+)(?:/|%2F)\d+(?:/|%2F)([^/%]+)(?:/|%2F)([^/%]+)", query
    )
    key, region, service = cred.groups() if cred else ("", "us-east-1", "")
    # A JSON protocol's operation is its X-Amz-Target's last part (CloudTrail's LookupEvents).
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    # The SDKs add x-id=<Operation> to some S3 requests; it says nothing of the bucket.
    query = "&".join(p for p in query.split("&") if p and not p.startswith("x-id="))
    form = {}
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        form = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    path = environ.get("PATH_INFO", "")
    # path_bucket: the bucket of a path-style request (/bucket or /bucket/key); bucket: of /bucket only.
    path_bucket = path.lstrip("/").split("/")[0] if service == "s3" else ""
    bucket = path_bucket if path_bucket and "/" not in path.strip("/") else ""
    return {
        "service": service,
        "region": region,
        "key": key,
        "form": form,
        "action": form.get("Action", "") or (target.rsplit(".", 1)[-1] if target else ""),
        "target": target,
        "method": environ.get("REQUEST_METHOD", "GET"),
        "path": path,
        "bucket": bucket,
        "path_bucket": path_bucket,
        "query": query,
        "body": body,
    }


class Stats:
    """Requests served, by "service:Action" (S3: "s3:METHOD"), and how many were throttled; thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.since, self.calls, self.throttled = None, Counter(), Counter()
            self.clock_in_flight = self.clock_in_flight_max = 0

    def clock_asked(self, delta):
        """One more (+1) or one less (-1) request to /sts-lab/clock being answered: the most at once is kept."""
        with self.lock:
            self.clock_in_flight += delta
            self.clock_in_flight_max = max(self.clock_in_flight_max, self.clock_in_flight)

    def count(self, req, answer):
        service = req["service"] or ("sts" if req["action"].startswith("AssumeRoleWith") else "unsigned")
        key = f"{service}:{req['method'] if service == 's3' else (req['action'] or req['method'])}"
        throttled = answer is not None and answer[0] == 400 and ("<Code>Throttling</Code>" in answer[2] or '"ThrottlingException"' in answer[2])
        with self.lock:
            self.since = time.time() if self.since is None else self.since
            self.calls[key] += 1
            if throttled:
                self.throttled[key] += 1

    def snapshot(self):
        with self.lock:
            return {
                "since": self.since,
                "now": time.time(),
                "calls": dict(self.calls),
                "throttled": dict(self.throttled),
                "clock_in_flight_max": self.clock_in_flight_max,
            }


def unimplemented_actions():
    """STS_LAB_UNIMPLEMENTED: the actions this endpoint answers as moto answers one it lacks."""
    return {a.strip() for a in os.environ.get("STS_LAB_UNIMPLEMENTED", "").split(",") if a.strip()}


def not_implemented(action):
    """What moto answers for an action it lacks: its NotImplementedError, which Flask turns into a
    bare HTTP 500 with Werkzeug's HTML page (the traceback goes to the log)."""
    from werkzeug.exceptions import InternalServerError

    print(f"NotImplementedError: The {action} action has not been implemented (STS_LAB_UNIMPLEMENTED)", file=sys.stderr)
    error = InternalServerError()
    return 500, dict(error.get_headers())["Content-Type"], error.get_body()


class App:
    """The WSGI app: fidelity fixes always, the realistic layer when asked, moto inside."""

    def __init__(self, moto_app, realistic, unimplemented=frozenset()):
        self.moto = moto_app
        self.realistic = realistic
        self.unimplemented = unimplemented
        self.stats = Stats()
        self.lookups = Lookups(cloudtrail_rate())
        self.clock_delay = float(os.environ.get("STS_LAB_CLOCK_DELAY") or 0)

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if environ.get("wsgi.input_terminated"):
            body = environ["wsgi.input"].read()  # chunked: read to its last chunk
        else:
            body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ[speed.DRAINED] = True
        path = environ.get("PATH_INFO", "")
        if path.startswith(("/moto-api/", "/sts-lab/")):
            return self.control(environ, start_response, path)
        req = parse(environ, body)
        begin_request(environ)
        answer = self.first_answer(environ, req)
        self.stats.count(req, answer)
        if answer is not None:
            return self.reply(start_response, answer)
        return self.through_moto(environ, start_response, req)

    def moto_locked(self, environ, start_response):
        """moto's answer, made while no other request is inside moto (MOTO_LOCK)."""
        with MOTO_LOCK:
            chunks = self.moto(environ, start_response)
            try:
                return [b"".join(chunks)]
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()

    def control(self, environ, start_response, path):
        """moto's own API (its reset resets this app too) and this app's."""
        if path.startswith("/moto-api/reset") and not path.endswith("auth"):
            if self.realistic is not None:
                with self.realistic.lock:
                    self.realistic.reset()
            SERVICE_CREDS.clear()
            CLOCK.reset()
            self.stats.reset()
            TRAIL.reset()
            self.lookups.reset()
        if path == "/sts-lab/stack-status":
            q = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
            if self.realistic is not None:
                with self.realistic.lock:
                    self.realistic.forced[q["name"][0]] = q["status"][0]
            return self.reply(start_response, (200, "text/plain", "ok"))
        if path == "/sts-lab/info":
            real = self.realistic
            info = {
                "realistic": real is not None,
                "propagation_delay": real.s.propagation if real else 0,
                "rates": {"iam": real.s.iam_rate if real else 0, "cloudformation": real.s.cfn_rate if real else 0,
                          "cloudtrail": self.lookups.rate},
            }
            return self.reply(start_response, (200, "application/json", json.dumps(info)))
        if path == "/sts-lab/stats":
            return self.reply(start_response, (200, "application/json", json.dumps(self.stats.snapshot())))
        if path == "/sts-lab/clock":
            return self.clock(environ, start_response)
        if path == "/sts-lab/decide":
            return self.reply(start_response, self.decide(environ))
        return self.moto_locked(environ, start_response)

    @staticmethod
    def decide(environ):
        """POST {"cases": [...]}: the evaluator's decision on each case, nothing else (the documented cases' tests)."""
        if environ.get("REQUEST_METHOD") != "POST":
            return 400, "text/plain", 'POST {"cases": [...]}'
        try:
            body = json.loads(environ["wsgi.input"].read() or b"null")
        except ValueError as e:
            return 400, "text/plain", f"the body is not JSON: {e}"
        cases = body.get("cases") if isinstance(body, dict) else None
        try:
            check_cases(cases)
            decisions = decide_cases(cases)
        except (ValueError, TypeError, RuntimeError) as e:
            return 400, "text/plain", " ".join(str(e).split())
        return 200, "application/json", json.dumps({"decisions": decisions})

    def clock(self, environ, start_response):
        """GET: the emulator's time (STS_LAB_CLOCK_DELAY seconds late, counting the requests answered at once: tests
        see whether clients ask it side by side); POST {"offset": seconds}: moves it to the machine's time plus that."""
        if environ.get("REQUEST_METHOD") == "GET" and self.clock_delay > 0:
            self.stats.clock_asked(+1)
            try:
                time.sleep(self.clock_delay)
            finally:
                self.stats.clock_asked(-1)
        if environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            try:
                offset = float(json.loads(environ["wsgi.input"].read(length) or b"{}")["offset"])
            except (ValueError, KeyError, TypeError):
                return self.reply(start_response, (400, "text/plain", 'expected {"offset": seconds}'))
            CLOCK.set_offset(offset)
        return self.reply(start_response, (200, "application/json", json.dumps(CLOCK.state())))

    def first_answer(self, environ, req):
        """An answer before moto's (unimplemented, a fidelity fix, an ended session, the realistic layer's: in the JSON
        protocol's words for a JSON request; CloudTrail's LookupEvents), or None."""
        answer = self.refusal(req)
        if answer is not None:
            return as_json(answer) if req["target"] else answer
        if is_lookup(req):
            return self.lookups.answer(environ, req)
        return None

    def refusal(self, req):
        if req["action"] in self.unimplemented:
            return not_implemented(req["action"])
        expired = expired_session(req)
        if expired is not None:
            return expired
        if req["service"] == "iam" and req["action"].endswith(("ServiceSpecificCredential", "ServiceSpecificCredentials")):
            answer = SERVICE_CREDS.handle(req["action"], req["form"])
            if answer is not None:
                return answer
        if self.realistic is None:
            return None
        with self.realistic.lock:
            return self.realistic.before(req)

    def through_moto(self, environ, start_response, req):
        """moto's answer (as the realistic layer rewrites it, in that mode); then the request, if decided, is recorded
        in the trail, with the request id the answer carries."""
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        out = b"".join(self.moto_locked(environ, capture))
        code = int(captured["status"].split(" ", 1)[0])
        headers = captured["headers"]
        if self.realistic is not None:
            with self.realistic.lock:
                new = self.realistic.after(req, code, out)
            if new is not out:
                headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
                headers.append(("Content-Length", str(len(new))))
                out = new
        TRAIL.record(environ, code, headers, out)
        start_response(captured["status"], headers)
        return [out]

    @staticmethod
    def reply(start_response, answer):
        """answer: (status, content type, text) and, optionally, a list of extra headers."""
        status, ctype, text = answer[:3]
        extra = list(answer[3]) if len(answer) > 3 else []
        data = text.encode()
        reason = {
            200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 409: "Conflict", 500: "INTERNAL SERVER ERROR"
        }.get(status, "Error")
        headers = [("Content-Type", ctype), ("Content-Length", str(len(data))), *extra]
        start_response(f"{status} {reason}", headers)
        return [data]


def exit_with_parent():
    """Ends the emulator when the process that started it ends (with STS_LAB_EXIT_WITH_PARENT set): the tests keep
    their emulators from one test to the next and can no longer kill each one when it is dropped."""
    import threading
    import time

    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, daemon=True, name="exit-with-parent").start()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5055)
    parser.add_argument("--realistic", action="store_true", help="AWS's timing and strictness")
    args = parser.parse_args()
    os.environ.setdefault("MOTO_PORT", str(args.port))
    if os.environ.get("STS_LAB_EXIT_WITH_PARENT"):
        exit_with_parent()

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    speed.patch_all()
    patch_role_updates()
    patch_unsigned_sts()
    patch_user_boundaries()
    patch_session_clock()
    patch_authorization()
    patch_document_checks()
    realistic = None
    if args.realistic:
        patch_trust_binding()
        realistic = Realistic(Settings())
    app = App(DomainDispatcherApplication(create_backend_app), realistic, unimplemented_actions())
    handler = speed.keep_alive(speed.quick_log(MotoRequestHandler))
    run_simple(args.host, args.port, app, threaded=True, request_handler=handler)


if __name__ == "__main__":
    main()
