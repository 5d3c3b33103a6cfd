"""`python -m localcloud up` (what `make dev` runs) as a new user runs it: it starts, prints the
API URL, answers, and stops cleanly on Ctrl-C; a taken port is reported by its variable."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time

import requests

from tests.support import REPO


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _start(api_port: int, aws_port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "WRAPPER_API_PORT": str(api_port), "WRAPPER_AWS_PORT": str(aws_port),
           "WRAPPER_STRIPE_PORT": str(_free_port()),
           "PYTHONPATH": f"{REPO / 'layers/core'}:{REPO / 'infra'}", "STRIPE_WEBHOOK_SECRET": "whsec_from_env"}
    return subprocess.Popen([sys.executable, "-m", "localcloud", "up"], cwd=REPO, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """The output up to the line holding ``marker``. A thread reads the pipe: a select() on the
    pipe would miss lines already taken into the reader's buffer with an earlier line."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or []], daemon=True).start()
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            if process.poll() is not None:
                break
            continue
        seen.append(line)
        if marker in line:
            return "".join(seen)
    # Where is it stuck? `localcloud up` prints every thread's stack on SIGUSR1.
    if process.poll() is None:
        process.send_signal(signal.SIGUSR1)
        time.sleep(5)
    while not lines.empty():
        seen.append(lines.get())
    raise AssertionError(f"no {marker!r} within {timeout}s; output was:\n{''.join(seen)}")


def test_up_prints_the_api_url_answers_and_stops_cleanly_on_ctrl_c() -> None:
    api_port, aws_port = _free_port(), _free_port()
    process = _start(api_port, aws_port)
    try:
        banner = _read_until(process, "Ctrl-C stops it", timeout=240)
        assert f"http://127.0.0.1:{api_port}/v1" in banner
        assert f"http://127.0.0.1:{aws_port}" in banner
        assert requests.get(f"http://127.0.0.1:{api_port}/v1/health", timeout=10).json()["status"] == "ok"
        assert "owner@demo.example" in banner
        login = requests.post(f"http://127.0.0.1:{api_port}/v1/auth/login", timeout=10,
                              json={"email": "owner@demo.example", "password": "demo-password-123"})
        assert login.status_code == 200
        assert login.json()["tenant_id"] in banner
        # The demo tenant pays: its first invoice is paid, and this month's tokens are on the upcoming one
        demo = {"Authorization": f"Bearer {login.json()['access_token']}"}
        [paid] = requests.get(f"http://127.0.0.1:{api_port}/v1/invoices", headers=demo, timeout=10).json()["items"]
        assert paid["status"] == "paid" and paid["number"] in banner
        upcoming = requests.get(f"http://127.0.0.1:{api_port}/v1/invoices/upcoming", headers=demo, timeout=10).json()
        assert [(line["kind"], line["quantity"]) for line in upcoming["lines"]] == [
            ("subscription", "1"), ("usage", "3500000")]
        assert "operator@wrapper.localhost" in banner and "operator-password-123" in banner
        operator = requests.post(f"http://127.0.0.1:{api_port}/v1/auth/login", timeout=10,
                                 json={"email": "operator@wrapper.localhost", "password": "operator-password-123"})
        assert operator.status_code == 200
        plans = requests.get(f"http://127.0.0.1:{api_port}/v1/admin/plans", timeout=10,
                             headers={"Authorization": f"Bearer {operator.json()['access_token']}"})
        assert plans.status_code == 200
        assert {"free", "pro", "enterprise"} <= {p["code"] for p in plans.json()["items"]}
        public = requests.get(f"http://127.0.0.1:{api_port}/v1/plans", timeout=10).json()["items"]
        assert {"free", "pro", "enterprise"} <= {p["code"] for p in public}
        import boto3

        ssm = boto3.client("ssm", endpoint_url=f"http://127.0.0.1:{aws_port}", region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        secret = ssm.get_parameter(Name="/wrapper/stripe/webhook-secret", WithDecryption=True)["Parameter"]
        assert secret["Value"] == "whsec_from_env"
        process.send_signal(signal.SIGINT)
        # Stopping joins the API front, the pollers, moto and the Stripe server; on a loaded machine
        # (the rest of the suite's cloud runs beside it) that has taken over 30 s.
        assert process.wait(timeout=120) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_taken_port_is_reported_by_the_variable_that_sets_it() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process = _start(taken.getsockname()[1], _free_port())
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "WRAPPER_API_PORT" in output
    assert "already in use" in output
