"""Invoice PDFs: what a rendered invoice says (read back from the PDF's text), and when it is rendered and
stored (the service over moto's DynamoDB and S3).

Worked invoice (USD, minor units): the Metered plan's fee for [Sep 3, Oct 3) is 300000, 3001 tokens for
[Aug 3, Sep 3) cost 1001; the coupon WELCOME takes 10% of the subtotal 301001 = 30100 (the lines share it:
30000 and 100); sales tax 8.25% on the rest, per line: 22275 + 74 (of 270000 and 901) = 22349; total
293250; 1000 of credits leave 292250 due. Printed: ``USD 3,010.01``, ``USD -301.00``, ``USD 223.49``,
``USD 2,932.50``, ``USD -10.00``, ``USD 2,922.50``.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws
from pypdf import PdfReader

from tests.unit.builders import fake_aws_environment, wrapper_table
from wrapper.invoices.models import Invoice, InvoiceLine, TaxLine
from wrapper.invoices.pdf import Issuer, invoice_data, money, render_pdf
from wrapper.invoices.pdf_files import S3PdfFiles, pdf_key
from wrapper.invoices.pdfs import InvoicePdfs
from wrapper.invoices.store import InvoiceStore
from wrapper.kernel.actor import Actor
from wrapper.kernel.errors import NotFound, PermissionDenied
from wrapper.kernel.permissions import Permission
from wrapper.kernel.tenant import TenantContext
from wrapper.tenancy.profile import Address, BillingDetails

ISSUED = datetime(2031, 9, 3, 10, 0, 0, 250000, tzinfo=UTC)  # issue times carry microseconds
ISSUER = Issuer(name="Wrapper Platform Ltd.", address=("1 Platform Way", "London EC1A 1BB", "GB"),
                tax_id="GB123456789")
# Typst markup of every kind a legal name could carry: code, strong, emphasis, math, labels, references,
# raw, comments, escapes and brackets. Printed as typed, it proves the name is data, never markup.
HOSTILE = 'Evil #panic("pwned") *Corp* _x_ $a^2$ <l> @ref `raw` [b] \\ // not a comment'


def worked_invoice(*, currency: str = "USD", customer: BillingDetails | None = None, **amounts: int) -> Invoice:
    lines = [InvoiceLine(id="in_1-1", kind="subscription", description="Metered plan", quantity=Decimal(1),
                         amount=300000, discount=30000, tax_amount=22275,
                         period_start=ISSUED, period_end=datetime(2031, 10, 3, 10, tzinfo=UTC)),
             InvoiceLine(id="in_1-2", kind="usage", meter="tokens", description="tokens", quantity=Decimal(3001),
                         amount=1001, discount=100, tax_amount=74,
                         period_start=datetime(2031, 8, 3, 10, tzinfo=UTC), period_end=ISSUED)]
    totals = {"subtotal": 301001, "discount": 30100, "tax": 22349, "total": 293250, "credits_applied": 1000,
              "amount_due": 292250, **amounts}
    return Invoice(id="in_20310903_0123456789abcdef", number="INV-2031-000042", status="paid", tenant_id="acme",
                   currency=currency, period_start=datetime(2031, 8, 3, 10, tzinfo=UTC), period_end=ISSUED,
                   issued_at=ISSUED, coupon="WELCOME", lines=lines, created_at=ISSUED,
                   customer=customer if customer is not None else BillingDetails(
                       legal_name="Acme Inc.", tax_id="US-123",
                       address=Address(line1="1 Main St", city="Springfield", postal_code="12345", region="IL",
                                       country="US")),
                   taxes=[TaxLine(rate_id="tax_1", name="Sales tax", percentage=Decimal("8.25"), inclusive=False,
                                  taxable_amount=270901, amount=22349)], **totals)


def text_of(pdf: bytes) -> str:
    """The PDF's text, whitespace folded to single spaces."""
    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


# ---------------------------------------------------------------- formatting


@pytest.mark.parametrize(("amount", "currency", "printed"), [
    (123456, "USD", "USD 1,234.56"), (5, "USD", "USD 0.05"), (-500, "USD", "USD -5.00"), (0, "EUR", "EUR 0.00"),
    (1234567, "JPY", "JPY 1,234,567"), (5, "JPY", "JPY 5"),
    (1234567, "KWD", "KWD 1,234.567"), (5, "KWD", "KWD 0.005"), (1000, "kwd", "KWD 1.000")])
