"""The local stack in one process: AWS emulator, resources, seed, event pump, schedule and the API."""

from __future__ import annotations

import errno
import fcntl
import json
import logging
import os
import platform
import shlex
import signal
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

log = logging.getLogger("cxc.local")

REGION = "eu-west-1"
PREFIX = "cxc-local"
DEFAULT_AWS_PORT = 5000
DEFAULT_API_PORT = 8000
DEFAULT_STATE_DIR = Path(".local")
EMULATOR_START_SECONDS = 10.0


@dataclass(frozen=True)
class StackOptions:
    host: str = "127.0.0.1"
    aws_port: int = DEFAULT_AWS_PORT
    api_port: int = DEFAULT_API_PORT
    state_dir: Path = DEFAULT_STATE_DIR
    seed: bool = True
    demo_size: int = 240
    tick_seconds: float = 5.0


def state_file(state_dir: Path) -> Path:
    return state_dir / "stack.json"


def lock_file(state_dir: Path) -> Path:
    return state_dir / "stack.lock"


def clock_file(state_dir: Path) -> Path:
    return state_dir / "clock"


def read_state(state_dir: Path) -> dict[str, Any]:
    path = state_file(state_dir)
    if not path.exists():
        raise SystemExit(
            f"No local stack is running with its state in {state_dir} (no {path}): start one with "
            "`make run`, or give the --state-dir it was started with."
        )
    return dict(json.loads(path.read_text()))


class CannotStart(Exception):
    """The stack cannot start here; the message, one line, says why and what to do instead."""


class PortTaken(CannotStart):
    """A port the stack needs is in use; the message names it and how to choose another."""


class StateDirInUse(CannotStart):
    """Another stack runs with its state in the folder: a second one would take its state file."""


def claim_state_dir(state_dir: Path) -> int:
    """An open file holding an exclusive lock on the folder, or StateDirInUse. A lock rather than the
    state file's existence: the kernel lets go of it when its stack's process ends, however it ends, so
    a stack that was killed leaves nothing to clean up."""
    state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file(state_dir), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        owner = ""
        if state_file(state_dir).exists():
            owner = f" (process {json.loads(state_file(state_dir).read_text()).get('pid')})"
        raise StateDirInUse(
            f"Another local stack{owner} keeps its state in {state_dir}: stop it, or give this one a "
            f"folder of its own, e.g. `make run STATE_DIR={state_dir}-2` (with AWS_PORT and API_PORT)."
        ) from None
    return fd


RUNTIME_PYTHON = (3, 12)  # Lambda's (infra.package.RUNTIME)


def python_note(version: tuple[int, ...]) -> str | None:
    """A warning when this Python is not the runtime's: what passes here may not pass on Lambda."""
    if tuple(version[:2]) == RUNTIME_PYTHON:
        return None
    runtime = ".".join(map(str, RUNTIME_PYTHON))
    return (
        f"{'.'.join(map(str, version[:3]))}, not the runtime's {runtime}: install python{runtime}, then "
        f"`make clean run` (the Makefile picks it)"
    )


# Which port is which: its name for people, the make variable and the option that choose it.
_PORTS = {"aws": ("AWS emulator", "AWS_PORT", "--aws-port"), "api": ("API", "API_PORT", "--api-port")}


def _bind_error(host: str, port: int) -> OSError | None:
    # Both servers set SO_REUSEADDR (as create_server does), so a port only lingering after a previous
    # run counts as free and one another program listens on does not.
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.create_server((host, port), family=family):
            return None
    except OSError as error:
        return error


def _taken(which: str, host: str, port: int, avoid: set[int], error: OSError | None = None) -> PortTaken:
    name, variable, option = _PORTS[which]
    if error is not None and error.errno != errno.EADDRINUSE:
        return PortTaken(f"Cannot listen on {host}:{port} for the {name}: {error.strerror}.")
    other = next(
        (p for p in range(port + 1, port + 100) if p not in avoid and _bind_error(host, p) is None), port + 1
    )
    return PortTaken(
        f"Port {port} on {host} (the {name}) is already in use: stop what uses it, or choose another "
        f"port, e.g. `make run {variable}={other}` (or `{option} {other}`)."
    )


def check_ports(options: StackOptions) -> None:
    """Raise PortTaken unless both ports are free: before anything starts, so it fails at once."""
    ports = {"aws": options.aws_port, "api": options.api_port}
    if options.aws_port == options.api_port:
        port = options.api_port
        raise PortTaken(
            f"The AWS emulator and the API cannot share port {port}: choose another for one of them, "
            f"e.g. `make run API_PORT={port + 1}` (or `--api-port {port + 1}`)."
        )
    for which, port in ports.items():
        error = _bind_error(options.host, port)
        if error is not None:
            raise _taken(which, options.host, port, set(ports.values()), error)


def cli_command(state_dir: Path | str, *args: str) -> str:
    """How to run `python -m infra.local ARGS` against the stack whose state is in `state_dir`."""
    words = [".venv/bin/python", "-m", "infra.local", *args]
    if Path(state_dir) != DEFAULT_STATE_DIR:
        words += ["--state-dir", str(state_dir)]
    return shlex.join(words)


