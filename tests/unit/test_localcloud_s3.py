"""The local cloud's S3: a bucket policy's statement applies only where its conditions hold, and requests
count as sent over TLS (the local endpoint stands in for S3's HTTPS one). Against moto, in-process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from localcloud.patches import PATCHES
from localcloud.s3 import patch_bucket_policies
from tests.unit.builders import fake_aws_environment

BUCKET = "pdfs"


def _deny(**condition: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"], **condition}


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    fake_aws_environment(monkeypatch)
    patch_bucket_policies()
    try:
        with mock_aws():
            client = boto3.client("s3", region_name="us-east-1")
            client.create_bucket(Bucket=BUCKET)
            yield client
    finally:
        PATCHES.undo()


def _policy(s3: Any, *statements: dict[str, Any]) -> None:
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def test_a_bucket_that_denies_requests_without_tls_serves_the_local_endpoint(s3: Any) -> None:
    # Given the invoice PDFs' policy: deny every request not sent over TLS
    _policy(s3, _deny(Condition={"Bool": {"aws:SecureTransport": "false"}}))

    # When an object is written and read through the local endpoint (which stands in for HTTPS)
    s3.put_object(Bucket=BUCKET, Key="tenants/acme/a.pdf", Body=b"%PDF-")

    # Then both succeed: the deny's condition does not hold, so the statement does not apply
    assert s3.get_object(Bucket=BUCKET, Key="tenants/acme/a.pdf")["Body"].read() == b"%PDF-"


def test_an_unconditional_deny_still_refuses(s3: Any) -> None:
    # Given a policy that denies everything
    _policy(s3, _deny())

    # When an object is written, then it is refused as on AWS
    with pytest.raises(s3.exceptions.ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key="tenants/acme/a.pdf", Body=b"%PDF-")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_deny_whose_condition_holds_refuses(s3: Any) -> None:
    # Given a policy that denies requests over TLS (the condition every local request meets)
    _policy(s3, _deny(Condition={"Bool": {"aws:SecureTransport": "true"}}))

    # Then a write is refused
    with pytest.raises(s3.exceptions.ClientError) as refused:
        s3.put_object(Bucket=BUCKET, Key="tenants/acme/a.pdf", Body=b"%PDF-")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
