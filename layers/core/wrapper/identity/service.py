"""Sign-up, sign-in, refresh, sign-out and password reset by emailed token."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from ulid import ULID

from wrapper.events.catalog import EventType
from wrapper.events.envelope import EventEnvelope, audit_fields, new_event
from wrapper.identity.models import (
    ForgotPasswordRequest,
    LoginRequest,
    LogoutRequest,
    RefreshRequest,
    RefreshResponse,
    ResetPasswordRequest,
    SessionResponse,
    SignupRequest,
    SignupResponse,
)
from wrapper.identity.ports import IdentityProvider, InvalidCredentials, UserExists
from wrapper.identity.store import EmailTaken, IdentityStore
from wrapper.kernel.clock import EpochClock, epoch, fixed_window
from wrapper.kernel.errors import Conflict, LimitExceeded, NotFound, Unauthorized
from wrapper.kernel.request_meta import NO_REQUEST, RequestMeta
from wrapper.kernel.timestamps import iso_z
from wrapper.notifications import Email, Notifier
from wrapper.store.schema import digest

WRONG_CREDENTIALS = "Email or password is wrong."
INVALID_RESET_TOKEN = "This reset token is invalid, expired or already used; ask for a new one."  # noqa: S105
# Who acts in a failed sign-in is unknown: the attempt proved nothing about the caller.
ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class SignInPolicy:
    """Failed sign-ins per email within a window before the email is locked for the rest of it."""

    max_failures: int = 5
    window_seconds: int = 900
    refresh_token_days: int = 7


@dataclass(frozen=True)
class ResetPolicy:
    """How long an emailed reset token lives, and how many reset emails an email address gets
    per window (asking more often still answers 202, but sends nothing)."""

    token_seconds: int = 3600
    max_requests: int = 3
    window_seconds: int = 3600


@dataclass
class IdentityService:
    idp: IdentityProvider
    store: IdentityStore
    policy: SignInPolicy = SignInPolicy()
    reset_policy: ResetPolicy = ResetPolicy()
    clock: EpochClock = epoch
    new_tenant_id: Callable[[], str] = lambda: str(ULID())

    def signup(self, request: SignupRequest, *, request_meta: RequestMeta = NO_REQUEST) -> SignupResponse:
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
        context = audit_fields(user_id, tenant_id, request_meta)
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

    def login(self, request: LoginRequest, *, request_meta: RequestMeta = NO_REQUEST) -> SessionResponse:
        window, retry_after = fixed_window(self.clock(), self.policy.window_seconds)
        # Count the attempt before trying it: concurrent guesses cannot all slip past the check.
        if not self.store.try_attempt(request.email, window, max_failures=self.policy.max_failures,
                                      expires_at=window + 2 * self.policy.window_seconds):
            self._report_failed_sign_in(request.email, window, "locked", request_meta)
            raise LimitExceeded("Too many failed sign-ins for this email; try again later.",
                                retry_after_seconds=retry_after)
        try:
            user_id, tokens = self.idp.authenticate(request.email, request.password)
            tenants = self.store.tenants_of(user_id)
            if not tenants:  # an identity whose sign-up never finished has no account yet
                raise InvalidCredentials()
        except InvalidCredentials:
            self._report_failed_sign_in(request.email, window, "wrong_password", request_meta)
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

    def forgot_password(self, request: ForgotPasswordRequest, *, notifier: Notifier, app_url: str) -> None:
        """Email a one-time reset token if the email has an account. The caller learns nothing
        either way: every request answers the same, and only the mailbox's owner sees a token."""
        now = self.clock()
        window, _ = fixed_window(now, self.reset_policy.window_seconds)
        # Counted before the lookup, for unknown emails too: the two paths cost the same.
        if not self.store.count_reset_request(request.email, window, max_requests=self.reset_policy.max_requests,
                                              expires_at=window + 2 * self.reset_policy.window_seconds):
            return
        user_id = self.store.user_id_by_email(request.email)
        if user_id is None:
            return
        token = secrets.token_urlsafe(32)
        expires_at = int(now) + self.reset_policy.token_seconds
        if not self.store.replace_reset_token(user_id=user_id, email=request.email, digest=_token_digest(token),
                                              expires_at=expires_at, created_at=self._now().isoformat()):
            return  # a concurrent request's token became the live one, and its email says so
        # After the commit, never inside it: if sending fails, asking again sends a fresh token.
        expires = iso_z(expires_at)
        notifier.send(Email(
            to=request.email, subject="Reset your password",
            text=(f"Someone asked to reset the password of this account. If it was not you, ignore this email.\n\n"
                  f"Reset: {app_url.rstrip('/')}/password/reset?token={token}\n"
                  f"Reset token: {token}\n\nThe token works once, until {expires}.")))

    def reset_password(self, request: ResetPasswordRequest, *, request_meta: RequestMeta = NO_REQUEST) -> None:
        """Set a new password with an emailed token, end every session and clear the lockout.

        The token is spent, the lockout cleared and the events recorded in one transaction, and
        only then is the password changed at the provider. Spending first means two uses of one
        token can never both set a password; recording the events with it means no reset that
        took effect is missing from the audit log. The cost: if the provider fails after the
        commit, the token is gone and the user asks for a new one (the log then shows a reset
        whose password change did not happen)."""
        now = self.clock()
        digest = _token_digest(request.token)
        token = self.store.reset_token(digest)
        if token is None or int(token["expires_at"]) <= now:
            raise NotFound(INVALID_RESET_TOKEN)
        user_id, email = str(token["user_id"]), str(token["email"])
        context = audit_fields(user_id, user_id, request_meta)
        events = [new_event(EventType.AUTH_PASSWORD_RESET, str(t["tenant_id"]), context)
                  for t in self.store.tenants_of(user_id)]
        window, _ = fixed_window(now, self.policy.window_seconds)
        # The clock is read again: the claim's condition refuses a token that expired meanwhile.
        if not self.store.redeem_reset_token(digest, user_id=user_id, email=email, now=int(self.clock()),
                                             failure_window=window, events=events):
            raise NotFound(INVALID_RESET_TOKEN)
        self.idp.set_password(email, request.password)
        self.idp.sign_out_everywhere(email)

    def _report_failed_sign_in(self, email: str, window: int, reason: str, request_meta: RequestMeta) -> None:
        """An ``auth.login_failed`` event in each tenant of the email's user; none for an unknown
        email (it has no tenant whose log could hold it)."""
        user_id = self.store.user_id_by_email(email)
        if user_id is None:
            return
        context = {**audit_fields(ANONYMOUS, user_id, request_meta), "reason": reason}
        events: list[EventEnvelope] = [new_event(EventType.AUTH_LOGIN_FAILED, str(t["tenant_id"]), context)
                                       for t in self.store.tenants_of(user_id)]
        self.store.record_failed_sign_in(email, window, events, locked=reason == "locked")

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)


def _token_digest(token: str) -> str:
    # The token carries 256 random bits: a fast hash is enough, no salt or stretching needed.
    return digest(token)
