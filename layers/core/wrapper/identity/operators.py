"""Who the platform operators are: one ``PLATFORM#OPERATOR#<user_id>`` / ``OPERATOR`` item each,
read by the authorizer with one GetItem (what the flag opens: ``wrapper.api.operator``)."""

from __future__ import annotations

from wrapper.store.schema import OPERATOR_SK, operator_pk
from wrapper.store.table import Table


class PlatformOperators:
    def __init__(self, table: Table) -> None:
        self.table = table

    def is_operator(self, user_id: str) -> bool:
        return self.table.get(operator_pk(user_id), OPERATOR_SK) is not None


def grant_operator(table: Table, user_id: str, *, granted_by: str = "seed") -> None:
    """Make a user a platform operator (idempotent)."""
    table.put({"PK": operator_pk(user_id), "SK": OPERATOR_SK, "record_type": "operator", "user_id": user_id,
               "granted_by": granted_by})


def revoke_operator(table: Table, user_id: str) -> None:
    table.delete(operator_pk(user_id), OPERATOR_SK)
