"""The local Stripe server: localstripe, extended with what it lacks and we call, in a background thread.

The official SDK talks HTTP to it (``base_addresses={"api": server.url}``), so Checkout → webhook → paid runs
offline. Any API key of the form ``sk_...`` is accepted.

localstripe's (served as localstripe serves them):
  /v1/customers, /v1/payment_methods (+ /attach, /detach), /v1/setup_intents (+ /confirm, /cancel),
  /v1/payment_intents/{id} (+ /confirm, /cancel, /capture), /v1/charges, /v1/refunds, /v1/events,
  /v1/invoices, /v1/subscriptions, /v1/plans, /v1/products, /v1/coupons, /v1/tax_rates, /v1/balance...,
  POST /_config/webhooks/{id} (url, secret[, events]) registers a webhook endpoint,
  DELETE /_config/data forgets every object.
Ours:
  POST /v1/checkout/sessions          mode setup|payment, customer, success_url, cancel_url, currency,
                                      metadata[...], line_items[n][price_data][...], setup_intent_data[...],
                                      payment_intent_data[...] → a ``checkout.session`` (url on this server)
  GET  /v1/checkout/sessions/{id}
  POST /v1/billing_portal/sessions    customer, return_url → a ``billing_portal.session`` (url on this server)
  POST /_local/checkout/sessions/{id}/complete   [card=<test card number>, default 4242424242424242]:
       what the customer does on the hosted page. setup → the card is attached to the customer and a
       SetupIntent succeeds; payment → a PaymentIntent is confirmed on the card (and the card kept when
       payment_intent_data[setup_future_usage] was asked). Then signed webhooks go to every registered
       endpoint: checkout.session.completed, payment_method.attached, setup_intent.succeeded or
       payment_intent.succeeded. A declining card (4000000000000002, and localstripe's other decline cards)
       answers 402 card_declined, leaves the session open and sends setup_intent.setup_failed or
       payment_intent.payment_failed.
  GET  /_local/checkout/{id}, /_local/billing_portal/{id}   the pages those URLs open (minimal HTML)
  POST /_local/faults                 method, path, status[, times=1, should_retry, retry_after]: the next
                                      ``times`` requests to that path answer ``status`` (429/5xx drills)
  POST /v1/payment_intents            replaces localstripe's to also take description and setup_future_usage
  Idempotency-Key on every POST: the first answer is replayed (``Idempotent-Replayed: true``), a different
  request under the same key answers 400 idempotency_error — localstripe ignores the header.
Changes to localstripe's behaviour (in this process, not in site-packages): the cards it declines when
attached also decline when charged (as on Stripe); 402 errors say ``card_error``; events carry the SDK's
API version, ``pending_webhooks`` and ``request``; its store stays in memory instead of being pickled to
/tmp after every write. localstripe keeps its objects and webhook registry in module globals, so every
LocalStripe in one process shares them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import html
import itertools
import json
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import stripe
from aiohttp import web
from localstripe import resources as ls
from localstripe import server as ls_server
from localstripe import webhooks as ls_webhooks
from localstripe.errors import UserError

from localcloud.patches import PATCHES

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

DEFAULT_CARD = "4242424242424242"
_SESSION_LIFETIME_SECONDS = 24 * 3600
# Routes of localstripe that ours replace.
_REPLACED = {("POST", "/v1/payment_intents")}


@dataclass
class Fault:
    method: str
    path: str
    status: int
    remaining: int
    should_retry: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    idempotency_key: str | None
    status: int


@dataclass
class _Reply:
    fingerprint: str
    status: int
    body: bytes


@dataclass
class _IdempotencyCache:
    replies: dict[tuple[str, str], _Reply] = field(default_factory=dict)
    locks: dict[tuple[str, str], asyncio.Lock] = field(default_factory=dict)


class _CheckoutSession(ls.StripeObject):
    object = "checkout.session"
    _id_prefix = "cs_test_"

    def __init__(self, fields: dict[str, Any], payment_intent_data: dict[str, Any],
                 setup_intent_data: dict[str, Any]) -> None:
        super().__init__()
        for key, value in fields.items():
            setattr(self, key, value)
        self._payment_intent_data = payment_intent_data
        self._setup_intent_data = setup_intent_data


class _PortalSession(ls.StripeObject):
    object = "billing_portal.session"
    _id_prefix = "bps_"

    def __init__(self, fields: dict[str, Any]) -> None:
        super().__init__()
        for key, value in fields.items():
            setattr(self, key, value)


def _checkout_fields(mode: str, customer: Any, currency: str | None, amount: int | None,
                     data: dict[str, Any]) -> dict[str, Any]:
    """Every field of Stripe's ``checkout.session`` (fixtures3.json), with what an open session holds."""
    return {
        "adaptive_pricing": {"enabled": False}, "after_expiration": None, "allow_promotion_codes": None,
        "amount_subtotal": amount, "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "status": None, "provider": None},
        "billing_address_collection": None, "cancel_url": data.get("cancel_url"),
        "client_reference_id": data.get("client_reference_id"), "client_secret": None,
        "collected_information": None, "consent": None, "consent_collection": None,
        "currency": currency, "currency_conversion": None, "custom_fields": [],
        "custom_text": {"after_submit": None, "shipping_address": None, "submit": None,
                        "terms_of_service_acceptance": None},
        "customer": customer.id, "customer_account": None, "customer_creation": None,
        "customer_details": None, "customer_email": None, "discounts": [],
        "expires_at": int(time.time()) + _SESSION_LIFETIME_SECONDS, "integration_identifier": None,
        "invoice": None, "invoice_creation": None, "locale": None, "managed_payments": {"enabled": False},
        "metadata": dict(data.get("metadata") or {}), "mode": mode, "origin_context": None,
        "payment_intent": None, "payment_link": None, "payment_method_collection": "always",
        "payment_method_configuration_details": None, "payment_method_options": {},
        "payment_method_types": list(data.get("payment_method_types") or ["card"]),
        "payment_status": "no_payment_required" if mode == "setup" else "unpaid",
        "permissions": None, "phone_number_collection": {"enabled": False}, "recovered_from": None,
        "saved_payment_method_options": None, "setup_intent": None, "shipping_address_collection": None,
        "shipping_cost": None, "shipping_options": [], "status": "open", "submit_type": None,
        "subscription": None, "success_url": data.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0} if amount else None,
        "ui_mode": "hosted", "url": None, "wallet_options": None,
    }


