"""Who may call what: every route of the app against every kind of caller, from one table.

The table is checked against the app's route table, so a route cannot be added without deciding here
who may call it. A refused caller (401, 403, 404) gets the contract's error body, and no caller learns
the personal data of a registration it is not entitled to (its e-mail, names or id).

Callers:
- anonymous: no Authorization header; invalid_token: an admin's claims signed by a key not the pool's.
- participant: a signed-in participant without a registration; partnership: an officer of a
  partnership with no registrations (hempclub); support, finance, admin.
- owner: the participant whose registration (or contact request) the route is about; non_owner: another
  accepted participant (of ce4big); officer_own / officer_other: officers of the owner's partnership
  (epix) and of non_owner's (ce4big); conflicted: a participant with a pending registration of epix
  who is also an officer of epix.
- Row-specific: sender (the sender of the contact request), conflicted_on_other (the conflicted user
  deciding someone else's registration).

In rows that change what they touch (marked `fresh`), every cell that may succeed gets new people and
objects, so cells do not depend on each other's order; the cells to be refused share one population
per module (built once per test process).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pytest

from app import app
from chalicelib import api_docs
from tests.api.helpers import partnership_body, registration
from tests.api.population import Person, World, emulated_world, exchange_draft

BASE_CALLERS = ("anonymous", "invalid_token", "participant", "partnership", "support", "finance", "admin")
OBJECT_CALLERS = ("owner", "non_owner", "officer_own", "officer_other", "conflicted")
REQUIRED = BASE_CALLERS + OBJECT_CALLERS
EXTRA_CALLERS = ("sender", "conflicted_on_other")
REFUSED = (401, 403, 404)
# The code of a refusal, unless the cell names another (NOT_ACCEPTED, CONFLICT_OF_INTEREST, ...).
REFUSAL_CODES = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND"}


@dataclass(frozen=True)
class Cell:
    status: int
    code: str | None = None  # the error code, where the contract names one
    xfail: str | None = None  # a known defect: strict, so the cell fails once the defect is fixed


@dataclass(frozen=True)
class Target:
    """What one cell calls: path parameters, body, and whose data is at stake."""

    owner: Person
    params: Mapping[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class Row:
    expect: Mapping[str, int | Cell]
    target: Callable[[Scene, str], Target]
    # Callers entitled to the owner's data; every other caller's response must not contain it.
    sees: frozenset[str] = frozenset({"owner"})
    fresh: bool = False


class Scene:
    """The people and objects one cell sees: the module's population, or new ones for a fresh row."""

    def __init__(self, world: World, fresh: bool) -> None:
        self.world = world
        self.fresh = fresh

    def _shared_or_new(self, name: str, make: Callable[[], Any]) -> Any:
        return make() if self.fresh else getattr(self.world, name)

    @cached_property
    def host(self) -> Person:
        return self._shared_or_new(
            "host", lambda: self.world.participant(roles=("host",), partnership="epix")
        )

    @cached_property
    def visitor(self) -> Person:
        return self._shared_or_new("visitor", lambda: self.world.participant(partnership="ce4big"))

    @cached_property
    def sender(self) -> Person:
        return self._shared_or_new("sender", lambda: self.world.participant(partnership="clamtex"))

    @cached_property
    def contact(self) -> str:
        return self._shared_or_new("contact", lambda: self.world.contact_request(self.sender, self.host))

    @cached_property
    def agreement(self) -> str:
        return self._shared_or_new("agreement", lambda: self.world.agreed(self.sender, self.host))

    @cached_property
    def exchange(self) -> str:
        return self._shared_or_new("exchange_id", lambda: self.world.exchange(self.sender, self.host))

    @cached_property
    def support_query(self) -> str:
        return self._shared_or_new("support_query_id", lambda: self.world.support_query(self.host))

    @cached_property
    def pending(self) -> Person:
        return self._shared_or_new("pending", lambda: self.world.participant(accepted=False))

    @cached_property
    def conflicted(self) -> Person:
        return self._shared_or_new(
            "conflicted", lambda: self.world.participant(accepted=False, also_officer=True)
        )

    @cached_property
    def newcomer(self) -> Person:
        return self._shared_or_new("newcomer_shared", self.world.newcomer)

    def token(self, caller: str, target: Target) -> str | None:
        world = self.world
        tokens: dict[str, Callable[[], str | None]] = {
            "anonymous": lambda: None,
            "invalid_token": lambda: world.forged_admin_token,
            "participant": lambda: self.newcomer.token,
            "partnership": lambda: world.officers["hempclub"].token,
            "support": lambda: world.support.token,
            "finance": lambda: world.finance.token,
            "admin": lambda: world.admin.token,
            "owner": lambda: target.owner.token,
            "non_owner": lambda: self.visitor.token,
            "officer_own": lambda: world.officers["epix"].token,
            "officer_other": lambda: world.officers["ce4big"].token,
            "conflicted": lambda: self.conflicted.token,
            "conflicted_on_other": lambda: self.conflicted.token,
            "sender": lambda: self.sender.token,
        }
        return tokens[caller]()