def test_amounts_print_in_major_units_with_the_currencys_decimals(amount: int, currency: str, printed: str) -> None:
    assert money(amount, currency) == printed


def test_a_draft_has_no_pdf() -> None:
    draft = worked_invoice().model_copy(update={"number": None, "issued_at": None, "status": "draft"})
    with pytest.raises(ValueError, match="draft"):
        invoice_data(draft, ISSUER)


# ---------------------------------------------------------------- the rendered PDF


def test_the_worked_invoice_prints_everything_a_customer_checks() -> None:
    # Given the worked invoice (module docstring)
    # When it is rendered
    text = text_of(render_pdf(worked_invoice(), ISSUER))

    # Then the PDF names the issuer, the customer, the number, the dates and the period
    for expected in ("Wrapper Platform Ltd.", "1 Platform Way", "London EC1A 1BB", "Tax ID: GB123456789",
                     "Acme Inc.", "1 Main St", "12345 Springfield", "Tax ID: US-123",
                     "INV-2031-000042", "Issued 2031-09-03", "2031-08-03 to 2031-09-03"):
        assert expected in text, expected
    # And every line with its period, quantity, amount and tax
    assert "Metered plan 2031-09-03 to 2031-10-03 1 USD 3,000.00 USD 222.75" in text
    assert "tokens 2031-08-03 to 2031-09-03 3,001 USD 10.01 USD 0.74" in text
    # And the totals in the order they were computed, then the tax by rate
    assert ("Subtotal USD 3,010.01 Discount (WELCOME) USD -301.00 Tax USD 223.49 Total USD 2,932.50 "
            "Credits applied USD -10.00 Amount due USD 2,922.50") in text
    assert "Sales tax (8.25%) USD 2,709.01 USD 223.49 added to prices" in text


@pytest.mark.parametrize(("currency", "total", "due"), [
    ("USD", "USD 2,932.50", "USD 2,922.50"), ("JPY", "JPY 293,250", "JPY 292,250"),
    ("KWD", "KWD 293.250", "KWD 292.250")])
def test_amounts_are_printed_in_the_invoices_currency(currency: str, total: str, due: str) -> None:
    # Given the same minor amounts in a two-, a zero- and a three-decimal currency
    # When rendered
    text = text_of(render_pdf(worked_invoice(currency=currency), ISSUER))

    # Then each amount has that currency's decimals
    assert f"Total {total}" in text
    assert f"Amount due {due}" in text


def test_a_legal_name_that_looks_like_typst_is_printed_as_typed() -> None:
    # Given a customer whose legal name and address are Typst markup
    customer = BillingDetails(legal_name=HOSTILE, address=Address(line1='#set page(width: 1cm) ] #"', country="US"))

    # When its invoice is rendered
    text = text_of(render_pdf(worked_invoice(customer=customer), ISSUER))

    # Then both are printed literally, and the rest of the invoice is all there
    assert HOSTILE in text
    assert '#set page(width: 1cm) ] #"' in text
    assert "Amount due USD 2,922.50" in text


def test_an_invoice_without_billing_details_or_discount_says_so_and_skips_those_rows() -> None:
    invoice = worked_invoice(discount=0, credits_applied=0).model_copy(update={"customer": None, "coupon": None})
    text = text_of(render_pdf(invoice, Issuer(name="Wrapper")))
    assert "No billing details on file" in text
    assert "Discount" not in text and "Credits applied" not in text


def test_rendering_an_invoice_twice_gives_the_same_bytes() -> None:
    assert render_pdf(worked_invoice(), ISSUER) == render_pdf(worked_invoice(), ISSUER)


# ---------------------------------------------------------------- when it is rendered and stored

BUCKET = "wrapper-test-invoice-pdfs"
ACME = TenantContext("acme")


class CountingRender:
    def __init__(self, fail: bool = False) -> None:
        self.calls = 0
        self.fail = fail

    def __call__(self, invoice: Invoice, issuer: Issuer) -> bytes:
        self.calls += 1
        if self.fail:
            raise RuntimeError("typst is broken")
        return render_pdf(invoice, issuer)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    fake_aws_environment(monkeypatch)
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket=BUCKET)
        table = wrapper_table(boto3.client("dynamodb", region_name="us-east-1"))
        yield {"s3": s3, "table": table}


