"""Invites: a member with ``members:write`` invites an email with a role; the invitee accepts
with the emailed one-time token and becomes a member (signing up on the way if new).

| item | PK | SK |
|---|---|---|
| a pending invite (one per email per tenant) | `TENANT#<t>` | `INVITE#<email>` |
| the token's lookup (TTL) | `PLATFORM#INVITE#<sha256(token)>` | `INVITE` |

Only the token's SHA-256 is stored (the token carries 256 random bits, so a fast hash is
enough). Inviting an email again replaces its pending invite: the old token stops working.
Accepting is one transaction: both invite items go, both membership items and the
``member.joined`` event are written, and (for a new user) the email reservation and profile;
it fails as a whole if the invite was used meanwhile, the person is already a member, the
tenant is not active, or a custom role was deleted (the role's ``holders`` count is raised in
the same transaction, on the condition that the role still exists). The identity is created before that
transaction; if it then fails or crashes, accepting again with the same password finishes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import suppress
from typing import Annotated, Any

from pydantic import ConfigDict, StringConstraints, TypeAdapter, ValidationError
from ulid import ULID

from wrapper.events.catalog import EventType
from wrapper.events.envelope import audit_fields, new_event
from wrapper.events.outbox import write_with_outbox
from wrapper.identity.models import Email, Password, SessionResponse
from wrapper.identity.ports import IdentityProvider, InvalidCredentials, UserExists
from wrapper.identity.store import IdentityStore
from wrapper.kernel.actor import Actor, CustomRoles
from wrapper.kernel.clock import EpochClock, epoch
from wrapper.kernel.errors import Conflict, InvalidInput, NotFound, Unauthorized
from wrapper.kernel.model import Model
from wrapper.kernel.pagination import Page, clamp_limit, decode_cursor, encode_cursor
from wrapper.kernel.permissions import ROLE_PERMISSIONS, Permission, ensure_can_assign
from wrapper.kernel.request_meta import RequestMeta
from wrapper.kernel.timestamps import iso_z
from wrapper.notifications import Email as EmailMessage
from wrapper.notifications import Notifier
from wrapper.store.schema import (
    INVITE_PREFIX,
    INVITE_TOKEN_SK,
    PROFILE_SK,
    USER_SK,
    digest,
    email_pk,
    invite_sk,
    invite_token_pk,
    member_sk,
    membership_sk,
    tenant_pk,
    user_pk,
)
from wrapper.store.table import Item, Table, WriteRefused, check_op, delete_op, put_op

_PASSWORD = TypeAdapter(Password)


def token_digest(token: str) -> str:
    return digest(token)


class InviteRequest(Model):
    model_config = ConfigDict(extra="forbid")
    email: Email
    role: Annotated[str, StringConstraints(min_length=1, max_length=32)]


class Invite(Model):
    id: str
    email: str
    role: str
    status: str
    invited_by: str
    created_at: str
    expires_at: str


class AcceptInvite(Model):
    model_config = ConfigDict(extra="forbid")
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class Invites:
    def __init__(self, table: Table, *, outbox_ttl_days: int, ttl_days: int = 7,
                 clock: EpochClock = epoch) -> None:
        self.table = table
        self.outbox_ttl_days = outbox_ttl_days
        self.ttl_seconds = ttl_days * 86400
        self.clock = clock

    # ------------------------------------------------------------------ inviting
    def create(self, actor: Actor, request: InviteRequest, *, custom_roles: CustomRoles, notifier: Notifier,
               app_url: str) -> Invite:
        actor.require(Permission.MEMBERS_WRITE)
        ensure_can_assign(actor.permissions, _role_permissions(actor.tenant.tenant_id, request.role, custom_roles))
        tenant = self.table.get(actor.tenant.pk, PROFILE_SK)
        if tenant is None:
            raise NotFound("No such tenant.")
        user_id = IdentityStore(self.table, outbox_ttl_days=self.outbox_ttl_days).user_id_by_email(request.email)
        if user_id and self.table.get(actor.tenant.pk, member_sk(user_id)):
            raise Conflict("This person is already a member.")
        token = secrets.token_urlsafe(32)
        now = self.clock()
        expires_at = int(now + self.ttl_seconds)
        invite: Item = {
            "PK": actor.tenant.pk, "SK": invite_sk(request.email), "record_type": "invite",
            "invite_id": str(ULID()), "email": request.email, "role": request.role, "invited_by": actor.user_id,
            "created_at": _iso(now), "expires_at": expires_at, "token_digest": token_digest(token)}
        previous = self.table.get(actor.tenant.pk, invite_sk(request.email))
        operations = [put_op(invite)]
        if previous:  # re-inviting replaces the pending invite: its token dies with it
            operations.append(delete_op(invite_token_pk(previous['token_digest']), INVITE_TOKEN_SK))
        operations.append(put_op({
            "PK": invite_token_pk(invite['token_digest']), "SK": INVITE_TOKEN_SK, "record_type": "invite_token",
            "tenant_id": actor.tenant.tenant_id, "email": request.email, "role": request.role,
            "invited_by": actor.user_id, "expires_at": expires_at}))
        event = new_event(EventType.MEMBER_INVITED, actor.tenant.tenant_id, {
            **audit_fields(actor.user_id, request.email, actor.request_meta), "role": request.role})
        write_with_outbox(self.table, operations, [event], ttl_days=self.outbox_ttl_days)
        # After the commit, never inside it: if sending fails the invite stands and can be sent again.
        notifier.send(EmailMessage(
            to=request.email, subject=f"You are invited to join {tenant['name']}",
            text=(f"You have been invited to join {tenant['name']} as {request.role}.\n\n"
                  f"Accept: {app_url.rstrip('/')}/invites/accept?token={token}\n"
                  f"Invite token: {token}\n\nThe invite expires on {_iso(expires_at)}.")))
        return _invite(invite, now)

    def page(self, actor: Actor, *, limit: int | None, cursor: str | None) -> Page[Invite]:
        actor.require(Permission.MEMBERS_READ)
        pk = actor.tenant.pk
        items, last = self.table.query(pk, sk_prefix=INVITE_PREFIX, limit=clamp_limit(limit),
                                       start_key=decode_cursor(cursor, partition_key=pk))
        now = self.clock()
        return Page[Invite](items=[_invite(i, now) for i in items], next_cursor=encode_cursor(last))

    # ------------------------------------------------------------------ accepting
    def accept(self, token: str, request: AcceptInvite, *, idp: IdentityProvider,
               role_holder_ops: Callable[[str, str], list[dict[str, Any]]],
               request_meta: RequestMeta) -> SessionResponse:
        """Join the invite's tenant. An existing user proves it is them with their password; a
        new one chooses a password (sign-up's rules) and gets an account."""
        digest = token_digest(token)
        lookup = self.table.get(invite_token_pk(digest), INVITE_TOKEN_SK)
        if lookup is None or int(lookup["expires_at"]) <= self.clock():
            raise NotFound("No such invite, or it has expired or been used.")
        email, tenant_id, role = str(lookup["email"]), str(lookup["tenant_id"]), str(lookup["role"])
        identities = IdentityStore(self.table, outbox_ttl_days=self.outbox_ttl_days)
        known_user = identities.user_id_by_email(email)
        if known_user:
            user_id, tokens = _sign_in(idp, email, request.password)
        else:
            try:
                _PASSWORD.validate_python(request.password)
            except ValidationError as exc:
                raise InvalidInput("Choose a password of at least 12 characters, without surrounding spaces.",
                                   errors=[{"field": "password", "message": e["msg"]} for e in exc.errors()]) from None
            # UserExists: an earlier acceptance created it and stopped; the same password finishes it.
            with suppress(UserExists):
                idp.create_user(email, request.password)
            user_id, tokens = _sign_in(idp, email, request.password)
        at = _iso(self.clock())
        member: Item = {"PK": tenant_pk(tenant_id), "SK": member_sk(user_id), "record_type": "member",
                        "user_id": user_id, "email": email, "role": role, "joined_at": at}
        operations = [
            delete_op(invite_token_pk(digest), INVITE_TOKEN_SK, condition="attribute_exists(PK)"),
            put_op(member, condition="attribute_not_exists(PK)"),
            put_op({"PK": user_pk(user_id), "SK": membership_sk(tenant_id), "record_type": "membership",
                    "tenant_id": tenant_id, "role": role, "joined_at": at}),
            check_op(tenant_pk(tenant_id), PROFILE_SK, condition="#s = :active", names={"#s": "status"},
                     values={":active": "active"}),
            *([] if known_user else _new_user_ops(user_id, email, at)),
            *role_holder_ops(tenant_id, role),
        ]
        invite_item = self.table.get(tenant_pk(tenant_id), invite_sk(email))
        if invite_item and invite_item.get("token_digest") == digest:
            operations.append(delete_op(tenant_pk(tenant_id), invite_sk(email)))
        event = new_event(EventType.MEMBER_JOINED, tenant_id, {
            **audit_fields(user_id, user_id, request_meta), "role": role, "invited_by": lookup.get("invited_by")})
        try:
            write_with_outbox(self.table, operations, [event], ttl_days=self.outbox_ttl_days)
        except WriteRefused as refused:
            if refused.failed_at(0):
                raise NotFound("No such invite, or it has expired or been used.") from None
            if refused.failed_at(1):
                raise Conflict("You are already a member of this tenant.") from None
            raise Conflict("The tenant or the invited role changed meanwhile; ask for a new invite.") from None
        return SessionResponse(tenant_id=tenant_id, user_id=user_id, access_token=tokens.access_token,
                               refresh_token=tokens.refresh_token, expires_in=tokens.expires_in)


def _new_user_ops(user_id: str, email: str, at: str) -> list[dict[str, Any]]:
    """A new user's email reservation and profile, as sign-up writes them."""
    return [
        put_op({"PK": email_pk(email), "SK": USER_SK, "record_type": "email", "user_id": user_id,
                "created_at": at}, condition="attribute_not_exists(PK)"),
        put_op({"PK": user_pk(user_id), "SK": PROFILE_SK, "record_type": "user", "user_id": user_id,
                "email": email, "created_at": at}, condition="attribute_not_exists(PK)"),
    ]


def _sign_in(idp: IdentityProvider, email: str, password: str) -> tuple[str, Any]:
    try:
        return idp.authenticate(email, password)
    except InvalidCredentials:
        raise Unauthorized("This email already has an account: enter its password to accept.") from None


def _role_permissions(tenant_id: str, role: str, custom_roles: CustomRoles) -> frozenset[Permission]:
    if role in ROLE_PERMISSIONS:
        return ROLE_PERMISSIONS[role]
    found = custom_roles.permissions_of(tenant_id, role)
    if found is None:
        raise InvalidInput(f"unknown role: {role!r}", errors=[{"field": "role", "message": "no such role"}])
    return found


def _iso(epoch: float) -> str:
    return iso_z(epoch)


def _invite(item: Item, now: float) -> Invite:
    expires_at = int(item["expires_at"])
    return Invite(id=str(item["invite_id"]), email=str(item["email"]), role=str(item["role"]),
                  status="pending" if expires_at > now else "expired", invited_by=str(item["invited_by"]),
                  created_at=str(item["created_at"]), expires_at=_iso(expires_at))
