"""IAM's decisions, asked of the lab's own evaluator (lab-policy, the one `why`, `verify` and the proofs use), so
that IAM's rules are written once, in Rust: the emulator keeps no copy of them.

The evaluator runs as a process of its own (`xtask emulator decide`, the binary STS_LAB_DECIDER names), started on the
first question and again if it ever ends; each question is one line of JSON on its stdin, {"policies": [{"name",
"kind", "document"}], "request": {"principal", "action", "resource", "context"}}, each answer one line on its stdout,
{"effect", "policy", "statement", "message_reason"} (or {"error"}). moto serves requests on threads: one question at a
time goes down the pipe. A policy's kind is one of KINDS; its document its text or the parsed JSON.

`POST /sts-lab/decide` (sts_lab_emulator.py) asks the same evaluator its cases (decide_cases), each checked first.
"""

import json
import os
import re
import subprocess
import threading
from typing import NamedTuple

KINDS = ("identity", "session", "trust", "boundary", "resource")


class Decision(NamedTuple):
    """effect: "Allow", "ExplicitDeny" or "ImplicitDeny"; policy and statement: the deciding policy's name and Sid
    (None on an ImplicitDeny); message_reason: AWS's phrase for an AccessDenied message ("because no identity-based
    policy allows the s3:X action", "with an explicit deny in a session policy", …; None on Allow)."""

    effect: str
    policy: str | None
    statement: str | None
    message_reason: str | None


class Decider:
    """The evaluator's process, asked one question at a time."""

    def __init__(self):
        self.lock = threading.Lock()
        self.process = None

    def command(self):
        binary = os.environ.get("STS_LAB_DECIDER")
        if not binary:
            raise RuntimeError("STS_LAB_DECIDER is not set: the emulator is started by `cargo xtask emulator start`")
        return [binary, "emulator", "decide"]

    def ask(self, question):
        line = json.dumps(question, separators=(",", ":")) + "\n"
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.process = subprocess.Popen(
                    self.command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, encoding="utf-8", bufsize=1
                )
            self.process.stdin.write(line)
            self.process.stdin.flush()
            answer = self.process.stdout.readline()
        if not answer:
            raise RuntimeError("the evaluator ended without an answer")
        return json.loads(answer)


DECIDER = Decider()


def wire_policy(policy):
    document = policy.get("document")
    text = document if isinstance(document, str) else json.dumps(document if document is not None else {})
    return {"name": policy.get("name"), "kind": policy.get("kind", "identity"), "document": text}


def decide(policies, request):
    """The evaluator's decision on `request` ({"principal", "action", "resource", "context": {key: str or [str]}})
    with `policies` in play; RuntimeError when it cannot answer."""
    wire = {
        "principal": request["principal"],
        "action": request["action"],
        "resource": request.get("resource", "*"),
        "context": request.get("context", {}),
    }
    answer = DECIDER.ask({"policies": [wire_policy(p) for p in policies], "request": wire})
    if answer.get("error"):
        raise RuntimeError(f"the evaluator could not decide: {answer['error']}")
    return Decision(answer["effect"], answer.get("policy"), answer.get("statement"), answer.get("message_reason"))


# -- POST /sts-lab/decide ----------------------------------------------------------------------------


def case_policies(i, case):
    """A case's policies, their documents parsed; ValueError for a malformed one."""
    policies = []
    for j, policy in enumerate(case["policies"]):
        if not isinstance(policy, dict) or policy.get("kind", "identity") not in KINDS:
            raise ValueError(f"case {i}, policy {j}: expected an object whose kind is {', '.join(KINDS[:-1])} or {KINDS[-1]}")
        document = policy.get("document")
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except ValueError:
                document = None
        if not isinstance(document, dict):
            raise ValueError(f"case {i}, policy {j}: the document is not a JSON policy object")
        policies.append({**policy, "document": document})
    return policies


def arn_account(arn):
    """The account of an ARN (its fifth field), or None when it is not an ARN."""
    parts = arn.split(":", 5) if isinstance(arn, str) else []
    return parts[4] if len(parts) == 6 and parts[0] == "arn" else None


def check_request(i, request):
    """ValueError for a malformed request, or one from another account than its principal's (only requests inside
    one account are decided)."""
    for field in ("principal", "action"):
        if not isinstance(request.get(field), str):
            raise ValueError(f"case {i}: request.{field} must be a string")
    if not isinstance(request.get("resource", "*"), str):
        raise ValueError(f"case {i}: request.resource must be a string")
    context = request.get("context", {})
    if not isinstance(context, dict) or not all(
        isinstance(v, str) or (isinstance(v, list) and all(isinstance(x, str) for x in v)) for v in context.values()
    ):
        raise ValueError(f"case {i}: request.context must map keys to a string or a list of strings")
    account = request.get("account")
    if account is None:
        return
    if not isinstance(account, str) or re.fullmatch(r"\d{12}", account) is None:
        raise ValueError(f"case {i}: request.account must be an account id (12 digits)")
    if arn_account(request["principal"]) != account:
        raise ValueError(f"case {i}: request.account {account} is not the principal's account: only requests inside one account are decided")


def decide_cases(cases):
    """The answers to /sts-lab/decide's cases (see sts_lab_emulator.py); ValueError with a one-line reason for a
    malformed case."""
    if not isinstance(cases, list):
        raise ValueError('expected {"cases": [{"policies": [...], "request": {...}}]}')
    answers = []
    for i, case in enumerate(cases):
        if not isinstance(case, dict) or not isinstance(case.get("policies"), list) or not isinstance(case.get("request"), dict):
            raise ValueError(f"case {i}: expected an object with a policies list and a request object")
        policies = case_policies(i, case)
        check_request(i, case["request"])
        decision = decide(policies, case["request"])
        answers.append(decision._asdict())
    return answers
