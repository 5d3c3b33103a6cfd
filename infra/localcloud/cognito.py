"""Cognito behaviour moto gets wrong, put right for the local cloud.

- An unknown refresh token makes moto fail with a KeyError (HTTP 500); Cognito answers
  NotAuthorizedException ("Invalid Refresh Token"), which is what our adapter maps to 401.
- moto has no RevokeToken; here it ends the refresh token's life as Cognito's does (an unknown
  token is accepted silently, as Cognito does for tokens it cannot tell apart).
"""

from __future__ import annotations

from typing import Any

from localcloud.patches import PATCHES


def patch_refresh_tokens() -> None:
    from moto.cognitoidp.exceptions import NotAuthorizedError
    from moto.cognitoidp.models import CognitoIdpUserPool

    if not PATCHES.first("cognito: refresh tokens"):
        return
    original = CognitoIdpUserPool.create_tokens_from_refresh_token

    def create_tokens_from_refresh_token(self: Any, refresh_token: str) -> tuple[str, str, int]:
        if refresh_token not in self.refresh_tokens:
            raise NotAuthorizedError("Invalid Refresh Token")
        return original(self, refresh_token)

    PATCHES.replace(CognitoIdpUserPool, "create_tokens_from_refresh_token", create_tokens_from_refresh_token)
    _add_revoke_token()


def _add_revoke_token() -> None:
    from moto.cognitoidp.responses import CognitoIdpResponse
    from moto.core.responses import EmptyResult

    def revoke_token(self: Any) -> Any:
        token, client_id = self._get_param("Token"), self._get_param("ClientId")
        for pool in self.backend.user_pools.values():
            owner = pool.refresh_tokens.get(token)
            if owner and owner[0] == client_id:
                pool.refresh_tokens[token] = None  # moto refuses a refresh token mapped to None
        return EmptyResult()

    PATCHES.replace(CognitoIdpResponse, "revoke_token", revoke_token)
