"""Request and response bodies of the auth API. Unknown fields are refused (no mass assignment)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, ConfigDict, Field, StringConstraints

from wrapper.identity.emails import normalize_email
from wrapper.kernel.model import Model

Email = Annotated[str, AfterValidator(normalize_email)]
def _no_surrounding_space(value: str) -> str:
    if value != value.strip():
        raise ValueError("a password cannot begin or end with white space")
    return value


Password = Annotated[str, StringConstraints(min_length=12, max_length=256), AfterValidator(_no_surrounding_space)]
TenantName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class _Body(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class SignupRequest(_Body):
    email: Email
    password: Password
    tenant_name: TenantName


class LoginRequest(_Body):
    email: Email
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class RefreshRequest(_Body):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=8192)]


class LogoutRequest(RefreshRequest):
    pass


# What token_urlsafe(32) produces (43 characters), with room to grow, and nothing a key could trip on.
ResetToken = Annotated[str, StringConstraints(min_length=20, max_length=128, pattern=r"^[A-Za-z0-9_-]+$")]


class ForgotPasswordRequest(_Body):
    email: Email


class ResetPasswordRequest(_Body):
    token: ResetToken
    password: Password


class Accepted(Model):
    status: Literal["accepted"] = "accepted"
    detail: str = "If the email has an account, a reset link is on its way."


class Tokens(Model):
    access_token: str
    refresh_token: str | None = None
    expires_in: int
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, not a secret


class SessionResponse(Tokens):
    tenant_id: str
    user_id: str


class SignupResponse(SessionResponse):
    pass


class RefreshResponse(Tokens):
    refresh_token: str | None = Field(default=None, description="Not rotated: keep using the one you have")
