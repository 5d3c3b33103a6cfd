"""Start and stop the whole local cloud: moto's AWS server, every resource of template.yaml,
our functions in-process, the event-source pollers and the API front."""

from __future__ import annotations

import logging
import os
import socket
import threading
import warnings
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from localcloud import clock
from localcloud.apifront import ApiFront, RestApi
from localcloud.cognito import patch_refresh_tokens
from localcloud.dispatch import patch_dispatch
from localcloud.dynamodb import patch_partition_queries, patch_transactions
from localcloud.eventbridge import patch_rule_targets
from localcloud.iam import ScopedSession, enforce_session_policies
from localcloud.inprocess import serve_in_process, stop_serving
from localcloud.patches import PATCHES
from localcloud.pollers import InProcessStreams, Pollers, PollerSettings, patch_wakeups
from localcloud.provision import Provisioner, Stack
from localcloud.runtime import FunctionRuntime, patch_moto_lambda, record_actions
from localcloud.s3 import patch_bucket_policies
from localcloud.template import translate

log = logging.getLogger("localcloud")
REPO_ROOT = Path(__file__).resolve().parents[2]


class PortTaken(Exception):
    pass


@dataclass
class LocalCloudConfig:
    template: Path = REPO_ROOT / "template.yaml"
    host: str = "127.0.0.1"
    api_port: int = 3000
    aws_port: int = 4566
    # The local Stripe server (localstripe and our extensions); 0 picks a free port.
    stripe_port: int = 0
    region: str = "us-east-1"
    stack_name: str = "wrapper"
    parameters: dict[str, str] = field(default_factory=lambda: {"Stage": "local", "DeletionProtection": "false"})
    # Secrets the functions read from SSM, keyed by the template parameter that names the
    # SSM parameter (so the names live in template.yaml only); stored as SecureString.
    secrets: dict[str, str] = field(default_factory=lambda: {
        "StripeSecretKeyParameter": "sk_test_local",
        "StripeWebhookSecretParameter": "whsec_local_wrapper",
    })
    pollers: PollerSettings = field(default_factory=PollerSettings)

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> LocalCloudConfig:
        env = dict(os.environ if environ is None else environ)
        config = cls(api_port=int(env.get("WRAPPER_API_PORT", "3000")),
                     aws_port=int(env.get("WRAPPER_AWS_PORT", "4566")),
                     stripe_port=int(env.get("WRAPPER_STRIPE_PORT", "8420")))
        if env.get("STRIPE_WEBHOOK_SECRET"):
            config.secrets["StripeWebhookSecretParameter"] = env["STRIPE_WEBHOOK_SECRET"]
        if env.get("STRIPE_SECRET_KEY"):
            config.secrets["StripeSecretKeyParameter"] = env["STRIPE_SECRET_KEY"]
        return config


def _ensure_free(host: str, port: int, variable: str) -> None:
    if port == 0:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortTaken(f"port {port} on {host} is already in use: set {variable} to a free port "
                            f"(or stop what is listening there)") from None


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


