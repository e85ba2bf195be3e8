"""Benchmark of handler overhead: each read route's latency in-process against a bare Chalice route
doing one PynamoDB `get` of an item of the same table, in the same run, the two calls alternated.

Both go through Chalice's test client (its local gateway) against moto in-process. The app's routes
carry everything they carry in AWS: real Cognito tokens verified by the authorizer, the middleware,
the adapter (query parsing, roles, response models) and the service's own reads. The bare route has no
authorizer, no middleware and no model: what any Chalice function reading one item pays. The ratio of
the medians is the handler's overhead; the target is at most 1.5x for reads.

Run: python -m tests.bench.bench_handler_overhead [--calls 300] [--profile "GET /v1/exchanges"]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tests.conftest  # noqa: F401  (the test environment: region, fake credentials, table names)
from tests.bench import summary

TARGET = 1.5


@dataclass(frozen=True)
class Read:
    """A read route, the caller's token, and the item of the same table the bare route gets."""

    name: str
    path: str
    token: str
    table: str
    key: str


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def bare_app() -> Any:
    """A Chalice app with one route that gets one item by its key and returns it: the floor."""
    from chalice import Chalice

    from chalicelib.store.models import ContactRequestModel, ExchangeModel, RegistrationModel

    models = {"exchanges": ExchangeModel, "registrations": RegistrationModel, "contacts": ContactRequestModel}
    bare = Chalice(app_name="bare", configure_logs=False)

    @bare.route("/bare/{table}/{key}")
    def get_item(table: str, key: str) -> dict[str, Any]:
        # ?gets=k reads the item k times: the floor of a route that makes k AWS calls.
        gets = int((bare.current_request.query_params or {}).get("gets", "1"))
        for _ in range(gets):
            item = models[table].get(key)
        return {"id": key, "item": item.to_simple_dict()}

    return bare


@contextmanager
def world() -> Iterator[tuple[Any, list[Read]]]:
    """The app's population (tests.api.population) in a fresh emulator, and the reads to time."""
    from moto.server import ThreadedMotoServer

    from tests.api.conftest import free_port
    from tests.api.population import emulated_world

    port = free_port()
    jwks = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    jwks.start()
    try:
        with tempfile.TemporaryDirectory() as tmp, emulated_world(f"http://127.0.0.1:{port}", Path(tmp)) as w:
            w.contact  # noqa: B018  (a pending request to the host: its incoming box is not empty)
            exchange_id = w.exchange_id
            sender, host = w.sender, w.host
            assert sender.registration_id and host.registration_id
            reads = [
                Read(
                    "GET /v1/exchanges/{id}",
                    f"/v1/exchanges/{exchange_id}",
                    sender.token,
                    "exchanges",
                    exchange_id,
                ),
                Read(
                    "GET /v1/exchanges/{id}/documents",
                    f"/v1/exchanges/{exchange_id}/documents",
                    sender.token,
                    "exchanges",
                    exchange_id,
                ),
                Read(
                    "GET /v1/exchanges/{id}/history",
                    f"/v1/exchanges/{exchange_id}/history",
                    sender.token,
                    "exchanges",
                    exchange_id,
                ),
                Read(
                    "GET /v1/registrations/me",
                    "/v1/registrations/me",
                    sender.token,
                    "registrations",
                    sender.registration_id,
                ),
                Read(
                    "GET /v1/contact-requests?box=incoming",
                    "/v1/contact-requests?box=incoming",
                    host.token,
                    "contacts",
                    w.contact,
                ),
                Read("GET /v1/exchanges", "/v1/exchanges", sender.token, "exchanges", exchange_id),
                Read("GET /v1/me", "/v1/me", sender.token, "registrations", sender.registration_id),
            ]
            yield w.client, reads
    finally:
        jwks.stop()


class AwsClock:
    """Time spent inside AWS calls (here: inside moto) and their number, from botocore's hooks on every
    client the app uses, so a route's time splits into the emulator's and ours."""

    def __init__(self) -> None:
        self.calls = 0
        self.inside = 0.0
        self._started = 0.0

    def _before(self, **kwargs: Any) -> None:
        self.calls += 1
        self._started = time.perf_counter()

    def _after(self, **kwargs: Any) -> None:
        self.inside += time.perf_counter() - self._started

    def attach(self) -> None:
        from chalicelib.store.aws import client as aws_client
        from chalicelib.store.models import ALL_MODELS

        clients = {aws_client(name) for name in ("s3", "ses", "sqs")}
        clients |= {model._get_connection().connection.client for model in ALL_MODELS}
        for botocore_client in clients:
            botocore_client.meta.events.register("before-call.*.*", self._before)
            botocore_client.meta.events.register("after-call.*.*", self._after)


