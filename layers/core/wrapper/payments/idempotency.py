"""``Idempotency-Key`` for the POSTs (and the PATCH) that create something or move money.

A record per tenant and key (``TENANT#<t>/IDEMPOTENCY#<sha256(key)>``, kept 24 h) holds a fingerprint
of the operation and its body, then the first answer. The same key with the same body answers the
first answer again (a 402 with its Checkout link included); with a different body, 422; while the
first request is still running, 409. A request that fails otherwise (4xx, 5xx) forgets its record so
the client can retry with the same key.

Powertools' ``idempotent_function`` was the other option: it keys records on a static or per-function
partition (not under ``TENANT#``, so not tenant-scoped), stores only what the function returns (the 402
is an exception here), and answers a payload mismatch with an exception we would map anyway. Forty lines
of our own keep the records in the tenant's partition and replay the exact answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from typing import TypeVar

from pydantic import BaseModel

from wrapper.kernel.clock import EpochClock, epoch
from wrapper.kernel.errors import Conflict, InvalidInput
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.collection import PaymentRequired
from wrapper.store.schema import idempotency_sk
from wrapper.store.table import Table, WriteRefused, delete_op, put_op

M = TypeVar("M", bound=BaseModel)
TTL_SECONDS = 24 * 3600
_KEY_SHAPE = re.compile(r"[\x21-\x7e]{1,255}")


def check_key(key: str) -> None:
    """An Idempotency-Key is 1 to 255 visible ASCII characters, or a 422."""
    if not _KEY_SHAPE.fullmatch(key):
        raise InvalidInput("Idempotency-Key must be 1 to 255 visible ASCII characters.",
                           errors=[{"field": "Idempotency-Key", "message": "bad shape"}])


class IdempotencyRecords:
    def __init__(self, table: Table, *, clock: EpochClock = epoch) -> None:
        self.table = table
        self.clock = clock

    def run(self, tenant: TenantContext, key: str | None, operation: str, body: str, produce: Callable[[], M],
            model: type[M]) -> M:
        if key is None:
            return produce()
        check_key(key)
        sk = idempotency_sk(key)
        request_print = hashlib.sha256(f"{operation}\n{body}".encode()).hexdigest()
        now = self.clock()
        try:
            # An expired record may linger until TTL deletes it: it no longer binds the key.
            self.table.transact([put_op({"PK": tenant.pk, "SK": sk, "record_type": "idempotency",
                                         "fingerprint": request_print, "state": "in_progress",
                                         "expires_at": int(now + TTL_SECONDS)},
                                        condition="attribute_not_exists(PK) OR expires_at < :now",
                                        values={":now": int(now)})])
        except WriteRefused:
            return self._replay(tenant, sk, request_print, model)
        try:
            answer = produce()
        except PaymentRequired as needed:
            self._finish(tenant, sk, {"status": 402, "problem": needed.extensions(), "detail": needed.detail})
            raise
        except BaseException:
            self.table.transact([delete_op(tenant.pk, sk)])
            raise
        self._finish(tenant, sk, {"status": 200, "body": answer.model_dump(mode="json")})
        return answer

    def _finish(self, tenant: TenantContext, sk: str, answer: dict[str, object]) -> None:
        record = self.table.get(tenant.pk, sk) or {}
        self.table.put({**record, "PK": tenant.pk, "SK": sk, "state": "done", "answer": json.dumps(answer)})

    def _replay(self, tenant: TenantContext, sk: str, request_print: str, model: type[M]) -> M:
        record = self.table.get(tenant.pk, sk)
        if record is None:
            raise Conflict("The earlier request with this Idempotency-Key just failed; retry.")
        if record.get("fingerprint") != request_print:
            raise InvalidInput("This Idempotency-Key was used for a different request.",
                               errors=[{"field": "Idempotency-Key", "message": "reused with another body"}])
        if record.get("state") != "done":
            raise Conflict("A request with this Idempotency-Key is still being processed; retry shortly.")
        answer = json.loads(str(record["answer"]))
        if answer["status"] == 402:
            problem = answer["problem"]
            raise PaymentRequired(str(answer["detail"]), checkout_url=problem["checkout_url"],
                                  checkout_session_id=problem["checkout_session_id"],
                                  amount_due=int(problem["amount_due"]), currency=str(problem["currency"]))
        return model.model_validate(answer["body"])