# --- targets ----------------------------------------------------------------------------------------


def about_host(scene: Scene, caller: str) -> Target:
    return Target(scene.host)


def patch_body(scene: Scene, caller: str) -> Target:
    return Target(scene.host, body={"motivation": "Still keen on a visit next spring."})


def cv_body(scene: Scene, caller: str) -> Target:
    return Target(scene.host, body={"filename": "cv.pdf", "content_type": "application/pdf", "size": 1024})


def new_registration(scene: Scene, caller: str) -> Target:
    return Target(scene.host, body=registration())


def host_registration(scene: Scene, caller: str) -> Target:
    return Target(scene.host, params={"registration_id": str(scene.host.registration_id)})


def decision(scene: Scene, caller: str) -> Target:
    # The conflicted user decides its own registration; everyone else the pending one of epix.
    subject = scene.conflicted if caller == "conflicted" else scene.pending
    return Target(
        subject, params={"registration_id": str(subject.registration_id)}, body={"decision": "accept"}
    )


def host_queue(scene: Scene, caller: str) -> Target:
    return Target(scene.host, params={"partnership_id": "epix"})


def contact_to_host(scene: Scene, caller: str) -> Target:
    return Target(scene.host, body={"to": scene.host.registration_id, "message": "May we visit in May?"})


def answer(body: dict[str, Any]) -> Callable[[Scene, str], Target]:
    def target(scene: Scene, caller: str) -> Target:
        return Target(scene.host, params={"request_id": scene.contact}, body=body)

    return target


def new_exchange(scene: Scene, caller: str) -> Target:
    return Target(scene.host, body=exchange_draft(scene.agreement))


def on_exchange(body: dict[str, Any] | None = None, **params: str) -> Callable[[Scene, str], Target]:
    def target(scene: Scene, caller: str) -> Target:
        return Target(scene.host, params={"exchange_id": scene.exchange, **params}, body=body)

    return target


def on_payment(body: dict[str, Any] | None = None) -> Callable[[Scene, str], Target]:
    """The payment the scene's exchange would have (it has none yet)."""

    def target(scene: Scene, caller: str) -> Target:
        return Target(
            scene.host, params={"payment_id": "pay_" + scene.exchange.removeprefix("exc_")}, body=body
        )

    return target


def on_support_query(body: dict[str, Any] | None = None) -> Callable[[Scene, str], Target]:
    """The host's open question to the support office."""

    def target(scene: Scene, caller: str) -> Target:
        return Target(scene.host, params={"query_id": scene.support_query}, body=body)

    return target


# --- the table --------------------------------------------------------------------------------------


def cells(default: int | Cell | None = None, /, **expect: int | Cell) -> dict[str, int | Cell]:
    """Every required caller gets `default` unless named."""
    table: dict[str, int | Cell] = {}
    if default is not None:
        table.update(dict.fromkeys(REQUIRED, default))
    table.update(expect)
    return table


