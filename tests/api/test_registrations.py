"""Registration over HTTP: eligibility rules as 422s, ownership, the partnership's queue and decision,
edits with optimistic locking, the CV upload form, the GDPR export and erasure."""

from __future__ import annotations

import base64
import json
from datetime import date, timedelta

import pytest

from chalicelib.rules.registration import pseudonym
from chalicelib.services import reference as reference_service
from chalicelib.store.models import MetaModel, RegistrationModel
from infra.seed import seed_partnerships
from tests.api.conftest import auth
from tests.api.helpers import body, decide, register, registration
from tests.fakes import fake_clock

TODAY = date(2026, 11, 20)


@pytest.fixture
def seeded(client):
    seed_partnerships()
    reference_service.forget_cache()  # the cache outlives a test's emulator
    fake_clock().set_today(TODAY)
    yield client
    reference_service.forget_cache()


@pytest.fixture
def ada(token):
    return token("ada@acme.example")


@pytest.fixture
def epix_officer(token):
    return token("exchanges@epix.example", "partnership", "epix")


@pytest.fixture
def clamtex_officer(token):
    return token("office@clamtex.example", "partnership", "clamtex")


def error_of(response):
    return body(response)["error"]


def patch_me(client, tok, changes):
    return client.http.patch("/v1/registrations/me", headers=auth(tok), body=json.dumps(changes))


# --- registering ------------------------------------------------------------------------------------


def test_registration_is_created_pending_with_everything_sent(seeded, ada):
    # When
    response = register(seeded, ada)
    # Then
    assert response.status_code == 201
    created = body(response)
    assert created["id"].startswith("reg_") and len(created["id"]) == 36
    assert created["status"] == "pending"
    assert created["version"] == 1
    assert created["cv"] is None and created["decision"] is None
    assert created["created_at"] == created["updated_at"]
    sent = registration()
    assert created["organisation"] == sent["organisation"]
    assert created["preferences"] == sent["preferences"]
    assert created["hosting"] == sent["hosting"]
    assert {k: created["representative"][k] for k in sent["representative"]} == sent["representative"]
    assert "user_id" not in created


def test_registration_is_stored_split_into_profile_and_personal_data(seeded, ada):
    created = body(register(seeded, ada))
    item = RegistrationModel.get(created["id"])
    assert item.personal == {
        "email": "ada@acme.example",
        "date_of_birth": "1990-05-01",
        "nationality": "IT",
        "residence_country": "IT",
        "residence_permit": False,
        "residence_since": None,
    }
    assert item.profile["representative"] == {
        "first_name": "Ada",
        "last_name": "Rossi",
        "languages": ["it", "en"],
    }
    assert item.queue_key == f"pending#{created['created_at']}"
    assert item.catalogue_key is None


def test_location_is_found_from_the_city_when_left_out(seeded, ada):
    data = registration()
    del data["organisation"]["location"]
    response = register(seeded, ada, data)
    assert response.status_code == 201
    location = body(response)["organisation"]["location"]
    assert location["lat"] == pytest.approx(45.41, abs=0.05)
    assert location["lon"] == pytest.approx(11.88, abs=0.05)


