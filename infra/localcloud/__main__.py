"""``python -m localcloud``: run the embedded local cloud, or work with it.

    python -m localcloud up                 start everything with demo data; Ctrl-C stops it
    python -m localcloud openapi [--check]  write (or check) layers/core/wrapper/openapi.json
    python -m localcloud run-schedule NAME  fire a schedule of a running local cloud now
"""

from __future__ import annotations

import argparse
import faulthandler
import logging
import signal
import sys
import threading
from datetime import datetime
from typing import Any

from wrapper import __version__


def _up(args: argparse.Namespace) -> int:
    from localcloud.seed import seed_demo, seed_operator
    from localcloud.server import LocalCloud, LocalCloudConfig, PortTaken

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for noisy in ("werkzeug", "botocore", "urllib3", "moto"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # `kill -USR1 <pid>` prints every thread's stack: what a start or a request is waiting on.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    config = LocalCloudConfig.from_environment()
    cloud = LocalCloud(config)
    try:
        cloud.start()
    except PortTaken as exc:
        print(f"localcloud: {exc}", file=sys.stderr)
        return 2
    stopped = threading.Event()

    def stop(signum: int, _frame: Any) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    assert cloud.stack is not None
    outputs, resources = cloud.stack.outputs, cloud.stack.resources
    pool = {"table_name": outputs["TableName"], "user_pool_id": resources["UserPool"].ref,
            "client_id": resources["UserPoolClient"].ref}
    demo = seed_demo(cloud.client, **pool)
    operator = seed_operator(cloud.client, **pool)
    api = f"{cloud.api_url}/v1"
    print(f"""
Wrapper {__version__} local cloud is up.

  API          {api}            (try: curl -s {api}/health)
  OpenAPI      {api}/openapi.json
  AWS endpoint {cloud.aws_endpoint}     (AWS_ENDPOINT_URL, or localstack-client)
  Table        {outputs["TableName"]}
  Event bus    {outputs["EventBusName"]}
  Stripe       {cloud.stripe.url}     (local Stripe server; webhooks go to {cloud.api_url}/v1/webhooks/stripe)

Demo credentials (tenant "Demo Company", {demo["tenant_id"]}, role owner, 1,000 welcome credits):
  email    {demo["email"]}
  password {demo["password"]}

  curl -s -X POST {api}/auth/login -H 'Content-Type: application/json' \\
       -d '{{"email": "{demo["email"]}", "password": "{demo["password"]}"}}'

Platform operator (the catalog under {api}/admin/; plans free, pro, enterprise, payg):
  email    {operator["email"]}
  password {operator["password"]}

Ctrl-C stops it.
""", flush=True)
    stopped.wait()
    print("stopping...", flush=True)
    cloud.stop()
    return 0


def _openapi(args: argparse.Namespace) -> int:
    from localcloud.openapi import DOCUMENT_PATH, build_document, render
    from localcloud.server import REPO_ROOT

    text = render(build_document(REPO_ROOT / "template.yaml", version=__version__))
    if args.check:
        if DOCUMENT_PATH.read_text(encoding="utf-8") != text:
            print(f"{DOCUMENT_PATH} is stale: run `make openapi`", file=sys.stderr)
            return 1
        return 0
    DOCUMENT_PATH.write_text(text, encoding="utf-8")
    print(f"wrote {DOCUMENT_PATH}")
    return 0


def _run_schedule(args: argparse.Namespace) -> int:
    import json

    from localcloud.eventbridge import run_schedule
    from localcloud.server import LocalCloudConfig, _client

    config = LocalCloudConfig.from_environment()
    endpoint = f"http://{config.host}:{config.aws_port}"
    at = datetime.fromisoformat(args.at) if args.at else None
    result = run_schedule(lambda service: _client(service, config.region, endpoint), args.name, at=at)
    print(json.dumps(result, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("up", help="start the local cloud with demo data")
    openapi = commands.add_parser("openapi", help="generate the OpenAPI document")
    openapi.add_argument("--check", action="store_true", help="fail if the committed document is stale")
    schedule = commands.add_parser("run-schedule", help="fire a schedule now")
    schedule.add_argument("name")
    schedule.add_argument("--at", help="the scheduled time to pretend, ISO 8601 (default: now)")
    args = parser.parse_args(argv)
    handlers = {"up": _up, "openapi": _openapi, "run-schedule": _run_schedule, None: _up}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