PUBLIC = Row(cells(200), about_host, sees=frozenset())
DOCS_FILE = Row(
    cells(200), lambda scene, caller: Target(scene.host, params={"build": api_docs.build()}), sees=frozenset()
)


def participants_only(**expect: int | Cell) -> dict[str, int | Cell]:
    """A route for the participant role: every other role is 403, the participants are named."""
    return cells(403, anonymous=401, invalid_token=401, **expect)


NOT_ACCEPTED = Cell(403, "NOT_ACCEPTED")
NO_COMPLETED_EXCHANGE = Cell(422, "NO_COMPLETED_EXCHANGE")
# The participants of the scene with a registration, and the callers who are officers or admins.
REGISTERED = ("owner", "non_owner", "conflicted")
OFFICERS_AND_ADMIN = ("partnership", "admin", "officer_own", "officer_other", "conflicted")
# An exchange's parties (and support and admin) read it; for anyone else it does not exist.
EXCHANGE_READERS = cells(
    404, anonymous=401, invalid_token=401, support=200, admin=200, owner=200, officer_own=200, conflicted=200,
    sender=200,
)  # fmt: skip
EXCHANGE_PARTIES = frozenset({"owner", "sender", "officer_own", "conflicted", "support", "admin"})
SUPPORT_QUERY_READERS = frozenset({"owner", "support", "admin"})

