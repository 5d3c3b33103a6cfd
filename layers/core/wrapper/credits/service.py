"""What the credit API does: read the wallet and its ledger, grant credits (once per reference),
and charge usage to the wallet while it is ingested."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from ulid import ULID

from wrapper.credits.logic import GrantState, WalletState, add_grant, consume, credits, expire, spending_order
from wrapper.credits.models import CreditGrant, LedgerEntry, NewGrant, Wallet
from wrapper.credits.store import WalletStore, grant_of_item, grant_view, pause_after_conflict
from wrapper.events.catalog import EventType
from wrapper.events.envelope import new_event
from wrapper.events.outbox import outbox_item, write_with_outbox
from wrapper.invoices.issuing import issued_events, number_lost, numbered_ops
from wrapper.invoices.models import Invoice
from wrapper.invoices.store import InvoiceStore
from wrapper.kernel.actor import Actor
from wrapper.kernel.clock import Clock, now
from wrapper.kernel.errors import Conflict, InvalidInput
from wrapper.kernel.pagination import Page
from wrapper.kernel.permissions import Permission
from wrapper.kernel.request_meta import NO_REQUEST, RequestMeta
from wrapper.kernel.tenant import TenantContext
from wrapper.payments.idempotency import check_key
from wrapper.store.schema import digest
from wrapper.store.table import WriteRefused, put_op
from wrapper.tenancy.profile import TenantProfiles

ATTEMPTS = 30  # a wallet written by many requests at once: each retry reads it again


def grant_id_for(reference: str | None) -> str:
    """The same reference (a payment, an Idempotency-Key) always names the same grant."""
    if reference is None:
        return f"cg_{ULID()}".lower()
    return "cg_" + digest(reference)[:26]


@dataclass(frozen=True)
class Billed:
    """The invoice a grant pays for, where it is kept, and whether it is already stored as a draft."""

    invoice: Invoice
    store: InvoiceStore
    stored_draft: bool = False


class Credits:
    def __init__(self, store: WalletStore, *, overdraft_of: Callable[[TenantContext], Decimal] | None = None,
                 clock: Clock | None = None, outbox_ttl_days: int = 7) -> None:
        self.store = store
        # Only spending needs the plan's overdraft; a grant repays any debt whatever the plan says.
        self.overdraft_of = overdraft_of or (lambda tenant: Decimal(0))
        self.clock = clock or now
        self.outbox_ttl_days = outbox_ttl_days

    # -- reads ---------------------------------------------------------------------------------------
    def wallet(self, actor: Actor) -> Wallet:
        actor.require(Permission.BILLING_READ)
        state = self._expired_out(actor.tenant)
        return Wallet(balance=state.balance, overdraft_limit=self.overdraft_of(actor.tenant),
                      grants=[grant_view(g) for g in spending_order(state.grants)])

    def ledger(self, actor: Actor, limit: int | None, cursor: str | None) -> Page[LedgerEntry]:
        actor.require(Permission.BILLING_READ)
        self._expired_out(actor.tenant)
        return self.store.ledger(actor.tenant, limit, cursor)

    # -- writes --------------------------------------------------------------------------------------
    def give(self, tenant_id: str, body: NewGrant, *, by: str, idempotency_key: str | None,
             request_meta: RequestMeta = NO_REQUEST) -> CreditGrant:
        """The platform operator's grant to a tenant; the same Idempotency-Key grants once."""
        if idempotency_key is not None:
            check_key(idempotency_key)
        tenant = TenantContext(tenant_id)
        TenantProfiles(self.store.table, outbox_ttl_days=self.outbox_ttl_days).get(tenant)  # 404 if none
        return self.grant(tenant, body.credits, source="operator", by=by, priority=body.priority,
                          expires_at=body.expires_at, description=body.description, request_meta=request_meta,
                          reference=f"operator:{idempotency_key}" if idempotency_key else None,
                          fingerprint=body.model_dump_json())

    def grant(self, tenant: TenantContext, amount: Decimal | int, *, source: str, reference: str | None,
              by: str | None, priority: int = 50, expires_at: datetime | None = None,
              description: str | None = None, request_meta: RequestMeta = NO_REQUEST,
              fingerprint: str | None = None, billed: Billed | None = None) -> CreditGrant:
        """Add a grant; for a ``reference`` granted before, answer that grant and change nothing (or
        refuse, when ``fingerprint`` says the earlier request asked for something else). ``billed`` is the
        invoice of the payment the grant is for (a top-up), issued in the grant's own transaction."""
        grant_id = grant_id_for(reference)
        now = self.clock()
        for attempt in range(ATTEMPTS):
            existing = self.store.grant(tenant, grant_id)
            if existing is not None:
                if fingerprint is not None and existing.get("fingerprint") not in (None, fingerprint):
                    raise InvalidInput("This Idempotency-Key was used for a different request.",
                                       errors=[{"field": "Idempotency-Key", "message": "reused with another body"}])
                return self._grant_view(tenant, existing)
            state = self.store.state(tenant)
            grant = GrantState(id=grant_id, amount=credits(amount), remaining=credits(amount), priority=priority,
                               expires_at=expires_at, created_at=now, source=source, description=description)
            after, movements = add_grant(state, grant, now)
            operations = self.store.operations(tenant, state, after, movements, now)
            operations.append(self.store.grant_operation(tenant, grant, reference=reference, by=by,
                                                         fingerprint=fingerprint))
            event = new_event(EventType.CREDITS_GRANTED, tenant.tenant_id, {
                "grant_id": grant_id, "credits": float(grant.amount), "source": source, "priority": priority,
                "expires_at": expires_at.isoformat() if expires_at else None, "balance": float(after.balance),
                # Not audit_fields: credits.granted has never carried a source_ip, and its shape stays.
                "actor": by, "target": grant_id, "request_id": request_meta.request_id})
            events = [event]
            granted = len(operations)
            if billed is not None:
                numbered, issuing = numbered_ops(billed.invoice, billed.store, at=now, stored_draft=billed.stored_draft)
                operations += issuing
                events += issued_events(numbered, {"actor": by, "target": numbered.id,
                                                   "request_id": request_meta.request_id,
                                                   "source_ip": request_meta.source_ip})
            try:
                write_with_outbox(self.store.tenant_tables(tenant), operations, events, ttl_days=self.outbox_ttl_days)
            except WriteRefused as refused:
                if refused.failed_at(0) or refused.failed_at(granted - 1) or \
                        (billed is not None and number_lost(refused, len(operations))):
                    # The wallet moved, the same grant landed, or another invoice took the number: read again.
                    pause_after_conflict(attempt)
                    continue
                raise
            return grant_view(replace(grant, remaining=next(
                (g.remaining for g in after.grants if g.id == grant_id), Decimal(0))))
        raise Conflict("The wallet is busy; retry the grant.")

    def charges(self, tenant: TenantContext, overdraft: Decimal) -> Charges:
        """One ingestion batch's view of the wallet (see ``Charges``)."""
        return Charges(self.store, tenant, overdraft, self.clock(), outbox_ttl_days=self.outbox_ttl_days)

    # -- internals -----------------------------------------------------------------------------------
    def _expired_out(self, tenant: TenantContext) -> WalletState:
        """The wallet with expired grants taken out (written, so the ledger shows it)."""
        for attempt in range(ATTEMPTS):
            state = self.store.state(tenant)
            now = self.clock()
            after, movements = expire(state, now)
            if not movements:
                return state
            try:
                self.store.tenant_tables(tenant).transact(self.store.operations(tenant, state, after, movements, now))
            except WriteRefused as refused:
                if refused.failed_at(0):
                    pause_after_conflict(attempt)
                    continue
                raise
            return replace(after, version=state.version + 1)
        return self.store.state(tenant)

    def _grant_view(self, tenant: TenantContext, item: dict[str, Any]) -> CreditGrant:
        live = next((g for g in self.store.state(tenant).grants if g.id == item["id"]), None)
        return grant_of_item(item, live.remaining if live else Decimal(0))


