"""Sign-up, sign-in, refresh and sign-out."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ulid import ULID

from wrapper.api.ratelimit import fixed_window
from wrapper.errors import Conflict, LimitExceeded, Unauthorized
from wrapper.events.catalog import EventType
from wrapper.events.envelope import new_event
from wrapper.identity.models import (
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RefreshResponse,
    SessionResponse,
    SignupRequest,
    SignupResponse,
)
from wrapper.identity.ports import IdentityProvider, InvalidCredentials, UserExists
from wrapper.identity.store import EmailTaken, IdentityStore

WRONG_CREDENTIALS = "Email or password is wrong."


@dataclass(frozen=True)
class SignInPolicy:
    """Failed sign-ins per email within a window before the email is locked for the rest of it."""

    max_failures: int = 5
    window_seconds: int = 900
    refresh_token_days: int = 7


@dataclass
class IdentityService:
    idp: IdentityProvider
    store: IdentityStore
    policy: SignInPolicy = SignInPolicy()
    clock: Callable[[], float] = time.time
    new_tenant_id: Callable[[], str] = lambda: str(ULID())

    def signup(self, request: SignupRequest, *, request_id: str | None = None,
               source_ip: str | None = None) -> SignupResponse:
        taken = Conflict("An account with this email already exists; sign in instead.")
        if self.store.user_id_by_email(request.email):
            raise taken
        try:
            user_id = self.idp.create_user(request.email, request.password)
        except UserExists:
            # An earlier sign-up stopped after creating the identity (a crash or a timeout).
            # Only the caller who knows its password may finish it; anyone else gets the 409.
            try:
                user_id, _ = self.idp.authenticate(request.email, request.password)
            except InvalidCredentials:
                raise taken from None
        tenant_id = self.new_tenant_id()
        context = {"actor": user_id, "target": tenant_id, "request_id": request_id, "source_ip": source_ip}
        events = [new_event(EventType.TENANT_CREATED, tenant_id, {**context, "name": request.tenant_name}),
                  new_event(EventType.MEMBER_JOINED, tenant_id, {**context, "target": user_id, "role": "owner"})]
        try:
            self.store.create_tenant_with_owner(tenant_id=tenant_id, user_id=user_id, email=request.email,
                                                tenant_name=request.tenant_name, now=self._now(), events=events)
        except EmailTaken:
            raise taken from None
        _, tokens = self.idp.authenticate(request.email, request.password)
        return SignupResponse(tenant_id=tenant_id, user_id=user_id, access_token=tokens.access_token,
                              refresh_token=tokens.refresh_token, expires_in=tokens.expires_in)

    def login(self, request: LoginRequest) -> SessionResponse:
        window, retry_after = fixed_window(self.clock(), self.policy.window_seconds)
        # Count the attempt before trying it: concurrent guesses cannot all slip past the check.
        if not self.store.try_attempt(request.email, window, max_failures=self.policy.max_failures,
                                      expires_at=window + 2 * self.policy.window_seconds):
            raise LimitExceeded("Too many failed sign-ins for this email; try again later.",
                                retry_after_seconds=retry_after)
        try:
            user_id, tokens = self.idp.authenticate(request.email, request.password)
            tenants = self.store.tenants_of(user_id)
            if not tenants:  # an identity whose sign-up never finished has no account yet
                raise InvalidCredentials()
        except InvalidCredentials:
            raise Unauthorized(WRONG_CREDENTIALS) from None
        self.store.clear_failures(request.email, window)
        return SessionResponse(tenant_id=str(tenants[0]["tenant_id"]), user_id=user_id,
                               access_token=tokens.access_token, refresh_token=tokens.refresh_token,
                               expires_in=tokens.expires_in)

    def refresh(self, request: RefreshRequest) -> RefreshResponse:
        if self.store.is_revoked(request.refresh_token):
            raise Unauthorized("This refresh token was revoked; sign in again.")
        try:
            tokens = self.idp.refresh(request.refresh_token)
        except InvalidCredentials:
            raise Unauthorized("This refresh token is not valid; sign in again.") from None
        return RefreshResponse(access_token=tokens.access_token, expires_in=tokens.expires_in)

    def logout(self, request: LogoutRequest) -> None:
        """Revoke the refresh token at the provider and in our own list (idempotent). Access tokens
        already issued stay valid until they expire (30 minutes)."""
        self.idp.revoke(request.refresh_token)
        self.store.revoke_refresh_token(
            request.refresh_token, expires_at=int(self.clock()) + self.policy.refresh_token_days * 86400)

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)
