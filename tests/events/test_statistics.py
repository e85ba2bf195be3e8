"""The statistics, kept from moto's real streams: after a scripted programme (registrations decided,
rejected and withdrawn; exchanges drafted, cancelled, submitted, amended, paid and overdue), the counting
function fed the records of the registrations', exchanges' and payments' streams gives, through
GET /v1/stats and each partnership's stats, every figure as computed from the stored items; replayed, no
figure moves; and the admin's recount from the stored objects gives them again."""

from __future__ import annotations

import io
import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from types import SimpleNamespace

import app as app_module
from chalicelib.services import reference as reference_service
from chalicelib.store import exchanges as exchange_store
from chalicelib.store import payments as payment_store
from chalicelib.store import registrations as registration_store
from chalicelib.store import statistics as statistics_store
from chalicelib.store.models import RegistrationModel, StatisticsModel
from infra import admin
from infra.seed import example_partnerships, seed_partnerships
from tests.api.conftest import auth
from tests.api.helpers import body, decide, register, registration
from tests.api.test_exchange_uploads import form, put
from tests.api.test_exchanges import _ready, _submitted, draft, get, post
from tests.api.test_finalisation import REPORT, deliver_payments, tick_on
from tests.events import test_cv_check
from tests.events.helpers import run_effects, stream_event
from tests.fakes import fake_clock

s3 = test_cv_check.s3
COUNTED = ("registrations", "exchanges", "payments")
DAY_ONE = date(2026, 11, 20)
JUNE = {
    "start_date": "2027-06-07",
    "end_date": "2027-06-11",
    "activity_plan": [{"date": "2027-06-07", "description": "Lab tour and introductions"}],
}


# --- the programme, scripted over HTTP ------------------------------------------------------------


class Programme:
    def __init__(self, client, token):
        self.client, self.token = client, token
        self.officers = {
            p.id: token(f"officer@{p.id}.example", "partnership", p.id) for p in example_partnerships()
        }
        self.registrations: list[str] = []
        self.exchanges: list[str] = []

    def register(
        self, email, partnership, country, city, lat, lon, kind="sme", ecosystems=("digital",), **more
    ):
        tok = self.token(email)
        data = registration(
            partnership_id=partnership,
            organisation__name=f"Organisation of {email}",
            organisation__type=kind,
            organisation__country=country,
            organisation__city=city,
            organisation__location={"lat": lat, "lon": lon},
            organisation__ecosystems=list(ecosystems),
            representative__email=email,
            **more,
        )
        created = register(self.client, tok, data)
        assert created.status_code == 201, created.body
        self.registrations.append(body(created)["id"])
        return tok, body(created)["id"]

    def decide(self, partnership, registration_id, decision, on):
        fake_clock().set_today(on)
        reason = "Not a cluster member." if decision == "reject" else None
        decided = decide(self.client, self.officers[partnership], registration_id, decision, reason)
        assert decided.status_code == 200, decided.body

    def contact(self, visitor, host, host_id):
        sent = post(self.client, "/v1/contact-requests", visitor, {"to": host_id, "message": "May we visit?"})
        assert sent.status_code == 201, sent.body
        request_id = body(sent)["id"]
        accepted = self.client.http.post(f"/v1/contact-requests/{request_id}/accept", headers=auth(host))
        assert accepted.status_code == 200, accepted.body
        return request_id

    def pair(self, visitor, vop, host, request_id):
        return SimpleNamespace(
            visitor=visitor,
            host=host,
            vop=self.officers[vop],
            hop=self.officers["ce4big"],
            request_id=request_id,
        )

    def track(self, path):
        self.exchanges.append(path.rsplit("/", 1)[1])
        return path


def count_streams(aws):
    """Every record of the counted streams so far, handed to the counting function as Lambda would."""
    for table in COUNTED:
        event = stream_event(aws.stream_arns[table])
        if event["Records"]:
            assert app_module.count_statistics(event, None) == {"batchItemFailures": []}


