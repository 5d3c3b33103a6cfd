"""Billing-run benchmark (issue #11): N subscriptions due on one day, billed by the billing-run state machine in
the embedded local cloud. Prints one JSON document to stdout (logs go to stderr): wall time, state transitions per
subscription, AWS calls and DynamoDB write units per invoice, the outcomes, and a second run of the same day.

    PYTHONPATH=layers/core:infra .venv/bin/python tests/bench/bench_billing.py                  # 2,000
    PYTHONPATH=layers/core:infra .venv/bin/python tests/bench/bench_billing.py --subscriptions 50

Not a test, and not part of `make test`. The tenants are seeded through the layer's own stores (a tenant profile
with a taxed billing address, the subscription, a billing record with a card saved at the local Stripe server,
one usage event), not through sign-up over HTTP. A share of them (``--no-card-share``) has no card: their charge
fails and they take the past_due / dunning path (an email with a pay link).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from typing import Any

# tests/bench is the script's directory; importing bench_foundation puts infra and layers/core on the path.
from bench_foundation import REPO, machine, report_json

log = logging.getLogger("bench")

FUNCTION = "BillingRunFunction"
SUFFIX = uuid.uuid4().hex[:6]
METER, EVENT, PLAN, REGION = f"tokens_{SUFFIX}", f"llm.completion.{SUFFIX}", f"bench-{SUFFIX}", "US-BEN"
PAYLOAD_LIMIT = 256 * 1024  # Step Functions' limit on a state's input or output (bytes, UTF-8)
WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems")


def _r(value: float) -> float:
    return round(value, 3)


# ----------------------------------------------------------------------------------- DynamoDB item sizes
def _value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value by DynamoDB's sizing rules (numbers approximated: 1 byte per 2 digits + 1)."""
    (kind, inner), = value.items()
    if kind in ("S", "B"):
        return len(inner.encode() if isinstance(inner, str) else inner)
    if kind == "N":
        return len(str(inner).lstrip("-").replace(".", "")) // 2 + 2
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS"):
        return sum(len(v.encode() if isinstance(v, str) else v) for v in inner)
    if kind == "NS":
        return sum(len(str(v)) // 2 + 2 for v in inner)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in inner.items())
    return 0


def _units(item: dict[str, Any] | None) -> int:
    """Write units of a put of ``item`` (1 per started KB); an update or delete is counted as one (a lower bound:
    DynamoDB charges the larger of the item before and after, and the run's updates touch small items)."""
    if not item:
        return 1
    size = sum(len(name.encode()) + _value_size(value) for name, value in item.items())
    return max(1, math.ceil(size / 1024))


def write_units(operation: str, params: dict[str, Any]) -> int:
    if operation == "PutItem":
        return _units(params.get("Item"))
    if operation in ("UpdateItem", "DeleteItem"):
        return 1
    if operation == "BatchWriteItem":
        return sum(_units((r.get("PutRequest") or {}).get("Item")) for rs in params["RequestItems"].values()
                   for r in rs)
    if operation == "TransactWriteItems":  # every part, condition checks included, at twice the rate
        return sum(2 * _units((part.get("Put") or {}).get("Item")) for part in params["TransactItems"])
    return 0


# ------------------------------------------------------------------------------------- AWS call counting
class BillingCalls:
    """botocore calls made while the billing-run function runs (its own thread; the local cloud's pollers and the
    outbox function are left out), by service:operation, with DynamoDB write units of the writes that passed and
    the refused ones (TransactionCanceled, ConditionalCheckFailed) apart."""

    def __init__(self, runtime: Any, function_name: str) -> None:
        self.runtime = runtime
        self.function_name = function_name
        self.lock = threading.Lock()
        self.active: set[int] = set()
        self.reset()

    def reset(self) -> None:
        self.calls: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.tasks: Counter[str] = Counter()
        self.units = 0
        self.refused_units = 0
        self.invocation_ms = 0.0

    @contextmanager
    def installed(self) -> Iterator[BillingCalls]:
        from botocore.endpoint import Endpoint as _Endpoint

        endpoint_cls: Any = _Endpoint  # class level: every client in the process
        original_make_request = endpoint_cls.make_request
        counter = self

        def make_request(endpoint: Any, operation_model: Any, request_dict: Any) -> Any:
            if threading.get_ident() not in counter.active:
                return original_make_request(endpoint, operation_model, request_dict)
            service, operation = operation_model.service_model.service_name, operation_model.name
            answer = original_make_request(endpoint, operation_model, request_dict)
            error = (answer[1] or {}).get("Error", {}).get("Code") if isinstance(answer[1], dict) else None
            units = 0
            if service == "dynamodb" and operation in WRITES:
                units = write_units(operation, json.loads(request_dict["body"] or b"{}"))
            with counter.lock:
                counter.calls[f"{service}:{operation}"] += 1
                if error:
                    counter.errors[f"{service}:{operation}:{error}"] += 1
                    counter.refused_units += units
                else:
                    counter.units += units
            return answer

        def invoke(name_or_arn: str, event: Any) -> Any:
            watched = self.runtime.spec(name_or_arn).name == counter.function_name
            if not watched:
                return original_invoke(name_or_arn, event)
            with counter.lock:
                counter.active.add(threading.get_ident())
            try:
                result = original_invoke(name_or_arn, event)
            finally:
                with counter.lock:
                    counter.active.discard(threading.get_ident())
            with counter.lock:
                counter.tasks[str(event.get("task")) + (":failed" if result.failed else "")] += 1
                counter.invocation_ms += result.duration_ms
            return result

        original_invoke = self.runtime.invoke
        endpoint_cls.make_request = make_request
        self.runtime.invoke = invoke  # moto's Lambda looks it up on the instance at each call
        try:
            yield self
        finally:
            endpoint_cls.make_request = original_make_request
            del self.runtime.invoke


# -------------------------------------------------------------------------------------------- seeding
def seed_catalog(cloud: Any) -> dict[str, Any]:
    """As tests/e2e/test_invoices.py does, through the operator API: a sum meter, a plan at 3000 a month plus a
    graduated usage price (the first 1000 tokens free, then 0.5 a token), an 8.25% exclusive tax rate."""
    from tests.support import answered, call, signup, table
    from wrapper.catalog.seed_data import seed_catalog as demo_catalog
    from wrapper.identity.operators import grant_operator

    demo_catalog(table(cloud))  # the default plan dunning cancels back to
    op = signup(cloud, "Bench operator")
    grant_operator(table(cloud), op["user_id"])
    answered(call(cloud, "POST", "/v1/admin/meters", op, body={
        "code": METER, "event_name": EVENT, "aggregation": "sum", "property": "tokens"}), 201)
    plan = answered(call(cloud, "POST", "/v1/admin/plans", op, body={"code": PLAN, "name": "Bench metered"}), 201)
    fee = answered(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body={
        "interval": {"unit": "month"}, "spec": {"model": "flat", "currency": "USD", "flat_amount": 3000}}), 201)
    answered(call(cloud, "POST", f"/v1/admin/plans/{plan['id']}/prices", op, body={
        "interval": {"unit": "month"}, "spec": {
            "model": "graduated", "currency": "USD", "meter": METER,
            "tiers": [{"up_to": 1000, "unit_amount": "0"}, {"up_to": None, "unit_amount": "0.5"}]}}), 201)
    answered(call(cloud, "POST", "/v1/admin/tax-rates", op, body={
        "name": "Sales tax", "percentage": "8.25", "inclusive": False, "country": "US", "region": REGION}), 201)
    return {"plan_id": plan["id"], "price_id": fee["id"]}


