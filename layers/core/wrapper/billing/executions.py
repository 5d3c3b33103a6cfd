"""AWS Step Functions adapter of the ``Executions`` port (``wrapper.billing.runs``): the billing-run state
machine's executions, by name.

Step Functions' errors are caught as the client's modeled exceptions (``client.exceptions.<Code>``), so
``ClientError`` stays the store's alone. An execution's ARN is the state machine's with ``execution`` for
``stateMachine`` and the name appended, so a name is all a caller needs to hold.
"""

from __future__ import annotations

import json
from typing import Any

from wrapper.billing.runs import Execution, ExecutionExists, payload_of
from wrapper.kernel.errors import InvalidInput


class StepFunctionsExecutions:
    def __init__(self, client: Any, state_machine_arn: str) -> None:
        self.client = client
        self.state_machine_arn = state_machine_arn

    def start(self, name: str, payload: dict[str, Any]) -> Execution:
        try:
            self.client.start_execution(stateMachineArn=self.state_machine_arn, name=name,
                                        input=json.dumps(payload, separators=(",", ":"), sort_keys=True))
        except self.client.exceptions.ExecutionAlreadyExists:
            raise ExecutionExists(name) from None
        found = self.describe(name)
        if found is None:  # it was just started: Step Functions answers it from now on
            raise RuntimeError(f"execution {name} started but cannot be described")
        return found

    def describe(self, name: str) -> Execution | None:
        try:
            answer = self.client.describe_execution(executionArn=self._arn(name))
        except (self.client.exceptions.ExecutionDoesNotExist, self.client.exceptions.InvalidArn):
            return None
        return Execution(name=answer["name"], status=answer["status"], input=payload_of(answer.get("input")) or {},
                         output=payload_of(answer.get("output")), started_at=answer["startDate"],
                         stopped_at=answer.get("stopDate"))

    def names(self, *, limit: int, token: str | None) -> tuple[list[str], str | None]:
        kwargs: dict[str, Any] = {"stateMachineArn": self.state_machine_arn, "maxResults": limit}
        if token:
            kwargs["nextToken"] = token
        try:
            answer = self.client.list_executions(**kwargs)
        except self.client.exceptions.InvalidToken:
            raise InvalidInput("cursor is not valid", errors=[{"field": "cursor", "message": "malformed"}]) from None
        return [e["name"] for e in answer.get("executions", [])], answer.get("nextToken")

    def _arn(self, name: str) -> str:
        return self.state_machine_arn.replace(":stateMachine:", ":execution:", 1) + f":{name}"
