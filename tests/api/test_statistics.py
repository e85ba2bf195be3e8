"""The statistics over HTTP: one read per request, every figure there (zeros and unknown medians before
anything is counted), a partnership's for its officers, and 404 for one the caller may not see."""

from __future__ import annotations

from collections import Counter

import pytest

import app as app_module
from chalicelib.services import reference as reference_service
from infra.seed import seed_partnerships
from tests import aws_calls
from tests.api.helpers import body, register
from tests.api.test_exchanges import get
from tests.events.helpers import stream_event

EMPTY = {
    "registrations": {
        "by_status": {},
        "by_organisation_type": {},
        "by_country": {},
        "median_days_to_decision": None,
    },
    "exchanges": {
        "by_status": {},
        "by_host_country": {},
        "by_country_pair": {},
        "by_ecosystem": {},
        "awaiting_signature": 0,
        "amended_after_validation": 0,
    },
    "payments": {
        "paid": {"count": 0, "amount_eur": 0},
        "due": {"count": 0, "amount_eur": 0},
        "overdue": 0,
        "median_days_report_approval_to_payment": None,
    },
    "updated_at": None,
}


@pytest.fixture
def partnerships(aws):
    seed_partnerships()
    reference_service.forget_cache()
    yield
    reference_service.forget_cache()


def _calls_of(function: str, during) -> Counter:
    before = Counter(aws_calls.calls)
    response = during()
    made = Counter({action: n for (f, action), n in (aws_calls.calls - before).items() if f == function})
    return response, made


def test_nothing_counted_yet_is_every_figure_zero_or_unknown_in_one_read(client, token, partnerships):
    admin = token("admin@clusterxchange.example", "admin")
    # When
    response, made = _calls_of("api_handler", lambda: get(client, "/v1/stats", admin))
    # Then
    assert response.status_code == 200, response.body
    assert body(response) == {"scope": "all", **EMPTY}
    assert made == Counter({"dynamodb:GetItem on tables": 1})


def test_a_partnerships_officers_read_theirs_in_one_read_and_no_other(client, token, partnerships):
    epix = token("officer@epix.example", "partnership", "epix")
    response, made = _calls_of("api_handler", lambda: get(client, "/v1/partnerships/epix/stats", epix))
    assert response.status_code == 200, response.body
    assert body(response)["scope"] == "epix"
    assert made == Counter({"dynamodb:GetItem on tables": 1})
    # Another partnership's, or one that does not exist, is not found, for officers and admins alike
    admin = token("admin@clusterxchange.example", "admin")
    for who, path in (
        (epix, "/v1/partnerships/ce4big/stats"),
        (admin, "/v1/partnerships/no-such-one/stats"),
        (admin, "/v1/partnerships/" + "x" * 3000 + "/stats"),
    ):
        refused = get(client, path, who)
        assert refused.status_code == 404 and body(refused)["error"]["code"] == "NOT_FOUND", refused.body
    # and the programme's are not a partnership officer's to read
    assert get(client, "/v1/stats", epix).status_code == 403


def test_a_counted_registration_shows_in_the_programmes_and_its_partnerships_figures(
    client, token, aws, partnerships
):
    # Given a registration, its stream record counted
    assert register(client, token("ada@acme.example")).status_code == 201
    event = stream_event(aws.stream_arns["registrations"])
    assert app_module.count_statistics(event, None) == {"batchItemFailures": []}
    support = token("desk@clusterxchange.example", "support")
    # Then
    for path in ("/v1/stats", "/v1/partnerships/epix/stats"):
        shown = body(get(client, path, support))
        assert shown["registrations"]["by_status"] == {"pending": 1}
        assert shown["registrations"]["by_organisation_type"] == {"sme": 1}
        assert shown["registrations"]["by_country"] == {"IT": 1}
        assert shown["updated_at"]
    assert body(get(client, "/v1/partnerships/ce4big/stats", support))["registrations"]["by_status"] == {}
