"""The tenant's invoices: /v1/invoices, /v1/invoices/upcoming, /v1/invoices/{invoice_id} and its PDF; and its
credit notes, /v1/credit-notes."""

import base64
from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from subscriptions_wiring import credit_notes, invoice_pdfs, invoices

from wrapper.api.problem import PROBLEM_CONTENT_TYPE
from wrapper.api.tenant import current_actor
from wrapper.invoices.credit_notes import CreditNote
from wrapper.invoices.models import Invoice, InvoiceStatus
from wrapper.invoices.pdf import CONTENT_TYPE as PDF
from wrapper.kernel.pagination import MAX_LIMIT, Page

router = APIGatewayRouter()
INVOICES = ["invoices"]
InvoiceId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^in_[0-9]{8}_[0-9a-f]{16}$")]


# Registered before /v1/invoices/{invoice_id}, which would otherwise take "upcoming" for an id.
@router.get("/v1/invoices/upcoming", summary="The invoice the current period would end with, if it ended now",
            tags=INVOICES,
            description="Computed by the billing run's own code: the current period's usage so far (in arrears) "
                        "and the next period's fee (in advance), less the coupon, plus the tax of the billing "
                        "address. A draft: `number` is null and nothing is stored.",
            responses={200: {"description": "The upcoming invoice"},
                       403: {"description": "Missing permission billing:read"}})
def upcoming_invoice() -> Invoice:
    return invoices.upcoming(current_actor(router))


@router.get("/v1/invoices", summary="The tenant's invoices, newest first", tags=INVOICES,
            responses={200: {"description": "A page of invoices"},
                       403: {"description": "Missing permission billing:read"},
                       422: {"description": "A bad filter or cursor"}})
def list_invoices(status: Annotated[InvoiceStatus | None, Query()] = None,
                  issued_from: Annotated[date | None, Query(alias="from", description="Issued on or after")] = None,
                  issued_to: Annotated[date | None, Query(alias="to", description="Issued on or before")] = None,
                  limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
                  cursor: Annotated[str | None, Query(max_length=2048)] = None) -> Page[Invoice]:
    return invoices.page(current_actor(router), limit=limit, cursor=cursor, status=status,
                         issued_from=issued_from, issued_to=issued_to)


@router.post("/v1/invoices/<invoice_id>/pay", summary="Pay an unpaid invoice now", tags=INVOICES,
             description="Charges the saved card the invoice's amount due and answers the paid invoice; without a "
                         "card that pays, 402 with `checkout_url`, a Checkout page for exactly that amount (the "
                         "invoice is paid when Stripe reports the payment). A paid subscription left `past_due` "
                         "or `unpaid` by the invoice is active again.",
             responses={200: {"description": "The invoice, paid"},
                        402: {"description": "The saved card could not pay: a Checkout page to pay on"},
                        403: {"description": "Missing permission billing:write"},
                        404: {"description": "No such invoice (in this tenant)"},
                        409: {"description": "The invoice is not unpaid (paid, void or a draft)"},
                        503: {"description": "The payment provider is unavailable"}})
def pay_invoice(invoice_id: InvoiceId) -> Invoice:
    return invoices.pay(current_actor(router), invoice_id)


@router.get("/v1/invoices/<invoice_id>", summary="One invoice", tags=INVOICES,
            responses={200: {"description": "The invoice"},
                       403: {"description": "Missing permission billing:read"},
                       404: {"description": "No such invoice (in this tenant)"}})
def get_invoice(invoice_id: InvoiceId) -> Invoice:
    return invoices.get(current_actor(router), invoice_id)


def _refusal(description: str) -> OpenAPIResponse:
    """A refusal of the PDF route, documented as problem+json (not as the PDF its return type would make it)."""
    return {"description": description,
            "content": {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


@router.get("/v1/invoices/<invoice_id>/pdf", summary="An issued invoice as a PDF", tags=INVOICES,
            description="The PDF bytes (`application/pdf`), rendered when the invoice was issued or on this first "
                        "request. Send `Accept: application/pdf`: API Gateway answers binary only when the "
                        "request's first Accept type is a binary media type (otherwise the body is base64 text).",
            responses={200: {"description": "The PDF",
                             "content": {PDF: {"schema": {"type": "string", "format": "binary"}}}},
                       403: _refusal("Missing permission billing:read"),
                       404: _refusal("No such issued invoice (in this tenant); a draft has no PDF")})
def get_invoice_pdf(invoice_id: InvoiceId) -> Response[str]:
    pdf = invoice_pdfs.for_tenant(current_actor(router), invoice_id)
    # The body leaves base64-encoded, as API Gateway wants binary from Lambda. Encoded here, not by the
    # resolver from bytes: its response validation would read the bytes as UTF-8 text first, and fail.
    answer = Response(status_code=200, content_type=PDF, body=base64.b64encode(pdf.content).decode(),
                      headers={"Content-Disposition": f'inline; filename="{pdf.filename}"',
                               "Cache-Control": "private, max-age=3600"})
    answer.base64_encoded = True
    return answer


@router.get("/v1/credit-notes", summary="The tenant's credit notes, newest first", tags=INVOICES,
            description="Issued by the platform against the tenant's invoices: refunds, credits to the wallet, or "
                        "amounts no longer owed. Amounts in minor units, tax included.",
            responses={200: {"description": "A page of credit notes"},
                       403: {"description": "Missing permission billing:read"},
                       422: {"description": "A bad limit or cursor"}})
def list_credit_notes(limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
                      cursor: Annotated[str | None, Query(max_length=2048)] = None) -> Page[CreditNote]:
    return credit_notes.page(current_actor(router), limit=limit, cursor=cursor)