def script(client, token, aws, s3):
    """Registrations of six partnerships and five exchanges in every state the figures tell apart."""
    seed_partnerships()
    reference_service.forget_cache()
    fake_clock().set_today(DAY_ONE)
    world = Programme(client, token)
    host, host_id = world.register(
        "hans@bdc.example",
        "ce4big",
        "DE",
        "Berlin",
        52.52,
        13.40,
        kind="cluster_organisation",
        ecosystems=("digital", "health"),
        roles=["host"],
        hosting={"capacity": 6, "offer": "A week in our lab."},
        representative__nationality="DE",
    )
    visitors = [
        ("ada@acme.example", "epix", "IT", "Padova", 45.41, 11.88, "sme", ("digital",)),
        (
            "lea@lyon.example",
            "clamtex",
            "FR",
            "Lyon",
            45.76,
            4.84,
            "cluster_organisation",
            ("textiles", "digital"),
        ),
        (
            "ana@sevilla.example",
            "epix",
            "ES",
            "Sevilla",
            37.39,
            -5.98,
            "scaleup_support",
            ("energy_renewables",),
        ),
        ("bram@enschede.example", "epix", "NL", "Enschede", 52.22, 6.89, "sme", ("digital",)),
        ("rui@porto.example", "clamtex", "PT", "Porto", 41.15, -8.61, "sme", ("health",)),
    ]
    tokens = []
    for email, partnership, country, city, lat, lon, kind, ecosystems in visitors:
        tok, registration_id = world.register(email, partnership, country, city, lat, lon, kind, ecosystems)
        tokens.append((tok, registration_id, partnership))
    # One registration to stay pending, one to be rejected, one accepted and then withdrawn
    world.register("eva@wien.example", "hempclub", "AT", "Wien", 48.20, 16.37)
    _, rejected = world.register(
        "iva@zagreb.example",
        "cloth",
        "HR",
        "Zagreb",
        45.81,
        15.98,
        "large_company",
        roles=["host"],
        hosting={"capacity": 1, "offer": "A day at our plant."},
    )
    leaving, leaving_id = world.register("eleni@athens.example", "medic-nest", "GR", "Athens", 37.98, 23.73)
    # The partnerships decide over the following days (0 to 9 days after the registrations)
    decisions = [(partnership, r, "accept", i % 3) for i, (_, r, partnership) in enumerate(tokens)]
    decisions += [("ce4big", host_id, "accept", 4), ("cloth", rejected, "reject", 9)]
    decisions += [("medic-nest", leaving_id, "accept", 2)]
    for partnership, registration_id, decision, days in sorted(decisions, key=lambda d: d[3]):
        world.decide(partnership, registration_id, decision, DAY_ONE + timedelta(days=days))
    assert client.http.delete("/v1/registrations/me", headers=auth(leaving)).status_code == 202
    run_effects(aws)
    # The counting function catches up once midway: the records counted here are replayed below
    count_streams(aws)

    pairs = [world.pair(tok, vop, host, world.contact(tok, host, host_id)) for tok, _, vop in tokens]
    # Two exchanges through their stay; a third agreed in June, then extended; a draft cancelled; one
    # submitted
    paid_path = world.track(_ready(client, pairs[0], aws))
    overdue_path = world.track(_ready(client, pairs[1], aws))
    extended = world.track(_ready(client, pairs[2], aws, **JUNE))
    asked = post(
        client, f"{extended}/extension", pairs[2].visitor, {"end_date": "2027-06-18", "reason": "Pilot"}
    )
    assert asked.status_code == 200, asked.body
    granted = post(client, f"{extended}/extension/decision", pairs[2].vop, {"decision": "grant"})
    assert body(granted)["status"] == "validated"
    cancelled = body(post(client, "/v1/exchanges", pairs[3].visitor, draft(pairs[3].request_id)))
    world.track(f"/v1/exchanges/{cancelled['id']}")
    post(client, f"/v1/exchanges/{cancelled['id']}/cancel", pairs[3].host, {"reason": "The dates moved."})
    world.track(_submitted(client, pairs[4]))
    run_effects(aws)
    # The stays take place; both reports are approved and both lump sums instructed
    tick_on("2027-04-12")
    tick_on("2027-04-17")
    for pair, path in ((pairs[0], paid_path), (pairs[1], overdue_path)):
        put(s3, form(client, path, pair.visitor, kind="evidence", document=None), test_cv_check.PDF)
    test_cv_check.deliver(aws)
    for pair, path in ((pairs[0], paid_path), (pairs[1], overdue_path)):
        assert (
            body(post(client, f"{path}/closing-report", pair.visitor, REPORT))["status"] == "report_submitted"
        )
        approved = post(client, f"{path}/closing-report/decision", pair.vop, {"decision": "approve"})
        assert body(approved)["status"] == "report_approved"
    run_effects(aws)
    deliver_payments(aws)
    run_effects(aws)
    # Finance records the first transfer three days after the approval; the second is found overdue
    fake_clock().set_today(date(2027, 4, 21))
    payment_id = body(get(client, f"{paid_path}/payment", pairs[0].vop))["id"]
    finance = token("clerk@epix.example", "finance", "epix")
    confirm = {"bank_reference": "BANK-1", "paid_at": "2027-04-20"}
    assert post(client, f"/v1/payments/{payment_id}/confirm", finance, confirm).status_code == 200
    tick_on("2027-04-29")
    run_effects(aws)
    return world


