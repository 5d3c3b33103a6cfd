"""Invoice PDFs end to end, as a client sees them over HTTP: the billing run issues an invoice and stores its
PDF; the tenant downloads it (``Accept: application/pdf``) and finds its number, its customer and its total
in it; another tenant gets 404, never the PDF; a PDF that was never stored is rendered on the first request.

The local clock is set years ahead for the test (``local_clock`` puts it back), so the period ends on a day
no other test's subscription is due.
"""

from __future__ import annotations

import base64
import io
import re
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from pypdf import PdfReader

from tests.e2e.flows import catalog_operator, monthly_plan, save_card
from tests.support import LocalClock, answered, call, refused, run_billing, signup
from wrapper.invoices.pdf_files import pdf_key
from wrapper.kernel.tenant import TenantContext

SUFFIX = uuid.uuid4().hex[:6]
PLAN = f"pdf-{SUFFIX}"
# A legal name that is Typst markup: the PDF must print it as typed.
LEGAL_NAME = f'PDF #strong[Customer] *{SUFFIX}* $x$ <l> [sic]'
PDF = {"Accept": "application/pdf"}


@pytest.fixture(scope="module")
def plan(cloud: Any) -> dict[str, Any]:
    """Through the operator API: a plan at 123456 (USD 1,234.56) a month."""
    op = catalog_operator(cloud, "PDF operator")
    return monthly_plan(cloud, op, {"code": PLAN, "name": "Documented"},
                        {"model": "flat", "currency": "USD", "flat_amount": 123456})


def text_of(pdf: bytes) -> str:
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def test_an_issued_invoices_pdf_is_stored_by_the_run_and_downloaded_by_its_tenant_only(
        cloud: Any, plan: dict[str, Any], local_clock: LocalClock) -> None:
    # Given a tenant with billing details and a saved card, on the plan since a day years ahead
    local_clock.set(datetime(datetime.now(UTC).year + 12, 4, 11, 9, tzinfo=UTC))
    owner = signup(cloud, "PDF Customer")
    save_card(cloud, owner)
    answered(call(cloud, "PATCH", "/v1/tenant", owner, body={"billing_details": {
        "legal_name": LEGAL_NAME, "tax_id": "DE123456789",
        "address": {"line1": "Unter den Linden 1", "city": "Berlin", "postal_code": "10117", "country": "DE"}}}), 200)
    subscribed = answered(call(cloud, "POST", "/v1/subscriptions", owner, body={"plan_code": PLAN}), 201)
    period_end = datetime.fromisoformat(subscribed["subscription"]["current_period_end"])

    # When the billing run of the period's last day issues its invoice
    execution = run_billing(cloud, datetime(period_end.year, period_end.month, period_end.day, 2, tzinfo=UTC))
    assert execution["status"] == "SUCCEEDED", execution
    invoice, _subscribed = answered(call(cloud, "GET", "/v1/invoices", owner), 200)["items"]  # newest first
    # 123456 plus the demo catalog's German VAT, 19% exclusive: 23456.64 -> 23457
    assert (invoice["status"], invoice["subtotal"], invoice["tax"], invoice["total"]) == ("paid", 123456, 23457, 146913)

    # Then the run stored its PDF, under the tenant and the invoice
    s3 = cloud.client("s3")
    bucket = cloud.stack.resources["InvoicePdfBucket"].ref
    key = pdf_key(TenantContext(owner["tenant_id"]), invoice["id"])
    stored = s3.get_object(Bucket=bucket, Key=key)
    assert (stored["ContentType"], stored["ServerSideEncryption"]) == ("application/pdf", "AES256")
    stored_pdf = stored["Body"].read()

    # And the tenant downloads that PDF, which names the invoice, the customer as typed and the total
    answer = call(cloud, "GET", f"/v1/invoices/{invoice['id']}/pdf", owner, headers=PDF)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"] == f'inline; filename="{invoice["number"]}.pdf"'
    assert answer.content == stored_pdf
    text = text_of(answer.content)
    for expected in (invoice["number"], LEGAL_NAME, "Unter den Linden 1", "Tax ID: DE123456789",
                     "Subtotal USD 1,234.56 Tax USD 234.57 Total USD 1,469.13", "Amount due USD 1,469.13"):
        assert expected in text, (expected, text)

    # And a client whose first Accept type is not the PDF's gets the base64 text, as from API Gateway
    other = call(cloud, "GET", f"/v1/invoices/{invoice['id']}/pdf", owner, headers={"Accept": "*/*"})
    assert (other.status_code, base64.b64decode(other.content)) == (200, stored_pdf)

    # And a PDF that is not stored (the run failed to render it, say) is rendered on the first request, the same
    s3.delete_object(Bucket=bucket, Key=key)
    rendered = call(cloud, "GET", f"/v1/invoices/{invoice['id']}/pdf", owner, headers=PDF)
    assert (rendered.status_code, rendered.content) == (200, stored_pdf)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == stored_pdf

    # And another tenant gets 404 for that invoice (and 403 naming the tenant), never its PDF
    stranger = signup(cloud, "PDF Stranger")
    for refusal, status in ((call(cloud, "GET", f"/v1/invoices/{invoice['id']}/pdf", stranger, headers=PDF), 404),
                            (call(cloud, "GET", f"/v1/invoices/{invoice['id']}/pdf", stranger, headers=PDF,
                                  tenant=owner["tenant_id"]), 403)):
        problem = refused(refusal, status)
        assert invoice["number"] not in str(problem) and b"%PDF" not in refusal.content


def test_an_unknown_invoice_has_no_pdf(cloud: Any) -> None:
    owner = signup(cloud, "PDF Looking")
    refused(call(cloud, "GET", "/v1/invoices/in_20300101_0123456789abcdef/pdf", owner, headers=PDF), 404)
    refused(call(cloud, "GET", "/v1/invoices/not-an-id/pdf", owner, headers=PDF), 422)
