"""Routes of this function, included by app.py (one Router per resource)."""

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

router = APIGatewayRouter()
