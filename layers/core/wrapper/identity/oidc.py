"""Users who sign in with another OIDC identity provider (Kinde, Auth0, Entra ID, ...).

Such a provider's subject (``sub``) means nothing to Wrapper, so the authorizer links each
(issuer, subject) to a Wrapper user once, on the first token it sees, by the token's *verified*
email (``email`` with ``email_verified: true``): the person must already have a Wrapper account
with that email (signed up, or accepted an invite). A token without a verified email, or whose
email has no account, is refused. The link never changes afterwards, even if the provider
later reports another email for the subject: a provider account cannot be moved to another
Wrapper user by renaming its email.

| item | PK | SK |
|---|---|---|
| an external identity's user | `PLATFORM#OIDC#<sha256(issuer)>` | `SUB#<subject>` |
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from wrapper.identity.emails import normalize_email
from wrapper.identity.tokens import Claims
from wrapper.kernel.clock import Clock, now
from wrapper.store.schema import oidc_pk, oidc_subject_sk
from wrapper.store.table import Table, WriteRefused


class OidcLinks:
    def __init__(self, table: Table, *, issuers: Collection[str], user_id_by_email: Callable[[str], str | None],
                 clock: Clock = now) -> None:
        self.table = table
        self.issuers = frozenset(issuers)
        self.user_id_by_email = user_id_by_email
        self.clock = clock

    def handles(self, issuer: str) -> bool:
        """Whether tokens of this issuer need a link (the user pool's subjects are user ids)."""
        return issuer in self.issuers

    def user_for(self, claims: Claims) -> str | None:
        """The Wrapper user this provider's subject is, linking it on first sight; None if unknown."""
        key = _key(claims.issuer, claims.subject)
        linked = self.table.get(key["PK"], key["SK"])
        if linked is not None:
            return str(linked["user_id"])
        email = _verified_email(claims)
        user_id = self.user_id_by_email(email) if email else None
        if user_id is None:
            return None
        try:
            # UpdateItem rather than PutItem: the authorizer's role may update, not put.
            self.table.update(key["PK"], key["SK"],
                              update="SET record_type = :t, user_id = :u, email = :e, linked_at = :at",
                              condition="attribute_not_exists(PK)",
                              values={":t": "oidc_link", ":u": user_id, ":e": email, ":at": self.clock().isoformat()})
        except WriteRefused:
            # Linked meanwhile by a concurrent first request: the stored link wins.
            raced = self.table.get(key["PK"], key["SK"])
            return str(raced["user_id"]) if raced else None
        return user_id


def _key(issuer: str, subject: str) -> dict[str, str]:
    return {"PK": oidc_pk(issuer), "SK": oidc_subject_sk(subject)}


def _verified_email(claims: Claims) -> str | None:
    email = claims.raw.get("email")
    if not isinstance(email, str) or claims.raw.get("email_verified") is not True:
        return None
    try:
        return normalize_email(email)
    except ValueError:
        return None
