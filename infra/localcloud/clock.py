"""The local cloud's settable clock: ``/_local/clock`` on the API front, ``python -m localcloud clock``.

The functions run in this process and read the time through ``wrapper.kernel.clock``; setting
this clock sets that module's offset, so every function (expiries, rate windows, TTLs, stamps),
the billing run's default date (``run-schedule``) and the API front's request times move together.

It moves **forward only**: to a later time (``now``) or by a positive number of seconds
(``advance_seconds``), at most ``MAX_OFFSET_SECONDS`` ahead of the real time. ``reset`` is the one
way back, to the real time. Items written while it was ahead keep their times: a test that moves
it puts it back (tests/e2e's ``local_clock`` fixture), and what it wrote stays in the future.

What keeps the real time, because it is not ours to move: moto (Cognito's tokens ``iat``/``exp``,
STS credentials, SQS visibility timeouts and delays, Step Functions waits and retry intervals,
DynamoDB streams, SES), the pollers, localstripe (its objects' ``created``, its webhook signatures)
and DynamoDB TTL (which never deletes locally anyway). The authorizer holds a JWT's times against
the real time, so moving the clock signs nobody out; the Stripe webhook's signature check does too.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from localcloud.apifront import LocalRefusal
from wrapper.kernel import clock
from wrapper.kernel.timestamps import iso_z

MAX_OFFSET_SECONDS = 100 * 366 * 86_400  # a century ahead: past it, dates stop being useful (and valid)
_lock = threading.Lock()


class ClockChange(BaseModel):
    """``POST /_local/clock``: one of a time to move to, or seconds to move by."""

    model_config = ConfigDict(extra="forbid", strict=True)
    now: AwareDatetime | None = Field(default=None, description="RFC 3339 with an offset (Z or +hh:mm)")
    advance_seconds: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ClockChange:
        if (self.now is None) == (self.advance_seconds is None):
            raise ValueError("give exactly one of now and advance_seconds")
        return self


def state() -> dict[str, Any]:
    """What ``GET /_local/clock`` answers: the clock's time and how far it runs ahead of the real time."""
    return _state_at(clock.now())


def set_to(moment: datetime) -> dict[str, Any]:
    """Move the clock to ``moment`` (aware), which must not be earlier than the clock's now. The
    answer's ``now`` is ``moment`` itself: the clock runs on from there."""
    with _lock:
        _move(moment.timestamp() - time.time())
        return _state_at(moment)


def advance(seconds: float) -> dict[str, Any]:
    """Move the clock ``seconds`` (> 0) forward; the answer's ``now`` is the time it read plus ``seconds``."""
    if not seconds > 0:
        raise LocalRefusal(422, "Unprocessable Content", "The clock moves forward only: advance by more than 0 s.",
                           type_slug="validation-error",
                           errors=[{"field": "advance_seconds", "message": "must be greater than 0"}])
    with _lock:
        read = clock.now()
        _move(clock.offset() + seconds)
        return _state_at(read + timedelta(seconds=seconds))


def reset() -> dict[str, Any]:
    """Back to the real time."""
    with _lock:
        clock.set_offset(0)
        return state()


def change(body: bytes) -> dict[str, Any]:
    """``POST /_local/clock`` with ``{"now": "<RFC 3339>"}`` or ``{"advance_seconds": N}``."""
    try:
        request = ClockChange.model_validate_json(body or b"")
    except ValidationError as invalid:
        if any(e["type"] == "json_invalid" for e in invalid.errors()):
            raise LocalRefusal(400, "Bad Request", "The request body is not valid JSON.",
                               type_slug="malformed-json") from None
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]}
                  for e in invalid.errors()]
        raise LocalRefusal(422, "Unprocessable Content", 'Send {"now": "<RFC 3339>"} or {"advance_seconds": N}.',
                           type_slug="validation-error", errors=errors) from None
    if request.now is not None:
        return set_to(request.now)
    assert request.advance_seconds is not None
    return advance(request.advance_seconds)


def _state_at(moment: datetime) -> dict[str, Any]:
    return {"now": iso_z(moment, timespec="milliseconds"), "offset_seconds": round(clock.offset(), 3)}


def _move(offset: float) -> None:
    if offset < clock.offset():
        raise LocalRefusal(409, "Conflict", f"The clock reads {state()['now']} and moves forward only; "
                                            "DELETE /_local/clock goes back to the real time.", type_slug="conflict")
    if offset > MAX_OFFSET_SECONDS:
        raise LocalRefusal(422, "Unprocessable Content", "The clock goes at most 100 years ahead of the real time.",
                           type_slug="validation-error",
                           errors=[{"field": "body", "message": "at most 100 years ahead of the real time"}])
    clock.set_offset(offset)


# The page the API front serves at /_local/clock, by method.
PAGE = {"GET": lambda _body: state(), "POST": change, "DELETE": lambda _body: reset()}