ROWS: dict[tuple[str, str], Row] = {
    # meta and reference: public; a token, even an invalid one, is ignored
    ("GET", "/v1/openapi.json"): PUBLIC,
    ("GET", "/v1/health"): PUBLIC,
    ("GET", "/v1/reference/countries"): PUBLIC,
    ("GET", "/v1/reference/ecosystems"): PUBLIC,
    ("GET", "/v1/reference/organisation-types"): PUBLIC,
    ("GET", "/v1/partnerships"): PUBLIC,
    # the documentation page and its files: public, as the document is
    ("GET", "/v1/docs"): PUBLIC,
    ("GET", "/v1/docs/{build}/swagger-ui.css"): DOCS_FILE,
    ("GET", "/v1/docs/{build}/swagger-ui-bundle.js"): DOCS_FILE,
    ("GET", "/v1/docs/{build}/init.js"): DOCS_FILE,
    ("GET", "/v1/me"): Row(cells(200, anonymous=401, invalid_token=401), about_host),
    # every signed-in caller's own preferences (keyed by its own address: there is no one else's to ask for)
    ("GET", "/v1/me/notifications"): Row(cells(200, anonymous=401, invalid_token=401), about_host),
    ("PATCH", "/v1/me/notifications"): Row(
        cells(200, anonymous=401, invalid_token=401),
        lambda scene, caller: Target(scene.host, body={"optional": False}),
        sees=frozenset(),
    ),
    # a participant's own registration: the others' are out of reach, and roles are refused
    ("POST", "/v1/registrations"): Row(
        participants_only(participant=201, owner=409, non_owner=409, conflicted=409),
        new_registration,
        sees=frozenset(),
        fresh=True,
    ),
    ("GET", "/v1/registrations/me"): Row(
        participants_only(participant=404, owner=200, non_owner=200, conflicted=200), about_host
    ),
    ("PATCH", "/v1/registrations/me"): Row(
        participants_only(participant=404, owner=200, non_owner=200, conflicted=200), patch_body
    ),
    ("DELETE", "/v1/registrations/me"): Row(
        participants_only(participant=404, owner=202, non_owner=202, conflicted=202), about_host, fresh=True
    ),
    ("POST", "/v1/registrations/me/cv"): Row(
        participants_only(participant=404, owner=200, non_owner=200, conflicted=200), cv_body
    ),
    ("GET", "/v1/registrations/me/export"): Row(
        participants_only(participant=200, owner=200, non_owner=200, conflicted=200), about_host
    ),
    # 404, not 403, for a registration the caller may not see: ids reveal nothing
    ("GET", "/v1/registrations/{registration_id}"): Row(
        cells(
            404,
            anonymous=401,
            invalid_token=401,
            support=200,
            admin=200,
            owner=200,
            officer_own=200,
            conflicted=200,  # as an officer of epix
        ),
        host_registration,
        sees=frozenset({"owner", "support", "admin", "officer_own", "conflicted"}),
    ),
    ("POST", "/v1/registrations/{registration_id}/decision"): Row(
        cells(
            403,
            anonymous=401,
            invalid_token=401,
            partnership=404,
            officer_other=404,
            officer_own=200,
            # deciding its own registration: a conflict of interest
            conflicted=Cell(403, "CONFLICT_OF_INTEREST"),
            conflicted_on_other=200,
        ),
        decision,
        sees=frozenset({"owner", "officer_own", "conflicted", "conflicted_on_other"}),
        fresh=True,
    ),
    # partnerships are the administrators' to manage; the list stays public
    ("POST", "/v1/partnerships"): Row(
        cells(403, anonymous=401, invalid_token=401, admin=201),
        lambda scene, caller: Target(scene.host, body=partnership_body(id=f"new-{caller.replace('_', '-')}")),
        sees=frozenset(),
    ),
    ("GET", "/v1/partnerships/{partnership_id}"): Row(
        cells(403, anonymous=401, invalid_token=401, admin=200), host_queue, sees=frozenset()
    ),
    ("PATCH", "/v1/partnerships/{partnership_id}"): Row(
        cells(403, anonymous=401, invalid_token=401, admin=200),
        lambda scene, caller: Target(scene.host, params={"partnership_id": "epix"}, body={"name": "EPIX"}),
        sees=frozenset(),
    ),
    ("GET", "/v1/partnerships/{partnership_id}/registrations"): Row(
        cells(403, anonymous=401, invalid_token=401, support=200, admin=200, officer_own=200, conflicted=200),
        host_queue,
        sees=frozenset({"support", "admin", "officer_own", "conflicted"}),
    ),
    # matching and contact: accepted participants only
    ("GET", "/v1/matches"): Row(
        participants_only(participant=NOT_ACCEPTED, conflicted=NOT_ACCEPTED, owner=200, non_owner=200),
        about_host,
        sees=frozenset({"owner", "non_owner"}),
    ),
    ("GET", "/v1/catalogue"): Row(
        participants_only(participant=NOT_ACCEPTED, conflicted=NOT_ACCEPTED, owner=200, non_owner=200),
        about_host,
        sees=frozenset({"owner", "non_owner"}),
    ),
    ("POST", "/v1/contact-requests"): Row(
        participants_only(
            participant=NOT_ACCEPTED,
            conflicted=NOT_ACCEPTED,
            owner=Cell(422, "CANNOT_CONTACT_SELF"),
            non_owner=201,
        ),
        contact_to_host,
        sees=frozenset({"owner", "non_owner"}),
        fresh=True,
    ),
    ("GET", "/v1/contact-requests"): Row(
        participants_only(participant=NOT_ACCEPTED, conflicted=NOT_ACCEPTED, owner=200, non_owner=200),
        about_host,
    ),
    # the recipient answers; the sender may not (403); nobody else learns that the request exists
    ("POST", "/v1/contact-requests/{request_id}/accept"): Row(
        participants_only(participant=404, conflicted=404, owner=200, non_owner=404, sender=403),
        answer({}),
        sees=frozenset({"owner", "sender"}),
        fresh=True,
    ),
    ("POST", "/v1/contact-requests/{request_id}/decline"): Row(
        participants_only(participant=404, conflicted=404, owner=200, non_owner=404, sender=403),
        answer({"reason": "Not this year."}),
        sees=frozenset({"owner", "sender"}),
        fresh=True,
    ),
    # exchanges: the draft of sender (VO, clamtex) at owner (HO, epix); epix's officers are the HOP
    # (conflicted too, as an officer of epix). Nobody else learns that it exists (404).
    ("POST", "/v1/exchanges"): Row(
        cells(
            404, anonymous=401, invalid_token=401, support=403, finance=403, admin=403, owner=201, sender=201
        ),
        new_exchange,
        sees=frozenset({"owner", "sender"}),
        fresh=True,
    ),
    ("GET", "/v1/exchanges"): Row(
        cells(200, anonymous=401, invalid_token=401, finance=403),
        about_host,
        sees=frozenset({"owner", "sender", "officer_own", "conflicted", "support", "admin"}),
    ),
    ("GET", "/v1/exchanges/{exchange_id}"): Row(
        EXCHANGE_READERS,
        on_exchange(),
        sees=EXCHANGE_PARTIES,
    ),
    ("GET", "/v1/exchanges/{exchange_id}/history"): Row(
        EXCHANGE_READERS, on_exchange(), sees=EXCHANGE_PARTIES
    ),
    # only the participants edit and confirm the draft (the submission needs the VO's bank account)
    ("PATCH", "/v1/exchanges/{exchange_id}"): Row(
        {**EXCHANGE_READERS, **dict.fromkeys(("officer_own", "conflicted", "support", "admin"), 403)},
        on_exchange({"expected_outcomes": "Two pilot projects."}),
        sees=EXCHANGE_PARTIES,
        fresh=True,
    ),
    ("POST", "/v1/exchanges/{exchange_id}/submit"): Row(
        {
            **EXCHANGE_READERS,
            **dict.fromkeys(("officer_own", "conflicted", "support", "admin"), 403),
            **dict.fromkeys(("owner", "sender"), Cell(422, "BANK_ACCOUNT_REQUIRED")),
        },
        on_exchange({}),
        sees=EXCHANGE_PARTIES,
    ),
    # only the partnerships review, and not a draft
    ("POST", "/v1/exchanges/{exchange_id}/review"): Row(
        {
            **EXCHANGE_READERS,
            **dict.fromkeys(("owner", "sender", "support", "admin"), 403),
            **dict.fromkeys(("officer_own", "conflicted"), Cell(409, "INVALID_STATUS")),
        },
        on_exchange({"decision": "approve"}),
        sees=EXCHANGE_PARTIES,
    ),
    ("GET", "/v1/exchanges/{exchange_id}/documents"): Row(
        EXCHANGE_READERS, on_exchange(), sees=EXCHANGE_PARTIES
    ),
    # a draft has no documents yet, and nothing to sign
    ("GET", "/v1/exchanges/{exchange_id}/documents/{kind}"): Row(
        {**EXCHANGE_READERS, **dict.fromkeys(EXCHANGE_PARTIES, Cell(409, "DOCUMENT_NOT_READY"))},
        on_exchange(kind="commitment_to_quality"),
        sees=EXCHANGE_PARTIES,
    ),
    ("POST", "/v1/exchanges/{exchange_id}/signatures"): Row(
        {
            **EXCHANGE_READERS,
            **dict.fromkeys(("support", "admin"), 403),
            **dict.fromkeys(("owner", "sender", "officer_own", "conflicted"), Cell(409, "INVALID_STATUS")),
        },
        on_exchange({"document": "commitment_to_quality", "sha256": "0" * 64}),
        sees=EXCHANGE_PARTIES,
    ),
    ("POST", "/v1/exchanges/{exchange_id}/signatures/decline"): Row(
        {
            **EXCHANGE_READERS,
            **dict.fromkeys(("support", "admin"), 403),
            **dict.fromkeys(("owner", "sender", "officer_own", "conflicted"), Cell(409, "INVALID_STATUS")),
        },
        on_exchange({"document": "commitment_to_quality", "reason": "The plan changed."}),
        sees=EXCHANGE_PARTIES,
    ),
    # the signers send scans (a draft has nothing to sign yet); support and admin sign nothing
    ("POST", "/v1/exchanges/{exchange_id}/uploads"): Row(
        {
            **EXCHANGE_READERS,
            **dict.fromkeys(("support", "admin"), 403),
            **dict.fromkeys(("owner", "sender", "officer_own", "conflicted"), Cell(409, "INVALID_STATUS")),
        },
        on_exchange(
            {
                "kind": "signed_scan",
                "document": "commitment_to_quality",
                "filename": "signed.pdf",
                "content_type": "application/pdf",
                "size": 2000,
            }
        ),
        sees=EXCHANGE_PARTIES,
    ),
    # after the stay (the scene's exchange is a draft): the VO reports, the HO gives feedback, the VOP
    # decides; the payment is the VO's, the VOP's, finance's and admin's (none exists yet)
    ("POST", "/v1/exchanges/{exchange_id}/closing-report"): Row(
        {
            **EXCHANGE_READERS,
            **dict.fromkeys(("owner", "officer_own", "conflicted", "support", "admin"), 403),
            "sender": Cell(409, "INVALID_STATUS"),
        },
        on_exchange({"activities_done": "Visits", "outcomes": "A pilot", "follow_up": "May", "rating": 5}),
        sees=EXCHANGE_PARTIES,
    ),
    ("POST", "/v1/exchanges/{exchange_id}/host-feedback"): Row(
        {
            **EXCHANGE_READERS,
            **dict.fromkeys(("sender", "officer_own", "conflicted", "support", "admin"), 403),
            "owner": Cell(409, "INVALID_STATUS"),
        },
        on_exchange({"comment": "A good week.", "rating": 4}),
        sees=EXCHANGE_PARTIES,
    ),
    ("POST", "/v1/exchanges/{exchange_id}/closing-report/decision"): Row(
        {**EXCHANGE_READERS, **dict.fromkeys(EXCHANGE_PARTIES, 403)},
        on_exchange({"decision": "approve"}),
        sees=EXCHANGE_PARTIES,
    ),
    ("GET", "/v1/exchanges/{exchange_id}/payment"): Row(
        {
            **EXCHANGE_READERS,
            **dict.fromkeys(("owner", "officer_own", "conflicted", "support"), 403),
            **dict.fromkeys(("sender", "finance", "admin"), 404),
        },
        on_exchange(),
        sees=EXCHANGE_PARTIES,
    ),
    ("GET", "/v1/payments"): Row(
        cells(403, anonymous=401, invalid_token=401, finance=200, admin=200), about_host, sees=frozenset()
    ),
    ("GET", "/v1/payments/{payment_id}/transfer-file"): Row(
        cells(403, anonymous=401, invalid_token=401, finance=404, admin=404), on_payment(), sees=frozenset()
    ),
    ("POST", "/v1/payments/{payment_id}/confirm"): Row(
        cells(403, anonymous=401, invalid_token=401, finance=404),
        on_payment({"bank_reference": "BANK-1", "paid_at": "2027-04-20"}),
        sees=frozenset(),
    ),
    ("POST", "/v1/payments/{payment_id}/retry"): Row(
        cells(403, anonymous=401, invalid_token=401, finance=404), on_payment({}), sees=frozenset()
    ),
    # readiness is for the people who run the service (every table and bucket answers in the scene)
    ("GET", "/v1/ops/ready"): Row(
        cells(403, anonymous=401, invalid_token=401, support=200, admin=200), about_host, sees=frozenset()
    ),
    # the effects that keep failing are the administrators' (nothing is stuck in the scene)
    ("GET", "/v1/ops/stuck"): Row(
        cells(403, anonymous=401, invalid_token=401, admin=200), about_host, sees=frozenset()
    ),
    ("POST", "/v1/ops/stuck/{item_id}/retry"): Row(
        cells(403, anonymous=401, invalid_token=401, admin=404),
        lambda scene, caller: Target(scene.host, params={"item_id": "exchange:exc_0:1:tell_parties"}),
        sees=frozenset(),
    ),
    # an extension is the participants' to ask for once the exchange is agreed, and the VOP's to decide
    ("POST", "/v1/exchanges/{exchange_id}/extension"): Row(
        {
            **EXCHANGE_READERS,
            **dict.fromkeys(("officer_own", "conflicted", "support", "admin"), 403),
            **dict.fromkeys(("owner", "sender"), Cell(409, "INVALID_STATUS")),
        },
        on_exchange({"end_date": "2027-04-20", "reason": "A pilot needs two more days."}),
        sees=EXCHANGE_PARTIES,
    ),
    ("POST", "/v1/exchanges/{exchange_id}/extension/decision"): Row(
        {**EXCHANGE_READERS, **dict.fromkeys(EXCHANGE_PARTIES, 403)},
        on_exchange({"decision": "grant"}),
        sees=EXCHANGE_PARTIES,
    ),
    ("POST", "/v1/exchanges/{exchange_id}/cancel"): Row(
        EXCHANGE_READERS,
        on_exchange({"reason": "The dates no longer work."}),
        sees=EXCHANGE_PARTIES,
        fresh=True,
    ),
    # the support office: anyone signed in asks; the asker, support and admin read a query, nobody else
    # learns it exists; support answers, the asker writes back, either closes; admin only reads
    ("POST", "/v1/support-queries"): Row(
        cells(201, anonymous=401, invalid_token=401),
        lambda scene, caller: Target(scene.host, body={"category": "general", "message": "Where do I sign?"}),
    ),
    ("GET", "/v1/support-queries"): Row(
        cells(200, anonymous=401, invalid_token=401),
        about_host,
        sees=SUPPORT_QUERY_READERS,
    ),
    ("GET", "/v1/support-queries/{query_id}"): Row(
        cells(404, anonymous=401, invalid_token=401, owner=200, support=200, admin=200),
        on_support_query(),
        sees=SUPPORT_QUERY_READERS,
    ),
    ("POST", "/v1/support-queries/{query_id}/reply"): Row(
        cells(404, anonymous=401, invalid_token=401, owner=200, support=200, admin=403),
        on_support_query({"message": "It works now."}),
        sees=SUPPORT_QUERY_READERS,
        fresh=True,
    ),
    ("POST", "/v1/support-queries/{query_id}/close"): Row(
        cells(404, anonymous=401, invalid_token=401, owner=200, support=200, admin=403),
        on_support_query({}),
        sees=SUPPORT_QUERY_READERS,
        fresh=True,
    ),
    # exports: admins (every exchange) and partnership officers (their own); a CSV holds no personal data
    ("GET", "/v1/exports/exchanges.csv"): Row(
        cells(403, anonymous=401, invalid_token=401, **dict.fromkeys(OFFICERS_AND_ADMIN, 200)),
        about_host,
        sees=frozenset(),
    ),
    # the alumni directory: accepted participants, partnerships, support and admin read it
    ("GET", "/v1/alumni"): Row(
        cells(200, anonymous=401, invalid_token=401, participant=NOT_ACCEPTED, finance=403),
        about_host,
        sees=frozenset(),
    ),
    # a participant's own entry; nobody in the scene has a completed exchange, so nobody joins
    ("GET", "/v1/me/alumni"): Row(
        participants_only(participant=404, **dict.fromkeys(REGISTERED, Cell(404, "NOT_IN_DIRECTORY"))),
        about_host,
    ),
    ("PUT", "/v1/me/alumni"): Row(
        participants_only(participant=404, **dict.fromkeys(REGISTERED, NO_COMPLETED_EXCHANGE)),
        lambda scene, caller: Target(scene.host, body={"public_contact": "alumni@example.org"}),
    ),
    ("DELETE", "/v1/me/alumni"): Row(
        participants_only(participant=404, **dict.fromkeys(REGISTERED, 204)), about_host
    ),
    # statistics: the programme's for admin and support; a partnership's for its officers too, and
    # another partnership's officers are told it does not exist. Counts only: nobody's data in them.
    ("GET", "/v1/stats"): Row(
        cells(403, anonymous=401, invalid_token=401, support=200, admin=200), about_host, sees=frozenset()
    ),
    ("GET", "/v1/partnerships/{partnership_id}/stats"): Row(
        cells(
            403,
            anonymous=401,
            invalid_token=401,
            partnership=404,
            officer_other=404,
            support=200,
            admin=200,
            officer_own=200,
            conflicted=200,  # as an officer of epix
        ),
        host_queue,
        sees=frozenset(),
    ),
}


