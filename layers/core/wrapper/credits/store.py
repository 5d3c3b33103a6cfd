"""The wallet's items and the one way they are written: the wallet at its next version, with its
ledger entries, in one transaction conditioned on the version read."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from wrapper.credits.logic import ZERO, GrantState, Movement, WalletState
from wrapper.credits.models import CreditGrant, LedgerEntry
from wrapper.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from wrapper.kernel.tenant import TenantContext
from wrapper.store.schema import LEDGER_PREFIX, WALLET_SK, credits_pk, grant_sk, ledger_sk
from wrapper.store.table import Item, Table, put_op


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _at(value: Any) -> datetime | None:
    return datetime.fromisoformat(str(value)) if value else None


class WalletStore:
    def __init__(self, table: Table, *, tenant_tables: Callable[[TenantContext], Table] | None = None) -> None:
        self.table = table
        # A tenant's wallet is read and written through ``tenant_tables(tenant)`` when given (the
        # function's credentials scoped to that tenant).
        self.tenant_tables = tenant_tables or (lambda tenant: table)

    # -- reads ---------------------------------------------------------------------------------------
    def state(self, tenant: TenantContext) -> WalletState:
        item = self.tenant_tables(tenant).get(credits_pk(tenant), WALLET_SK)
        if item is None:
            return WalletState()
        grants = tuple(GrantState(id=gid, amount=Decimal(g["amount"]), remaining=Decimal(g["remaining"]),
                                  priority=int(g["priority"]), expires_at=_at(g.get("expires_at")),
                                  created_at=_at(g["created_at"]) or datetime.min, source=str(g["source"]),
                                  description=g.get("description"))
                       for gid, g in (item.get("grants") or {}).items())
        return WalletState(version=int(item["version"]), debt=Decimal(item.get("debt") or 0), grants=grants)

    def grant(self, tenant: TenantContext, grant_id: str) -> Item | None:
        return self.tenant_tables(tenant).get(credits_pk(tenant), grant_sk(grant_id))

    def ledger(self, tenant: TenantContext, limit: int | None, cursor: str | None) -> Page[LedgerEntry]:
        pk = credits_pk(tenant)
        items, last = self.tenant_tables(tenant).query(pk, sk_prefix=LEDGER_PREFIX, limit=clamp_limit(limit),
                                                       forward=False, start_key=decode_cursor(cursor, partition_key=pk))
        return Page[LedgerEntry](items=[_entry(i) for i in items], next_cursor=encode_cursor(last))

    def ledger_total(self, tenant: TenantContext) -> Decimal:
        """The sum of every ledger entry (checks, not a request path)."""
        total, start = ZERO, None
        while True:
            items, start = self.tenant_tables(tenant).query(credits_pk(tenant), sk_prefix=LEDGER_PREFIX, limit=1000,
                                                            start_key=start)
            total += sum((Decimal(i["amount"]) for i in items), ZERO)
            if not start:
                return total

    # -- writes --------------------------------------------------------------------------------------
    def operations(self, tenant: TenantContext, before: WalletState, after: WalletState,
                   movements: list[Movement], now: datetime) -> list[dict[str, Any]]:
        """The wallet at ``before.version + 1`` and its ledger entries; empty when nothing moved."""
        if not movements:
            return []
        pk = credits_pk(tenant)
        version = before.version + 1
        wallet: Item = {"PK": pk, "SK": WALLET_SK, "record_type": "credit_wallet", "version": version,
                        "balance": after.balance, "debt": after.debt, "updated_at": _iso(now),
                        "grants": {g.id: {"amount": g.amount, "remaining": g.remaining, "priority": g.priority,
                                          "expires_at": _iso(g.expires_at), "created_at": _iso(g.created_at),
                                          "source": g.source, "description": g.description}
                                   for g in after.grants}}
        condition = "attribute_not_exists(PK)" if before.version == 0 else "version = :v"
        values = None if before.version == 0 else {":v": before.version}
        operations = [put_op(wallet, condition=condition, values=values)]
        for n, movement in enumerate(movements):
            operations.append(put_op({
                "PK": pk, "SK": ledger_sk(version, n), "record_type": "credit_ledger", "id": f"le_{version}_{n}",
                "at": _iso(now), "kind": movement.kind, "amount": movement.amount,
                "balance_after": movement.balance_after, "grant_id": movement.grant_id,
                "event_id": movement.event_id, "meter": movement.meter, "spent": movement.spent,
                "description": movement.description}, condition="attribute_not_exists(PK)"))
        return operations

    def grant_operation(self, tenant: TenantContext, grant: GrantState, *, reference: str | None,
                        by: str | None, fingerprint: str | None = None) -> dict[str, Any]:
        """The grant's own record; its condition makes a grant for the same reference happen once."""
        return put_op({"PK": credits_pk(tenant), "SK": grant_sk(grant.id), "record_type": "credit_grant",
                       "id": grant.id, "amount": grant.amount, "priority": grant.priority,
                       "expires_at": _iso(grant.expires_at), "created_at": _iso(grant.created_at),
                       "source": grant.source, "description": grant.description, "reference": reference,
                       "by": by, "fingerprint": fingerprint}, condition="attribute_not_exists(PK)")


def pause_after_conflict(attempt: int) -> None:
    """Writers racing on one wallet take turns: a short random wait, growing with the attempts."""
    time.sleep(random.uniform(0, 0.004 * 2 ** min(attempt, 6)))


def grant_view(state: GrantState) -> CreditGrant:
    return CreditGrant(id=state.id, amount=state.amount, remaining=state.remaining, priority=state.priority,
                       expires_at=state.expires_at, source=state.source,  # type: ignore[arg-type]
                       description=state.description, created_at=state.created_at)


def grant_of_item(item: Item, remaining: Decimal) -> CreditGrant:
    return CreditGrant(id=str(item["id"]), amount=Decimal(item["amount"]), remaining=remaining,
                       priority=int(item["priority"]), expires_at=_at(item.get("expires_at")),
                       source=item["source"], description=item.get("description"),
                       created_at=_at(item["created_at"]) or datetime.min)


def _entry(item: Item) -> LedgerEntry:
    return LedgerEntry(id=str(item["id"]), at=_at(item["at"]) or datetime.min, kind=item["kind"],
                       amount=Decimal(item["amount"]), balance_after=Decimal(item["balance_after"]),
                       grant_id=item.get("grant_id"), event_id=item.get("event_id"), meter=item.get("meter"),
                       spent={k: Decimal(v) for k, v in item["spent"].items()} if item.get("spent") else None,
                       description=item.get("description"))
