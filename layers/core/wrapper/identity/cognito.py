"""Amazon Cognito adapter of the ``IdentityProvider`` port (moto's Cognito locally).

Cognito's errors are caught as the client's modeled exceptions (``client.exceptions.<Code>``: the
class botocore raises for that error code), so ``ClientError`` stays the store's alone.
"""

from __future__ import annotations

import base64
import json
from contextlib import suppress
from typing import Any

from wrapper.identity.ports import IdentityProvider, InvalidCredentials, IssuedTokens, UserExists

_BAD_CREDENTIALS = ("NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException",
                    "PasswordResetRequiredException")
# Signing out with a token that is already dead or malformed is still signed out.
_ALREADY_SIGNED_OUT = ("NotAuthorizedException", "UnsupportedTokenTypeException", "InvalidParameterException")


class CognitoIdentityProvider(IdentityProvider):
    def __init__(self, client: Any, *, user_pool_id: str, client_id: str) -> None:
        self.client = client
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    def create_user(self, email: str, password: str) -> str:
        try:
            user = self.client.admin_create_user(
                UserPoolId=self.user_pool_id, Username=email, MessageAction="SUPPRESS",
                UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}])
        except self.client.exceptions.UsernameExistsException:
            raise UserExists(email) from None
        try:
            self.client.admin_set_user_password(UserPoolId=self.user_pool_id, Username=email, Password=password,
                                                Permanent=True)
        except Exception:
            # Whatever failed: without its password the user could never sign in, and would block the
            # email for good.
            self.client.admin_delete_user(UserPoolId=self.user_pool_id, Username=email)
            raise
        return _subject(user["User"]["Attributes"])

    def authenticate(self, email: str, password: str) -> tuple[str, IssuedTokens]:
        tokens = self._auth("ADMIN_USER_PASSWORD_AUTH", {"USERNAME": email, "PASSWORD": password})
        # Cognito itself just handed us this token over TLS: its `sub` is read, not verified here
        # (every later use of the token is verified by the authorizer).
        return str(_unverified_claims(tokens.access_token)["sub"]), tokens

    def refresh(self, refresh_token: str) -> IssuedTokens:
        return self._auth("REFRESH_TOKEN_AUTH", {"REFRESH_TOKEN": refresh_token})

    def revoke(self, refresh_token: str) -> None:
        with suppress(*self._errors(_ALREADY_SIGNED_OUT)):
            self.client.revoke_token(Token=refresh_token, ClientId=self.client_id)

    def set_password(self, email: str, password: str) -> None:
        self.client.admin_set_user_password(UserPoolId=self.user_pool_id, Username=email, Password=password,
                                            Permanent=True)

    def sign_out_everywhere(self, email: str) -> None:
        # Cognito ends the refresh tokens; access tokens already issued live until they expire,
        # since the authorizer verifies them by signature alone.
        self.client.admin_user_global_sign_out(UserPoolId=self.user_pool_id, Username=email)

    def _auth(self, flow: str, parameters: dict[str, str]) -> IssuedTokens:
        try:
            answer = self.client.admin_initiate_auth(UserPoolId=self.user_pool_id, ClientId=self.client_id,
                                                     AuthFlow=flow, AuthParameters=parameters)
        except self._errors(_BAD_CREDENTIALS):
            raise InvalidCredentials() from None
        result = answer.get("AuthenticationResult")
        if not result:  # a challenge (new password, MFA) we do not run: not signed in
            raise InvalidCredentials()
        return IssuedTokens(result["AccessToken"], result.get("RefreshToken"), int(result["ExpiresIn"]))

    def _errors(self, codes: tuple[str, ...]) -> tuple[type[Exception], ...]:
        """The client's exception classes for these Cognito error codes."""
        return tuple(getattr(self.client.exceptions, code) for code in codes)


def _subject(attributes: list[dict[str, str]]) -> str:
    return next(a["Value"] for a in attributes if a["Name"] == "sub")


def _unverified_claims(token: str) -> dict[str, Any]:
    """A JWT's claims, unverified: the base64url JSON between its first two dots. Not PyJWT, whose
    import (with cryptography's) would add some 20 ms to every cold start of the auth function
    for a read that needs none of it."""
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims
