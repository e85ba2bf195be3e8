"""The statuses and codes a route documents come from what its code can raise."""

from __future__ import annotations

from chalicelib.errors import Conflict, Forbidden, NotFound, RuleBroken
from chalicelib.handlers.raises import raised_by


def test_a_service_raises_what_it_and_the_rules_it_calls_construct():
    from chalicelib.services import contacts

    found = raised_by(contacts.send)
    assert {"DUPLICATE_REQUEST"} <= found[Conflict]
    # RuleViolation("CODE", ...) in the pure rules counts as the 422 it becomes
    assert {"SAME_COUNTRY", "ROLES_DO_NOT_MATCH", "TOO_MANY_OPEN_REQUESTS"} <= found[RuleBroken]
    assert "NOT_ACCEPTED" in found[Forbidden]


def test_a_lifecycle_table_states_its_refusals():
    from chalicelib.handlers import registrations

    found = raised_by(registrations.decide_registration)
    assert found[Forbidden] >= {"FORBIDDEN", "CONFLICT_OF_INTEREST"}
    assert found[Conflict] >= {"NOT_PENDING", "VERSION_CONFLICT"}
    assert "NOT_FOUND" in found[NotFound]
    assert found[RuleBroken] == {"REASON_REQUIRED"}


def test_codes_passed_in_a_table_are_found_in_that_function():
    from chalicelib.handlers import registrations

    found = raised_by(registrations.create_registration)
    assert {"UNKNOWN_ECOSYSTEM", "UNKNOWN_LANGUAGE", "TOO_YOUNG", "UNKNOWN_CITY"} <= found[RuleBroken]


def test_the_served_document_lists_the_codes_per_status():
    import app  # noqa: F401
    from chalicelib.handlers.http import ROUTE_DOCS

    doc = ROUTE_DOCS[("/v1/registrations/{registration_id}/decision", "POST")]
    assert doc.errors == (400, 401, 403, 404, 409, 413, 422, 429, 503)
    assert doc.error_codes[503] == ["SERVICE_UNAVAILABLE"]
    assert "CONFLICT_OF_INTEREST" in doc.error_codes[403]
