"""What identity logic needs from the outside world, as small interfaces."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class UserExists(Exception):
    pass


class InvalidCredentials(Exception):
    pass


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    refresh_token: str | None
    expires_in: int


class IdentityProvider(Protocol):
    def create_user(self, email: str, password: str) -> str:
        """Create a confirmed user with this password; answer its subject. UserExists if taken."""
        ...

    def authenticate(self, email: str, password: str) -> tuple[str, IssuedTokens]:
        """Answer (subject, tokens); InvalidCredentials for a wrong password or unknown user."""
        ...

    def refresh(self, refresh_token: str) -> IssuedTokens:
        ...

    def revoke(self, refresh_token: str) -> None:
        """End the refresh token (and the access tokens it issued) at the provider."""
        ...

    def set_password(self, email: str, password: str) -> None:
        """Replace the user's password with a permanent one (no change forced at next sign-in)."""
        ...

    def sign_out_everywhere(self, email: str) -> None:
        """End every refresh token the user holds, so sessions opened before now cannot be renewed."""
        ...