def test_unknown_city_without_location_is_422(seeded, ada):
    data = registration(organisation__city="Nowhereville")
    del data["organisation"]["location"]
    response = register(seeded, ada, data)
    assert response.status_code == 422
    assert error_of(response)["code"] == "UNKNOWN_CITY"
    assert error_of(response)["details"][0]["field"] == "organisation.city"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"organisation__type": "large_company"}, "VISITOR_TYPE_NOT_ALLOWED"),
        ({"organisation__cluster_name": None}, "CLUSTER_MEMBERSHIP_REQUIRED"),
        ({"organisation__country": "NO", "organisation__city": "Oslo"}, "COUNTRY_NOT_ELIGIBLE"),
        ({"organisation__country": "CH", "organisation__city": "Zurich"}, "COUNTRY_NOT_ELIGIBLE"),
        ({"partnership_id": "no-such-partnership"}, "UNKNOWN_PARTNERSHIP"),
        ({"roles": ["host"], "hosting": None}, "HOSTING_OFFER_REQUIRED"),
        ({"organisation__ecosystems": ["space_tourism"]}, "UNKNOWN_ECOSYSTEM"),
    ],
    ids=[
        "large company visiting",
        "sme outside a cluster",
        "Norway",
        "Switzerland",
        "unknown partnership",
        "host without offer",
        "unknown ecosystem",
    ],
)
def test_programme_rules_are_422_naming_the_rule(seeded, ada, changes, code):
    response = register(seeded, ada, registration(**changes))
    assert response.status_code == 422
    assert error_of(response)["code"] == code
    assert code in {d["code"] for d in error_of(response)["details"]}


def test_every_broken_rule_is_listed(seeded, ada):
    data = registration(organisation__type="large_company", partnership_id="nope", roles=["visitor", "host"])
    data["organisation"]["ecosystems"] = ["nope"]
    codes = [d["code"] for d in error_of(register(seeded, ada, data))["details"]]
    assert codes == ["UNKNOWN_PARTNERSHIP", "VISITOR_TYPE_NOT_ALLOWED", "UNKNOWN_ECOSYSTEM"]


def test_kosovo_takes_part(seeded, ada):
    data = registration(organisation__country="XK", organisation__city="Pristina")
    data["organisation"]["location"] = {"lat": 42.67, "lon": 21.17}
    data["representative"]["nationality"] = "XK"
    assert register(seeded, ada, data).status_code == 201


def test_representative_turns_18_on_the_day_of_registration(seeded, token):
    # Given a representative born exactly 18 years before today, and one born a day later
    adult = registration(representative__date_of_birth="2008-11-20")
    minor = registration(representative__date_of_birth="2008-11-21")
    # When
    too_young = register(seeded, token("minor@acme.example"), minor)
    ok = register(seeded, token("adult@acme.example"), adult)
    # Then
    assert too_young.status_code == 422
    assert error_of(too_young)["code"] == "TOO_YOUNG"
    assert ok.status_code == 201


def test_foreign_representative_needs_183_days_of_residence_with_a_permit(seeded, token):
    def foreign(days):
        data = registration()
        data["representative"].update(
            nationality="US",
            residence_country="IT",
            residence_permit=True,
            residence_since=(TODAY - timedelta(days=days)).isoformat(),
        )
        return data

    short = register(seeded, token("short@acme.example"), foreign(182))
    assert short.status_code == 422
    assert error_of(short)["code"] == "REPRESENTATIVE_NOT_ELIGIBLE"
    assert register(seeded, token("long@acme.example"), foreign(183)).status_code == 201


