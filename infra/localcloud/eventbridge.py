"""EventBridge rule targets and Scheduler schedules that moto does not deliver.

moto delivers rule targets to SQS, logs and other buses itself; Lambda and Step Functions
targets raise NotImplementedError there, so they are delivered here. Schedules never fire in
moto: ``run_schedule`` does what Scheduler does when a schedule comes due.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from localcloud.patches import PATCHES
from localcloud.runtime import FunctionRuntime
from wrapper.kernel import clock

log = logging.getLogger("localcloud.eventbridge")


def patch_rule_targets(runtime: FunctionRuntime, clients: Callable[[str], Any]) -> None:
    from moto.events.models import EventTemplateParser, Rule

    if not PATCHES.first("eventbridge: lambda and step functions targets"):
        return
    original = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        ours = [t for t in self.targets if t["Arn"].split(":")[2] in ("lambda", "states")]
        if not ours:
            return original(self, original_event, transform_input)
        if not self.event_pattern.matches_event(original_event):
            return None
        others = [t for t in self.targets if t not in ours]
        if others:
            saved, self.targets = self.targets, others
            try:
                original(self, original_event, transform_input)
            finally:
                self.targets = saved
        for target in ours:
            transformer = target.get("InputTransformer", {})
            event = EventTemplateParser.parse(input_template=transformer.get("InputTemplate"),
                                              input_paths_map=transformer.get("InputPathsMap", {}),
                                              event=original_event) if transform_input else original_event
            if "Input" in target:
                event = json.loads(target["Input"])
            if target["Arn"].split(":")[2] == "lambda":
                result = runtime.invoke(target["Arn"], event)
                if result.failed:
                    log.warning("rule target %s failed: %s", target["Arn"], result.error)
            else:
                clients("stepfunctions").start_execution(stateMachineArn=target["Arn"], input=json.dumps(event),
                                                         name=f"rule-{uuid.uuid4().hex}")
        return None

    PATCHES.replace(Rule, "send_to_targets", send_to_targets)


def run_schedule(clients: Callable[[str], Any], name: str, *, group: str = "default",
                 at: datetime | None = None) -> dict[str, Any]:
    """Fire one schedule now, as Scheduler would at ``at`` (default: the clock's now, which
    ``/_local/clock`` moves): start its target with its input."""
    schedule = clients("scheduler").get_schedule(Name=name, GroupName=group)
    target = schedule["Target"]
    moment = (at or clock.now()).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = target.get("Input", "{}").replace("<aws.scheduler.scheduled-time>", moment) \
        .replace("<aws.scheduler.schedule-arn>", schedule["Arn"]) \
        .replace("<aws.scheduler.execution-id>", f"local-{moment}")
    service = target["Arn"].split(":")[2]
    if service == "states":
        # Scheduler names each execution; moto would otherwise reuse one name and refuse the second.
        execution_name = f"{name}-{moment.replace(':', '')}-{uuid.uuid4().hex[:8]}"[:80]
        answer = clients("stepfunctions").start_execution(stateMachineArn=target["Arn"], input=payload,
                                                          name=execution_name)
        return {"executionArn": answer["executionArn"], "input": json.loads(payload)}
    if service == "lambda":
        answer = clients("lambda").invoke(FunctionName=target["Arn"], Payload=payload.encode())
        return {"statusCode": answer["StatusCode"], "input": json.loads(payload)}
    if service == "sqs":
        sqs = clients("sqs")
        url = sqs.get_queue_url(QueueName=target["Arn"].rsplit(":", 1)[1])["QueueUrl"]
        return {"messageId": sqs.send_message(QueueUrl=url, MessageBody=payload)["MessageId"]}
    raise ValueError(f"no local delivery for schedule target {target['Arn']}")