# --- the same figures, from the stored items --------------------------------------------------------


def _days(start: str, end: str) -> int:
    return (date.fromisoformat(end[:10]) - date.fromisoformat(start[:10])).days


def _median(values):
    return float(statistics.median(values)) if values else None


def _nonzero(counter: Counter) -> dict[str, int]:
    return {k: v for k, v in sorted(counter.items()) if v}


def raw_figures(registrations, exchanges, payments, partnership=None):
    """Every figure of the API, worked out from the stored objects directly."""
    registrations = [r for r in registrations if partnership in (None, r["partnership_id"])]
    exchanges = [e for e in exchanges if partnership in (None, e["vop"])]
    payments = [p for p in payments if partnership in (None, p["vop"])]
    kept = [r for r in registrations if r["status"] != "withdrawn"]
    going = [e for e in exchanges if e["status"] != "cancelled"]

    def countries(e):
        agreed = e.get("agreed") or {}
        visitor = (agreed.get("visitor") or {}).get("country") or e["visitor"]["country"]
        return visitor, agreed.get("host_country") or e["host"]["country"]

    def ecosystems(e):
        visitor, host = set(e["visitor"].get("ecosystems") or ()), set(e["host"].get("ecosystems") or ())
        return (visitor & host) or (visitor | host)

    def amended(e):
        documents = e.get("documents") or {}
        return (e.get("extension") or {}).get("status") == "granted" or any(
            len(versions) > 1 for versions in documents.values()
        )

    paid = [p for p in payments if p["status"] == "paid"]
    due = [p for p in payments if p["status"] in ("calculated", "instructed", "failed")]
    return {
        "scope": partnership or "all",
        "registrations": {
            "by_status": _nonzero(Counter(r["status"] for r in registrations)),
            "by_organisation_type": _nonzero(Counter(r["organisation"]["type"] for r in kept)),
            "by_country": _nonzero(Counter(r["organisation"]["country"] for r in kept)),
            "median_days_to_decision": _median(
                [_days(r["created_at"], r["decision"]["at"]) for r in registrations if r.get("decision")]
            ),
        },
        "exchanges": {
            "by_status": _nonzero(Counter(e["status"] for e in exchanges)),
            "by_host_country": _nonzero(Counter(countries(e)[1] for e in going)),
            "by_country_pair": _nonzero(Counter("-".join(countries(e)) for e in going)),
            "by_ecosystem": _nonzero(Counter(x for e in going for x in ecosystems(e))),
            "awaiting_signature": sum(e["status"] in ("validated", "signed") for e in exchanges),
            "amended_after_validation": sum(amended(e) for e in exchanges),
        },
        "payments": {
            "paid": {"count": len(paid), "amount_eur": sum(p["amount_eur"] for p in paid)},
            "due": {"count": len(due), "amount_eur": sum(p["amount_eur"] for p in due)},
            "overdue": sum(bool(p["overdue_since"]) for p in due),
            "median_days_report_approval_to_payment": _median(
                [_days(p["created_at"], p["paid_at"]) for p in paid]
            ),
        },
    }


def stored(world):
    registrations = [registration_store.get(r) for r in world.registrations]
    exchanges = [exchange_store.get(e) for e in world.exchanges]
    payments = [payment_store.get(payment_store.id_for(e)) for e in world.exchanges]
    return registrations, exchanges, [p for p in payments if p is not None]


def served(client, token, scope):
    admin_token = token("admin@clusterxchange.example", "admin")
    path = "/v1/stats" if scope is None else f"/v1/partnerships/{scope}/stats"
    response = get(client, path, admin_token)
    assert response.status_code == 200, response.body
    shown = body(response)
    assert shown.pop("updated_at")
    return shown


