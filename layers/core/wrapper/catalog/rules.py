"""The rules a catalog change must keep that a request's own shape cannot: entitlements that fit the
features, a default plan that can be one, and the version a change was based on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wrapper.catalog.models import Aggregation, Entitlement, Feature, FeatureKind, Meter, Plan, PlanKind
from wrapper.kernel.errors import InvalidInput


def check_entitlements(entitlements: Sequence[Entitlement], features: Mapping[str, Feature],
                       meters: Mapping[str, Meter] | None = None) -> None:
    """Each entitlement names an existing feature once and gives what that feature's kind takes:
    a boolean feature is on or off (no limit, nothing hard); limit and metered ones take a limit."""
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for n, entitlement in enumerate(entitlements):
        field = f"entitlements.{n}"
        feature = features.get(entitlement.feature)
        if entitlement.feature in seen:
            errors.append({"field": field, "message": f"feature {entitlement.feature} is listed twice"})
        seen.add(entitlement.feature)
        if feature is None:
            errors.append({"field": field, "message": f"no feature {entitlement.feature}"})
        elif feature.kind == FeatureKind.BOOLEAN and (entitlement.limit is not None or entitlement.hard):
            errors.append({"field": field, "message": f"{feature.code} is a boolean feature: give enabled only"})
        elif feature.kind != FeatureKind.METERED and (entitlement.thresholds or entitlement.credit_rate):
            errors.append({"field": field,
                           "message": f"{feature.code} is not metered: thresholds and credit_rate need usage"})
        elif entitlement.credit_rate and meters is not None and feature.meter and feature.meter in meters \
                and meters[feature.meter].aggregation not in (Aggregation.COUNT, Aggregation.SUM):
            errors.append({"field": field, "message": f"credits are spent per unit of a count or sum meter; "
                                                      f"{feature.meter} is {meters[feature.meter].aggregation}"})
    if errors:
        raise InvalidInput("The entitlements do not fit the catalog's features.", errors=errors)


def check_plan(plan: Plan) -> None:
    if plan.is_default and plan.kind != PlanKind.BASE:
        raise InvalidInput("Only a base plan can be the default.",
                           errors=[{"field": "is_default", "message": "an add-on is never the default"}])
    if plan.is_default and plan.status != "active":
        raise InvalidInput("An archived plan cannot be the default.",
                           errors=[{"field": "is_default", "message": "archive it after choosing another default"}])


def expected_version(if_match: str | None, in_body: int | None) -> int:
    """The version a PATCH was based on, from ``If-Match`` (``"3"``, ``W/"3"`` or ``3``) or the body."""
    from_header: int | None = None
    if if_match is not None:
        raw = if_match.strip().removeprefix("W/").strip('"')
        if not raw.isdigit():
            raise InvalidInput("If-Match must be the plan's version, e.g. \"3\".",
                               errors=[{"field": "If-Match", "message": "not a version"}])
        from_header = int(raw)
    if from_header is not None and in_body is not None and from_header != in_body:
        raise InvalidInput("If-Match and version disagree.", errors=[{"field": "version", "message": "disagrees"}])
    version = from_header if from_header is not None else in_body
    if version is None:
        raise InvalidInput("Send the version you read, as If-Match or a version field.",
                           errors=[{"field": "version", "message": "required (or If-Match)"}])
    return version