def _print_now(line: str) -> None:
    print(line, flush=True)


class _Steps:
    """One line per start-up step, with what it did and how long it took."""

    def __init__(self, report: Callable[[str], None]) -> None:
        self.report = report
        self.started = time.monotonic()

    def line(self, step: str, detail: str) -> None:
        self.report(f"  {step:<17}{detail}")

    def done(self, step: str, detail: str) -> None:
        self.line(step, f"{detail} ({time.monotonic() - self.started:.1f} s)")
        self.started = time.monotonic()


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
        "CXC_ARTIFACTS_BUCKET": f"{PREFIX}-artifacts",
        "CXC_CLOCK_FILE": str(clock_file(options.state_dir).resolve()),
        "CXC_METRICS_ENABLED": "false",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }


class LocalStack:
    def __init__(self, options: StackOptions, report: Callable[[str], None] = _print_now) -> None:
        self.options = options
        self.endpoint = f"http://{options.host}:{options.aws_port}"
        self._parts: list[Any] = []
        self._steps = _Steps(report)
        self._wrote_state = False
        self._state_lock: int | None = None

    def start(self) -> dict[str, Any]:
        """Start everything, reporting each step; PortTaken if a port is in use, StateDirInUse if
        another stack has the state folder (both checked first)."""
        options = self.options
        check_ports(options)
        self._state_lock = claim_state_dir(options.state_dir)
        steps = self._steps
        steps.report(f"Starting the ClusterXchange local stack (state in {options.state_dir})")
        host, aws_port, api_port = options.host, options.aws_port, options.api_port
        steps.line("ports", f"{host}:{aws_port} (AWS emulator) and {host}:{api_port} (API) are free")
        note = python_note(tuple(int(part) for part in platform.python_version_tuple()))
        if note:
            steps.line("python", f"warning: {note}")
        self._start_emulator()
        steps.done("AWS emulator", self.endpoint)

        # Settings are read once, at the app's import: the environment must be complete before it.
        os.environ.update(_environment(options, self.endpoint))
        from chalicelib.settings import get_settings
        from infra.local.bootstrap import bootstrap
        from infra.resources import ROLES, Resources

        get_settings.cache_clear()
        resources = Resources(get_settings())
        booted = bootstrap(resources, self.endpoint)
        steps.done(
            "resources",
            f"{len(resources.table_definitions())} tables ({len(booted.stream_arns)} with streams), "
            f"{len(booted.queue_urls)} queues, {len(booted.buckets)} buckets, a user pool with "
            f"{len(ROLES)} groups",
        )
        os.environ.update(
            {
                "CXC_USER_POOL_ID": booted.user_pool_id,
                "CXC_PAYMENTS_QUEUE_URL": booted.queue_urls["payments"],
                "CXC_APP_CLIENT_ID": booted.app_client_id,
                "CXC_CURSOR_SECRET_ID": booted.cursor_secret_id,
                "CXC_JWKS_URL": f"{self.endpoint}/{booted.user_pool_id}/.well-known/jwks.json",
            }
        )
        get_settings.cache_clear()

        import app as app_module

        steps.done("app", "loaded")
        seeded = self._seed(booted) if options.seed else {}
        if not options.seed:
            steps.line("seed", "skipped (--no-seed)")
        pump, scheduler = self._start_events(app_module, resources, booted)
        self._parts.extend([pump, scheduler])
        self._parts.append(self._start_api(app_module.app))
        steps.done("API", f"http://{options.host}:{options.api_port}")
        state = {
            "pid": os.getpid(),
            "aws_endpoint": self.endpoint,
            "api_url": f"http://{options.host}:{options.api_port}",
            "region": REGION,
            "state_dir": str(options.state_dir),
            "user_pool_id": booted.user_pool_id,
            "app_client_id": booted.app_client_id,
            "queue_urls": booted.queue_urls,
            "buckets": booted.buckets,
            "event_sources": [{"kind": s.kind, "source": s.source} for s in resources.event_sources],
            "seeded": seeded,
        }
        state_file(options.state_dir).write_text(json.dumps(state, indent=2))
        self._wrote_state = True
        return state

    def _start_emulator(self) -> None:
        from moto.server import ThreadedMotoServer

        from infra.local.emulator import serialise_dynamodb

        serialise_dynamodb()
        options = self.options
        server = ThreadedMotoServer(ip_address=options.host, port=options.aws_port, verbose=False)
        # ThreadedMotoServer.start waits forever when its thread cannot listen (the port was taken
        # since the check): start it aside and give up after a while.
        starting = threading.Thread(target=server.start, name="aws-emulator-start", daemon=True)
        starting.start()
        starting.join(timeout=EMULATOR_START_SECONDS)
        if starting.is_alive():
            raise _taken("aws", options.host, options.aws_port, {options.aws_port, options.api_port})
        self._parts.append(server)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def _seed(self, booted: Any) -> dict[str, Any]:
        import boto3

        from infra import seed

        steps = self._steps
        idp = boto3.client("cognito-idp", endpoint_url=self.endpoint, region_name=REGION)
        pool, app_client = booted.user_pool_id, booted.app_client_id
        partnerships = seed.seed_partnerships()
        contacts = seed.seed_contact_points(idp, pool, app_client)
        steps.done("partnerships", f"{partnerships} partnerships, {contacts} contact-point users")

        size = self.options.demo_size
        every = max(1, size // 10)

        def progress(created: int) -> None:
            if created % every == 0 and created < size:
                steps.line("demo population", f"{created}/{size} ...")

        steps.line("demo population", f"0/{size} accepted registrations, each with a user ...")
        logins = seed.seed_demo_population(idp, booted.user_pool_id, size, progress)
        steps.done("demo population", f"{len(logins)}/{size} accepted registrations")
        return {"partnerships": partnerships, "registrations": len(logins), "demo_logins": logins}

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
        delivered = pump.drain(rounds=200)  # let the seed's changes settle before the API opens
        pump.start()
        detail = f"{delivered} records handed on from {len(mappings)} streams and queues"
        self._steps.done("event pump", detail)
        rule_arn = f"arn:aws:events:{REGION}:123456789012:rule/{PREFIX}-tick"

        def tick() -> None:
            app_module.tick(scheduled_event(REGION, rule_arn, datetime.now(UTC)), None)

        tick()
        scheduler = Scheduler(tick, self.options.tick_seconds)
        scheduler.start()
        self._steps.done("schedule", f"tick ran once; again every {self.options.tick_seconds:g} s")
        return pump, scheduler

    def _start_api(self, app: Any) -> Any:
        from chalice.config import Config
        from chalice.local import create_local_server

        from infra.local import gateway

        gateway.install()
        config = Config.create(chalice_stage="dev", app_name="clusterxchange", chalice_app=app)
        options = self.options
        try:
            server = create_local_server(app, config, options.host, options.api_port)
        except OSError as error:  # taken while the stack was starting, after the check
            raise _taken("api", options.host, options.api_port, {options.aws_port}, error) from error
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
        self._parts.clear()
        # Only a state file this stack wrote: a second `make run` refused for its ports must not take
        # away the running stack's.
        if self._wrote_state:
            state_file(self.options.state_dir).unlink(missing_ok=True)
        if self._state_lock is not None:
            os.close(self._state_lock)  # lets another stack have the folder
            self._state_lock = None


@dataclass
class _ApiServer:
    server: Any
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server.server_close()
        self.thread.join(timeout=10)


def _event_sources(sources: list[dict[str, str]]) -> str:
    """What the pump hands on, from the stack's own list: e.g. "streams of registrations and outbox;
    queues documents, payments and payments-dlq"."""

    def listed(names: list[str]) -> str:
        return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"

    # A stream two functions read is named once.
    streams = list(dict.fromkeys(s["source"] for s in sources if s["kind"] == "dynamodb"))
    queues = [s["source"] for s in sources if s["kind"] == "sqs"]
    parts = [f"the stream{'s' * (len(streams) > 1)} of {listed(streams)}"] if streams else []
    parts += [f"queue{'s' * (len(queues) > 1)} {listed(queues)}"] if queues else []
    return f"{len(sources)} event sources: {'; '.join(parts)}"


def banner(state: dict[str, Any]) -> str:
    seeded = state.get("seeded") or {}
    demo = seeded.get("demo_logins") or []
    state_dir = state.get("state_dir", str(DEFAULT_STATE_DIR))
    clock = cli_command(state_dir, "clock", "YYYY-MM-DD")
    participant = cli_command(state_dir, "token", "you@example.org", "--role", "participant")
    officer = cli_command(
        state_dir, "token", "officer@epix.example", "--role", "partnership", "--partnership", "epix"
    )
    lines = [
        "",
        "ClusterXchange local stack is up",
        f"  API                 {state['api_url']}/v1/health   (OpenAPI: {state['api_url']}/v1/openapi.json)",
        f"  AWS emulator        {state['aws_endpoint']}   (DynamoDB+streams, S3, SQS, SES, Cognito)",
        f"  Cognito user pool   {state['user_pool_id']}   app client {state['app_client_id']}",
        f"  Buckets             {', '.join(state.get('buckets') or [])}",
        f"  Event pump          {_event_sources(state.get('event_sources') or [])}",
        "  Scheduled function  tick, every few seconds",
        f"  Business date       {clock}   (or --reset)",
        f"  Seeded              {seeded.get('partnerships', 0)} partnerships, "
        f"{seeded.get('registrations', 0)} demo registrations",
        "",
        "Get a token (creates the user if needed):",
        f"  TOKEN=$({participant})",
        f"  TOKEN=$({officer})",
        f'  curl -H "Authorization: Bearer $TOKEN" {state["api_url"]}/v1/me',
    ]
    if demo:
        lines.append(f"Demo participants (accepted, ready to match), e.g.: {', '.join(demo[:3])}")
    lines += ["", "Ctrl-C stops everything.", ""]
    return "\n".join(lines)
