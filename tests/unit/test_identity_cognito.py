"""Cognito's adapter turns Cognito's error codes into the port's errors, and lets every other one
through. Cognito's answers are stubbed (botocore's Stubber), so each code is raised the way the real
client raises it: as the client's modeled exception for that code."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from tests.unit.builders import fake_aws_environment
from wrapper.identity.cognito import CognitoIdentityProvider
from wrapper.identity.ports import InvalidCredentials, UserExists

POOL = "us-east-1_pool1"
CLIENT = "client1"
EMAIL = "ada@example.com"
PASSWORD = "a long enough passphrase"
UNRELATED = "TooManyRequestsException"


@pytest.fixture
def cognito(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[CognitoIdentityProvider, Stubber]]:
    fake_aws_environment(monkeypatch)
    client = boto3.client("cognito-idp", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield CognitoIdentityProvider(client, user_pool_id=POOL, client_id=CLIENT), stubber
        stubber.assert_no_pending_responses()


@pytest.mark.parametrize("code", ["NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException",
                                  "PasswordResetRequiredException"])
def test_a_refused_sign_in_is_invalid_credentials(cognito: tuple[CognitoIdentityProvider, Stubber],
                                                  code: str) -> None:
    idp, stubber = cognito
    stubber.add_client_error("admin_initiate_auth", service_error_code=code)
    with pytest.raises(InvalidCredentials):
        idp.authenticate(EMAIL, PASSWORD)


def test_another_error_of_a_sign_in_goes_through(cognito: tuple[CognitoIdentityProvider, Stubber]) -> None:
    idp, stubber = cognito
    stubber.add_client_error("admin_initiate_auth", service_error_code=UNRELATED)
    with pytest.raises(ClientError, match=UNRELATED):
        idp.refresh("a-refresh-token")


def test_an_email_cognito_already_has_is_user_exists(cognito: tuple[CognitoIdentityProvider, Stubber]) -> None:
    idp, stubber = cognito
    stubber.add_client_error("admin_create_user", service_error_code="UsernameExistsException")
    with pytest.raises(UserExists):
        idp.create_user(EMAIL, PASSWORD)


def test_a_user_whose_password_cannot_be_set_is_deleted_again(
        cognito: tuple[CognitoIdentityProvider, Stubber]) -> None:
    idp, stubber = cognito
    stubber.add_response("admin_create_user", {"User": {"Attributes": [{"Name": "sub", "Value": "sub-1"}]}})
    stubber.add_client_error("admin_set_user_password", service_error_code="InvalidPasswordException")
    stubber.add_response("admin_delete_user", {}, {"UserPoolId": POOL, "Username": EMAIL})
    with pytest.raises(ClientError, match="InvalidPasswordException"):
        idp.create_user(EMAIL, PASSWORD)


@pytest.mark.parametrize("code", ["NotAuthorizedException", "UnsupportedTokenTypeException",
                                  "InvalidParameterException"])
def test_signing_out_with_a_dead_or_malformed_token_is_signed_out(
        cognito: tuple[CognitoIdentityProvider, Stubber], code: str) -> None:
    idp, stubber = cognito
    stubber.add_client_error("revoke_token", service_error_code=code)
    idp.revoke("a-refresh-token")


def test_another_error_of_signing_out_goes_through(cognito: tuple[CognitoIdentityProvider, Stubber]) -> None:
    idp, stubber = cognito
    stubber.add_client_error("revoke_token", service_error_code=UNRELATED)
    with pytest.raises(ClientError, match=UNRELATED):
        idp.revoke("a-refresh-token")
