"""The settings: the environment is read once into one ``Settings`` with its groups; the Stripe adapter
connects (and the SDK loads) on the first payment call, not at a cold start."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

from wrapper.settings import Settings, StripeSettings
from wrapper.subscriptions.settings import LazyPayments


def test_settings_read_every_group_from_one_environment() -> None:
    # Given the environment template.yaml gives a function
    environ = {
        "STAGE": "prod", "TABLE_NAME": "wrapper-prod", "AWS_REGION": "eu-west-1", "OUTBOX_TTL_DAYS": "3",
        "APP_URL": "https://app.example.com/", "STRIPE_API_BASE": "http://localhost:8420",
        "STRIPE_SECRET_KEY_PARAMETER": "/p/key", "STRIPE_WEBHOOK_SECRET_PARAMETER": "/p/whsec",
        "STRIPE_EVENTS_QUEUE_URL": "https://sqs/q", "CREDIT_UNIT_AMOUNT": "25", "CREDIT_CURRENCY": "EUR",
        "INVOICE_PDF_BUCKET": "wrapper-prod-invoice-pdfs",
        "INVOICE_ISSUER_ADDRESS": "1 Main St| Springfield, IL 62701 |US",
        "SOMETHING_ELSE": "ignored",
    }

    # When it is parsed
    settings = Settings.from_environ(environ)

    # Then each value lands once, in its group, typed
    assert (settings.stage, settings.table_name, settings.aws_region, settings.outbox_ttl_days) == (
        "prod", "wrapper-prod", "eu-west-1", 3)
    assert settings.stripe == StripeSettings(STRIPE_API_BASE="http://localhost:8420",
                                             STRIPE_SECRET_KEY_PARAMETER="/p/key")
    assert (settings.webhooks.webhook_secret_parameter, settings.webhooks.events_queue_url) == (
        "/p/whsec", "https://sqs/q")
    assert (settings.credits.unit_amount, settings.credits.currency) == (25, "EUR")
    assert settings.invoice_pdfs.bucket == "wrapper-prod-invoice-pdfs"
    assert settings.invoice_pdfs.issuer_address_lines == ("1 Main St", "Springfield, IL 62701", "US")
    # APP_URL is read once: the web app's links and Checkout's return page both come from it
    assert settings.app_url == "https://app.example.com/"
    assert settings.billing_page == "https://app.example.com/billing"


def test_settings_default_to_the_local_values_without_an_environment() -> None:
    settings = Settings.from_environ({})
    assert settings == Settings()
    assert (settings.table_name, settings.stripe.secret_key_parameter, settings.credits.unit_amount) == (
        "wrapper", "/wrapper/stripe/secret-key", 1)
    assert settings.aws_endpoint_url is None


def test_settings_refuse_a_credit_that_costs_nothing() -> None:
    with pytest.raises(ValidationError):
        Settings.from_environ({"CREDIT_UNIT_AMOUNT": "0"})


class FakeSsm:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def get_parameter(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"Parameter": {"Value": "sk_test_fake"}}


def test_stripe_is_connected_on_the_first_payment_call_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the Stripe adapter's module stood in for, so that importing it can be seen
    connected: list[tuple[str, str | None]] = []
    adapter = ModuleType("wrapper.payments.stripe_adapter")

    class StripePayments:
        @staticmethod
        def connect(key: str, *, api_base: str | None) -> str:
            connected.append((key, api_base))
            return "payments"

    adapter.StripePayments = StripePayments  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "wrapper.payments.stripe_adapter", adapter)
    ssm = FakeSsm()

    # When a function wires its payments at cold start
    payments = LazyPayments(StripeSettings(STRIPE_SECRET_KEY_PARAMETER="/p/key"), ssm)

    # Then neither the key is read nor the adapter connected
    assert ssm.calls == [] and connected == []

    # When payments are needed, twice
    assert payments() == "payments" and payments() == "payments"

    # Then the key was read once, with decryption, and the adapter connected once (to Stripe itself)
    assert ssm.calls == [{"Name": "/p/key", "WithDecryption": True}]
    assert connected == [("sk_test_fake", None)]


def test_settings_read_every_variable_template_yaml_sets_and_only_those() -> None:
    # Given the variables template.yaml gives the functions (globals and each function's own)
    from localcloud.template import load_yaml
    from tests.unit.builders import REPO
    from wrapper.settings import CreditSettings, InvoicePdfSettings, StripeSettings, WebhookSettings

    template = load_yaml(REPO / "template.yaml")
    declared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            declared |= set(resource["Properties"].get("Environment", {}).get("Variables", {}))
    ours = {name for name in declared if not name.startswith("POWERTOOLS_")}

    # When the settings' names are listed
    read = {field.alias for model in (Settings, StripeSettings, WebhookSettings, CreditSettings, InvoicePdfSettings)
            for field in model.model_fields.values() if field.alias}

    # Then each variable the template sets is read by its name, and the settings read nothing else but
    # what Lambda itself sets (AWS_REGION), what only the local cloud sets (its endpoint) and one tuning
    # knob with a default (OUTBOX_TTL_DAYS)
    assert ours - read == set()
    assert read - ours == {"AWS_REGION", "AWS_ENDPOINT_URL", "OUTBOX_TTL_DAYS"}