class Seeder:
    """N tenants whose monthly period ends on one day, written through the layer's stores."""

    def __init__(self, cloud: Any, catalog: dict[str, Any], start: datetime, end: datetime) -> None:
        import requests

        from tests.support import table
        from wrapper.catalog.store import Catalog
        from wrapper.catalog.view import CatalogView
        from wrapper.subscriptions.store import SubscriptionStore
        from wrapper.usage.service import Usage
        from wrapper.usage.store import UsageStore

        self.table = table(cloud)
        self.store = SubscriptionStore(self.table, outbox_ttl_days=7)
        self.catalog, self.start, self.end = catalog, start, end
        self.stripe_url = cloud.stripe.url
        self.http = requests.Session()
        self.http.auth = (cloud.config.secrets["StripeSecretKeyParameter"], "")
        self.subscriptions: dict[str, Any] = {}
        self.usage = Usage(UsageStore(self.table), CatalogView(Catalog(self.table)),
                           lambda tenant: self.subscriptions[tenant.tenant_id])

    def tenant(self, index: int, *, card: bool) -> None:
        from wrapper.kernel.actor import Actor
        from wrapper.kernel.permissions import Permission
        from wrapper.kernel.tenant import TenantContext
        from wrapper.store.schema import BILLING_SK, PROFILE_SK
        from wrapper.store.table import put_op
        from wrapper.subscriptions.models import Subscription
        from wrapper.tenancy.profile import Address, BillingDetails

        tenant = TenantContext(f"bench{SUFFIX}{index:05d}")
        at = self.start.isoformat()
        details = BillingDetails(legal_name=f"Bench {index} Inc.", address=Address(country="US", region=REGION))
        subscription = Subscription(
            id=f"sub_bench{SUFFIX}{index:05d}", tenant_id=tenant.tenant_id, plan_id=self.catalog["plan_id"],
            plan_code=PLAN, price_id=self.catalog["price_id"], interval="month", currency="USD", seats=1,
            status="active", anchor=self.start, timezone="UTC", current_period_start=self.start,
            current_period_end=self.end, created_at=self.start, updated_at=self.start, version=1)
        self.subscriptions[tenant.tenant_id] = subscription
        operations = [put_op({"PK": tenant.pk, "SK": PROFILE_SK, "record_type": "tenant",
                              "tenant_id": tenant.tenant_id, "name": f"Bench {index}", "timezone": "UTC",
                              "billing_email": f"billing{index}@bench.example", "status": "active",
                              "plan_tier": "paid", "created_at": at, "version": 1,
                              "billing_details": details.model_dump_json()}),
                      *self.store.save_ops(subscription, expected_version=None)]
        if card:
            customer = self._stripe("/v1/customers", {"email": f"billing{index}@bench.example",
                                                       "metadata[tenant_id]": tenant.tenant_id})["id"]
            method = self._stripe("/v1/payment_methods", {
                "type": "card", "card[number]": "4242424242424242", "card[exp_month]": "12",
                "card[exp_year]": str(self.end.year + 2), "card[cvc]": "123"})["id"]
            self._stripe(f"/v1/payment_methods/{method}/attach", {"customer": customer})
            operations.append(put_op({"PK": tenant.pk, "SK": BILLING_SK, "record_type": "billing",
                                      "stripe_customer_id": customer, "default_payment_method": method,
                                      "created_at": int(self.start.timestamp())}))
        self.store.write(operations, [])
        # 500 to 2999 tokens: some under the free first 1000, most across the tier edge.
        actor = Actor(tenant=tenant, user_id="bench", permissions=frozenset({Permission.USAGE_WRITE}))
        self.usage.ingest(actor, [{"event_id": f"bench-{index}", "name": EVENT,
                                   "timestamp": (self.start + timedelta(hours=12)).isoformat(),
                                   "properties": {"tokens": 500 + (index * 137) % 2500}}])

    def _stripe(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        answer = self.http.post(f"{self.stripe_url}{path}", data=form, timeout=20)
        answer.raise_for_status()
        body: dict[str, Any] = answer.json()
        return body


# --------------------------------------------------------------------------------------------- the run
def billing_run(cloud: Any, calls: BillingCalls, day: date) -> dict[str, Any]:
    """Fire the daily schedule for ``day``, wait for the execution and count what it did."""
    from tests.support import start_billing

    sfn = cloud.client("stepfunctions")
    calls.reset()
    started = time.perf_counter()
    arn = start_billing(cloud, datetime(day.year, day.month, day.day, 2, tzinfo=UTC))
    while (execution := sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
        time.sleep(0.5)
    wall = time.perf_counter() - started
    events: list[dict[str, Any]] = []
    token: dict[str, str] = {}
    while True:
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000, **token)
        events += page["events"]
        if not page.get("nextToken"):
            break
        token = {"nextToken": page["nextToken"]}
    kinds = Counter(str(e["type"]) for e in events)
    # Each task's answer, from the history: a run that failed (States.DataLimitExceeded) has no output.
    answers = [json.loads(e["taskSucceededEventDetails"]["output"]).get("Payload") or {}
               for e in events if e["type"] == "TaskSucceeded"]
    results = [a for a in answers if "step" in a]
    planned = next((int(a["count"]) for a in answers if "count" in a), 0)
    invoices = sum(1 for r in results if r.get("invoice_id"))
    payloads: dict[str, int] = {}  # the largest input or output each kind of event carried
    for event in events:
        for key, details in event.items():
            if key.endswith("EventDetails") and isinstance(details, dict):
                size = max(len(str(details.get(part) or "").encode()) for part in ("input", "output"))
                payloads[str(event["type"])] = max(payloads.get(str(event["type"]), 0), size)
    transitions = sum(c for kind, c in kinds.items() if kind.endswith("StateEntered"))
    per_invoice = max(invoices, 1)
    return {
        "status": execution["status"],
        "error": execution.get("error"), "cause": (execution.get("cause") or "")[:500] or None,
        "wall_seconds": _r(wall),
        "execution_seconds": _r((execution["stopDate"] - execution["startDate"]).total_seconds()),
        "items_planned": planned,
        "invoices": invoices,
        "outcomes": dict(Counter(str(r.get("status")) for r in results)),
        "pdfs_stored": sum(1 for r in results if r.get("pdf_stored")),
        "history_events": len(events),
        "history_events_by_type": dict(sorted(kinds.items())),
        "transitions_total": transitions,
        "transitions_per_item": _r(transitions / planned) if planned else None,
        "largest_payload_bytes_by_event": {k: v for k, v in sorted(payloads.items(), key=lambda kv: -kv[1])
                                           if v >= 1024},
        "over_aws_payload_limit": max(payloads.values(), default=0) > PAYLOAD_LIMIT,
        "function_invocations": dict(calls.tasks),
        "function_ms_per_invoice": _r(calls.invocation_ms / per_invoice),
        "aws_calls": dict(sorted(calls.calls.items())),
        "aws_calls_total": sum(calls.calls.values()),
        "aws_calls_per_invoice": {k: _r(v / per_invoice) for k, v in sorted(calls.calls.items())},
        "aws_call_errors": dict(sorted(calls.errors.items())),
        "write_units": calls.units,
        "write_units_per_invoice": _r(calls.units / per_invoice),
        "refused_write_units": calls.refused_units,
    }


def concurrent_bills(cloud: Any, calls: BillingCalls, function_name: str, items: list[dict[str, Any]], day: date,
                     threads: int) -> dict[str, Any]:
    """The billing task of every subscription due on ``day``, called from ``threads`` threads at once in this
    process (the billing-run function's own objects, without its PDF step): as the Map's concurrent Lambdas would
    on AWS, where the local cloud's one-invocation-at-a-time runtime cannot. Shows the invoice-number counter's
    contention: each invoice's transaction is conditioned on the series counter it read."""
    from wrapper.billing import run as billing

    module = cloud.runtime.module(function_name)
    request = billing.RunInput(run_date=day)
    failures: Counter[str] = Counter()

    def bill(item: dict[str, Any]) -> dict[str, Any]:
        with calls.lock:
            calls.active.add(threading.get_ident())
        try:
            result: dict[str, Any] = billing.bill(item, request, module.period_ends)
            return result
        except Exception as exc:  # on AWS: the Bill task fails, and with it the Map
            with calls.lock:
                failures[f"{type(exc).__name__}: {exc}"[:160]] += 1
            return {"status": "raised"}
        finally:
            with calls.lock:
                calls.active.discard(threading.get_ident())

    calls.reset()
    before = invoice_counter(cloud, day.year)
    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(bill, items))
    wall = time.perf_counter() - started
    invoices = sum(1 for r in results if r.get("invoice_id"))
    transactions = calls.calls["dynamodb:TransactWriteItems"]
    refused = sum(c for k, c in calls.errors.items() if k.startswith("dynamodb:TransactWriteItems:"))
    return {
        "threads": threads, "subscriptions": len(items), "wall_seconds": _r(wall), "invoices": invoices,
        "outcomes": dict(Counter(str(r.get("status")) for r in results)), "exceptions": dict(failures),
        "invoice_numbers_taken": invoice_counter(cloud, day.year) - before,
        "transact_write_items": transactions, "refused_transactions": refused,
        "refused_transactions_per_invoice": _r(refused / max(invoices, 1)),
        "aws_calls_per_invoice": _r(sum(calls.calls.values()) / max(invoices, 1)),
        "write_units_per_invoice": _r(calls.units / max(invoices, 1)),
        "refused_write_units": calls.refused_units,
    }


