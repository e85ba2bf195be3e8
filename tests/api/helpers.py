"""Request bodies and calls shared by the registration tests (API and events)."""

from __future__ import annotations

import copy
import json
from typing import Any

from chalicelib.handlers.registrations import REGISTRATION_EXAMPLE
from tests.api.conftest import auth

# The API contract's example (its coordinates let most tests skip the gazetteer), hosting too.
REGISTRATION: dict[str, Any] = {
    **copy.deepcopy(REGISTRATION_EXAMPLE),
    "hosting": {"capacity": 2, "offer": "A week in our lab with our IoT team."},
}


def body(response: Any) -> Any:
    return json.loads(response.body)


def registration(**changes: Any) -> dict[str, Any]:
    """The example body; keyword arguments replace top-level fields, "section__field" nested ones."""
    data = copy.deepcopy(REGISTRATION)
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            data[section][field] = value
        else:
            data[key] = value
    return data


def host_registration(**changes: Any) -> dict[str, Any]:
    """Hans's: a cluster organisation in Berlin hosting, with CE4BIG (the host of most scenes' exchange)."""
    return registration(
        **{
            "roles": ["host"],
            "partnership_id": "ce4big",
            "organisation__name": "Berlin Digital Cluster",
            "organisation__country": "DE",
            "organisation__city": "Berlin",
            "organisation__location": {"lat": 52.52, "lon": 13.40},
            "representative__nationality": "DE",
            "representative__email": "hans@bdc.example",
            "organisation__type": "cluster_organisation",
            **changes,
        }
    )


def register(client: Any, token: str, data: dict[str, Any] | None = None) -> Any:
    return client.http.post(
        "/v1/registrations", headers=auth(token), body=json.dumps(registration() if data is None else data)
    )


def decide(client: Any, token: str, registration_id: str, decision: str, reason: str | None = None) -> Any:
    return client.http.post(
        f"/v1/registrations/{registration_id}/decision",
        headers=auth(token),
        body=json.dumps({"decision": decision, "reason": reason}),
    )


# A partnership as an admin creates one; the account is the IBAN standard's German example.
PARTNERSHIP: dict[str, Any] = {
    "id": "nordic-bio",
    "name": "Nordic Bio",
    "ecosystems": ["health", "agri_food"],
    "countries": ["DK", "SE", "FI"],
    "contact_points": [{"name": "Sofie Lund", "email": "sofie@nordic-bio.example"}],
    "debtor_account": {
        "holder": "Nordic Bio Partnership",
        "iban": "DE89 3704 0044 0532 0130 00",
        "bic": "COBADEFFXXX",
    },
    "finance_email": "finance@nordic-bio.example",
}


def partnership_body(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(PARTNERSHIP), **changes}