def test_malformed_json_is_400(seeded, ada):
    response = seeded.http.post("/v1/registrations", headers=auth(ada), body="{not json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "MALFORMED_JSON"


def test_wrong_types_are_400_naming_each_field(seeded, ada):
    data = registration(roles=["guest"])
    data["hosting"]["capacity"] = "two"
    data["representative"]["date_of_birth"] = "first of May"
    data["organisation"]["location"] = {"lat": 123, "lon": 0}
    response = register(seeded, ada, data)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert {d["field"] for d in error["details"]} == {
        "roles.0",
        "hosting.capacity",
        "representative.date_of_birth",
        "organisation.location.lat",
    }


def test_unknown_and_missing_fields_are_400(seeded, ada):
    data = registration(shoe_size=42)
    del data["motivation"]
    fields = {d["field"] for d in error_of(register(seeded, ada, data))["details"]}
    assert fields == {"shoe_size", "motivation"}


def test_registering_needs_a_token_and_the_participant_role(seeded, epix_officer):
    no_token = seeded.http.post(
        "/v1/registrations", headers={"Content-Type": "application/json"}, body=json.dumps(registration())
    )
    assert no_token.status_code == 401
    assert register(seeded, epix_officer).status_code == 403


def test_second_registration_of_a_user_is_409(seeded, ada):
    assert register(seeded, ada).status_code == 201
    response = register(seeded, ada, registration(organisation__name="Acme Two"))
    assert response.status_code == 409
    assert error_of(response)["code"] == "ALREADY_REGISTERED"


# --- reading ----------------------------------------------------------------------------------------


def test_my_registration(seeded, ada):
    assert seeded.http.get("/v1/registrations/me", headers=auth(ada)).status_code == 404
    created = body(register(seeded, ada))
    response = seeded.http.get("/v1/registrations/me", headers=auth(ada))
    assert response.status_code == 200
    assert body(response) == created


@pytest.mark.parametrize(
    ("who", "status"),
    [
        (("ada@acme.example", "participant", None), 200),
        (("exchanges@epix.example", "partnership", "epix"), 200),
        (("help@cxc.example", "support", None), 200),
        (("root@cxc.example", "admin", None), 200),
        (("bob@other.example", "participant", None), 404),
        (("office@clamtex.example", "partnership", "clamtex"), 404),
        (("money@cxc.example", "finance", None), 404),
    ],
    ids=[
        "owner",
        "its partnership",
        "support",
        "admin",
        "another participant",
        "another partnership",
        "finance",
    ],
)
def test_registration_by_id_is_visible_to_owner_partnership_support_admin_only(seeded, token, who, status):
    created = body(register(seeded, token("ada@acme.example")))
    response = seeded.http.get(f"/v1/registrations/{created['id']}", headers=auth(token(*who)))
    assert response.status_code == status
    if status == 404:
        assert error_of(response)["code"] == "NOT_FOUND"
    else:
        assert body(response)["representative"]["email"] == "ada@acme.example"


def test_unknown_registration_id_is_404(seeded, token):
    response = seeded.http.get("/v1/registrations/reg_nope", headers=auth(token("root@cxc.example", "admin")))
    assert response.status_code == 404


# --- the partnership's queue ------------------------------------------------------------------------


def _register_many(client, token, count, partnership="epix"):
    ids = []
    for n in range(count):
        data = registration(partnership_id=partnership, organisation__name=f"Org {partnership} {n}")
        ids.append(body(register(client, token(f"user{n}@{partnership}-org.example"), data))["id"])
    return ids


def test_queue_lists_pending_oldest_first_in_pages(seeded, token, epix_officer):
    # Given three registrations for EPIX and one for CLAMTEX
    ids = _register_many(seeded, token, 3)
    _register_many(seeded, token, 1, partnership="clamtex")
    # When
    first = seeded.http.get(
        "/v1/partnerships/epix/registrations?status=pending&limit=2", headers=auth(epix_officer)
    )
    page = body(first)
    second = body(
        seeded.http.get(
            f"/v1/partnerships/epix/registrations?status=pending&limit=2&cursor={page['next_cursor']}",
            headers=auth(epix_officer),
        )
    )
    # Then
    assert first.status_code == 200
    assert [r["id"] for r in page["items"]] == ids[:2]
    assert page["next_cursor"]
    assert [r["id"] for r in second["items"]] == ids[2:]
    assert second["next_cursor"] is None


def test_queue_filters_by_status_and_lists_all_without_one(seeded, token, epix_officer):
    ids = _register_many(seeded, token, 3)
    assert decide(seeded, epix_officer, ids[1], "accept").status_code == 200
    url = "/v1/partnerships/epix/registrations"
    pending = body(seeded.http.get(f"{url}?status=pending", headers=auth(epix_officer)))["items"]
    accepted = body(seeded.http.get(f"{url}?status=accepted", headers=auth(epix_officer)))["items"]
    everything = body(seeded.http.get(url, headers=auth(epix_officer)))["items"]
    assert [r["id"] for r in pending] == [ids[0], ids[2]]
    assert [r["id"] for r in accepted] == [ids[1]]
    assert sorted(r["id"] for r in everything) == sorted(ids)


def test_queue_of_another_partnership_is_403_but_support_may_read_any(seeded, token, clamtex_officer):
    _register_many(seeded, token, 1)
    url = "/v1/partnerships/epix/registrations"
    assert seeded.http.get(url, headers=auth(clamtex_officer)).status_code == 403
    assert seeded.http.get(url, headers=auth(token("ada@acme.example"))).status_code == 403
    support = seeded.http.get(url, headers=auth(token("help@cxc.example", "support")))
    assert support.status_code == 200
    assert len(body(support)["items"]) == 1


def test_queue_rejects_bad_cursor_status_and_unknown_partnership(seeded, token, epix_officer):
    url = "/v1/partnerships/epix/registrations"
    assert (
        error_of(seeded.http.get(f"{url}?cursor=%%%", headers=auth(epix_officer)))["code"] == "INVALID_CURSOR"
    )
    other_status = {"id": "reg_" + "0" * 32, "queue_key": "accepted#2026-11-20T10:00:00.000Z"}
    foreign = base64.urlsafe_b64encode(json.dumps(other_status).encode()).decode()
    response = seeded.http.get(f"{url}?status=pending&cursor={foreign}", headers=auth(epix_officer))
    assert error_of(response)["code"] == "INVALID_CURSOR"
    assert seeded.http.get(f"{url}?status=lost", headers=auth(epix_officer)).status_code == 400
    admin = token("root@cxc.example", "admin")
    assert seeded.http.get("/v1/partnerships/nope/registrations", headers=auth(admin)).status_code == 404


# --- deciding ---------------------------------------------------------------------------------------


def test_partnership_accepts_a_pending_registration(seeded, ada, epix_officer):
    created = body(register(seeded, ada))
    # When
    response = decide(seeded, epix_officer, created["id"], "accept")
    # Then
    assert response.status_code == 200
    decided = body(response)
    assert decided["status"] == "accepted"
    assert decided["version"] == 2
    assert decided["decision"]["decision"] == "accept"
    assert decided["decision"]["reason"] is None
    assert decided["decision"]["by"]
    item = RegistrationModel.get(created["id"])
    assert item.catalogue_key is not None and item.catalogue_key.startswith("accepted#")
    assert item.queue_key == f"accepted#{created['created_at']}"
    mine = body(seeded.http.get("/v1/registrations/me", headers=auth(ada)))
    assert mine["status"] == "accepted"


def test_rejection_needs_a_reason(seeded, ada, epix_officer):
    created = body(register(seeded, ada))
    for reason in (None, "   "):
        response = decide(seeded, epix_officer, created["id"], "reject", reason)
        assert response.status_code == 422
        assert error_of(response)["code"] == "REASON_REQUIRED"
    response = decide(seeded, epix_officer, created["id"], "reject", "Not a member of a cluster we know.")
    assert response.status_code == 200
    assert body(response)["status"] == "rejected"
    assert body(response)["decision"]["reason"] == "Not a member of a cluster we know."
    assert RegistrationModel.get(created["id"]).catalogue_key is None


def test_only_a_pending_registration_is_decided(seeded, ada, epix_officer):
    created = body(register(seeded, ada))
    decide(seeded, epix_officer, created["id"], "accept")
    response = decide(seeded, epix_officer, created["id"], "reject", "changed our mind")
    assert response.status_code == 409
    assert error_of(response)["code"] == "NOT_PENDING"


def test_another_partnership_cannot_decide_and_learns_nothing(seeded, ada, clamtex_officer, token):
    created = body(register(seeded, ada))
    response = decide(seeded, clamtex_officer, created["id"], "accept")
    assert response.status_code == 404
    assert decide(seeded, clamtex_officer, "reg_unknown", "accept").status_code == 404
    # Roles that never decide are refused by role.
    assert decide(seeded, ada, created["id"], "accept").status_code == 403
    assert decide(seeded, token("root@cxc.example", "admin"), created["id"], "accept").status_code == 403
    assert RegistrationModel.get(created["id"]).status == "pending"


def test_decision_with_a_stale_version_is_409(seeded, ada, epix_officer):
    created = body(register(seeded, ada))
    patch_me(seeded, ada, {"motivation": "A better motivation."})
    response = seeded.http.post(
        f"/v1/registrations/{created['id']}/decision",
        headers=auth(epix_officer),
        body=json.dumps({"decision": "accept", "version": 1}),
    )
    assert response.status_code == 409
    assert error_of(response)["code"] == "VERSION_CONFLICT"
    assert error_of(response)["details"][0]["version"] == 2


# --- editing ----------------------------------------------------------------------------------------


def test_patch_merges_sections_and_keeps_the_rest(seeded, ada):
    created = body(register(seeded, ada))
    response = patch_me(
        seeded,
        ada,
        {"organisation": {"description": "Now also drones."}, "preferences": {"countries": ["FI"]}},
    )
    assert response.status_code == 200
    updated = body(response)
    assert updated["organisation"]["description"] == "Now also drones."
    assert updated["organisation"]["name"] == "Acme IoT"
    assert updated["organisation"]["location"] == created["organisation"]["location"]
    assert updated["preferences"]["countries"] == ["FI"]
    assert updated["preferences"]["ecosystems"] == created["preferences"]["ecosystems"]
    assert updated["version"] == 2
    assert updated["updated_at"] >= created["updated_at"]


def test_patch_finds_the_new_city_when_the_organisation_moves(seeded, ada):
    register(seeded, ada)
    updated = body(patch_me(seeded, ada, {"organisation": {"city": "Verona"}}))
    assert updated["organisation"]["location"]["lat"] == pytest.approx(45.44, abs=0.05)
    assert updated["organisation"]["location"]["lon"] == pytest.approx(10.99, abs=0.05)
    response = patch_me(seeded, ada, {"organisation": {"city": "Atlantis"}})
    assert error_of(response)["code"] == "UNKNOWN_CITY"


def test_patch_runs_the_rules_on_the_result(seeded, ada):
    register(seeded, ada)
    response = patch_me(seeded, ada, {"organisation": {"type": "university"}})
    assert response.status_code == 422
    assert error_of(response)["code"] == "VISITOR_TYPE_NOT_ALLOWED"
    response = patch_me(seeded, ada, {"hosting": None, "organisation": {"country": "GB", "city": "London"}})
    assert error_of(response)["code"] == "COUNTRY_NOT_ELIGIBLE"
    assert body(seeded.http.get("/v1/registrations/me", headers=auth(ada)))["version"] == 1


def test_patch_cannot_blank_a_required_field(seeded, ada):
    register(seeded, ada)
    response = patch_me(seeded, ada, {"organisation": {"name": None}, "motivation": None})
    assert response.status_code == 400
    assert {d["field"] for d in error_of(response)["details"]} == {"organisation.name", "motivation"}
    assert patch_me(seeded, ada, {"roles": ["host"]}).status_code == 400


def test_patch_with_a_stale_version_is_409_with_the_current_registration(seeded, ada):
    register(seeded, ada)
    assert patch_me(seeded, ada, {"motivation": "Second thoughts.", "version": 1}).status_code == 200
    # When
    response = patch_me(seeded, ada, {"motivation": "Third thoughts.", "version": 1})
    # Then
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "VERSION_CONFLICT"
    assert error["details"][0]["version"] == 2
    assert error["details"][0]["motivation"] == "Second thoughts."
    assert "user_id" not in error["details"][0]


def test_patch_of_an_accepted_registration_keeps_it_in_the_catalogue(seeded, ada, epix_officer):
    created = body(register(seeded, ada))
    decide(seeded, epix_officer, created["id"], "accept")
    before = RegistrationModel.get(created["id"])
    updated = body(patch_me(seeded, ada, {"organisation": {"expertise": ["iot", "drones"]}}))
    after = RegistrationModel.get(created["id"])
    assert updated["status"] == "accepted"
    assert after.catalogue_key == before.catalogue_key
    assert after.updated_at == updated["updated_at"] >= before.updated_at
    assert after.decision == before.decision


def test_patch_without_a_registration_is_404(seeded, ada):
    assert patch_me(seeded, ada, {"motivation": "hello"}).status_code == 404


# --- CV upload form ---------------------------------------------------------------------------------


def _cv_request(client, tok, **overrides):
    data = {"filename": "ada-cv.pdf", "content_type": "application/pdf", "size": 120_000, **overrides}
    return client.http.post("/v1/registrations/me/cv", headers=auth(tok), body=json.dumps(data))


def test_cv_upload_form_binds_key_type_and_size(seeded, ada):
    created = body(register(seeded, ada))
    # When
    response = _cv_request(seeded, ada)
    # Then
    assert response.status_code == 200
    form = body(response)
    assert form["expires_in"] == 900
    fields = form["upload"]["fields"]
    assert fields["key"].startswith(f"cv/{created['id']}/") and fields["key"].endswith(".pdf")
    assert fields["Content-Type"] == "application/pdf"
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert {"key": fields["key"]} in conditions
    assert {"Content-Type": "application/pdf"} in conditions
    assert ["content-length-range", 1, 5 * 1024 * 1024] in conditions
    assert {"bucket": "cxc-test-documents"} in conditions
    cv = body(seeded.http.get("/v1/registrations/me", headers=auth(ada)))["cv"]
    assert cv["status"] == "awaiting_upload"
    assert cv["filename"] == "ada-cv.pdf"
    assert RegistrationModel.get(created["id"]).cv["key"] == fields["key"]


def test_cv_must_be_a_pdf_of_at_most_5_mb(seeded, ada):
    register(seeded, ada)
    png = _cv_request(seeded, ada, content_type="image/png")
    assert png.status_code == 422
    assert error_of(png)["code"] == "UNSUPPORTED_FILE_TYPE"
    big = _cv_request(seeded, ada, size=5 * 1024 * 1024 + 1)
    assert big.status_code == 413
    assert error_of(big)["code"] == "FILE_TOO_LARGE"
    assert _cv_request(seeded, ada, size=0).status_code == 400
    assert _cv_request(seeded, ada, size=5 * 1024 * 1024).status_code == 200


def test_cv_upload_without_a_registration_is_404(seeded, ada):
    assert _cv_request(seeded, ada).status_code == 404


# --- export and erasure -----------------------------------------------------------------------------


def test_export_holds_the_registration_with_personal_data_and_its_audit_trail(seeded, ada, epix_officer):
    created = body(register(seeded, ada))
    patch_me(seeded, ada, {"representative": {"email": "ada.rossi@acme.example"}})
    decide(seeded, epix_officer, created["id"], "accept")
    # When
    response = seeded.http.get("/v1/registrations/me/export", headers=auth(ada))
    # Then
    assert response.status_code == 200
    export = body(response)
    held = export["registration"]
    assert held["id"] == created["id"]
    assert held["user_id"]
    assert held["representative"]["email"] == "ada.rossi@acme.example"
    assert held["representative"]["date_of_birth"] == "1990-05-01"
    trail = export["audit"]
    assert [e["action"] for e in trail] == [
        "registration.created",
        "registration.updated",
        "registration.accepted",
    ]
    assert trail[1]["fields"] == ["representative.email"]
    assert trail[2]["from_status"] == "pending" and trail[2]["to_status"] == "accepted"
    assert trail[2]["actor_role"] == "partnership"
    assert export["cv"] is None
    assert "ada" not in json.dumps(trail)  # the trail names fields and user ids, never values


def test_export_without_a_registration_is_empty(seeded, ada):
    export = body(seeded.http.get("/v1/registrations/me/export", headers=auth(ada)))
    assert export["registration"] is None and export["audit"] == []
    assert export["contact_requests"] == export["exchanges"] == export["payments"] == []


def test_withdrawal_erases_personal_data_and_allows_registering_again(seeded, ada, epix_officer):
    created = body(register(seeded, ada))
    decide(seeded, epix_officer, created["id"], "accept")
    user_id = RegistrationModel.get(created["id"]).user_id
    # When
    response = seeded.http.delete("/v1/registrations/me", headers=auth(ada))
    # Then
    assert response.status_code == 202
    assert body(response) == {"status": "withdrawn"}
    assert seeded.http.get("/v1/registrations/me", headers=auth(ada)).status_code == 404
    item = RegistrationModel.get(created["id"])
    assert item.status == "withdrawn"
    assert item.personal is None
    assert item.catalogue_key is None
    assert item.erased_at
    assert item.user_id == pseudonym(user_id) != user_id
    assert item.profile["representative"] == {"first_name": "erased", "last_name": "erased", "languages": []}
    assert item.profile["motivation"] == "erased"
    assert item.profile["organisation"]["name"] == "Acme IoT"
    assert item.profile["organisation"]["country"] == "IT"
    assert "description" not in item.profile["organisation"]
    stored = json.dumps(item.attribute_values, default=str)
    assert "ada@acme.example" not in stored and "1990-05-01" not in stored and "Rossi" not in stored
    # Its partnership still sees the kept record; the owner no longer does.
    kept = body(seeded.http.get(f"/v1/registrations/{created['id']}", headers=auth(epix_officer)))
    assert kept["status"] == "withdrawn"
    assert kept["representative"]["email"] is None
    assert kept["decision"]["decision"] == "accept"
    assert seeded.http.get(f"/v1/registrations/{created['id']}", headers=auth(ada)).status_code == 404
    # The trail is kept and says who withdrew.
    actions = [
        e["action"] for e in body(seeded.http.get("/v1/registrations/me/export", headers=auth(ada)))["audit"]
    ]
    assert actions == []  # nothing is held under the user's name any more
    with pytest.raises(MetaModel.DoesNotExist):
        MetaModel.get(f"registration-of#{user_id}")
    again = register(seeded, ada)
    assert again.status_code == 201
    assert body(again)["id"] != created["id"]


def test_withdrawal_without_a_registration_is_404(seeded, ada):
    assert seeded.http.delete("/v1/registrations/me", headers=auth(ada)).status_code == 404


def test_every_change_leaves_an_audit_entry(seeded, ada, epix_officer):
    from chalicelib.store.audit import entries_for

    created = body(register(seeded, ada))
    patch_me(seeded, ada, {"motivation": "Sharper."})
    patch_me(seeded, ada, {"motivation": "Sharper."})  # no change, no entry
    _cv_request(seeded, ada)
    decide(seeded, epix_officer, created["id"], "reject", "Incomplete.")
    seeded.http.delete("/v1/registrations/me", headers=auth(ada))
    trail = entries_for(f"registration#{created['id']}")
    assert [(e["action"], e["from_status"], e["to_status"]) for e in trail] == [
        ("registration.created", None, "pending"),
        ("registration.updated", "pending", "pending"),
        ("cv.upload_requested", "pending", "pending"),
        ("registration.rejected", "pending", "rejected"),
        ("registration.withdrawn", "rejected", "withdrawn"),
    ]
    assert trail[1]["fields"] == ["motivation"]
