"""`python -m infra.local up|token|clock`: run the local stack and talk to it."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import date
from pathlib import Path

from infra.local.stack import (
    DEFAULT_API_PORT,
    DEFAULT_AWS_PORT,
    DEFAULT_STATE_DIR,
    CannotStart,
    LocalStack,
    StackOptions,
    banner,
    clock_file,
    read_state,
    state_file,
)


def _up(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    options = StackOptions(
        host=args.host,
        aws_port=args.aws_port,
        api_port=args.api_port,
        state_dir=Path(args.state_dir),
        seed=not args.no_seed,
        demo_size=args.demo_size,
        tick_seconds=args.tick_seconds,
    )
    stack = LocalStack(options)
    try:
        state = stack.start()
    except CannotStart as refused:
        stack.stop()  # whatever had started (the API's port can be taken while the stack starts)
        print(refused, file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        print("Stopping the local stack...", flush=True)
        stack.stop()
        return 130
    except BaseException:
        print("Stopping the local stack...", flush=True)
        stack.stop()
        raise
    print(banner(state), flush=True)
    try:
        stack.wait()
    finally:
        print("Stopping the local stack...", flush=True)
        stack.stop()
    return 0


def _partnership_ids(api_url: str) -> list[str]:
    # The running stack's own list, through its API: what its registrations are checked against.
    import json
    from urllib.request import urlopen

    with urlopen(f"{api_url}/v1/partnerships", timeout=10) as response:  # noqa: S310 (the local API)
        return [item["id"] for item in json.load(response)["items"]]


def _token(args: argparse.Namespace) -> int:
    import boto3

    from infra.local.tokens import issue_token, partnership_problem

    state = read_state(Path(args.state_dir))
    known = _partnership_ids(state["api_url"]) if args.partnership else []
    problem = partnership_problem(args.role, args.partnership, known)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    idp = boto3.client(
        "cognito-idp",
        endpoint_url=state["aws_endpoint"],
        region_name=state["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    print(
        issue_token(
            idp, state["user_pool_id"], state["app_client_id"], args.email, args.role, args.partnership
        )
    )
    return 0


def _clock(args: argparse.Namespace) -> int:
    path = clock_file(Path(args.state_dir))
    if args.reset:
        path.unlink(missing_ok=True)
        print("business date: the real date")
        return 0
    if not args.date:
        print("give a date (YYYY-MM-DD) or --reset", file=sys.stderr)
        return 2
    try:
        day = date.fromisoformat(args.date)
    except ValueError:
        print(f"not a date: {args.date}", file=sys.stderr)
        return 2
    state_dir = Path(args.state_dir)
    if not state_file(state_dir).exists():
        print(
            f"note: no local stack is running with its state in {state_dir}; the date applies to one "
            "started there (give --state-dir for a stack started elsewhere)",
            file=sys.stderr,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(day.isoformat())
    print(f"business date: {day.isoformat()}")
    return 0


_STATE_DIR_HELP = (
    f"the folder where the stack keeps its state (default: {DEFAULT_STATE_DIR}); token and clock need "
    "the one the stack was started with"
)


def _state_dir_option(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--state-dir", metavar="DIR", default=default, help=_STATE_DIR_HELP)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local")
    # Accepted before the command and after it; after it, only when given (a subcommand's default
    # would replace the one given before the command).
    _state_dir_option(parser, str(DEFAULT_STATE_DIR))
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the whole local stack in the foreground")
    _state_dir_option(up, argparse.SUPPRESS)
    shown = " (default: %(default)s)"
    up.add_argument("--host", default="127.0.0.1", help="the address both servers listen on" + shown)
    up.add_argument("--aws-port", type=int, default=DEFAULT_AWS_PORT, help="the AWS emulator's port" + shown)
    up.add_argument("--api-port", type=int, default=DEFAULT_API_PORT, help="the API's port" + shown)
    up.add_argument("--no-seed", action="store_true", help="no partnership users, no demo population")
    up.add_argument("--demo-size", type=int, default=240, help="demo registrations to create" + shown)
    up.add_argument("--tick-seconds", type=float, default=5.0, help="how often the schedule runs" + shown)
    up.set_defaults(run=_up)

    token = commands.add_parser("token", help="print an ID token for a local user")
    _state_dir_option(token, argparse.SUPPRESS)
    token.add_argument("email")
    token.add_argument(
        "--role", required=True, choices=["participant", "partnership", "support", "finance", "admin"]
    )
    token.add_argument("--partnership")
    token.set_defaults(run=_token)

    clock = commands.add_parser("clock", help="set the running stack's business date")
    _state_dir_option(clock, argparse.SUPPRESS)
    clock.add_argument("date", nargs="?")
    clock.add_argument("--reset", action="store_true")
    clock.set_defaults(run=_clock)

    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
