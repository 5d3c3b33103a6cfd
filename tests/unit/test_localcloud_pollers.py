"""Which records an event source mapping retries, by Lambda's ReportBatchItemFailures rules."""

from __future__ import annotations

from typing import Any

import pytest

from localcloud.pollers import _failed_ids
from localcloud.runtime import Invocation

IDS = ["m-1", "m-2", "m-3"]


def answered(payload: Any) -> Invocation:
    return Invocation(payload=payload, error=None, duration_ms=3.0)


def crashed() -> Invocation:
    return Invocation(payload=None, error={"errorMessage": "boom", "errorType": "RuntimeError"}, duration_ms=3.0)


def failures(*identifiers: Any) -> dict[str, Any]:
    return {"batchItemFailures": [{"itemIdentifier": identifier} for identifier in identifiers]}


@pytest.mark.parametrize("reports_failures", [True, False])
def test_a_function_error_retries_the_whole_batch(reports_failures: bool) -> None:
    # Given / When the function raised / Then every record is retried
    assert _failed_ids(crashed(), reports_failures, IDS) == IDS


def test_without_report_batch_item_failures_a_listed_failure_is_ignored() -> None:
    # Given a mapping without ReportBatchItemFailures
    # When the function answers batchItemFailures
    # Then Lambda does not read it: nothing is retried
    assert _failed_ids(answered(failures("m-2")), False, IDS) == []


@pytest.mark.parametrize("payload", [None, {}, {"batchItemFailures": None}, {"batchItemFailures": []}],
                         ids=["null-response", "empty-response", "null-list", "empty-list"])
def test_an_answer_without_failures_completes_the_batch(payload: Any) -> None:
    # Given / When the function answers no failures in any of the ways Lambda accepts
    # Then nothing is retried
    assert _failed_ids(answered(payload), True, IDS) == []


def test_listed_failures_alone_are_retried() -> None:
    # Given / When the function lists two of three records as failed
    # Then only those two are retried
    assert _failed_ids(answered(failures("m-1", "m-3")), True, IDS) == ["m-1", "m-3"]


@pytest.mark.parametrize("payload", [
    {"batchItemFailures": [{"itemIdentifier": "m-1"}, "m-2"]},
    {"batchItemFailures": [{"id": "m-1"}]},
    failures(None),
    failures(""),
    {"batchItemFailures": "m-1"},
], ids=["not-an-object", "wrong-key", "null-identifier", "empty-identifier", "not-a-list"])
def test_a_malformed_failure_report_retries_the_whole_batch(payload: Any) -> None:
    # Given / When the function's failure report is malformed
    # Then Lambda treats the batch as failed: every record is retried
    assert _failed_ids(answered(payload), True, IDS) == IDS


def test_a_failure_naming_a_record_not_in_the_batch_retries_the_whole_batch() -> None:
    # Given / When the function lists an identifier that is not in the batch
    # Then every record is retried
    assert _failed_ids(answered(failures("m-2", "m-404")), True, IDS) == IDS


@pytest.mark.parametrize("payload", [["m-1"], "ok", 3])
def test_an_answer_that_is_not_a_batch_response_fails_the_whole_batch(payload: Any) -> None:
    # Given a mapping with ReportBatchItemFailures / When the function answers something that is
    # not an object / Then Lambda cannot read it as a batch response and retries every record
    assert _failed_ids(answered(payload), True, IDS) == IDS
