"""The local stack in one process: AWS emulator, resources, seed, event pump, schedule and the API."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger("cxc.local")

REGION = "eu-west-1"
PREFIX = "cxc-local"


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    aws_port: int = 5000
    api_port: int = 8000
    state_dir: Path = Path(".local")
    seed: bool = True
    demo_size: int = 240
    tick_seconds: float = 5.0


def state_file(state_dir: Path) -> Path:
    return state_dir / "stack.json"


def clock_file(state_dir: Path) -> Path:
    return state_dir / "clock"


def read_state(state_dir: Path) -> dict[str, Any]:
    path = state_file(state_dir)
    if not path.exists():
        raise SystemExit(f"No local stack state in {state_dir}: start it with `make run` first.")
    return dict(json.loads(path.read_text()))


def _environment(options: StackOptions, endpoint: str) -> dict[str, str]:
    return {
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "CXC_STAGE": "local",
        "CXC_AWS_ENDPOINT_URL": endpoint,
        "CXC_RESOURCE_PREFIX": PREFIX,
        "CXC_DOCUMENTS_BUCKET": f"{PREFIX}-documents",
        "CXC_CLOCK_FILE": str(clock_file(options.state_dir).resolve()),
        "CXC_METRICS_ENABLED": "false",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


class LocalStack:
    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.endpoint = f"http://{options.host}:{options.aws_port}"
        self._parts: list[Any] = []

    def start(self) -> dict[str, Any]:
        from moto.server import ThreadedMotoServer

        from infra.local.emulator import serialise_dynamodb

        options = self.options
        serialise_dynamodb()
        options.state_dir.mkdir(parents=True, exist_ok=True)
        moto_server = ThreadedMotoServer(ip_address=options.host, port=options.aws_port, verbose=False)
        moto_server.start()
        self._parts.append(moto_server)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        # Settings are read once, at the app's import: the environment must be complete before it.
        os.environ.update(_environment(options, self.endpoint))
        from chalicelib.settings import get_settings
        from infra.local.bootstrap import bootstrap
        from infra.resources import Resources

        get_settings.cache_clear()
        resources = Resources(get_settings())
        booted = bootstrap(resources, self.endpoint)
        os.environ.update(
            {
                "CXC_USER_POOL_ID": booted.user_pool_id,
                "CXC_APP_CLIENT_ID": booted.app_client_id,
                "CXC_JWKS_URL": f"{self.endpoint}/{booted.user_pool_id}/.well-known/jwks.json",
            }
        )
        get_settings.cache_clear()

        import app as app_module

        seeded = self._seed(booted) if options.seed else {}
        pump, scheduler = self._start_events(app_module, resources, booted)
        server = self._start_api(app_module.app)
        state = {
            "pid": os.getpid(),
            "aws_endpoint": self.endpoint,
            "api_url": f"http://{options.host}:{options.api_port}",
            "region": REGION,
            "user_pool_id": booted.user_pool_id,
            "app_client_id": booted.app_client_id,
            "queue_urls": booted.queue_urls,
            "seeded": seeded,
        }
        state_file(options.state_dir).write_text(json.dumps(state, indent=2))
        self._parts.extend([pump, scheduler, server])
        return state

    def _seed(self, booted: Any) -> dict[str, Any]:
        from infra import seed

        return seed.seed_local(
            endpoint=self.endpoint,
            user_pool_id=booted.user_pool_id,
            app_client_id=booted.app_client_id,
            demo_size=self.options.demo_size,
        )

    def _start_events(self, app_module: Any, resources: Any, booted: Any) -> tuple[Any, Any]:
        import boto3
        from botocore.config import Config

        from infra.local.event_shapes import scheduled_event
        from infra.local.pump import Pump, Scheduler, build_mappings

        kwargs = {"region_name": REGION, "endpoint_url": self.endpoint}
        streams = boto3.client(
            "dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"), **kwargs
        )
        sqs = boto3.client("sqs", **kwargs)
        functions = {
            source.function: getattr(app_module, source.function) for source in resources.event_sources
        }
        mappings = build_mappings(
            resources.event_sources,
            functions,
            booted.stream_arns,
            booted.queue_urls,
            booted.queue_arns,
            streams,
            sqs,
        )
        pump = Pump(mappings)
        pump.drain(rounds=200)  # let the seed's changes settle before the API opens
        pump.start()
        rule_arn = f"arn:aws:events:{REGION}:123456789012:rule/{PREFIX}-tick"

        def tick() -> None:
            app_module.tick(scheduled_event(REGION, rule_arn, datetime.now(UTC)), None)

        tick()
        scheduler = Scheduler(tick, self.options.tick_seconds)
        scheduler.start()
        return pump, scheduler

    def _start_api(self, app: Any) -> Any:
        from chalice.config import Config
        from chalice.local import create_local_server

        from infra.local import gateway

        gateway.install()
        config = Config.create(chalice_stage="dev", app_name="clusterxchange", chalice_app=app)
        server = create_local_server(app, config, self.options.host, self.options.api_port)
        thread = threading.Thread(target=server.server.serve_forever, name="api", daemon=True)
        thread.start()
        return _ApiServer(server, thread)

    def wait(self) -> None:
        # The handler only flips a flag: calling into threading primitives from a signal handler
        # while the main thread waits on one of them can deadlock.
        stop_requested: list[int] = []

        def stop(signum: int, frame: FrameType | None) -> None:
            stop_requested.append(signum)

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stop_requested:
            time.sleep(0.2)

    def stop(self) -> None:
        for part in reversed(self._parts):
            try:
                part.stop()
            except Exception:
                log.exception("stopping %s failed", type(part).__name__)
        state_file(self.options.state_dir).unlink(missing_ok=True)


@dataclass
class _ApiServer:
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server.server_close()
        self.thread.join(timeout=10)


def banner(state: dict[str, Any]) -> str:
    seeded = state.get("seeded") or {}
    demo = seeded.get("demo_logins") or []
    lines = [
        "",
        "ClusterXchange local stack is up",
        f"  API                 {state['api_url']}/v1/health   (OpenAPI: {state['api_url']}/v1/openapi.json)",
        f"  AWS emulator        {state['aws_endpoint']}   (DynamoDB+streams, S3, SQS, SES, Cognito)",
        f"  Cognito user pool   {state['user_pool_id']}   app client {state['app_client_id']}",
        "  Event pump          registrations and contact-request streams, documents queue",
        "  Scheduled function  tick, every few seconds",
        "  Business date       .venv/bin/python -m infra.local clock YYYY-MM-DD   (or --reset)",
        f"  Seeded              {seeded.get('partnerships', 0)} partnerships, "
        f"{seeded.get('registrations', 0)} demo registrations",
        "",
        "Get a token (creates the user if needed):",
        "  TOKEN=$(.venv/bin/python -m infra.local token you@example.org --role participant)",
        "  TOKEN=$(.venv/bin/python -m infra.local token officer@epix.example \\",
        "          --role partnership --partnership epix)",
        f'  curl -H "Authorization: Bearer $TOKEN" {state["api_url"]}/v1/me',
    ]
    if demo:
        lines.append(f"Demo participants (accepted, ready to match), e.g.: {', '.join(demo[:3])}")
    lines += ["", "Ctrl-C stops everything.", ""]
    return "\n".join(lines)
