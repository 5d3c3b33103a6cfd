"""/v1/admin/features: what plans can give (boolean, limit, metered)."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from catalog_shared import ADMIN, DENIED, WRITE_REFUSED, CodePath, admin, operator_only

from wrapper.api.operator import current_operator
from wrapper.catalog.models import Feature
from wrapper.catalog.requests import FeatureUpdate, NewFeature
from wrapper.kernel.pagination import Page

router = APIGatewayRouter()


@router.get("/v1/admin/features", summary="Every feature", tags=ADMIN, middlewares=operator_only,
            responses={200: {"description": "The features, in code order"}, **DENIED})
def list_features() -> Page[Feature]:
    return Page(items=admin.catalog.features())


@router.post("/v1/admin/features", summary="Create a feature", tags=ADMIN, middlewares=operator_only,
             description="`kind` is boolean, limit or metered; a metered feature names its `meter`, others none. "
                         "The code and kind never change.",
             responses={201: {"description": "Created"}, **WRITE_REFUSED, 409: {"description": "The code is taken"}})
def create_feature(body: Annotated[NewFeature, Body()]) -> Response[Feature]:
    feature = admin.create_feature(body, by=current_operator(router).user_id)
    return Response(status_code=201, content_type="application/json", body=feature)


@router.patch("/v1/admin/features/<code>", summary="Change a feature's name, unit or description", tags=ADMIN,
              middlewares=operator_only,
              responses={200: {"description": "The feature, changed"}, **WRITE_REFUSED,
                         404: {"description": "No such feature"}, 409: {"description": "Changed meanwhile; retry"}})
def patch_feature(code: CodePath, body: Annotated[FeatureUpdate, Body()]) -> Feature:
    return admin.update_feature(code, body, by=current_operator(router).user_id)
