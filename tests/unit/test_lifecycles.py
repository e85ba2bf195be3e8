"""Every cell of every lifecycle table: for each status, action and party, the outcome is the next
status or the refusal the contract names (404 no party, 403 wrong party or conflict of interest, 409
wrong status). The expected tables are written out here, apart from the code, so a change to a table
is a change to this test too."""

from __future__ import annotations

import itertools

import pytest

from chalicelib.errors import Conflict, Forbidden, NotFound
from chalicelib.rules import contact_request, registration
from chalicelib.rules.lifecycle import Lifecycle, transition

R = registration.RegistrationStatus
C = contact_request.ContactRequestStatus

# (status, action) -> (who may, next status); every other (status, action) is the wrong status.
REGISTRATION_EXPECTED = {
    (R.PENDING, "accept"): ({"partnership"}, R.ACCEPTED),
    (R.PENDING, "reject"): ({"partnership"}, R.REJECTED),
    **{(s, "edit"): ({"owner"}, s) for s in (R.PENDING, R.ACCEPTED, R.REJECTED)},
    **{(s, "upload_cv"): ({"owner"}, s) for s in (R.PENDING, R.ACCEPTED, R.REJECTED)},
    **{(s, "withdraw"): ({"owner"}, R.WITHDRAWN) for s in (R.PENDING, R.ACCEPTED, R.REJECTED)},
}
CONTACT_EXPECTED = {
    (C.PENDING, "accept"): ({"recipient"}, C.ACCEPTED),
    (C.PENDING, "decline"): ({"recipient"}, C.DECLINED),
}

CASES = [
    (registration.LIFECYCLE, REGISTRATION_EXPECTED, ["owner", "partnership"], {"accept", "reject"}),
    (contact_request.LIFECYCLE, CONTACT_EXPECTED, ["sender", "recipient"], set()),
]


def _party_sets(names):
    return [set(c) for n in range(len(names) + 1) for c in itertools.combinations(names, n)]


def _cells():
    for lifecycle, expected, names, oversight in CASES:
        for status, action, parties in itertools.product(
            lifecycle.statuses, lifecycle.actions, _party_sets(names)
        ):
            yield pytest.param(
                lifecycle,
                expected,
                oversight,
                status,
                action,
                parties,
                id=f"{lifecycle.name}-{status}-{action}-{'+'.join(sorted(parties)) or 'nobody'}",
            )


@pytest.mark.parametrize(
    ("lifecycle", "expected", "oversight", "status", "action", "parties"), list(_cells())
)
def test_every_cell(lifecycle: Lifecycle, expected, oversight, status, action, parties):
    row = expected.get((status, action))
    may = {p for r in (v[0] for (s, a), v in expected.items() if a == action) for p in r}
    if not parties:
        with pytest.raises(NotFound):
            lifecycle.check(status, action, parties)
    elif not parties & may:
        with pytest.raises(Forbidden) as refused:
            lifecycle.check(status, action, parties)
        assert refused.value.code == "FORBIDDEN"
    elif row is None:
        with pytest.raises(Conflict) as conflict:
            lifecycle.check(status, action, parties)
        assert conflict.value.code == lifecycle.wrong_status_code
        assert str(status) in conflict.value.message  # the 409 names the status
    elif not parties & row[0]:
        with pytest.raises(Forbidden):
            lifecycle.check(status, action, parties)
    elif action in oversight and parties & lifecycle.subjects:
        with pytest.raises(Forbidden) as refused:
            lifecycle.check(status, action, parties)
        assert refused.value.code == "CONFLICT_OF_INTEREST"
    else:
        assert lifecycle.check(status, action, parties) == row[1]
        assert action in lifecycle.allowed(status, parties)


@pytest.mark.parametrize(
    ("lifecycle", "expected", "names", "oversight"), CASES, ids=lambda c: getattr(c, "name", "")
)
def test_the_table_holds_exactly_the_expected_rows(lifecycle, expected, names, oversight):
    declared = {(s, t.action): (set(t.by), t.to or s) for t in lifecycle.transitions for s in t.sources}
    assert declared == expected
    assert {t.action for t in lifecycle.transitions if t.oversight} == oversight


def test_a_partnership_officer_owning_the_registration_sees_no_decision_among_its_actions():
    assert registration.LIFECYCLE.allowed(R.PENDING, {"owner", "partnership"}) == [
        "edit",
        "upload_cv",
        "withdraw",
    ]
    assert registration.LIFECYCLE.allowed(R.PENDING, {"partnership"}) == ["accept", "reject"]


def test_a_table_with_two_rows_for_one_cell_is_refused():
    with pytest.raises(ValueError, match="declared twice"):
        Lifecycle(
            name="thing",
            statuses=C,
            subjects=frozenset(),
            transitions=(
                transition("accept", [C.PENDING], ["recipient"], C.ACCEPTED),
                transition("accept", [C.PENDING], ["sender"], C.DECLINED),
            ),
            wrong_status_code="NOT_PENDING",
        )
