"""The served document as clients read it: one schema per component name, ids from the handlers,
described tags, examples valid against their schemas, and the strict response check (contract_check,
run on every API test's responses) catching a field the document leaves out."""

from __future__ import annotations

import copy
import json

import pytest
from jsonschema import Draft202012Validator
from pydantic import BaseModel

from chalicelib.handlers.http import ROUTE_DOCS
from chalicelib.openapi import TAGS, ComponentCollision, _Schemas
from infra.seed import seed_partnerships
from tests.api import contract_check
from tests.api.contract_check import _document, strict
from tests.api.helpers import body


def test_two_different_models_of_one_name_are_refused():
    # Given two models that a document would name alike
    class PartnershipOut(BaseModel):
        id: str

    first = PartnershipOut

    class PartnershipOut(BaseModel):
        id: str
        countries: list[str]

    schemas = _Schemas()
    schemas.ref(first)
    # When / Then the second is refused, not dropped
    with pytest.raises(ComponentCollision, match="PartnershipOut"):
        schemas.ref(PartnershipOut)


def test_operation_ids_are_the_handlers_names_and_every_tag_is_described():
    document = _document()
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))
    handlers = {doc.handler.__name__ for doc in ROUTE_DOCS.values() if doc.handler is not None}
    assert set(ids) <= handlers
    used = {tag for ops in document["paths"].values() for op in ops.values() for tag in op["tags"]}
    assert used <= set(TAGS), f"describe these tags in chalicelib.openapi.TAGS: {used - set(TAGS)}"
    assert [t["name"] for t in document["tags"]] == sorted(used)


def test_every_request_body_and_success_response_has_a_valid_example():
    document = _document()
    components = strict(document["components"])
    for path, operations in document["paths"].items():
        for method, op in operations.items():
            contents = [op["requestBody"]["content"]] if "requestBody" in op else []
            contents += [a["content"] for s, a in op["responses"].items() if int(s) < 400 and "content" in a]
            for content in contents:
                # A text body (a CSV export) is a string; a JSON one has an example of its schema
                texts = [m for media_type, m in content.items() if media_type != "application/json"]
                assert all(m["schema"] == {"type": "string"} for m in texts), (method, path)
                if "application/json" not in content:
                    continue
                media = content["application/json"]
                assert "example" in media, (method, path)
                validator = Draft202012Validator(
                    {**strict(media["schema"]), "components": components},
                    format_checker=Draft202012Validator.FORMAT_CHECKER,
                )
                errors = [e.message for e in validator.iter_errors(media["example"])]
                assert not errors, (method, path, errors)


def test_the_strict_check_catches_a_field_the_document_leaves_out(client):
    # Given a real answer of GET /v1/partnerships
    seed_partnerships()
    answer = body(client.http.get("/v1/partnerships"))
    assert answer["items"] and "countries" in answer["items"][0]
    document = _document()
    validate = Draft202012Validator(
        {"$ref": "#/components/schemas/PartnershipList", "components": strict(document["components"])}
    )
    assert validate.is_valid(answer)  # the document as served says every field
    # When the document lacks `countries` (as when the exchange's PartnershipOut won)
    lacking = copy.deepcopy(document["components"])
    del lacking["schemas"]["PartnershipOut"]["properties"]["countries"]
    lacking["schemas"]["PartnershipOut"]["required"].remove("countries")
    # Then the strict check refuses the answer
    check = Draft202012Validator(
        {"$ref": "#/components/schemas/PartnershipList", "components": strict(lacking)}
    )
    assert not check.is_valid(answer)


def test_an_error_code_the_document_does_not_list_is_caught():
    # Given the served document's codes for a refused edit of an exchange's draft
    listed = contract_check._error_codes("/v1/exchanges/{exchange_id}", "PATCH", "422")
    assert listed is not None and "INVALID_IBAN" in listed  # the model's edit checks the account
    # Then an answer with a listed code passes, and one with a code the document lacks fails
    answer = json.dumps({"error": {"code": "INVALID_IBAN", "message": "x", "details": []}}).encode()
    contract_check.check("PATCH", f"/v1/exchanges/exc_{'0' * 32}", 422, "application/json", answer)
    unlisted = json.dumps({"error": {"code": "NOT_A_CODE", "message": "x", "details": []}}).encode()
    with pytest.raises(AssertionError, match="does not list"):
        contract_check.check("PATCH", f"/v1/exchanges/exc_{'0' * 32}", 422, "application/json", unlisted)
