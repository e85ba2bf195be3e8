"""API tests: the real Chalice app through its local gateway, AWS mocked in-process by moto.

Tokens come from moto's Cognito and are verified for real: the authorizer fetches the signing keys
over HTTP from a moto server, as it fetches them from Cognito in AWS.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from chalice.test import Client
from moto import mock_aws
from moto.server import ThreadedMotoServer

from chalicelib import ports
from chalicelib.settings import get_settings
from chalicelib.store.aws import reset_clients
from infra.local import gateway
from infra.local.bootstrap import Bootstrapped, bootstrap
from infra.local.emulator import serialise_dynamodb
from infra.local.tokens import issue_token
from infra.resources import Resources
from tests.api.contract_check import checked
from tests.fakes import FakeClock


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def jwks_base_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@contextmanager
def emulated_aws(jwks_base_url: str, patch: pytest.MonkeyPatch) -> Iterator[Bootstrapped]:
    """A fresh in-process emulator with every resource bootstrapped and the app's settings naming it
    (for one test through `aws`, or for a module through tests.api.population), and a fake clock in
    the clock port's place (tests.fakes.fake_clock) that the test may pin or run ahead."""
    serialise_dynamodb()  # as the local stack does: the app's conditions hold under threads
    with mock_aws():
        reset_clients()
        get_settings.cache_clear()
        booted = bootstrap(Resources(get_settings()))
        patch.setenv("CXC_USER_POOL_ID", booted.user_pool_id)
        patch.setenv("CXC_PAYMENTS_QUEUE_URL", booted.queue_urls["payments"])
        patch.setenv("CXC_APP_CLIENT_ID", booted.app_client_id)
        patch.setenv("CXC_CURSOR_SECRET_ID", booted.cursor_secret_id)
        patch.setenv("CXC_JWKS_URL", f"{jwks_base_url}/{booted.user_pool_id}/.well-known/jwks.json")
        get_settings.cache_clear()
        restore_clock = ports.install(clock=FakeClock())
        try:
            yield booted
        finally:
            restore_clock()
    get_settings.cache_clear()
    reset_clients()


@pytest.fixture
def aws(jwks_base_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bootstrapped]:
    with emulated_aws(jwks_base_url, monkeypatch) as booted:
        yield booted


@pytest.fixture
def client(aws: Bootstrapped, tmp_path: Path) -> Iterator[Client]:
    gateway.install()
    from app import app

    # A project directory without .chalice/config.json: Chalice's test client would otherwise patch the
    # dev stage's environment (cxc-dev names) into os.environ around every request, and settings read
    # during a request would name the dev stage's bucket instead of the emulated one.
    with Client(app, project_dir=str(tmp_path)) as test_client:
        yield checked(test_client)


@pytest.fixture
def token(aws: Bootstrapped) -> Callable[..., str]:
    idp = boto3.client("cognito-idp", region_name=os.environ["AWS_REGION"])

    def make(
        email: str = "ada@acme.example", role: str = "participant", partnership: str | None = None
    ) -> str:
        return issue_token(idp, aws.user_pool_id, aws.app_client_id, email, role, partnership)

    return make


def auth(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