def app_routes() -> list[tuple[str, str]]:
    return sorted(
        (method, path) for path, methods in app.routes.items() for method in methods if method != "OPTIONS"
    )


def _cases() -> list[Any]:
    params = []
    for method, path in app_routes():
        row = ROWS.get((method, path))
        callers = list(row.expect) if row else list(REQUIRED)
        for caller in callers:
            expected = row.expect[caller] if row else None
            marks = []
            if isinstance(expected, Cell) and expected.xfail:
                marks.append(pytest.mark.xfail(strict=True, reason=expected.xfail))
            params.append(pytest.param(method, path, caller, id=f"{method} {path} | {caller}", marks=marks))
    return params


@pytest.fixture(scope="module")
def world(jwks_base_url, tmp_path_factory):
    with emulated_world(jwks_base_url, tmp_path_factory.mktemp("authorization")) as built:
        yield built


def test_every_route_has_a_row_and_every_row_a_route():
    routes = set(app_routes())
    assert not routes - set(ROWS), f"routes without a row in the authorization table: {routes - set(ROWS)}"
    assert not set(ROWS) - routes, f"rows for routes the app does not have: {set(ROWS) - routes}"
    for key, row in ROWS.items():
        missing = set(REQUIRED) - set(row.expect)
        unknown = set(row.expect) - set(REQUIRED) - set(EXTRA_CALLERS)
        assert not missing and not unknown, (key, missing, unknown)


