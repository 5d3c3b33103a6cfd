"""Identity and membership records.

| item | PK | SK |
|---|---|---|
| email → user (platform-wide, case-folded) | `PLATFORM#EMAIL#<email>` | `USER` |
| user profile | `PLATFORM#USER#<user_id>` | `PROFILE` |
| a user's tenants | `PLATFORM#USER#<user_id>` | `TENANT#<tenant_id>` |
| tenant profile | `TENANT#<tenant_id>` | `PROFILE` |
| a tenant's members | `TENANT#<tenant_id>` | `MEMBER#<user_id>` |
| revoked refresh token | `PLATFORM#REVOKED#<sha256>` | `TOKEN` (TTL) |
| sign-in failures in a window | `PLATFORM#LOGINFAIL#<sha256(email)>` | `WINDOW#<start>` (TTL) |
| password-reset token | `PLATFORM#PWRESET#<sha256(token)>` | `TOKEN` (TTL) |
| a user's outstanding reset token | `PLATFORM#USER#<user_id>` | `PWRESET` |
| reset requests per email in a window | `PLATFORM#PWRESETRATE#<sha256(email)>` | `WINDOW#<start>` (TTL) |

A user has at most one live reset token: the ``PWRESET`` item names its digest, and a new
request swaps both in one transaction, deleting the old token. Only digests are stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from wrapper.events.envelope import EventEnvelope
from wrapper.events.outbox import write_with_outbox
from wrapper.store.schema import (
    MEMBERSHIP_PREFIX,
    PROFILE_SK,
    RESET_POINTER_SK,
    TOKEN_SK,
    USER_SK,
    digest,
    email_pk,
    login_failures_pk,
    member_sk,
    membership_sk,
    reset_requests_pk,
    reset_token_pk,
    revoked_token_pk,
    tenant_pk,
    user_pk,
    window_sk,
)
from wrapper.store.table import Item, Table, WriteRefused, delete_op, put_op, to_dynamo, update_op


class EmailTaken(Exception):
    pass


class IdentityStore:
    def __init__(self, table: Table, *, outbox_ttl_days: int) -> None:
        self.table = table
        self.outbox_ttl_days = outbox_ttl_days

    # ------------------------------------------------------------------ users and tenants
    def user_id_by_email(self, email: str) -> str | None:
        item = self.table.get(email_pk(email), USER_SK)
        return str(item["user_id"]) if item else None

    def tenants_of(self, user_id: str) -> list[Item]:
        items, _ = self.table.query(user_pk(user_id), sk_prefix=MEMBERSHIP_PREFIX, limit=100)
        return items

    def membership_in(self, tenant_id: str, user_id: str) -> Item | None:
        """The user's membership of the tenant (``role``, ``joined_at``), or None if they are not a member."""
        return self.table.get(user_pk(user_id), membership_sk(tenant_id))

    def tenant_states(self, tenant_ids: Sequence[str]) -> dict[str, dict[str, str]]:
        """Status and plan tier of each tenant, one BatchGetItem (a user belongs to few tenants)."""
        states: dict[str, dict[str, str]] = {}
        ids = list(dict.fromkeys(tenant_ids))
        for start in range(0, len(ids), 100):
            keys = [(tenant_pk(t), PROFILE_SK) for t in ids[start:start + 100]]
            for item in self.table.batch_get(keys, attributes=("tenant_id", "status", "plan_tier")):
                states[str(item["tenant_id"])] = {"status": str(item["status"]),
                                                  "tier": str(item.get("plan_tier", "free"))}
        return states

    def create_tenant_with_owner(self, *, tenant_id: str, user_id: str, email: str, tenant_name: str,
                                 now: datetime, events: Sequence[EventEnvelope]) -> None:
        """Email reservation, user, tenant and owner membership (both directions) and their events,
        all in one transaction. EmailTaken if the email was claimed meanwhile."""
        at = now.isoformat()
        operations = [
            put_op({"PK": email_pk(email), "SK": USER_SK, "record_type": "email", "user_id": user_id,
                    "created_at": at}, condition="attribute_not_exists(PK)"),
            put_op({"PK": user_pk(user_id), "SK": PROFILE_SK, "record_type": "user",
                    "user_id": user_id, "email": email, "created_at": at}, condition="attribute_not_exists(PK)"),
            put_op({"PK": user_pk(user_id), "SK": membership_sk(tenant_id), "record_type": "membership",
                    "tenant_id": tenant_id, "role": "owner", "joined_at": at}),
            put_op({"PK": tenant_pk(tenant_id), "SK": PROFILE_SK, "record_type": "tenant", "tenant_id": tenant_id,
                    "name": tenant_name, "timezone": "UTC", "billing_email": email, "status": "active",
                    "plan_tier": "free", "created_at": at, "version": 1}, condition="attribute_not_exists(PK)"),
            put_op({"PK": tenant_pk(tenant_id), "SK": member_sk(user_id), "record_type": "member",
                    "user_id": user_id, "email": email, "role": "owner", "joined_at": at}),
        ]
        try:
            write_with_outbox(self.table, operations, events, ttl_days=self.outbox_ttl_days)
        except WriteRefused as refused:
            if refused.failed_at(0):
                raise EmailTaken(email) from None
            raise

    # ------------------------------------------------------------------ refresh-token revocation
    def revoke_refresh_token(self, refresh_token: str, *, expires_at: int) -> None:
        self.table.put({"PK": revoked_token_pk(digest(refresh_token)), "SK": TOKEN_SK,
                        "record_type": "revoked_token", "expires_at": expires_at})

    def is_revoked(self, refresh_token: str) -> bool:
        return self.table.get(revoked_token_pk(digest(refresh_token)), TOKEN_SK) is not None

    # ------------------------------------------------------------------ sign-in failures
    def _failure_key(self, email: str, window_start: int) -> dict[str, str]:
        return {"PK": login_failures_pk(digest(email)), "SK": window_sk(window_start)}

    def try_attempt(self, email: str, window_start: int, *, max_failures: int, expires_at: int) -> bool:
        """Count one sign-in attempt, atomically, unless the window already holds ``max_failures``
        uncleared attempts: False then. A successful sign-in clears the count."""
        key = self._failure_key(email, window_start)
        counted = self.table.increment(key["PK"], key["SK"], "failures", expires_at=expires_at,
                                       record_type="login_failures", below=max_failures)
        return counted is not None

    def clear_failures(self, email: str, window_start: int) -> None:
        key = self._failure_key(email, window_start)
        self.table.delete(key["PK"], key["SK"])

    def record_failed_sign_in(self, email: str, window_start: int, events: Sequence[EventEnvelope], *,
                              locked: bool) -> bool:
        """Write the events of one failed sign-in. Refusals of a locked email are reported once
        per window (a flag on the window's counter), so guessing on cannot flood the audit log;
        answers whether the events were written."""
        if not events:
            return False
        operations = []
        if locked:
            key = self._failure_key(email, window_start)
            operations.append(update_op(key["PK"], key["SK"], update="SET lock_reported = :yes",
                                        condition="attribute_exists(PK) AND attribute_not_exists(lock_reported)",
                                        values={":yes": True}))
        try:
            write_with_outbox(self.table, operations, events, ttl_days=self.outbox_ttl_days)
        except WriteRefused as refused:
            if locked and refused.failed_at(0):
                return False
            raise
        return True

    # ------------------------------------------------------------------ password reset
    def count_reset_request(self, email: str, window_start: int, *, max_requests: int, expires_at: int) -> bool:
        """Count one reset request for the email, unless the window already holds ``max_requests``."""
        counted = self.table.increment(reset_requests_pk(digest(email)), window_sk(window_start),
                                       "requests", expires_at=expires_at, record_type="reset_requests",
                                       below=max_requests)
        return counted is not None

    def reset_token(self, digest: str) -> Item | None:
        return self.table.get(reset_token_pk(digest), TOKEN_SK)

    def replace_reset_token(self, *, user_id: str, email: str, digest: str, expires_at: int,
                            created_at: str) -> bool:
        """Make ``digest`` the user's one live reset token, deleting the previous one in the same
        transaction. False when a concurrent request replaced it first (its token stands)."""
        pointer_pk = user_pk(user_id)
        previous = self.table.get(pointer_pk, RESET_POINTER_SK)
        pointer = {"PK": pointer_pk, "SK": RESET_POINTER_SK, "record_type": "reset_pointer", "digest": digest,
                   "expires_at": expires_at}
        operations = [put_op({"PK": reset_token_pk(digest), "SK": TOKEN_SK, "record_type": "reset_token",
                              "user_id": user_id, "email": email, "created_at": created_at,
                              "expires_at": expires_at}, condition="attribute_not_exists(PK)")]
        if previous:
            operations.append(delete_op(reset_token_pk(previous['digest']), TOKEN_SK))
            operations.append(put_op(pointer, condition="#d = :previous", names={"#d": "digest"},
                                     values={":previous": previous["digest"]}))
        else:
            operations.append(put_op(pointer, condition="attribute_not_exists(PK)"))
        try:
            self.table.transact(operations)
        except WriteRefused as refused:
            if refused.failed_at(len(operations) - 1):
                return False
            raise
        return True

    def redeem_reset_token(self, digest: str, *, user_id: str, email: str, now: int, failure_window: int,
                           events: Sequence[EventEnvelope]) -> bool:
        """Spend the token, clear the email's sign-in lockout and record ``events``, all or nothing.
        False when the token was spent, replaced or expired meanwhile."""
        claim = delete_op(reset_token_pk(digest), TOKEN_SK,
                          condition="attribute_exists(PK) AND expires_at > :now")
        claim["Delete"]["ExpressionAttributeValues"] = to_dynamo({":now": now})
        failures = self._failure_key(email, failure_window)
        operations = [claim, delete_op(user_pk(user_id), RESET_POINTER_SK),
                      delete_op(failures["PK"], failures["SK"])]
        try:
            write_with_outbox(self.table, operations, events, ttl_days=self.outbox_ttl_days)
        except WriteRefused as refused:
            if refused.failed_at(0):
                return False
            raise
        return True
