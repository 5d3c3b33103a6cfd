"""The tenant's credit wallet: its balance and grants, and its ledger."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from usage_wiring import credits

from wrapper.api.tenant import current_actor
from wrapper.credits.models import LedgerEntry, Wallet
from wrapper.kernel.pagination import MAX_LIMIT, Page

router = APIGatewayRouter()
CREDITS = ["credits"]


@router.get("/v1/credits", summary="The credit wallet: balance, overdraft limit, grants with credits left",
            tags=CREDITS,
            description="The balance equals the sum of the ledger. Grants are listed in the order they are "
                        "spent (lowest priority number, then earliest expiry, then oldest). Expired grants "
                        "leave the wallet, with a ledger entry, when the wallet is next read or written.",
            responses={200: {"description": "The wallet"}, 403: {"description": "Missing permission billing:read"}})
def get_wallet() -> Wallet:
    return credits.wallet(current_actor(router))


@router.get("/v1/credits/ledger", summary="Every movement of the credit wallet, newest first", tags=CREDITS,
            description="Grants (+), consumption by usage events (-, with the event id and, per grant, what it "
                        "took) and expiry (-), each with the balance after it.",
            responses={200: {"description": "A page of entries"},
                       403: {"description": "Missing permission billing:read"},
                       422: {"description": "Bad limit or cursor"}})
def get_ledger(limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
               cursor: Annotated[str | None, Query(max_length=2048)] = None) -> Page[LedgerEntry]:
    return credits.ledger(current_actor(router), limit, cursor)
