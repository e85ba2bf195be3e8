"""Commands for the people who run a deployed stack.

    python -m infra.admin bootstrap --stack cxc-prod --email you@programme.eu
    python -m infra.admin import-partnerships --stack cxc-prod --csv partnerships.csv --token ID_TOKEN
    python -m infra.admin recount-stats --stage prod
    python -m infra.admin backfill-reminders --stage prod

`bootstrap` makes the first admin in the stack's user pool (found from the stack's outputs), who then
signs in and manages everything else through the API. `import-partnerships` sends each row of a CSV to
the admin routes (create, or edit when the id exists), so an import is checked and audited like any
admin's edit and can be run again after fixing a refused row. `recount-stats` works the statistics'
counters out again from the stored registrations, exchanges and payments (read through their indexes)
and writes them afresh, after a stream record was given up on (one on the stream-failures queue); run
it while nothing changes, with credentials that may read those tables and write the statistics'.
`backfill-reminders`, once after the deployment that brought reminders, gives what was stored before
(exchanges awaiting signatures, their report or their stay; overdue payments) the day its reminder falls
due, through the tables' existing indexes; it is safe to run again.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

ADMIN_GROUP = "admin"
USER_POOL_OUTPUT = "UserPoolId"
API_URL_OUTPUT = "EndpointURL"  # what `chalice package` names the API's URL in the stack's outputs
_USER_POOL_TYPE = "AWS::Cognito::UserPool"

# (status, body) of one request; a test answers through the app's test client instead of HTTP.
Send = Callable[[str, str, dict[str, Any]], tuple[int, dict[str, Any]]]


class AdminError(Exception):
    """What the command cannot do, in a sentence for the operator."""


# --- the stack --------------------------------------------------------------------------------------


def _outputs(cloudformation: Any, stack: str) -> dict[str, str]:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except cloudformation.exceptions.ClientError as exc:
        raise AdminError(f"No stack {stack!r} in this account and region ({exc}).") from exc
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs") or ()}


def user_pool_of(cloudformation: Any, stack: str) -> str:
    """The stack's user pool: its output, or else the one pool among its resources (a stack deployed
    before the output existed)."""
    pool = _outputs(cloudformation, stack).get(USER_POOL_OUTPUT)
    if pool:
        return pool
    pools = [
        r["PhysicalResourceId"]
        for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack)
        for r in page["StackResourceSummaries"]
        if r["ResourceType"] == _USER_POOL_TYPE
    ]
    if len(pools) != 1:
        raise AdminError(f"Stack {stack!r} has {len(pools)} user pools; expected one.")
    return str(pools[0])


# --- bootstrap --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bootstrapped:
    user_pool_id: str
    email: str
    created: bool  # False: the user existed (a second run), and was only put in the admin group


def bootstrap(cloudformation: Any, idp: Any, stack: str, email: str) -> Bootstrapped:
    """The first admin: a user of the stack's pool in the admin group. Cognito mails the address a
    temporary password (through the pool's sender), to be changed at the first sign-in. Safe to run
    again: an existing user is not recreated, its password not reset."""
    pool = user_pool_of(cloudformation, stack)
    created = True
    try:
        idp.admin_create_user(
            UserPoolId=pool,
            Username=email,
            UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
            DesiredDeliveryMediums=["EMAIL"],
        )
    except idp.exceptions.UsernameExistsException:
        created = False
    idp.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName=ADMIN_GROUP)
    return Bootstrapped(pool, email, created)


def next_steps(done: Bootstrapped, stack: str) -> str:
    made = "created" if done.created else "already existed; added"
    return "\n".join(
        [
            f"Admin {done.email} {made} in user pool {done.user_pool_id} (group {ADMIN_GROUP}).",
            "Next:",
            f"  1. {done.email} signs in with the temporary password Cognito mailed and sets a new one.",
            "  2. Create the partnerships, with their debtor accounts and finance contacts:",
            f"       python -m infra.admin import-partnerships --stack {stack} --csv partnerships.csv"
            " --token ID_TOKEN",
            "     (columns: " + ",".join(CSV_COLUMNS) + "), or POST /v1/partnerships one by one.",
            "  3. Give each contact point a user in the 'partnership' group with custom:partnership_id",
            "     set to its partnership (aws cognito-idp admin-create-user, admin-add-user-to-group).",
            "  4. Check GET /v1/partnerships lists them: registrations name one of these ids.",
        ]
    )


# --- the CSV import -----------------------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "name",
    "ecosystems",
    "countries",
    "contact_points",
    "debtor_holder",
    "debtor_iban",
    "debtor_bic",
    "finance_email",
)
_CONTACT = re.compile(r"\s*(?P<name>[^<>;]*?)\s*<(?P<email>[^<>\s;]+)>\s*")


def _list(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _contacts(cell: str, line: int) -> list[dict[str, str]]:
    contacts = []
    for part in _list(cell):
        match = _CONTACT.fullmatch(part)
        if match is None:
            raise AdminError(f"line {line}: a contact point is 'Name <email>', not {part!r}")
        contacts.append({"name": match["name"], "email": match["email"]})
    return contacts


def rows(text: TextIO) -> list[dict[str, Any]]:
    """The CSV's rows as the admin API's bodies. Lists in a cell are separated by ';', contact points
    written 'Name <email>'. A missing column is an error before anything is sent."""
    reader = csv.DictReader(text)
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise AdminError(f"the CSV has no column {', '.join(missing)}; expected {','.join(CSV_COLUMNS)}")
    bodies = []
    for line, row in enumerate(reader, start=2):
        cell = {c: (row.get(c) or "").strip() for c in CSV_COLUMNS}
        bodies.append(
            {
                "id": cell["id"],
                "name": cell["name"],
                "ecosystems": _list(cell["ecosystems"]),
                "countries": [c.upper() for c in _list(cell["countries"])],
                "contact_points": _contacts(cell["contact_points"], line),
                "debtor_account": {
                    "holder": cell["debtor_holder"],
                    "iban": cell["debtor_iban"],
                    "bic": cell["debtor_bic"],
                },
                "finance_email": cell["finance_email"],
            }
        )
    return bodies


@dataclass(frozen=True)
class Outcome:
    id: str
    result: str  # "created", "updated" or "refused"
    detail: str = ""


def _refusal(answer: dict[str, Any]) -> str:
    error = answer.get("error") or {}
    fields = [str(d["field"]) for d in error.get("details") or () if isinstance(d, dict) and d.get("field")]
    where = f" ({', '.join(fields)})" if fields else ""
    return f"{error.get('code')}: {error.get('message')}{where}"


def import_partnerships(bodies: Iterable[dict[str, Any]], send: Send) -> list[Outcome]:
    """Create each partnership, or edit it when its id exists; every row is tried."""
    outcomes = []
    for item in bodies:
        status, answer = send("POST", "/v1/partnerships", item)
        if status == 201:
            outcomes.append(Outcome(item["id"], "created"))
            continue
        if status == 409 and (answer.get("error") or {}).get("code") == "PARTNERSHIP_EXISTS":
            changes = {k: v for k, v in item.items() if k != "id"}
            status, answer = send("PATCH", f"/v1/partnerships/{item['id']}", changes)
            if status == 200:
                outcomes.append(Outcome(item["id"], "updated"))
                continue
        outcomes.append(Outcome(item["id"], "refused", f"{status} {_refusal(answer)}"))
    return outcomes


def http_sender(api_url: str, token: str) -> Send:
    if not api_url.startswith(("https://", "http://")):
        raise AdminError(f"the API's URL is http(s)://..., not {api_url!r}")
    base = api_url.rstrip("/")

    def send(method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(  # noqa: S310 (an http(s) URL, checked above)
            base + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (checked above)
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            payload = exc.read()
            try:
                answer = json.loads(payload) if payload else {}
            except ValueError:
                answer = {"error": {"code": "HTTP_ERROR", "message": payload[:200].decode(errors="replace")}}
            return exc.code, answer if isinstance(answer, dict) else {}

    return send


# --- the statistics' recount -----------------------------------------------------------------------------


def recount_statistics(out: TextIO) -> int:
    """The recount, on the tables the settings name (the app's code reads them when first imported)."""
    from chalicelib.services import statistics

    read = statistics.recount()
    print(
        f"Statistics recounted from {read['registrations']} registrations, {read['exchanges']} exchanges, "
        f"{read['payments']} payments.",
        file=out,
    )
    return 0


def backfill_reminders(out: TextIO) -> int:
    """The reminders' backfill (chalicelib.services.reminders), on the tables the settings name."""
    from chalicelib import clock
    from chalicelib.services import reminders

    for what, count in reminders.backfill(clock.today()).items():
        print(f"{what}: {count} given their reminder's day", file=out)
    return 0


def _use_stage(args: argparse.Namespace) -> None:
    """The stage's table names (and the region and emulator asked for), set before the app's settings
    are first read: this process has imported none of the app yet."""
    import os

    from infra.stages import stage_environment

    if args.stage:
        os.environ.update(stage_environment(args.stage))
    if args.region:
        os.environ["AWS_REGION"] = args.region
    if args.endpoint_url:
        os.environ["CXC_AWS_ENDPOINT_URL"] = args.endpoint_url


# --- the command line ---------------------------------------------------------------------------------


def _clients(args: argparse.Namespace) -> tuple[Any, Any]:
    import boto3

    kwargs = {"region_name": args.region} if args.region else {}
    if args.endpoint_url:
        kwargs["endpoint_url"] = args.endpoint_url
    return boto3.client("cloudformation", **kwargs), boto3.client("cognito-idp", **kwargs)


def main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.admin", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("bootstrap", "create the first admin in the stack's user pool"),
        ("import-partnerships", "create or edit partnerships from a CSV, through the admin API"),
    ):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--stack", required=True, help="the CloudFormation stack's name, e.g. cxc-prod")
        command.add_argument("--region", help="the stack's region (default: the AWS configuration's)")
        command.add_argument("--endpoint-url", help=argparse.SUPPRESS)  # an emulator, for trying it out
        if name == "bootstrap":
            command.add_argument("--email", required=True, help="the first admin's address")
        else:
            command.add_argument("--csv", required=True, type=Path, help="columns: " + ",".join(CSV_COLUMNS))
            command.add_argument("--token", required=True, help="an admin's ID token")
            command.add_argument("--api", help=f"the API's base URL (default: the stack's {API_URL_OUTPUT})")
    for name, help_text in (
        ("recount-stats", "work the statistics' counters out again"),
        ("backfill-reminders", "give what was stored before reminders existed its reminder's day"),
    ):
        on_tables = commands.add_parser(name, help=help_text)
        on_tables.add_argument("--stage", help="the stage whose tables to use (default: the environment's)")
        on_tables.add_argument(
            "--region", help="the tables' region (default: the stage's or the environment's)"
        )
        on_tables.add_argument("--endpoint-url", help=argparse.SUPPRESS)  # an emulator, for trying it out
    args = parser.parse_args(argv)
    if args.command in ("recount-stats", "backfill-reminders"):
        _use_stage(args)
        return (recount_statistics if args.command == "recount-stats" else backfill_reminders)(out)
    try:
        cloudformation, idp = _clients(args)
        if args.command == "bootstrap":
            print(next_steps(bootstrap(cloudformation, idp, args.stack, args.email), args.stack), file=out)
            return 0
        api = args.api or _outputs(cloudformation, args.stack).get(API_URL_OUTPUT)
        if not api:
            raise AdminError(f"stack {args.stack!r} has no {API_URL_OUTPUT} output; give --api")
        with args.csv.open(encoding="utf-8-sig", newline="") as text:
            bodies = rows(text)
        outcomes = import_partnerships(bodies, http_sender(api, args.token))
    except AdminError as exc:
        print(f"error: {exc}", file=out)
        return 2
    for outcome in outcomes:
        print(
            f"{outcome.id}: {outcome.result}" + (f" - {outcome.detail}" if outcome.detail else ""), file=out
        )
    refused = sum(o.result == "refused" for o in outcomes)
    print(f"{len(outcomes) - refused} of {len(outcomes)} partnerships stored.", file=out)
    return 1 if refused else 0


if __name__ == "__main__":
    raise SystemExit(main())