def counter_items():
    scopes = [None, *(p.id for p in example_partnerships())]
    return {scope: statistics_store.read(scope) for scope in scopes}


def test_every_figure_equals_the_stored_items_once_however_often_replayed_and_after_a_recount(
    client, token, aws, s3
):
    # Given the scripted programme, and every record of the three streams counted (the first half twice)
    world = script(client, token, aws, s3)
    count_streams(aws)
    items = stored(world)
    # Then the programme's figures are the stored items', and the script reached every kind of figure
    programme = served(client, token, None)
    assert programme == raw_figures(*items)
    assert programme["registrations"]["by_status"] == {
        "accepted": 6,
        "pending": 1,
        "rejected": 1,
        "withdrawn": 1,
    }
    assert programme["exchanges"]["by_status"] == {
        "cancelled": 1,
        "paid": 1,
        "report_approved": 1,
        "submitted": 1,
        "validated": 1,
    }
    assert programme["exchanges"]["by_country_pair"]["IT-DE"] == 1
    assert programme["exchanges"]["by_ecosystem"] == {"digital": 3, "energy_renewables": 1, "health": 2}
    figures = programme["exchanges"]
    assert (figures["awaiting_signature"], figures["amended_after_validation"]) == (1, 1)
    assert programme["payments"]["paid"]["count"] == programme["payments"]["due"]["count"] == 1
    assert programme["payments"]["overdue"] == 1
    assert programme["payments"]["median_days_report_approval_to_payment"] == 3.0
    # and each partnership's are those of what counts for it (an exchange for its VOP only)
    for partnership in example_partnerships():
        assert served(client, token, partnership.id) == raw_figures(*items, partnership=partnership.id)
    assert served(client, token, "ce4big")["exchanges"]["by_status"] == {}  # the host's partnership only
    # When every record is handed to the function once more
    before = counter_items()
    count_streams(aws)
    # Then nothing moves, not even the time of the last change
    assert counter_items() == before
    # And a record's marker expires days after it was counted, longer than a stream keeps it
    marker = StatisticsModel.get(statistics_store.marker_key("exchanges", world.exchanges[0], "1"))
    assert marker.expires_at - datetime.now(marker.expires_at.tzinfo) > timedelta(days=6)

    # When the counters are lost (records the streams gave up on) and an admin recounts
    for scope in (None, "epix"):
        statistics_store.replace(scope, {"reg_status#pending": 99}, "2027-01-01T00:00:00.000Z")
    out = io.StringIO()
    assert admin.main(["recount-stats"], out) == 0
    # Then every scope's figures are the stored items' again, and the command says what it read
    assert served(client, token, None) == raw_figures(*items)
    for partnership in example_partnerships():
        assert served(client, token, partnership.id) == raw_figures(*items, partnership=partnership.id)
    assert "9 registrations, 5 exchanges, 2 payments" in out.getvalue()


def test_a_deleted_object_takes_its_contribution_back_once(client, token, aws):
    # Given a registration, counted
    seed_partnerships()
    reference_service.forget_cache()
    created = register(client, token("ada@acme.example"))
    assert created.status_code == 201, created.body
    count_streams(aws)
    assert statistics_store.read("epix")[0]["reg_status#pending"] == 1
    # When the item is deleted (nothing in the product deletes one: an operator might) and counted twice
    RegistrationModel.get(body(created)["id"]).delete(add_version_condition=False)
    count_streams(aws)
    count_streams(aws)
    # Then its counters are back to nothing, in both scopes
    for scope in (None, "epix"):
        counters, _ = statistics_store.read(scope)
        assert {name: n for name, n in counters.items() if n} == {}
    reference_service.forget_cache()


def test_a_record_of_a_table_not_counted_fails_and_is_reported(aws):
    # Given a record of the outbox's stream handed to the counting function by mistake
    record = {
        "eventID": "1",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/cxc-test-outbox/stream/2026",
        "dynamodb": {"Keys": {"id": {"S": "x"}}, "NewImage": {"id": {"S": "x"}}, "SequenceNumber": "1"},
    }
    # Then it is reported failed (retried, then parked), never counted as something else
    assert app_module.count_statistics({"Records": [record]}, None) == {
        "batchItemFailures": [{"itemIdentifier": "1"}]
    }