def _service(aws: dict[str, Any], render: CountingRender) -> InvoicePdfs:
    return InvoicePdfs(InvoiceStore(aws["table"]), S3PdfFiles(aws["s3"], BUCKET), ISSUER, render=render)


def _store(aws: dict[str, Any], invoice: Invoice) -> None:
    aws["table"].transact([InvoiceStore(aws["table"]).save_op(invoice, expected_version=None)])


def _reader(tenant: str = "acme", *permissions: Permission) -> Actor:
    return Actor(tenant=TenantContext(tenant), user_id="u", permissions=frozenset(permissions or {
        Permission.BILLING_READ}))


def test_the_first_request_renders_and_stores_the_pdf_and_later_ones_read_it(aws: dict[str, Any]) -> None:
    # Given an issued invoice with no PDF stored yet
    _store(aws, worked_invoice())
    render = CountingRender()
    pdfs = _service(aws, render)

    # When the tenant asks for its PDF twice
    first = pdfs.for_tenant(_reader(), "in_20310903_0123456789abcdef")
    second = pdfs.for_tenant(_reader(), "in_20310903_0123456789abcdef")

    # Then it was rendered once, stored under the tenant and the invoice id, and answered both times
    assert render.calls == 1
    assert first == second
    assert (first.filename, first.content[:5]) == ("INV-2031-000042.pdf", b"%PDF-")
    stored = aws["s3"].get_object(Bucket=BUCKET, Key="tenants/acme/invoices/in_20310903_0123456789abcdef.pdf")
    assert (stored["Body"].read(), stored["ContentType"]) == (first.content, "application/pdf")
    assert pdf_key(ACME, "in_20310903_0123456789abcdef") == "tenants/acme/invoices/in_20310903_0123456789abcdef.pdf"


def test_a_draft_an_unknown_id_and_another_tenants_invoice_are_not_found(aws: dict[str, Any]) -> None:
    _store(aws, worked_invoice())
    _store(aws, worked_invoice().model_copy(update={"id": "in_20310903_ffffffffffffffff", "number": None,
                                                    "issued_at": None, "status": "draft"}))
    render = CountingRender()
    pdfs = _service(aws, render)
    for actor, invoice_id in ((_reader(), "in_20310903_ffffffffffffffff"), (_reader(), "in_20310903_0000000000000000"),
                              (_reader("globex"), "in_20310903_0123456789abcdef")):
        with pytest.raises(NotFound):
            pdfs.for_tenant(actor, invoice_id)
    assert render.calls == 0
    assert aws["s3"].list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0


def test_reading_a_pdf_needs_billing_read(aws: dict[str, Any]) -> None:
    _store(aws, worked_invoice())
    with pytest.raises(PermissionDenied):
        _service(aws, CountingRender()).for_tenant(_reader("acme", Permission.USAGE_READ),
                                                   "in_20310903_0123456789abcdef")


def test_the_run_stores_the_pdf_of_an_invoice_it_issued(aws: dict[str, Any]) -> None:
    _store(aws, worked_invoice())
    render = CountingRender()
    pdfs = _service(aws, render)

    assert pdfs.store_issued(ACME, "in_20310903_0123456789abcdef") is True

    # Then the tenant's request reads what the run stored
    assert pdfs.for_tenant(_reader(), "in_20310903_0123456789abcdef").content[:5] == b"%PDF-"
    assert render.calls == 1


def test_a_failed_render_after_issue_is_logged_never_raised(aws: dict[str, Any],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    # Given an issued invoice and a renderer that fails
    _store(aws, worked_invoice())
    pdfs = _service(aws, CountingRender(fail=True))

    # When the run stores its PDF, then the failure is an answer and a log line, not an exception
    assert pdfs.store_issued(ACME, "in_20310903_0123456789abcdef") is False
    assert "rendering the PDF of invoice acme/in_20310903_0123456789abcdef failed" in caplog.text
    assert aws["s3"].list_objects_v2(Bucket=BUCKET)["KeyCount"] == 0
    # And so is a missing bucket, or an invoice that is not there
    assert _service(aws, CountingRender()).store_issued(ACME, "in_20310903_0000000000000000") is False
    broken = InvoicePdfs(InvoiceStore(aws["table"]), S3PdfFiles(aws["s3"], "no-such-bucket"), ISSUER)
    assert broken.store_issued(ACME, "in_20310903_0123456789abcdef") is False
