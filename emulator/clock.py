"""The emulator's clock, in every mode: the machine's time moved forward by `cargo xtask emulator
clock +2h` (`POST /sts-lab/clock`, reset by moto's reset). It dates the sessions AssumeRole issues
and ends them as AWS does: a request signed with a session's key after its Expiration is refused
ExpiredToken. (moto itself never expires a session.) The realistic layer's waits (a new key, a
stack in progress, IAM propagating, a bucket list's lag, a request rate) run on its timers: moving
the clock forward ends them, moving it back does not bring them back."""

import threading
import time
from datetime import UTC, datetime

from common import backends, query_error, s3_error


class Clock:
    """The machine's time plus an offset (seconds, never below zero); thread-safe."""

    def __init__(self):
        self.lock = threading.Lock()
        self.offset = 0.0
        self.ahead = 0.0  # every forward move, summed: the timers' offset

    def now(self):
        with self.lock:
            return time.time() + self.offset

    def timers(self):
        """The time the realistic layer's waits run on: the machine's plus every forward move of the clock."""
        with self.lock:
            return time.time() + self.ahead

    def set_offset(self, seconds):
        with self.lock:
            offset = max(0.0, float(seconds))
            self.ahead += max(0.0, offset - self.offset)
            self.offset = offset

    def reset(self):
        with self.lock:
            self.offset = self.ahead = 0.0

    def state(self):
        with self.lock:
            now = time.time() + self.offset
        return {"now": datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "epoch": now, "offset": self.offset}


CLOCK = Clock()


def patch_session_clock():
    """Sessions are issued at the emulator's time: their Expiration (in the answer, and the end
    the emulator enforces) is that time plus DurationSeconds, and the time is kept with them
    (`sts_lab_issued`, for aws:TokenIssueTime)."""
    from moto.sts.models import STSBackend

    original = STSBackend.assume_role

    def assume_role(self, *args, **kwargs):
        session = original(self, *args, **kwargs)
        issued = CLOCK.now()
        # moto's responses pass every argument by name; AssumeRole's default is an hour.
        ends = datetime.fromtimestamp(issued + int(kwargs.get("duration") or 3600), UTC)
        session.expiration = ends if session.expiration.tzinfo else ends.replace(tzinfo=None)
        session.sts_lab_issued = issued
        return session

    STSBackend.assume_role = assume_role


def session_end(session):
    """Unix time of a session's Expiration."""
    ends = session.expiration
    if ends.tzinfo is None:
        ends = ends.replace(tzinfo=UTC)
    return ends.timestamp()


def expired_session(req):
    """ExpiredToken for a request signed with a session key past its end (on the emulator's
    clock), else None."""
    key = req["key"]
    if not key.startswith("ASIA"):
        return None
    _, sts, _ = backends()
    session = next((r for r in sts.assumed_roles if r.access_key_id == key), None)
    if session is None or CLOCK.now() <= session_end(session):
        return None
    if req["service"] == "s3":
        return s3_error(400, "ExpiredToken", "The provided token has expired.")
    return query_error(req["service"] or "sts", 400, "ExpiredToken", "The security token included in the request is expired")
