"""Partnerships managed through the admin API are the one source: of the public list, of registration,
of the exchange's names, of the mail's contact points and of the account the lump sum is paid from.
Every test starts from an emulator with no partnership at all, as a fresh deployment does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from chalicelib.rules.banking import check_bank_account
from chalicelib.rules.exchange_flow import Party
from chalicelib.services import exchange_drafts, exchange_mail
from chalicelib.services import payments as payment_service
from chalicelib.services import reference as reference_service
from chalicelib.store import audit
from chalicelib.store import partnerships as partnership_store
from chalicelib.store import payments as payment_store
from tests.api.conftest import auth
from tests.api.helpers import body, partnership_body, register, registration
from tests.fakes import RecordingMailer

PATH = "/v1/partnerships"


@pytest.fixture(autouse=True)
def no_cached_partnerships() -> Iterator[None]:
    reference_service.forget_cache()  # the cache outlives an emulator
    yield
    reference_service.forget_cache()


@pytest.fixture
def admin(token: Any) -> str:
    return str(token("root@programme.example", "admin"))


def create(client: Any, token: str, data: dict[str, Any] | None = None) -> Any:
    return client.http.post(PATH, headers=auth(token), body=json.dumps(data or partnership_body()))


def patch(client: Any, token: str, changes: dict[str, Any], pid: str = "nordic-bio") -> Any:
    return client.http.patch(f"{PATH}/{pid}", headers=auth(token), body=json.dumps(changes))


class RecordingGateway:
    """Keeps the debtor account of every transfer sent."""

    def __init__(self) -> None:
        self.debtors: list[Any] = []

    def send(self, payment: dict[str, Any], debtor: Any) -> str:
        self.debtors.append(debtor)
        return f"transfers/{payment['id']}.xml"


def _calculated_payment(payment_id: str, vop: str) -> None:
    at = "2027-04-20T10:00:00+00:00"
    doc = {
        "id": payment_id,
        "exchange_id": "exc_" + payment_id.removeprefix("pay_"),
        "reference": "CXC-2027-000001",
        "vop": vop,
        "status": "calculated",
        "amount_eur": 780,
        "breakdown": {},
        "creditor": {"holder": "Acme IoT", "iban": "IT60X0542811101000000123456", "bic": "BPMOIT22XXX"},
        "due_by": "2027-04-30",
        "created_at": at,
        "updated_at": at,
    }
    entry = audit.entry(
        payment_store.AUDIT_KIND, payment_id, "payment.calculated", actor="test", roles=None, at=at
    )
    payment_store.create(doc, entry)


def test_a_fresh_deployment_has_no_partnership_and_one_created_by_an_admin_is_listed(client, admin):
    # Given: nothing seeded
    assert body(client.http.get(PATH))["items"] == []
    # When
    created = create(client, admin)
    # Then: the admin sees every field, the account normalised
    assert created.status_code == 201, created.body
    out = body(created)
    assert out["debtor_account"] == {
        "holder": "Nordic Bio Partnership",
        "iban": "DE89370400440532013000",
        "bic": "COBADEFFXXX",
    }
    assert out["version"] == 1 and out["finance_email"] == "finance@nordic-bio.example"
    # the public list keeps its shape: nothing private in it
    listed = body(client.http.get(PATH))["items"]
    assert listed == [
        {
            "id": "nordic-bio",
            "name": "Nordic Bio",
            "ecosystems": ["health", "agri_food"],
            "countries": ["DK", "SE", "FI"],
        }
    ]
    assert body(client.http.get(f"{PATH}/nordic-bio", headers=auth(admin))) == out


def test_creating_and_editing_are_audited_by_field_never_by_value(client, admin):
    # Given
    create(client, admin)
    # When
    patch(client, admin, {"finance_email": "money@nordic-bio.example"})
    # Then
    trail = audit.entries_for("partnership#nordic-bio")
    assert [(e["action"], e["actor_role"]) for e in trail] == [
        ("partnership.created", "admin"),
        ("partnership.edited", "admin"),
    ]
    assert trail[1]["fields"] == ["finance_email"]
    assert "money@" not in json.dumps(trail) and "DE89" not in json.dumps(trail)


def _account(**changes: str) -> dict[str, Any]:
    return {"debtor_account": {**partnership_body()["debtor_account"], **changes}}


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        (_account(iban="DE89370400440532013001"), "INVALID_IBAN", "debtor_account.iban"),
        (_account(bic="NDEAFIHH"), "INVALID_BIC", "debtor_account.bic"),
        ({"ecosystems": ["space_mining"]}, "UNKNOWN_ECOSYSTEM", "ecosystems"),
        ({"countries": ["DK", "CH"]}, "COUNTRY_NOT_ELIGIBLE", "countries"),
        ({"countries": []}, "COUNTRY_REQUIRED", "countries"),
        ({"contact_points": []}, "CONTACT_POINT_REQUIRED", "contact_points"),
        ({"id": "Nordic_Bio"}, "INVALID_PARTNERSHIP_ID", "id"),
    ],
)
def test_a_partnership_that_breaks_a_rule_is_refused_with_the_rule_named(client, admin, changes, code, field):
    # When
    response = create(client, admin, partnership_body(**changes))
    # Then
    assert response.status_code == 422, response.body
    error = body(response)["error"]
    assert error["code"] == code
    assert error["details"][0]["code"] == code and error["details"][0]["field"] == field
    assert body(client.http.get(PATH))["items"] == []


def test_a_taken_id_is_409_and_a_missing_field_400(client, admin):
    create(client, admin)
    assert body(create(client, admin))["error"]["code"] == "PARTNERSHIP_EXISTS"
    incomplete = partnership_body(id="other")
    del incomplete["debtor_account"]
    assert create(client, admin, incomplete).status_code == 400


def test_an_edit_changes_only_what_it_names_and_a_stale_version_is_409(client, admin):
    # Given
    create(client, admin)
    # When
    edited = patch(client, admin, {"countries": ["DK", "SE", "NO"], "version": 1})
    # Then: a rule still holds on an edit
    assert body(edited)["error"]["code"] == "COUNTRY_NOT_ELIGIBLE"
    edited = patch(client, admin, {"countries": ["DK", "SE", "NL"], "version": 1})
    assert edited.status_code == 200, edited.body
    assert body(edited)["version"] == 2 and body(edited)["name"] == "Nordic Bio"
    stale = patch(client, admin, {"name": "Nordic Bio Alliance", "version": 1})
    assert stale.status_code == 409
    assert body(stale)["error"]["details"][0]["version"] == 2
    assert patch(client, admin, {"name": "X"}, pid="nobody").status_code == 404


def test_only_an_admin_manages_partnerships(client, token, admin):
    create(client, admin)
    for role, partnership in (("partnership", "nordic-bio"), ("finance", None), ("support", None)):
        other = token(f"{role}@programme.example", role, partnership)
        assert create(client, other, partnership_body(id="mine")).status_code == 403
        assert patch(client, other, {"name": "Mine"}).status_code == 403
        assert client.http.get(f"{PATH}/nordic-bio", headers=auth(other)).status_code == 403


def test_registration_names_mail_and_the_debtor_read_what_the_admin_api_stored(
    client, token, admin, install_ports
):
    mailer, gateway = RecordingMailer(), RecordingGateway()
    install_ports(mailer=mailer, gateway=gateway)
    participant = token("ada@acme.example", "participant")
    # Given: no partnership, so a registration naming one is refused
    refused = register(client, participant, registration(partnership_id="nordic-bio"))
    assert body(refused)["error"]["code"] == "UNKNOWN_PARTNERSHIP"
    # When the admin creates it
    create(client, admin)
    # Then registration accepts it, the exchange names it, the mail goes to its contact point and the
    # transfer is paid from its account
    assert register(client, participant, registration(partnership_id="nordic-bio")).status_code == 201
    assert exchange_drafts._partnership("nordic-bio") == {"id": "nordic-bio", "name": "Nordic Bio"}
    doc = {"vop": "nordic-bio", "hop": "nordic-bio"}
    assert [r.address for r in exchange_mail.recipients(doc, (Party.VOP,))] == ["sofie@nordic-bio.example"]
    _calculated_payment("pay_1", "nordic-bio")
    payment_service.handle_instruction({"payment_id": "pay_1", "round": 1})
    assert gateway.debtors[-1].iban == "DE89370400440532013000"
    assert payment_store.ledger_entry("pay_1")["debtor_iban"] == "DE89370400440532013000"

    # When the admin edits the name, the contact points and the account
    edited = patch(
        client,
        admin,
        {
            "name": "Nordic Bio Alliance",
            "contact_points": [{"name": "Lars Berg", "email": "lars@nordic-bio.example"}],
            "debtor_account": {"holder": "Nordic Bio", "iban": "FI3815720030004812", "bic": "NDEAFIHH"},
        },
    )
    assert edited.status_code == 200, edited.body
    # Then every reader reads the edit
    assert exchange_drafts._partnership("nordic-bio")["name"] == "Nordic Bio Alliance"
    assert [r.address for r in exchange_mail.recipients(doc, (Party.VOP,))] == ["lars@nordic-bio.example"]
    _calculated_payment("pay_2", "nordic-bio")
    payment_service.handle_instruction({"payment_id": "pay_2", "round": 1})
    assert (gateway.debtors[-1].holder, gateway.debtors[-1].iban) == ("Nordic Bio", "FI3815720030004812")


def test_the_debtor_is_read_fresh_even_where_another_container_cached_the_old_account(
    client, admin, install_ports
):
    gateway = RecordingGateway()
    install_ports(gateway=gateway)
    create(client, admin)
    cached = reference_service.partnerships()  # this container's copy, before the edit
    # When another container (here: the table written behind this one's cache) replaces the account
    current = cached[0]
    account = check_bank_account("Nordic Bio", "FI3815720030004812", "NDEAFIHH")
    partnership_store.replace(
        replace(current, debtor_account=account),
        audit.entry("partnership", "nordic-bio", "partnership.edited", actor="t", roles=None, at="x"),
    )
    # Then the list may still be the old one for a while, but the transfer is paid from the new account
    assert reference_service.partnership("nordic-bio").debtor_account.iban == "DE89370400440532013000"
    _calculated_payment("pay_3", "nordic-bio")
    payment_service.handle_instruction({"payment_id": "pay_3", "round": 1})
    assert gateway.debtors[-1].iban == "FI3815720030004812"
