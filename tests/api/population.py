"""A small population in one emulated AWS, built once per test module: officers of three partnerships,
support, finance and admin, accepted and pending participants, one who is also an officer of its own
partnership, and a contact request. Everything is made over HTTP, as a client would.

The `aws` and `client` fixtures of conftest build an emulator per test; modules that only read (or
that make what they change afresh) use `emulated_world` from a module-scoped fixture instead.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from chalice.test import Client
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib.services import reference as reference_service
from infra.local import gateway
from infra.local.bootstrap import Bootstrapped
from infra.local.tokens import issue_token
from infra.seed import seed_partnerships
from tests.api.conftest import auth, emulated_aws
from tests.api.contract_check import checked
from tests.api.helpers import registration
from tests.fakes import fake_clock

TODAY = date(2026, 11, 20)


@dataclass(frozen=True)
class Person:
    """A signed-in user; `registration_id` is None for a user without a registration."""

    email: str
    token: str
    registration_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        """What nobody but those entitled to this person's registration may read."""
        found = (self.email, self.first_name, self.last_name, self.registration_id)
        return tuple(s for s in found if s)


# Where participants live: (country, city, lat, lon). Hosts are in the first place and visitors in the
# others, so any visitor may write to any host (contact requests cross a border).
_PLACES = [
    ("IT", "Padova", 45.41, 11.88),
    ("DE", "Berlin", 52.52, 13.40),
    ("FR", "Lyon", 45.76, 4.84),
    ("ES", "Sevilla", 37.39, -5.98),
    ("NL", "Enschede", 52.22, 6.89),
    ("PT", "Porto", 41.15, -8.61),
    ("AT", "Wien", 48.20, 16.37),
    ("FI", "Oulu", 65.01, 25.47),
]


