"""The realistic layer's CloudFormation: stacks in progress, IAM's rollbacks, phantom stacks."""

import json
import re
import sys
from xml.sax.saxutils import escape, unescape

from clock import CLOCK
from common import ACCOUNT, MOTO_LOCK, list_content, now_iso, query_error, query_ok, request_id, user_by_arn, xml_fields

FAILED_TO_UPDATE = "The following resource(s) failed to update: [StsRole]."


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


class StackLayer:
    """Realistic's CloudFormation: the state (stacks, forced, phantoms, rollbacks) is set in Realistic.reset()."""

    # -- before the request reaches moto --------------------------------------------------------

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
        now = CLOCK.timers()
        for name, st in list(self.stacks.items()):
            if st["op"] == "DELETE" and now >= st["until"]:
                del self.stacks[name]
                self.forced.pop(name, None)
                self.rollbacks.pop(name, None)
                try:
                    with MOTO_LOCK:
                        cfn_backends[ACCOUNT][st["region"]].delete_stack(name)
                except Exception as e:  # the stack stays as moto has it: said in the log, not hidden
                    print(f"sts-lab: moto could not delete stack {name}: {e!r}", file=sys.stderr)
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
                born = self.users_born.get(user.name) if user is not None else None
                if born is not None and now - born < self.s.invalid_principal:
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