def _timer(
    client: Any, path: str, headers: dict[str, str], aws: AwsClock
) -> Callable[[], tuple[float, float, int]]:
    """A call of `path`: (whole ms, ms outside AWS calls, AWS calls)."""

    def call() -> tuple[float, float, int]:
        aws.calls, aws.inside = 0, 0.0
        start = time.perf_counter()
        response = client.http.get(path, headers=headers)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200, response.body
        return elapsed * 1000, (elapsed - aws.inside) * 1000, aws.calls

    return call


def measure(calls: int, profile: str | None = None) -> list[dict[str, Any]]:
    from chalice.test import Client

    results = []
    aws = AwsClock()
    with (
        world() as (client, reads),
        tempfile.TemporaryDirectory() as tmp,
        Client(bare_app(), project_dir=tmp) as bare,
    ):
        attached = False
        for read in reads:
            route = _timer(client, read.path, {"Authorization": f"Bearer {read.token}"}, aws)
            floor = _timer(bare, f"/bare/{read.table}/{read.key}", {}, aws)
            for _ in range(5):  # warm-up: models' validators, JWKS, connections, as in a warm Lambda
                route(), floor()
            if not attached:  # the clients exist once a call has made them
                aws.attach()
                attached = True
            calls_made = route()[2]
            # The same number of gets as the route's AWS calls: what is left over is the handler's own.
            same_calls = _timer(bare, f"/bare/{read.table}/{read.key}?gets={max(calls_made, 1)}", {}, aws)
            route_ms, floor_ms, route_own, floor_own, route_calls, same_ms = [], [], [], [], [], []
            for _ in range(calls):
                whole, own, n = route()
                route_ms.append(whole)
                route_own.append(own)
                route_calls.append(n)
                whole, own, _ = floor()
                floor_ms.append(whole)
                floor_own.append(own)
                if calls_made > 1:
                    same_ms.append(same_calls()[0])
            results.append(
                {
                    "route": read.name,
                    "route_p50": statistics.median(route_ms),
                    "route_p95": _p95(route_ms),
                    "floor_p50": statistics.median(floor_ms),
                    "floor_p95": _p95(floor_ms),
                    "ratio": statistics.median(route_ms) / statistics.median(floor_ms),
                    "route_own_p50": statistics.median(route_own),
                    "floor_own_p50": statistics.median(floor_own),
                    "aws_calls": statistics.mean(route_calls),
                    "ratio_same_calls": statistics.median(route_ms) / statistics.median(same_ms or floor_ms),
                }
            )
            if profile == read.name:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(calls):
                    route()
                profiler.disable()
                out = io.StringIO()
                stats = pstats.Stats(profiler, stream=out)
                # Our code and the libraries it calls outside the emulator, then the heaviest functions.
                stats.sort_stats("cumulative").print_stats(
                    r"chalicelib|app\.py|pydantic|jwt|pynamodb|botocore/client", 40
                )
                stats.sort_stats("tottime").print_stats(25)
                print(f"cProfile of {calls} calls of {read.name}:\n{out.getvalue()}")
    return results


def rows(results: list[dict[str, Any]]) -> list[tuple[str, str, bool | None]]:
    """Summary rows for `make bench`: (target, figure, met)."""
    return [
        (
            f"{r['route']} <= {TARGET}x one get",
            f"{r['ratio']:.2f}x ({r['aws_calls']:.0f} AWS calls; {r['ratio_same_calls']:.2f}x as many gets)",
            r["ratio"] <= TARGET,
        )
        for r in results
    ]


def print_table(results: list[dict[str, Any]], calls: int) -> None:
    print(f"handler overhead: each read route against a bare route with one PynamoDB get, {calls} calls each")
    print(
        f"  {'route':38s} {'route p50 p95 ms':>16s} {'floor p50 p95 ms':>16s} {'ratio':>11s}"
        f" {'AWS calls':>9s} {'vs as many gets':>15s}  outside AWS calls p50 ms: route, floor"
    )
    for r in results:
        verdict = "ok" if r["ratio"] <= TARGET else "OVER"
        print(
            f"  {r['route']:38s} {r['route_p50']:7.2f} {r['route_p95']:7.2f}  {r['floor_p50']:7.2f}"
            f" {r['floor_p95']:7.2f}  {r['ratio']:5.2f}x {verdict:4s} {r['aws_calls']:9.1f}"
            f" {r['ratio_same_calls']:14.2f}x  {r['route_own_p50']:.2f}, {r['floor_own_p50']:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=300, help="calls of each route (and of the floor)")
    parser.add_argument("--profile", help='a route\'s name as printed, e.g. "GET /v1/exchanges"')
    args = parser.parse_args()
    results = measure(args.calls, args.profile)
    print_table(results, args.calls)
    summary.record("handler_overhead", rows(results))


if __name__ == "__main__":
    main()