class World:
    """The population and the means to add to it (fresh people for the calls that change things)."""

    def __init__(self, client: Client, booted: Bootstrapped) -> None:
        self.client = client
        self.booted = booted
        self._idp = boto3.client("cognito-idp", region_name=os.environ["AWS_REGION"])
        self._serial = itertools.count(1)

    # --- low level --------------------------------------------------------------------------------

    def token(
        self,
        email: str,
        role: str = "participant",
        partnership: str | None = None,
        also: tuple[str, ...] = (),
    ) -> str:
        booted = self.booted
        return issue_token(
            self._idp, booted.user_pool_id, booted.app_client_id, email, role, partnership, also
        )

    def request(self, method: str, path: str, token: str | None = None, payload: Any = None) -> Any:
        headers = auth(token) if token else {"Content-Type": "application/json"}
        data = b"" if payload is None else json.dumps(payload).encode()
        return self.client.http.request(method, path, headers=headers, body=data)

    def _unique(self, prefix: str) -> str:
        return f"{prefix}{next(self._serial)}"

    # --- people -----------------------------------------------------------------------------------

    def officer(self, partnership: str) -> Person:
        email = f"{self._unique('officer')}@{partnership}.example"
        return Person(email, self.token(email, "partnership", partnership))

    def staff(self, role: str) -> Person:
        email = f"{self._unique(role)}@clusterxchange.example"
        return Person(email, self.token(email, role))

    def newcomer(self) -> Person:
        """A signed-in participant without a registration."""
        email = f"{self._unique('newcomer')}@example.org"
        return Person(email, self.token(email))

    def participant(
        self,
        *,
        roles: tuple[str, ...] = ("visitor",),
        partnership: str = "epix",
        accepted: bool = True,
        also_officer: bool = False,
    ) -> Person:
        """A registered participant (pending or accepted by an officer of its partnership).

        `also_officer` makes the same user an officer of its registration's partnership too (two
        groups in one token): the case of a conflict of interest.
        """
        serial = next(self._serial)
        place = 0 if "host" in roles else 1 + serial % (len(_PLACES) - 1)
        country, city, lat, lon = _PLACES[place]
        first, last = f"Firstname{serial:03d}", f"Surname{serial:03d}"
        email = f"participant{serial:03d}@org{serial:03d}.example"
        data = registration(roles=list(roles), partnership_id=partnership)
        data["organisation"].update(
            {
                "name": f"Organisation {serial:03d}",
                "country": country,
                "city": city,
                "location": {"lat": lat, "lon": lon},
            }
        )
        data["representative"].update(
            {
                "first_name": first,
                "last_name": last,
                "email": email,
                "nationality": country,
                "residence_country": country,
            }
        )
        if "host" not in roles:
            data["hosting"] = None
        token = self.token(email)
        created = self.request("POST", "/v1/registrations", token, data)
        assert created.status_code == 201, created.body
        registration_id = json.loads(created.body)["id"]
        if accepted:
            decided = self.request(
                "POST",
                f"/v1/registrations/{registration_id}/decision",
                self.officers[partnership].token,
                {"decision": "accept"},
            )
            assert decided.status_code == 200, decided.body
        if also_officer:
            token = self.token(email, "partnership", partnership, also=("participant",))
        return Person(email, token, registration_id, first, last)

    def contact_request(self, sender: Person, recipient: Person) -> str:
        created = self.request(
            "POST",
            "/v1/contact-requests",
            sender.token,
            {"to": recipient.registration_id, "message": "May we visit you in April?"},
        )
        assert created.status_code == 201, created.body
        return str(json.loads(created.body)["id"])

    def agreed(self, visitor: Person, host: Person) -> str:
        """An accepted contact request between them (the host asked, the visitor accepted)."""
        request_id = self.contact_request(host, visitor)
        answered = self.request("POST", f"/v1/contact-requests/{request_id}/accept", visitor.token, {})
        assert answered.status_code == 200, answered.body
        return request_id

    def exchange(self, visitor: Person, host: Person, contact_request_id: str | None = None) -> str:
        """A draft exchange between them, started by the visitor."""
        request_id = contact_request_id or self.agreed(visitor, host)
        created = self.request("POST", "/v1/exchanges", visitor.token, exchange_draft(request_id))
        assert created.status_code == 201, created.body
        return str(json.loads(created.body)["id"])

    def support_query(self, asker: Person) -> str:
        """An open question of `asker` to the support office."""
        created = self.request(
            "POST", "/v1/support-queries", asker.token, {"category": "general", "message": "How do I sign?"}
        )
        assert created.status_code == 201, created.body
        return str(json.loads(created.body)["id"])

    # --- the standing population (made on first use, then shared by the module's tests) -----------

    @cached_property
    def officers(self) -> dict[str, Person]:
        """One officer per partnership that the population uses."""
        return {p: self.officer(p) for p in ("epix", "ce4big", "clamtex", "hempclub")}

    @cached_property
    def support(self) -> Person:
        return self.staff("support")

    @cached_property
    def finance(self) -> Person:
        return self.staff("finance")

    @cached_property
    def admin(self) -> Person:
        return self.staff("admin")

    @cached_property
    def host(self) -> Person:
        """An accepted host of the partnership epix."""
        return self.participant(roles=("host",), partnership="epix")

    @cached_property
    def visitor(self) -> Person:
        """An accepted visitor of the partnership ce4big, in another country than `host`."""
        return self.participant(roles=("visitor",), partnership="ce4big")

    @cached_property
    def sender(self) -> Person:
        """An accepted visitor of clamtex with a pending contact request to `host`."""
        return self.participant(roles=("visitor",), partnership="clamtex")

    @cached_property
    def contact(self) -> str:
        """The id of the pending request from `sender` to `host`."""
        return self.contact_request(self.sender, self.host)

    @cached_property
    def agreement(self) -> str:
        """An accepted contact request between `sender` (the visitor) and `host`."""
        return self.agreed(self.sender, self.host)

    @cached_property
    def exchange_id(self) -> str:
        """A draft exchange of `sender` (VO, clamtex) at `host` (HO, epix)."""
        return self.exchange(self.sender, self.host, self.agreement)

    @cached_property
    def support_query_id(self) -> str:
        """An open support query of `host`."""
        return self.support_query(self.host)

    @cached_property
    def pending(self) -> Person:
        """A pending registration of epix."""
        return self.participant(roles=("visitor",), partnership="epix", accepted=False)

    @cached_property
    def conflicted(self) -> Person:
        """A participant with a pending registration of epix who is also an officer of epix."""
        return self.participant(roles=("visitor",), partnership="epix", accepted=False, also_officer=True)

    @cached_property
    def newcomer_shared(self) -> Person:
        return self.newcomer()

    @cached_property
    def forged_admin_token(self) -> str:
        """The admin's real claims signed with a key that is not the pool's: an invalid token."""
        claims = jwt.decode(self.admin.token, options={"verify_signature": False})
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "dummy"})


def exchange_draft(contact_request_id: str) -> dict[str, Any]:
    return {
        "contact_request_id": contact_request_id,
        "start_date": "2027-04-12",
        "end_date": "2027-04-16",
        "objectives": ["technology_uptake"],
        "activities": ["study_visit"],
        "expected_outcomes": "A pilot project.",
        "responsibilities": {"visitor": "Travel and a report", "host": "A mentor"},
    }


@contextmanager
def emulated_world(jwks_base_url: str, project_dir: Path) -> Iterator[World]:
    """The app against a fresh emulator with the partnerships seeded and the business date pinned.

    The same set-up as conftest's `aws` and `client` fixtures, for a whole module instead of one test.
    """
    with pytest.MonkeyPatch.context() as patch, emulated_aws(jwks_base_url, patch) as booted:
        seed_partnerships()
        reference_service.forget_cache()  # the cache outlives an emulator
        fake_clock().set_today(TODAY)
        gateway.install()
        from app import app

        try:
            with Client(app, project_dir=str(project_dir)) as client:
                yield World(checked(client), booted)
        finally:
            reference_service.forget_cache()