def _is_error_body(payload: Any) -> bool:
    if not isinstance(payload, dict) or set(payload) != {"error"} or not isinstance(payload["error"], dict):
        return False
    error = payload["error"]
    return (
        isinstance(error.get("code"), str)
        and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", error["code"]) is not None
        and isinstance(error.get("message"), str)
        and isinstance(error.get("details"), list)
    )


@pytest.mark.parametrize(("method", "path", "caller"), _cases())
def test_who_may_call_what(world, method, path, caller):
    row = ROWS.get((method, path))
    if row is None:
        pytest.fail(f"{method} {path} has no row in the authorization table: decide who may call it")
    expected = row.expect[caller]
    cell = expected if isinstance(expected, Cell) else Cell(expected)
    # Given: a cell that may change what it touches gets its own people and objects; one that is to be
    # refused shares the module's (moto's transactions copy every table: the fewer items, the faster).
    scene = Scene(world, row.fresh and (cell.status < 400 or cell.xfail is not None))
    target = row.target(scene, caller)
    token = scene.token(caller, target)
    # When
    response = world.request(method, path.format(**target.params), token, target.body)
    # Then
    text = response.body.decode("utf-8", "replace")
    assert response.status_code == cell.status, text
    content_type = {k.lower(): v for k, v in (response.headers or {}).items()}.get("content-type", "")
    # A JSON body is read; a text one (a CSV export) is checked for leaks as it is
    payload = json.loads(text) if text and content_type.startswith("application/json") else None
    if cell.status >= 400:
        assert _is_error_body(payload), text
    code = cell.code or REFUSAL_CODES.get(cell.status)
    if code:
        assert payload["error"]["code"] == code, text
    if cell.status in REFUSED or caller not in row.sees:
        leaked = [secret for secret in target.owner.secrets if secret in text]
        assert not leaked, f"{caller} was shown {leaked}: {text}"