class LocalCloud:
    def __init__(self, config: LocalCloudConfig) -> None:
        self.config = config
        self.stack: Stack | None = None
        self.runtime: FunctionRuntime | None = None
        self.pollers: Pollers | None = None
        self.api: ApiFront | None = None
        self._moto: Any = None
        self.stripe: Any = None
        self.scoped_sessions: dict[str, ScopedSession] = {}
        self._lock = threading.Lock()

    @property
    def aws_endpoint(self) -> str:
        return f"http://{self.config.host}:{self.config.aws_port}"

    @property
    def api_url(self) -> str:
        assert self.api is not None
        return f"http://{self.config.host}:{self.api.port}"

    def client(self, service: str) -> Any:
        return _client(service, self.config.region, self.aws_endpoint)

    # ------------------------------------------------------------------ start and stop
    def start(self) -> LocalCloud:
        cfg = self.config
        _ensure_free(cfg.host, cfg.aws_port, "WRAPPER_AWS_PORT")
        _ensure_free(cfg.host, cfg.api_port, "WRAPPER_API_PORT")
        if cfg.aws_port == 0:
            cfg.aws_port = _free_port(cfg.host)
        self._configure_process()
        from moto.server import ThreadedMotoServer

        patch_dispatch()

        self._moto = ThreadedMotoServer(ip_address=cfg.host, port=cfg.aws_port, verbose=False)
        self._moto.start()
        serve_in_process(f"{cfg.host}:{cfg.aws_port}", self._moto._server.app)
        self.runtime = FunctionRuntime(self.function_environment())
        patch_moto_lambda(self.runtime)
        record_actions(self.runtime)
        self.scoped_sessions = enforce_session_policies(cfg.region)
        patch_transactions()
        patch_partition_queries()
        patch_wakeups()
        patch_refresh_tokens()
        patch_bucket_policies()
        patch_rule_targets(self.runtime, self.client)
        from localcloud.stripe import LocalStripe

        self.stripe = LocalStripe(host=cfg.host, port=cfg.stripe_port).start()
        self.stack = self.deploy(cfg.template, stack_name=cfg.stack_name,
                                 parameters={**cfg.parameters, "StripeApiBase": self.stripe.url})
        ssm = self.client("ssm")
        for template_parameter, value in cfg.secrets.items():
            ssm.put_parameter(Name=self.stack.parameters[template_parameter], Value=value, Type="SecureString",
                              Overwrite=True)
        self.api = ApiFront(RestApi(self.stack), self.runtime, host=cfg.host, port=cfg.api_port,
                            local_pages={"/_local/emails": {"GET": lambda _body: self.emails()},
                                         "/_local/clock": clock.PAGE})
        self.api.start()
        # Stripe signs with the first secret; during a rotation the functions accept either.
        webhook_secret = cfg.secrets["StripeWebhookSecretParameter"].split(",")[0]
        self.stripe.register_webhook(f"{self.api_url}/v1/webhooks/stripe", webhook_secret)
        return self

    def deploy(self, template: Path, *, stack_name: str, parameters: dict[str, str]) -> Stack:
        """Create a template's resources and start polling its event sources. Tests deploy
        small stacks of their own beside the main one this way."""
        assert self.runtime is not None
        stack = Provisioner(self.client, region=self.config.region).deploy(
            translate(template), stack_name=stack_name, parameters=parameters)
        for spec in stack.functions.values():
            self.runtime.register(spec)
        mappings = [self.client("lambda").get_event_source_mapping(UUID=r.ref)
                    for r in stack.of_type("AWS::Lambda::EventSourceMapping")]
        _detach_moto_delivery(mappings, self.config.region)
        if self.pollers is None:
            streams = InProcessStreams(self.config.region)
            self.pollers = Pollers(self.runtime, lambda service: streams if service == "dynamodbstreams"
                                   else self.client(service), self.config.pollers)
        self.pollers.start(mappings)
        return stack

    def emails(self) -> dict[str, Any]:
        """Every email the functions sent through SES, oldest first (moto keeps them)."""
        from moto.ses.models import ses_backends

        from localcloud.provision import ACCOUNT_ID

        sent = ses_backends[ACCOUNT_ID][self.config.region].sent_messages
        return {"items": [{"id": m.id, "from": m.source, "to": m.destinations.get("ToAddresses", []),
                           "subject": m.subject, "text": m.body} for m in sent if hasattr(m, "subject")]}

    def stop(self) -> None:
        if self.api:
            self.api.stop()
        clock.reset()  # the offset lives in this process, beyond this cloud
        if self.pollers:
            self.pollers.stop()
        if self._moto:
            stop_serving(f"{self.config.host}:{self.config.aws_port}")
            self._moto.stop()
        if self.stripe:
            self.stripe.stop()
        PATCHES.undo()

    def function_environment(self) -> dict[str, str]:
        """What every function sees besides its own template environment."""
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint,
            "AWS_REGION": self.config.region,
            "AWS_DEFAULT_REGION": self.config.region,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_NAMESPACE": "Wrapper",
        }

    def _configure_process(self) -> None:
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
        os.environ.setdefault("AWS_DEFAULT_REGION", self.config.region)
        os.environ["AWS_ACCOUNT_ID_ENDPOINT_MODE"] = "disabled"
        # SAM attaches AWS managed policies (AWSLambdaBasicExecutionRole, ...) to every role.
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # Powertools warns on every invocation that emits no metric; locally that is only noise.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        # Step Functions executions run inside moto and call Lambda back through this port.
        os.environ["MOTO_PORT"] = str(self.config.aws_port)
        from moto.core.config import default_user_config

        default_user_config["stepfunctions"]["execute_state_machine"] = True


@cache
def _client(service: str, region: str, endpoint: str) -> Any:
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",  # noqa: S106
                                 region_name=region).client(  # type: ignore[call-overload]
        service, endpoint_url=endpoint,
        config=Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=32))


def _detach_moto_delivery(mappings: list[dict[str, Any]], region: str) -> None:
    """moto would deliver these mappings itself, synchronously and without batch semantics
    (and would drop stream records once delivered); our pollers deliver them instead."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    from localcloud.provision import ACCOUNT_ID

    for mapping in mappings:
        source = mapping["EventSourceArn"]
        if source.startswith("arn:aws:sqs:"):
            queue = sqs_backends[ACCOUNT_ID][region].queues[source.rsplit(":", 1)[1]]
            queue.lambda_event_source_mappings.clear()
        elif "/stream/" in source:
            table_name = source.split(":table/", 1)[1].split("/stream/", 1)[0]
            table = dynamodb_backends[ACCOUNT_ID][region].get_table(table_name)
            table.lambda_event_source_mappings.clear()
