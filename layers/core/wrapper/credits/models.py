"""What the credit API reads and takes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, ConfigDict, Field, PlainSerializer, StringConstraints

from wrapper.kernel.model import Model
from wrapper.kernel.numbers import Number, as_number

GrantSource = Literal["purchase", "operator", "credit_note"]
EntryKind = Literal["grant", "consumption", "expiry"]
Credits = Annotated[Decimal, Field(gt=0, le=1_000_000_000, decimal_places=6)]
# Credits are answered as JSON numbers, as usage values are (integral amounts as integers).
Amount = Annotated[Decimal, PlainSerializer(as_number, return_type=Number, when_used="json")]


class CreditGrant(Model):
    id: str
    amount: Amount = Field(description="Credits granted")
    remaining: Amount = Field(description="Credits left of it (0 once spent or expired)")
    priority: int = Field(description="Lower is spent first")
    expires_at: datetime | None = None
    source: GrantSource
    description: str | None = None
    created_at: datetime


class Wallet(Model):
    balance: Amount = Field(description="Credits available: the sum of the ledger; negative only by overdraft")
    overdraft_limit: Amount = Field(description="How far below zero the plan lets the balance go")
    grants: list[CreditGrant] = Field(description="Grants with credits left, in the order they are spent")


class LedgerEntry(Model):
    id: str
    at: datetime
    kind: EntryKind
    amount: Amount = Field(description="Signed: positive for a grant, negative for consumption and expiry")
    balance_after: Amount
    grant_id: str | None = Field(default=None, description="The grant (grant and expiry entries)")
    event_id: str | None = Field(default=None, description="The usage event (consumption entries)")
    meter: str | None = None
    spent: dict[str, Amount] | None = Field(default=None, description="Per grant, what a consumption took")
    description: str | None = None


class NewGrant(Model):
    """The operator's grant to a tenant."""

    model_config = ConfigDict(extra="forbid")

    credits: Credits
    priority: int = Field(default=50, ge=0, le=1000)
    expires_at: AwareDatetime | None = None
    description: Annotated[str, StringConstraints(max_length=200)] | None = None


class TopUp(Model):
    """Credits a tenant buys: charged on the saved card, or paid on a Checkout page."""

    model_config = ConfigDict(extra="forbid")

    credits: Annotated[int, Field(ge=1, le=10_000_000)]
