"""/v1/admin/invoices: every tenant's invoices, one by its id, void, verify, and credit notes."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from billing_admin_wiring import DENIED, TENANT_ID_PATTERN, InvoiceId, credit_notes, invoice_admin, operator_only

from wrapper.api.app import idempotency_key_of, request_meta_of
from wrapper.api.operator import current_operator
from wrapper.billing.admin import Verification, VoidRequest
from wrapper.invoices.credit_notes import CreditNote, NewCreditNote
from wrapper.invoices.models import Invoice, InvoiceStatus
from wrapper.kernel.pagination import MAX_LIMIT, Page

router = APIGatewayRouter()
TAGS = ["admin-invoices"]
NO_INVOICE: dict[int, OpenAPIResponse] = {404: {"description": "No such invoice"}}


@router.get("/v1/admin/invoices", summary="Every tenant's invoices, newest first", tags=TAGS,
            middlewares=operator_only,
            description="Newest first by issue day, across tenants; `tenant_id` reads one tenant's, `status` "
                        "keeps one status (a filtered page may hold fewer than `limit`: follow `next_cursor`).",
            responses={200: {"description": "A page of invoices"}, **DENIED,
                       422: {"description": "A bad filter or cursor"}})
def list_all_invoices(tenant_id: Annotated[str | None, Query(pattern=TENANT_ID_PATTERN)] = None,
                      status: Annotated[InvoiceStatus | None, Query()] = None,
                      limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
                      cursor: Annotated[str | None, Query(max_length=2048)] = None) -> Page[Invoice]:
    return invoice_admin.page(tenant_id=tenant_id, status=status, limit=limit, cursor=cursor)


@router.get("/v1/admin/invoices/<invoice_id>", summary="Any tenant's invoice, by its id", tags=TAGS,
            middlewares=operator_only, responses={200: {"description": "The invoice"}, **DENIED, **NO_INVOICE})
def get_any_invoice(invoice_id: InvoiceId) -> Invoice:
    return invoice_admin.get(invoice_id)


@router.post("/v1/admin/invoices/<invoice_id>/void", summary="Void an open invoice", tags=TAGS,
             middlewares=operator_only,
             description="Only an `open` invoice (issued, not paid). It keeps its number and is no longer due; "
                         "`invoice.voided` is written with the change. The body is optional.",
             responses={200: {"description": "The invoice, void"}, **DENIED, **NO_INVOICE,
                        400: {"description": "The body is not valid JSON"},
                        409: {"description": "The invoice is not open, or changed meanwhile"},
                        422: {"description": "The body does not fit the schema"}})
def void_invoice(invoice_id: InvoiceId, body: Annotated[VoidRequest | None, Body()] = None) -> Invoice:
    return invoice_admin.void(invoice_id, reason=body.reason if body else None,
                              by=current_operator(router).user_id, request_meta=request_meta_of(router))


@router.get("/v1/admin/invoices/<invoice_id>/verify", summary="Recompute an invoice's usage lines from raw events",
            tags=TAGS, middlewares=operator_only,
            description="Each usage line's quantity is folded again from the raw usage events of its period and "
                        "priced again by the line's price. `difference` (recomputed less invoiced, minor units) "
                        "is 0 when the invoice billed exactly what was used; null where a line cannot be "
                        "recomputed. Raw events are kept 40 days.",
            responses={200: {"description": "Each usage line, invoiced and recomputed"}, **DENIED, **NO_INVOICE})
def verify_invoice(invoice_id: InvoiceId) -> Verification:
    return invoice_admin.verify(invoice_id)


@router.post("/v1/admin/invoices/<invoice_id>/credit-notes", summary="Credit a finalized invoice", tags=TAGS,
             middlewares=operator_only,
             description="A numbered credit note (`CN-<year>-<n>`, its own gapless series) against an open, paid or "
                         "uncollectible invoice: `amount` of the whole invoice, or `lines` (`line_id`, `amount`), in "
                         "minor units, tax included (the tax share is prorated, rounded once half away from zero). "
                         "All notes of an invoice never credit more than its total, nor a line more than it came "
                         "to. `method`: `refund` (the paid invoice's payment, keyed by the note's id), `wallet` "
                         "(credits: amount / the credit unit amount) or `none` (an unpaid invoice's `amount_due` "
                         "drops, never below 0). With an `Idempotency-Key` the same key answers the first note "
                         "(and finishes its refund or grant); another body with it is a 422.",
             responses={201: {"description": "The credit note"}, **DENIED, **NO_INVOICE,
                        400: {"description": "The body is not valid JSON"},
                        409: {"description": "The invoice cannot be credited so: not finalized, more than is left "
                                            "to credit or refund, no payment to refund, another currency than "
                                            "credits'"},
                        422: {"description": "The body does not fit the schema, or names an unknown line"},
                        503: {"description": "The payment provider is unavailable: retry with the same key"}})
def create_credit_note(invoice_id: InvoiceId, body: Annotated[NewCreditNote, Body()]) -> Response[CreditNote]:
    note = credit_notes.issue(invoice_id, body, by=current_operator(router).user_id,
                              idempotency_key=idempotency_key_of(router), request_meta=request_meta_of(router))
    return Response(status_code=201, content_type="application/json", body=note)


@router.get("/v1/admin/invoices/<invoice_id>/credit-notes", summary="An invoice's credit notes, newest first",
            tags=TAGS, middlewares=operator_only,
            responses={200: {"description": "A page of credit notes"}, **DENIED, **NO_INVOICE,
                       422: {"description": "A bad limit or cursor"}})
def list_invoice_credit_notes(invoice_id: InvoiceId, limit: Annotated[int | None, Query(ge=1, le=MAX_LIMIT)] = None,
                              cursor: Annotated[str | None, Query(max_length=2048)] = None) -> Page[CreditNote]:
    return credit_notes.of_invoice(invoice_id, limit=limit, cursor=cursor)
