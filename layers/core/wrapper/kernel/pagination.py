"""Cursor paging: every list answers ``{"items": [...], "next_cursor": ...}``."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Generic, TypeVar

from wrapper.kernel.errors import InvalidInput
from wrapper.kernel.model import Model

DEFAULT_LIMIT = 50
MAX_LIMIT = 100

T = TypeVar("T")


class Page(Model, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def clamp_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if limit < 1 or limit > MAX_LIMIT:
        raise InvalidInput(
            f"limit must be between 1 and {MAX_LIMIT}",
            errors=[{"field": "limit", "message": f"between 1 and {MAX_LIMIT}"}],
        )
    return limit


def encode_cursor(last_key: dict[str, Any] | None) -> str | None:
    if not last_key:
        return None
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, *, partition_key: str, attribute: str = "PK") -> dict[str, Any] | None:
    """Turn a cursor back into a start key, refusing one minted for another partition.

    The partition check is what stops a cursor from tenant A paging through tenant B. ``attribute`` names
    the partition key the list reads: an index's (``GSI1PK``) for a page of an index.
    """
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("cursor is not valid", errors=[{"field": "cursor", "message": "malformed"}]) from exc
    # An index's start key holds the table's key and the index's own (``GSI1PK``...): a cursor of an index is
    # refused by a list of the table, whose query DynamoDB would fail on it.
    # Only the key attributes a page of this list ends on, as strings: anything else would reach DynamoDB as a
    # start key it refuses (a 500), or one that names an item of another list.
    allowed = {"PK", "SK"} if attribute == "PK" else {"PK", "SK", attribute, f"{attribute[:-2]}SK"}
    if not isinstance(key, dict) or key.get(attribute) != partition_key or "SK" not in key or set(key) - allowed \
            or not all(isinstance(value, str) for value in key.values()):
        raise InvalidInput("cursor is not valid", errors=[{"field": "cursor", "message": "not for this list"}])
    return key
