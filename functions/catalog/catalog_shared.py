"""What the catalog's routers share, built once per cold start: the settings, the table, the operator gate,
path shapes, answers."""

from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from wrapper.api.operator import operator_middleware
from wrapper.catalog.admin import CatalogAdmin
from wrapper.settings import Settings
from wrapper.store.table import table_for

settings = Settings.from_environ()
# Catalog items are PLATFORM# ones: the function's own role, never tenant-scoped credentials.
table = table_for(settings)
admin = CatalogAdmin(table, outbox_ttl_days=settings.outbox_ttl_days)
# Per route, not per router: include_router would spread a router's middleware to GET /v1/plans.
# The service name comes from the environment, so this is the same logger as app.py's.
operator_only = [operator_middleware(Logger())]
ADMIN = ["admin-catalog"]
ULID_PATTERN = r"^[0-9A-HJKMNP-TV-Z]{26}$"

UlidPath = Annotated[str, Path(min_length=26, max_length=26, pattern=ULID_PATTERN)]
CodePath = Annotated[str, Path(min_length=1, max_length=48, pattern=r"^[a-z][a-z0-9_-]{0,47}$")]

DENIED: dict[int, OpenAPIResponse] = {401: {"description": "Missing or invalid credentials"},
                                      403: {"description": "Not the platform operator"}}
WRITE_REFUSED: dict[int, OpenAPIResponse] = {**DENIED, 400: {"description": "The body is not valid JSON"},
                                             422: {"description": "The body does not fit the schema or the rules"}}
