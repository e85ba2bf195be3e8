"""The rules a partnership meets before it is stored (rules/partnership.py): pure, no AWS."""

from __future__ import annotations

import dataclasses

from chalicelib.rules.banking import BankAccount
from chalicelib.rules.partnership import ContactPoint, PartnershipDraft, checked, draft_of

ECOSYSTEMS = frozenset({"health", "digital"})
COUNTRIES = frozenset({"DE", "DK", "SE"})
DRAFT = PartnershipDraft(
    id="nordic-bio",
    name="  Nordic Bio ",
    ecosystems=("health", "health"),
    countries=("DK", "SE"),
    contact_points=(ContactPoint(" Sofie Lund", "Sofie@Nordic-Bio.example"),),
    debtor_account={"holder": "Nordic Bio", "iban": "de89 3704 0044 0532 0130 00", "bic": "cobadeffxxx"},
    finance_email="Finance@nordic-bio.example",
)


def _codes(draft: PartnershipDraft) -> list[tuple[str, str | None]]:
    return [(v.code, v.field) for v in checked(draft, ECOSYSTEMS, COUNTRIES)[1]]


def test_a_valid_draft_is_normalised():
    partnership, violations = checked(DRAFT, ECOSYSTEMS, COUNTRIES)
    assert violations == [] and partnership is not None
    assert partnership.name == "Nordic Bio" and partnership.ecosystems == ("health",)
    assert partnership.contact_points == (ContactPoint("Sofie Lund", "sofie@nordic-bio.example"),)
    assert partnership.debtor_account == BankAccount("Nordic Bio", "DE89370400440532013000", "COBADEFFXXX")
    assert partnership.finance_email == "finance@nordic-bio.example"
    # an edit starts from the stored partnership and gives the same one back
    assert checked(draft_of(partnership), ECOSYSTEMS, COUNTRIES)[0] == partnership


def test_every_broken_rule_is_named_with_its_field_in_order():
    draft = dataclasses.replace(
        DRAFT,
        id="Nordic Bio",
        ecosystems=("space",),
        countries=("CH",),
        contact_points=(),
        debtor_account={},
        finance_email=None,
    )
    assert _codes(draft) == [
        ("INVALID_PARTNERSHIP_ID", "id"),
        ("UNKNOWN_ECOSYSTEM", "ecosystems"),
        ("COUNTRY_NOT_ELIGIBLE", "countries"),
        ("CONTACT_POINT_REQUIRED", "contact_points"),
        ("HOLDER_REQUIRED", "debtor_account.holder"),
        ("INVALID_IBAN", "debtor_account.iban"),
        ("INVALID_BIC", "debtor_account.bic"),
        ("FINANCE_CONTACT_REQUIRED", "finance_email"),
    ]


def test_empty_lists_and_a_contact_point_named_twice_are_refused():
    draft = dataclasses.replace(
        DRAFT,
        ecosystems=(),
        countries=(),
        contact_points=(ContactPoint("A", "x@nb.example"), ContactPoint("B", "X@nb.example")),
    )
    assert _codes(draft) == [
        ("ECOSYSTEM_REQUIRED", "ecosystems"),
        ("COUNTRY_REQUIRED", "countries"),
        ("DUPLICATE_CONTACT_POINT", "contact_points"),
    ]


def test_an_id_is_lower_case_words_joined_by_hyphens_of_at_most_40():
    for good in ("epix", "medic-nest", "ce4big", "a" * 40):
        assert _codes(dataclasses.replace(DRAFT, id=good)) == []
    for bad in ("-epix", "epix-", "medic--nest", "Epix", "ep ix", "a" * 41, ""):
        assert _codes(dataclasses.replace(DRAFT, id=bad)) == [("INVALID_PARTNERSHIP_ID", "id")]