_CHECKOUT_PARAMS = {"mode", "customer", "success_url", "cancel_url", "currency", "metadata", "line_items",
                    "payment_method_types", "setup_intent_data", "payment_intent_data", "client_reference_id",
                    "expand"}


def _bad(message: str, param: str | None = None) -> UserError:
    return UserError(400, message, {"param": param} if param else None)


def _as_int(value: Any, param: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise _bad(f"Invalid integer: {value}", param) from None
    if number < 0:
        raise _bad("This value must be greater than or equal to 0.", param)
    return number


def _line_items_total(items: Any) -> tuple[int, str]:
    if not isinstance(items, list) or not items:
        raise _bad("line_items is required in payment mode", "line_items")
    total, currencies = 0, set()
    for index, item in enumerate(items):
        price = item.get("price_data") if isinstance(item, dict) else None
        if not isinstance(price, dict) or not price.get("currency"):
            raise _bad("Only line_items[][price_data] with a currency is supported", f"line_items[{index}]")
        total += _as_int(price.get("unit_amount"), f"line_items[{index}][price_data][unit_amount]") * _as_int(
            item.get("quantity", 1), f"line_items[{index}][quantity]")
        currencies.add(str(price["currency"]).lower())
    if len(currencies) != 1:
        raise _bad("All line items must share one currency", "line_items")
    return total, currencies.pop()


class LocalStripe:
    """localstripe plus our extension, served from a background thread: ``start()``, ``url``, ``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port
        self.requests: list[RecordedRequest] = []
        self._faults: list[Fault] = []
        self._faults_lock = threading.Lock()
        self._webhook_ids: list[str] = []
        self._webhook_numbers = itertools.count(1)
        self._cache = _IdempotencyCache()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> LocalStripe:
        _extend_localstripe()
        app = self._app()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        self.port = sock.getsockname()[1]
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        failure: list[BaseException] = []

        def serve() -> None:
            asyncio.set_event_loop(loop)
            runner = web.AppRunner(app, access_log=None)
            try:
                loop.run_until_complete(runner.setup())
                loop.run_until_complete(web.SockSite(runner, sock).start())
            except BaseException as exc:  # handed to start() in the caller's thread
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            # Webhooks still waiting to be sent die with the server.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(runner.cleanup())
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=serve, name=f"local-stripe-{self.port}", daemon=True)
        self._thread.start()
        if not ready.wait(10) or failure:
            raise RuntimeError("the local Stripe server did not start") from (failure[0] if failure else None)
        return self

    def stop(self) -> None:
        for webhook_id in self._webhook_ids:
            ls_webhooks._webhooks.pop(webhook_id, None)
        self._webhook_ids.clear()
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop = self._thread = None

    def __enter__(self) -> LocalStripe:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def register_webhook(self, url: str, secret: str, events: list[str] | None = None) -> str:
        """Send every event (or only ``events``) to ``url``, signed with ``secret``; answer the endpoint's id."""
        webhook_id = f"local-{self.port}-{next(self._webhook_numbers)}"
        ls_webhooks.register_webhook(webhook_id, url, secret, events)
        self._webhook_ids.append(webhook_id)
        return webhook_id

    def fail_next(self, method: str, path: str, status: int, *, times: int = 1, should_retry: bool | None = None,
                  retry_after: int | None = None) -> None:
        """Answer the next ``times`` ``method path`` requests with ``status`` (and Stripe-Should-Retry if given)."""
        hint = None if should_retry is None else str(should_retry).lower()
        with self._faults_lock:
            self._faults.append(Fault(method.upper(), path, status, times, hint, retry_after))

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in list(self.requests) if r.method == method.upper() and r.path == path]

    # -- the aiohttp application ------------------------------------------------------------------------------

    def _app(self) -> web.Application:
        app = web.Application(middlewares=[self._record, self._inject_faults, _card_errors,
                                           ls_server.error_middleware, _authenticate, self._idempotent])
        app.on_response_prepare.append(ls_server.add_cors_headers)
        app.router.add_post("/v1/checkout/sessions", _create_checkout_session)
        app.router.add_get("/v1/checkout/sessions/{id}", _retrieve_checkout_session)
        app.router.add_post("/v1/billing_portal/sessions", _create_portal_session)
        app.router.add_post("/v1/payment_intents", _create_payment_intent)
        app.router.add_post("/_local/checkout/sessions/{id}/complete", _complete_checkout_session)
        app.router.add_get("/_local/checkout/{id}", _checkout_page)
        app.router.add_get("/_local/billing_portal/{id}", _portal_page)
        app.router.add_post("/_local/faults", self._add_fault)
        for route in ls_server.app.router.routes():
            path = route.resource.canonical if route.resource is not None else None
            if path is None or route.method == "HEAD" or (route.method, path) in _REPLACED:
                continue
            app.router.add_route(route.method, path, route.handler)
        return app

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        self.requests.append(RecordedRequest(request.method, request.path, request.headers.get("Idempotency-Key"),
                                             response.status))
        return response

    @web.middleware
    async def _inject_faults(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        with self._faults_lock:
            fault = next((f for f in self._faults if f.remaining > 0 and f.method == request.method
                          and f.path == request.path), None)
            if fault is not None:
                fault.remaining -= 1
        if fault is None:
            return await handler(request)
        headers = {}
        if fault.should_retry is not None:
            headers["Stripe-Should-Retry"] = fault.should_retry
        if fault.retry_after is not None:
            headers["Retry-After"] = str(fault.retry_after)
        kind = "rate_limit_error" if fault.status == 429 else "api_error"
        return ls_server.json_response({"error": {"type": kind, "message": f"injected {fault.status}"}},
                                       status=fault.status, headers=headers)

    @web.middleware
    async def _idempotent(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or not key:
            return await handler(request)
        scope = (request.headers.get("Authorization", ""), key)
        fingerprint = hashlib.sha256(f"{request.method} {request.path} ".encode() + await request.read()).hexdigest()
        lock = self._cache.locks.setdefault(scope, asyncio.Lock())
        async with lock:
            reply = self._cache.replies.get(scope)
            if reply is not None:
                if reply.fingerprint != fingerprint:
                    raise UserError(400, "Keys for idempotent requests can only be used with the same parameters "
                                         "they were first used with.", {"type": "idempotency_error"})
                return web.Response(status=reply.status, body=reply.body, content_type="application/json",
                                    headers={"Idempotent-Replayed": "true", "Idempotency-Key": key})
            try:
                response = await handler(request)
            except UserError as exc:
                response = exc.to_response()
            # Stripe keeps the first answer, errors included, except those a retry is meant to get past.
            if response.status < 500 and response.status != 429:
                self._cache.replies[scope] = _Reply(fingerprint, response.status, _body(response))
            return response

    async def _add_fault(self, request: web.Request) -> web.StreamResponse:
        data = await ls_server.get_post_data(request) or {}
        try:
            hint = data.get("should_retry")
            self.fail_next(str(data["method"]), str(data["path"]), int(data["status"]),
                           times=int(data.get("times", 1)),
                           should_retry=None if hint is None else hint == "true",
                           retry_after=int(data["retry_after"]) if "retry_after" in data else None)
        except (KeyError, ValueError) as exc:
            raise _bad(f"method, path and status are required: {exc}") from None
        return web.Response(status=204)




def _extend_localstripe() -> None:
    """Bring localstripe closer to Stripe where we rely on it (once per process, until the local cloud stops)."""
    if not PATCHES.first("localstripe: closer to Stripe"):
        return
    # Every object write would pickle the whole store to /tmp: pointless here, and racy across processes.
    PATCHES.replace(ls.store, "dump_to_disk", lambda: None)
    # localstripe declines 4000000000000002 & co. only when they are attached; Stripe declines charges on them.
    charging_is_declined = ls.PaymentMethod._charging_is_declined
    PATCHES.replace(ls.PaymentMethod, "_charging_is_declined",
                    lambda pm: charging_is_declined(pm) or pm._attaching_is_declined())
    event_init = ls.Event.__init__

    def stripe_shaped_event(event: Any, type: str, data: Any) -> None:
        event_init(event, type, data)
        event.api_version = stripe.api_version
        event.pending_webhooks = len(ls_webhooks._webhooks)
        event.request = {"id": None, "idempotency_key": None}

    PATCHES.replace(ls.Event, "__init__", stripe_shaped_event)


@web.middleware
async def _authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
    # The hosted pages and the "customer completes Checkout" action are what a browser does: no API key.
    if request.path.startswith("/_local/"):
        return await handler(request)
    response: web.StreamResponse = await ls_server.auth_middleware(request, handler)
    return response


@web.middleware
async def _card_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    # localstripe types every error invalid_request_error; Stripe types declines card_error.
    response = await handler(request)
    if response.status == 402 and _body(response):
        body = json.loads(_body(response))
        error = body.get("error", {})
        error["type"] = "card_error"
        if error.get("code") == "card_declined":
            error.setdefault("decline_code", "generic_decline")
        # Stripe names the failed PaymentIntent in the error: that is what the caller refunds or retries.
        charge = ls.store.get(f"charge:{error.get('charge')}")
        if charge is not None and charge.payment_intent and "payment_intent" not in error:
            error["payment_intent"] = ls.PaymentIntent._api_retrieve(charge.payment_intent)._export()
        return ls_server.json_response(body, status=402, headers={
            k: v for k, v in response.headers.items() if k.lower() in ("idempotent-replayed", "idempotency-key")})
    return response


def _body(response: web.StreamResponse) -> bytes:
    body = response.body if isinstance(response, web.Response) else None
    return bytes(body) if isinstance(body, bytes | bytearray) else b""


def _origin(request: web.Request) -> str:
    return str(request.url.origin())


async def _create_checkout_session(request: web.Request) -> web.StreamResponse:
    data = await ls_server.get_post_data(request) or {}
    unknown = set(data) - _CHECKOUT_PARAMS
    if unknown:
        raise _bad(f"Received unknown parameter: {sorted(unknown)[0]}", sorted(unknown)[0])
    mode = data.get("mode")
    if mode not in ("setup", "payment"):
        raise _bad("mode must be setup or payment (subscription is not served locally)", "mode")
    if not isinstance(data.get("customer"), str):
        raise _bad("customer is required", "customer")
    customer = ls.Customer._api_retrieve(data["customer"])
    if not isinstance(data.get("success_url"), str):
        raise _bad("success_url is required", "success_url")
    for nested in ("metadata", "setup_intent_data", "payment_intent_data"):
        if nested in data and not isinstance(data[nested], dict):
            raise _bad(f"Invalid object: {nested}", nested)
    amount: int | None = None
    currency = str(data["currency"]).lower() if data.get("currency") else None
    if mode == "payment":
        amount, currency = _line_items_total(data.get("line_items"))
    elif "line_items" in data:
        raise _bad("line_items cannot be used in setup mode", "line_items")
    session = _CheckoutSession(_checkout_fields(mode, customer, currency, amount, data),
                               payment_intent_data=dict(data.get("payment_intent_data") or {}),
                               setup_intent_data=dict(data.get("setup_intent_data") or {}))
    session.url = f"{_origin(request)}/_local/checkout/{session.id}"
    return ls_server.json_response(session._export())


async def _retrieve_checkout_session(request: web.Request) -> web.StreamResponse:
    return ls_server.json_response(_CheckoutSession._api_retrieve(request.match_info["id"])._export())


async def _create_portal_session(request: web.Request) -> web.StreamResponse:
    data = await ls_server.get_post_data(request) or {}
    unknown = set(data) - {"customer", "return_url", "locale", "expand"}
    if unknown:
        raise _bad(f"Received unknown parameter: {sorted(unknown)[0]}", sorted(unknown)[0])
    if not isinstance(data.get("customer"), str):
        raise _bad("customer is required", "customer")
    customer = ls.Customer._api_retrieve(data["customer"])
    session = _PortalSession({"configuration": "bpc_local", "customer": customer.id, "flow": None,
                              "locale": data.get("locale"), "on_behalf_of": None,
                              "return_url": data.get("return_url"), "url": None, "customer_account": None})
    session.url = f"{_origin(request)}/_local/billing_portal/{session.id}"
    return ls_server.json_response(session._export())


async def _create_payment_intent(request: web.Request) -> web.StreamResponse:
    data = await ls_server.get_post_data(request) or {}
    data.pop("expand", None)
    # localstripe's PaymentIntent takes neither; Stripe does, and the adapter sends the description.
    description = data.pop("description", None)
    setup_future_usage = data.pop("setup_future_usage", None)
    confirm = ls.try_convert_to_bool(data.pop("confirm", None))
    off_session = ls.try_convert_to_bool(data.pop("off_session", None))
    if off_session is not None and confirm is not True:
        raise _bad("off_session can only be used with confirm=true", "off_session")
    intent = ls.PaymentIntent(**data)
    intent.description = description
    intent.setup_future_usage = setup_future_usage
    if confirm:
        intent._confirm(on_failure_now=intent._report_failure)
    return ls_server.json_response(intent._export())


def _send(event_type: str, obj: Any) -> None:
    ls_webhooks.schedule_webhook(ls.Event(event_type, obj))


def _test_card(number: str) -> Any:
    return ls.PaymentMethod(type="card", card={"number": number, "exp_month": "12", "exp_year": "2034",
                                               "cvc": "123"})


async def _complete_checkout_session(request: web.Request) -> web.StreamResponse:
    session = _CheckoutSession._api_retrieve(request.match_info["id"])
    if session.status != "open":
        raise _bad(f"This Checkout Session is {session.status}, not open")
    data = await ls_server.get_post_data(request) or {}
    number = str(data.get("card") or DEFAULT_CARD)
    customer = ls.Customer._api_retrieve(session.customer)
    card = _test_card(number)
    card.billing_details = {"email": customer.email, "name": customer.name}
    if session.mode == "setup":
        _complete_setup(session, card)
    else:
        _complete_payment(session, card)
    session.status = "complete"
    session.customer_details = {"email": customer.email, "name": customer.name, "phone": None, "address": None,
                                "tax_exempt": "none", "tax_ids": [], "business_name": None,
                                "individual_name": None}
    _send("checkout.session.completed", session)
    return ls_server.json_response(session._export())


def _complete_setup(session: _CheckoutSession, card: Any) -> None:
    details = session._setup_intent_data
    intent = ls.SetupIntent(customer=session.customer, usage="off_session",
                            metadata=dict(details.get("metadata") or session.metadata))
    intent.description = details.get("description")
    intent.last_setup_error = None
    session.setup_intent = intent.id
    intent.payment_method = card.id
    try:
        ls.PaymentMethod._api_attach(card.id, customer=session.customer)
    except UserError as declined:
        intent.status = "requires_payment_method"
        intent.last_setup_error = {"code": "card_declined", "decline_code": "generic_decline",
                                   "message": "Your card was declined.", "type": "card_error"}
        _send("setup_intent.setup_failed", intent)
        raise declined
    # The customer went through whatever the card asked for (3-D Secure included) on the hosted page.
    intent.status = "succeeded"
    intent.next_action = None
    _send("payment_method.attached", card)
    _send("setup_intent.succeeded", intent)


def _complete_payment(session: _CheckoutSession, card: Any) -> None:
    details = session._payment_intent_data
    intent = ls.PaymentIntent(amount=session.amount_total, currency=session.currency, customer=session.customer,
                              payment_method=card.id, metadata=dict(details.get("metadata") or session.metadata))
    intent.description = details.get("description")
    intent.setup_future_usage = details.get("setup_future_usage")
    session.payment_intent = intent.id
    intent._confirm(on_failure_now=intent._report_failure)  # a decline raises 402 and sends payment_failed
    if intent.next_action:
        intent.next_action = None  # authenticated on the hosted page
        intent._create_charge(on_failure_now=intent._report_failure)
    if intent.setup_future_usage:
        ls.PaymentMethod._api_attach(card.id, customer=session.customer)
        _send("payment_method.attached", card)
    session.payment_status = "paid"


async def _checkout_page(request: web.Request) -> web.StreamResponse:
    session = _CheckoutSession._api_retrieve(request.match_info["id"])
    sid = html.escape(session.id)
    amount = f"{session.amount_total} {session.currency}" if session.amount_total else "nothing now (save a card)"
    return web.Response(content_type="text/html", text=(
        f"<!doctype html><title>Local Checkout</title><h1>Local Checkout</h1><p>Session {sid}: "
        f"{html.escape(session.status)}; pay {html.escape(amount)}.</p>"
        f"<form method=post action='/_local/checkout/sessions/{sid}/complete'>"
        f"<input name=card value='{DEFAULT_CARD}'><button>Complete</button></form>"))


async def _portal_page(request: web.Request) -> web.StreamResponse:
    session = _PortalSession._api_retrieve(request.match_info["id"])
    cards = [pm for key, pm in ls.store.items()
             if key.startswith("payment_method:") and pm.customer == session.customer]
    items = "".join(f"<li>{html.escape(pm.id)} ···· {html.escape(pm.card['last4'])}</li>" for pm in cards)
    back = html.escape(session.return_url or "/")
    return web.Response(content_type="text/html", text=(
        f"<!doctype html><title>Local billing portal</title><h1>Payment methods</h1><ul>{items}</ul>"
        f"<a href='{back}'>Back</a>"))


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the local Stripe server in the foreground.")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = LocalStripe(args.host, args.port).start()
    print(f"local Stripe server on {server.url}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        threading.Event().wait()
    server.stop()


if __name__ == "__main__":
    main()
