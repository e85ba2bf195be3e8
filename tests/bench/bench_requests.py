"""Benchmark of whole requests: GET /v1/matches and GET /v1/catalogue with N accepted registrations.

Everything real but the network: the Chalice app through its local gateway with real tokens, PynamoDB
and boto3 against moto (in-process), the index built by the scheduled function from DynamoDB and
served from S3. Prints build time, request latency percentiles (warm) and the AWS calls each request
makes, counted with botocore's event hooks on every client the app uses.

Run: python -m tests.bench.bench_requests [--n 100000] [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from collections import Counter
from typing import Any

import tests.conftest  # noqa: F401  (the test environment: region, fake credentials, table names)
from tests.bench import summary


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    median = statistics.median(ordered)
    return f"p50 {median:7.2f} ms  p95 {p95:7.2f} ms  max {ordered[-1]:7.2f} ms  (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--rebuild-max", type=int, default=5000)
    args = parser.parse_args()

    import boto3
    from chalice.test import Client
    from moto import mock_aws
    from moto.server import ThreadedMotoServer

    from chalicelib.settings import get_settings
    from chalicelib.store import registrations as registration_store
    from chalicelib.store.aws import client as aws_client
    from chalicelib.store.models import ALL_MODELS, RegistrationModel
    from infra.local import gateway
    from infra.local.bootstrap import bootstrap
    from infra.local.tokens import issue_token
    from infra.resources import Resources
    from infra.synthetic import make_registrations
    from tests.api.conftest import free_port

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    with mock_aws():
        booted = bootstrap(Resources(get_settings()))
        os.environ.update(
            {
                "CXC_USER_POOL_ID": booted.user_pool_id,
                "CXC_PAYMENTS_QUEUE_URL": booted.queue_urls["payments"],
                "CXC_APP_CLIENT_ID": booted.app_client_id,
                "CXC_CURSOR_SECRET_ID": booted.cursor_secret_id,
                "CXC_JWKS_URL": f"http://127.0.0.1:{port}/{booted.user_pool_id}/.well-known/jwks.json",
            }
        )
        get_settings.cache_clear()
        idp = boto3.client("cognito-idp", region_name="eu-west-1")

        # Given N accepted registrations in DynamoDB (written in batches, as a migration would)
        docs = make_registrations(args.n)
        started = time.perf_counter()
        with RegistrationModel.batch_write() as batch:
            for doc in docs:
                batch.save(registration_store._to_model({**doc, "version": 1}))
        print(f"wrote {len(docs):,} registrations to DynamoDB in {time.perf_counter() - started:.1f} s")

        # Callers: accepted participants with real users and tokens
        rng = random.Random(3)
        callers = []
        for doc in rng.sample(docs, 20):
            email = f"bench{len(callers)}@example.org"
            token = issue_token(idp, booted.user_pool_id, booted.app_client_id, email, "participant")
            user = idp.admin_get_user(UserPoolId=booted.user_pool_id, Username=email)
            sub = next(a["Value"] for a in user["UserAttributes"] if a["Name"] == "sub")
            item = RegistrationModel.get(doc["id"])
            item.user_id = sub
            item.save()
            callers.append(token)

        import app as app_module
        from chalicelib.rules.matching import snapshot
        from chalicelib.rules.matching.index import MatchIndex
        from chalicelib.services import catalogue
        from chalicelib.store import catalogue as catalogue_store

        started = time.perf_counter()
        if args.n <= args.rebuild_max:
            built = catalogue.rebuild_index_if_stale(full=True)
            how = "full build: read from the catalogue index (DynamoDB GSI), written to S3"
        else:
            # The emulator filters every item of the table on each GSI page, so reading 100k back
            # through it takes hours; the first snapshot is written from the same documents instead.
            public = [catalogue_store.public_document(m) for m in map(registration_store._to_model, docs)]
            catalogue_store.put_index(snapshot.FORMAT_VERSION, snapshot.dump(MatchIndex.build(public)))
            catalogue_store.put_documents(public, snapshot.FORMAT_VERSION)
            catalogue_store.record_built(0, frozenset(), snapshot.FORMAT_VERSION, True)
            built = len(public)
            how = "full build from the documents (no DynamoDB read), written to S3"
        print(f"index: {built:,} entries, {how}, in {time.perf_counter() - started:.1f} s")

        # Ten registrations change (as the stream would note them), then the builder runs.
        for doc in rng.sample(docs, 10):
            item = RegistrationModel.get(doc["id"])
            item.profile = {**item.profile, "motivation": "changed for the benchmark"}
            item.save()
            catalogue_store.mark_changed(doc["id"])
        consumed: Counter[str] = Counter()

        def ask_capacity(params: dict[str, Any], **kwargs: Any) -> None:
            params["ReturnConsumedCapacity"] = "TOTAL"

        def add_capacity(parsed: dict[str, Any], model: Any, **kwargs: Any) -> None:
            capacity = parsed.get("ConsumedCapacity") or []
            for entry in capacity if isinstance(capacity, list) else [capacity]:
                consumed["read units"] += float(entry.get("ReadCapacityUnits", entry.get("CapacityUnits", 0)))
            consumed[model.name] += 1

        dynamodb_client = RegistrationModel._get_connection().connection.client
        for op in ("GetItem", "BatchGetItem", "Query", "Scan"):
            dynamodb_client.meta.events.register(f"provide-client-params.dynamodb.{op}", ask_capacity)
            dynamodb_client.meta.events.register(f"after-call.dynamodb.{op}", add_capacity)
        started = time.perf_counter()
        rebuilt = catalogue.rebuild_index_if_stale()
        for op in ("GetItem", "BatchGetItem", "Query", "Scan"):
            dynamodb_client.meta.events.unregister(f"provide-client-params.dynamodb.{op}", ask_capacity)
            dynamodb_client.meta.events.unregister(f"after-call.dynamodb.{op}", add_capacity)
        print(
            f"incremental rebuild, 10 changes: {rebuilt:,} entries in {time.perf_counter() - started:.1f} s;"
            f" DynamoDB reads: {dict(consumed)}"
        )
        # The changed items plus the bookkeeping item, whatever the catalogue's size.
        summary.record(
            "requests",
            [
                (
                    f"rebuild with 10 changes reads <= 11 units ({args.n:,} registrations)",
                    f"{consumed['read units']:g} read units",
                    consumed["read units"] <= 11,
                )
            ],
        )

        calls: Counter[str] = Counter()
        in_aws = [0.0, 0.0]  # [time spent inside AWS calls, start of the current one]

        def count(event_name: str, **kwargs: Any) -> None:
            calls[event_name.split(".", 1)[1]] += 1
            in_aws[1] = time.perf_counter()

        def done(event_name: str, **kwargs: Any) -> None:
            in_aws[0] += time.perf_counter() - in_aws[1]

        clients = {aws_client(name) for name in ("s3", "ses", "sqs")}
        clients |= {model._get_connection().connection.client for model in ALL_MODELS}
        for botocore_client in clients:
            botocore_client.meta.events.register("before-call.*.*", count)
            botocore_client.meta.events.register("after-call.*.*", done)

        gateway.install()
        with Client(app_module.app, project_dir=os.path.dirname(os.path.abspath(__file__))) as http:

            def get(path: str, token: str) -> tuple[float, int, Counter[str], float]:
                calls.clear()
                in_aws[0] = 0.0
                start = time.perf_counter()
                response = http.http.get(path, headers={"Authorization": f"Bearer {token}"})
                elapsed = (time.perf_counter() - start) * 1000
                assert response.status_code == 200, response.body
                return elapsed, sum(calls.values()), Counter(calls), elapsed - in_aws[0] * 1000

            cold_ms, cold_calls, _, _ = get("/v1/matches?limit=20", callers[0])
            print(
                f"first request in a container (loads the snapshot): {cold_ms:.0f} ms, {cold_calls} AWS calls"
            )
            # No target here: moto's GSI Query over every item is most of it (bench_scale times the load).
            summary.record(
                "requests",
                [(f"first matches request through moto ({args.n:,})", f"{cold_ms / 1000:.2f} s", None)],
            )

            filters = [
                "",
                "role=host",
                "country=DE",
                "ecosystem=digital&role=visitor",
                "q=iot",
                "language=fr",
                "type=sme&available_from=2027-04-01&available_to=2027-06-30",
                "q=smart%20grid&country=IT",
            ]
            for name, make_path in (
                ("GET /v1/matches?limit=20", lambda i: "/v1/matches?limit=20"),
                (
                    "GET /v1/catalogue (filters)",
                    lambda i: f"/v1/catalogue?limit=20&{filters[i % len(filters)]}",
                ),
            ):
                samples, own, per_request, kinds = [], [], Counter(), Counter()
                for i in range(args.requests):
                    elapsed, n_calls, which, outside_aws = get(make_path(i), callers[i % len(callers)])
                    samples.append(elapsed)
                    own.append(outside_aws)
                    per_request[n_calls] += 1
                    kinds.update(which)
                print(f"{name:32s} whole request       {_percentiles(samples)}")
                print(f"{'':32s} outside AWS calls   {_percentiles(own)}")
                print(f"{'':32s} AWS calls per request: {dict(per_request)}; by operation: {dict(kinds)}")
            page = json.loads(
                http.http.get(
                    "/v1/catalogue?limit=20", headers={"Authorization": f"Bearer {callers[0]}"}
                ).body
            )
            print(f"catalogue page 1: {len(page['items'])} cards, next cursor: {bool(page['next_cursor'])}")
    server.stop()


if __name__ == "__main__":
    main()
