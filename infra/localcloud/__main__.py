"""``python -m localcloud``: run the embedded local cloud, or work with it.

    python -m localcloud up                 start everything with demo data; Ctrl-C stops it
    python -m localcloud openapi [--check]  write (or check) layers/core/wrapper/openapi.json
    python -m localcloud run-schedule NAME  fire a schedule of a running local cloud now (its clock's now)
    python -m localcloud clock [--set T | --advance S | --reset]
                                            read or move a running local cloud's clock (forward only;
                                            --reset goes back to the real time)
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import logging
import signal
import sys
import threading
from datetime import datetime
from typing import Any

from wrapper import __version__


def _up(args: argparse.Namespace) -> int:
    from localcloud.seed import seed_demo, seed_demo_billing, seed_operator
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
    billing = seed_demo_billing(cloud.client, table_name=pool["table_name"], api_url=cloud.api_url,
                                stripe_url=cloud.stripe.url)
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
  on the enterprise plan, paid by a saved test card: invoice {billing["invoice"]["number"]} is paid
  (GET /v1/invoices, its PDF at /v1/invoices/{billing["invoice"]["id"]}/pdf), and this month's tokens
  are on the upcoming invoice (GET /v1/invoices/upcoming)

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
    from localcloud.eventbridge import run_schedule
    from localcloud.server import LocalCloudConfig, _client

    config = LocalCloudConfig.from_environment()
    endpoint = f"http://{config.host}:{config.aws_port}"
    if args.at:
        at = datetime.fromisoformat(args.at)
    else:  # the running cloud's clock, which may have been moved, not this process's
        status, answer = _clock_request(config, "GET")
        if status != 200:
            print(f"localcloud: {answer.get('detail', answer)}", file=sys.stderr)
            return 2
        at = datetime.fromisoformat(answer["now"])
    result = run_schedule(lambda service: _client(service, config.region, endpoint), args.name, at=at)
    print(json.dumps(result, indent=2))
    return 0


def _clock(args: argparse.Namespace) -> int:
    from localcloud.server import LocalCloudConfig

    config = LocalCloudConfig.from_environment()
    if args.reset:
        status, answer = _clock_request(config, "DELETE")
    elif args.set is not None or args.advance is not None:
        body = {"now": args.set} if args.set is not None else {"advance_seconds": args.advance}
        status, answer = _clock_request(config, "POST", body)
    else:
        status, answer = _clock_request(config, "GET")
    print(json.dumps(answer, indent=2), file=sys.stdout if status == 200 else sys.stderr)
    return 0 if status == 200 else 1 if status < 500 else 2


def _clock_request(config: Any, method: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    """Ask a running local cloud's API front about its clock: the status and the JSON answer."""
    import urllib.error
    import urllib.request

    url = f"http://{config.host}:{config.api_port}/_local/clock"
    request = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, json.load(answer)
    except urllib.error.HTTPError as refused:
        return refused.code, json.load(refused)
    except OSError as exc:
        return 503, {"detail": f"no local cloud answers at {url} ({exc}); start one with "
                               "`python -m localcloud up` (WRAPPER_API_PORT names its port)"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localcloud", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("up", help="start the local cloud with demo data")
    openapi = commands.add_parser("openapi", help="generate the OpenAPI document")
    openapi.add_argument("--check", action="store_true", help="fail if the committed document is stale")
    schedule = commands.add_parser("run-schedule", help="fire a schedule now")
    schedule.add_argument("name")
    schedule.add_argument("--at", help="the scheduled time to pretend, ISO 8601 (default: the cloud's clock)")
    clock = commands.add_parser("clock", help="read or move a running local cloud's clock")
    move = clock.add_mutually_exclusive_group()
    move.add_argument("--set", metavar="TIME", help="move it to TIME, RFC 3339 with an offset (forward only)")
    move.add_argument("--advance", metavar="SECONDS", type=float, help="move it SECONDS forward")
    move.add_argument("--reset", action="store_true", help="go back to the real time")
    args = parser.parse_args(argv)
    handlers = {"up": _up, "openapi": _openapi, "run-schedule": _run_schedule, "clock": _clock, None: _up}
    return handlers[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