class Charges:
    """A batch's view of one tenant's wallet: read once, advanced by the batch's own writes, and
    read again when a write finds that someone else moved it."""

    def __init__(self, store: WalletStore, tenant: TenantContext, overdraft: Decimal, now: datetime, *,
                 outbox_ttl_days: int = 7) -> None:
        self.store = store
        self.tenant = tenant
        self.overdraft = overdraft
        self.now = now
        self.outbox_ttl_days = outbox_ttl_days
        self._state: WalletState | None = None

    def charge(self, amount: Decimal, event_id: str, meter: str | None) -> Charge:
        return Charge(self, amount, event_id, meter)


class Charge:
    """One event's charge: the wallet operations to put in the event's transaction."""

    def __init__(self, charges: Charges, amount: Decimal, event_id: str, meter: str | None) -> None:
        self.charges = charges
        self.amount = amount
        self.event_id = event_id
        self.meter = meter
        self._after: WalletState | None = None

    def operations(self, *, refresh: bool) -> list[dict[str, Any]]:
        owner = self.charges
        if refresh or owner._state is None:
            owner._state = owner.store.state(owner.tenant)
        before = owner._state
        after, movements = consume(before, self.amount, owner.overdraft, owner.now, event_id=self.event_id,
                                   meter=self.meter)
        self._after = replace(after, version=before.version + 1) if movements else None
        operations = owner.store.operations(owner.tenant, before, after, movements, owner.now)
        if operations and before.balance > 0 >= after.balance:
            # Published with the write that empties the wallet, so once per time it runs dry.
            depleted = new_event(EventType.CREDITS_DEPLETED, owner.tenant.tenant_id, {
                "balance": float(after.balance), "overdraft_limit": float(owner.overdraft),
                "event_id": self.event_id, "meter": self.meter, "target": owner.tenant.tenant_id})
            operations.append(put_op(outbox_item(depleted, ttl_days=owner.outbox_ttl_days),
                                     condition="attribute_not_exists(PK)"))
        return operations

    def committed(self) -> None:
        if self._after is not None:
            self.charges._state = self._after

    def forget(self) -> None:
        """The event was a duplicate: the wallet as read may be stale; read it again next time."""
        self.charges._state = None