def quiet(runtime: Any, *, still: float = 5.0, limit: float = 900.0) -> float:
    """Wait until no function has run for ``still`` seconds (the local Stripe server's webhooks for the seeded
    customers and cards, and the outbox after them, are delivered behind the seeding); answers the wait."""
    began = time.perf_counter()
    seen, since = -1, began
    while time.perf_counter() - began < limit:
        count = sum(runtime.invocations.values())
        if count != seen:
            seen, since = count, time.perf_counter()
        elif time.perf_counter() - since >= still:
            break
        time.sleep(0.5)
    return time.perf_counter() - began


def invoice_counter(cloud: Any, year: int) -> int:
    from tests.support import table
    from wrapper.invoices.store import DEFAULT_NUMBER_PREFIX
    from wrapper.store.schema import COUNTER_SK, invoice_series_pk

    item = table(cloud).get(invoice_series_pk(f"{DEFAULT_NUMBER_PREFIX}-{year}"), COUNTER_SK)
    return int(item["last"]) if item else 0


def payment_intents() -> int:
    import localstripe.resources as ls

    for _ in range(10):  # the local Stripe server's thread may add to its store meanwhile
        try:
            return sum(1 for key in list(ls.store) if str(key).startswith("payment_intent:"))
        except RuntimeError:
            time.sleep(0.1)
    raise RuntimeError("the local Stripe store kept changing")


def run(args: argparse.Namespace) -> dict[str, Any]:
    from localcloud import clock
    from localcloud.server import LocalCloud, LocalCloudConfig

    began = time.perf_counter()
    log.info("starting the local cloud")
    cloud = LocalCloud(LocalCloudConfig(api_port=0, aws_port=0, stripe_port=0)).start()
    try:
        assert cloud.stack is not None and cloud.runtime is not None
        # Years ahead, so the day is due for these subscriptions only; the clock follows (usage must be recent).
        start = datetime(datetime.now(UTC).year + 9, 8, 3, tzinfo=UTC)
        end = datetime(start.year, 9, 3, tzinfo=UTC)
        clock.set_to(start + timedelta(days=1, hours=1))
        catalog = seed_catalog(cloud)
        seeder = Seeder(cloud, catalog, start, end)
        n = args.subscriptions
        without = round(n * args.no_card_share)
        cards = [i >= without for i in range(n)]
        log.info("seeding %d subscriptions due %s (%d without a card)", n, end.date(), without)
        seeded = time.perf_counter()
        with ThreadPoolExecutor(args.seed_threads) as pool:
            for done, _ in enumerate(pool.map(lambda i: seeder.tenant(i, card=cards[i]), range(n)), 1):
                if done % 250 == 0:
                    log.info("seeded %d", done)
        seed_seconds = time.perf_counter() - seeded
        # The concurrency probe's subscriptions: due the day after, all with a card.
        probe = Seeder(cloud, catalog, start + timedelta(days=1), end + timedelta(days=1))
        probe_n = min(args.probe_subscriptions, n) if args.probe_threads else 0
        with ThreadPoolExecutor(args.seed_threads) as pool:
            list(pool.map(lambda i: probe.tenant(n + i, card=True), range(probe_n)))
        quiet_seconds = quiet(cloud.runtime)
        clock.set_to(end + timedelta(hours=2))

        function_name = cloud.runtime.spec(cloud.stack.resources[FUNCTION].ref).name
        counter_before, intents_before = invoice_counter(cloud, end.year), payment_intents()
        with BillingCalls(cloud.runtime, function_name).installed() as calls:
            log.info("billing run for %s", end.date())
            first = billing_run(cloud, calls, end.date())
            counter_after, intents_after = invoice_counter(cloud, end.year), payment_intents()
            log.info("first run: %s in %.1fs; running the same day again", first["status"], first["wall_seconds"])
            second = billing_run(cloud, calls, end.date())
            counter_again, intents_again = invoice_counter(cloud, end.year), payment_intents()
            concurrent = None
            if probe_n:
                log.info("concurrency probe: %d subscriptions due %s billed from %d threads", probe_n,
                         (end + timedelta(days=1)).date(), args.probe_threads)
                # moto's index Query reads the whole table unlocked: let the outbox's writes finish first.
                quiet(cloud.runtime)
                items = [{"tenant_id": t, "subscription_id": s.id} for t, s in probe.subscriptions.items()]
                concurrent = concurrent_bills(cloud, calls, function_name, items, (end + timedelta(days=1)).date(),
                                              args.probe_threads)
    finally:
        log.info("stopping the local cloud")
        cloud.stop()

    def counts(before: int, after: int, intents: int) -> dict[str, int]:
        return {"invoice_numbers_taken": after - before, "payment_intents_created": intents}

    first.update(counts(counter_before, counter_after, intents_after - intents_before))
    second.update(counts(counter_after, counter_again, intents_again - intents_after))
    return {
        "benchmark": "billing_run",
        "subscriptions": n,
        "with_card": n - without,
        "without_card": without,
        "run_date": end.date().isoformat(),
        "seed_seconds": _r(seed_seconds),
        "seed_quiet_seconds": _r(quiet_seconds),
        "status": first["status"],
        "invoices": first["invoices"],
        "outcomes": first["outcomes"],
        "wall_seconds": first["wall_seconds"],
        "transitions_total": first["transitions_total"],
        "transitions_per_subscription": _r(first["transitions_total"] / n),
        "aws_calls_per_invoice": first["aws_calls_per_invoice"],
        "aws_calls_total_per_invoice": _r(first["aws_calls_total"] / max(first["invoices"], 1)),
        "write_units_per_invoice": first["write_units_per_invoice"],
        "first_run": first,
        "second_run": second,
        "concurrent_bill_tasks": concurrent,
        "method": {
            "transitions": "StateEntered events of GetExecutionHistory (every state entered, Map iterations "
                           "included); history_events counts every event",
            "aws_calls": "botocore Endpoint.make_request while the billing-run function runs (its thread only: "
                         "the outbox function and the local cloud's pollers are left out), divided by invoices",
            "write_units": "estimated from the request items, DynamoDB's rules: 1 per started KB of a put, "
                           "1 per update or delete, twice that for every part of a transaction (condition "
                           "checks included); refused writes apart (moto reports no consumed capacity)",
            "wall_seconds": "from StartExecution until DescribeExecution answers it stopped (polled every 0.5 s), "
                            "after the seeding's webhooks have been delivered; it includes what the local cloud "
                            "runs meanwhile in the same process: the Stripe webhooks of the charges, the outbox "
                            "and audit functions for the run's events",
            "local_concurrency": "the local cloud runs one function invocation at a time (FunctionRuntime's "
                                 "lock), so the Map's MaxConcurrency does not make the billing tasks overlap; "
                                 "concurrent_bill_tasks calls the task from threads instead",
        },
        "machine": machine(),
        "total_seconds": _r(time.perf_counter() - began),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--subscriptions", type=int, default=2000, help="subscriptions due (default 2000)")
    parser.add_argument("--no-card-share", type=float, default=0.1,
                        help="share of tenants without a saved card: past_due and dunning (default 0.1)")
    parser.add_argument("--probe-threads", type=int, default=10,
                        help="threads of the concurrency probe, the Map's MaxConcurrency (default 10; 0: no probe)")
    parser.add_argument("--probe-subscriptions", type=int, default=200,
                        help="subscriptions the probe bills, at most --subscriptions (default 200)")
    parser.add_argument("--seed-threads", type=int, default=4, help="threads seeding tenants (default 4)")
    args = parser.parse_args()
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.chdir(REPO)
    sys.path.insert(0, str(REPO))  # tests.support
    report_json(lambda: run(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
