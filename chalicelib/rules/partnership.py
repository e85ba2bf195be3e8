"""A partnership as the programme knows it (RULES.md, "Registration and partnerships", "Who pays"): the
typed record every reader gets, and the rules a partnership must meet before it is stored."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from chalicelib.rules import RuleViolation
from chalicelib.rules.banking import BankAccount, bank_account_violations, check_bank_account

# Lower-case words joined by hyphens ("medic-nest"): it is part of paths, tokens' claims and file keys.
_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
MAX_ID_LENGTH = 40


@dataclass(frozen=True, slots=True)
class ContactPoint:
    """An officer who reviews the partnership's registrations and exchanges; the first is mailed."""

    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Partnership:
    """One partnership. `debtor_account` is what its lump sums are paid from and `finance_email` who
    answers for those transfers: both private (admin only). A partnership stored before they existed
    has neither, and its payments fail until an admin names the account."""

    id: str
    name: str
    ecosystems: tuple[str, ...]
    countries: tuple[str, ...]
    contact_points: tuple[ContactPoint, ...]
    debtor_account: BankAccount | None = None
    finance_email: str | None = None
    version: int = 0
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True, slots=True)
class PartnershipDraft:
    """What an admin (or the seed, or an import) gives: unchecked, as sent."""

    id: str
    name: str
    ecosystems: tuple[str, ...]
    countries: tuple[str, ...]
    contact_points: tuple[ContactPoint, ...]
    debtor_account: Mapping[str, str] = field(default_factory=dict)
    finance_email: str | None = None


def draft_of(partnership: Partnership) -> PartnershipDraft:
    """The draft an edit starts from: the stored partnership, with its account as fields."""
    account = partnership.debtor_account
    return PartnershipDraft(
        id=partnership.id,
        name=partnership.name,
        ecosystems=partnership.ecosystems,
        countries=partnership.countries,
        contact_points=partnership.contact_points,
        debtor_account=account.as_dict() if account else {},
        finance_email=partnership.finance_email,
    )


def _unknown(
    values: Iterable[str], known: frozenset[str], code: str, where: str, what: str
) -> list[RuleViolation]:
    return [
        RuleViolation(code, f"{what} {v!r} is not one the programme knows", where)
        for v in values
        if v not in known
    ]


def partnership_violations(
    draft: PartnershipDraft, ecosystems: frozenset[str], eligible_countries: frozenset[str]
) -> list[RuleViolation]:
    """Every rule the draft breaks, in field order; empty when it may be stored."""
    violations: list[RuleViolation] = []
    if len(draft.id) > MAX_ID_LENGTH or not _ID.fullmatch(draft.id):
        violations.append(
            RuleViolation(
                "INVALID_PARTNERSHIP_ID",
                f"an id is lower-case letters and digits in words joined by '-', at most {MAX_ID_LENGTH}",
                "id",
            )
        )
    if not draft.ecosystems:
        violations.append(RuleViolation("ECOSYSTEM_REQUIRED", "name at least one ecosystem", "ecosystems"))
    violations += _unknown(draft.ecosystems, ecosystems, "UNKNOWN_ECOSYSTEM", "ecosystems", "ecosystem")
    if not draft.countries:
        violations.append(RuleViolation("COUNTRY_REQUIRED", "name at least one member country", "countries"))
    # Members are organisations of countries that take part: a partnership of others could pay nobody.
    violations += _unknown(
        draft.countries, eligible_countries, "COUNTRY_NOT_ELIGIBLE", "countries", "country"
    )
    if not draft.contact_points:
        violations.append(
            RuleViolation("CONTACT_POINT_REQUIRED", "name at least one contact point", "contact_points")
        )
    emails = [cp.email.lower() for cp in draft.contact_points]
    if len(set(emails)) != len(emails):
        violations.append(
            RuleViolation(
                "DUPLICATE_CONTACT_POINT", "each contact point has its own e-mail", "contact_points"
            )
        )
    account = draft.debtor_account
    for violation in bank_account_violations(account.get("holder"), account.get("iban"), account.get("bic")):
        # The banking rule names the visitor's field; here the same checks are about the debtor's.
        where = (violation.field or "").replace("bank_account", "debtor_account", 1)
        violations.append(RuleViolation(violation.code, violation.message, where))
    if not draft.finance_email:
        violations.append(
            RuleViolation("FINANCE_CONTACT_REQUIRED", "name who answers for the transfers", "finance_email")
        )
    return violations


def checked(
    draft: PartnershipDraft, ecosystems: frozenset[str], eligible_countries: frozenset[str]
) -> tuple[Partnership | None, list[RuleViolation]]:
    """The partnership the draft makes (names trimmed, the account normalised), or every rule it breaks.
    The version and times are the store's to set."""
    violations = partnership_violations(draft, ecosystems, eligible_countries)
    if violations:
        return None, violations
    account = draft.debtor_account
    return (
        Partnership(
            id=draft.id,
            name=draft.name.strip(),
            ecosystems=tuple(dict.fromkeys(draft.ecosystems)),
            countries=tuple(dict.fromkeys(draft.countries)),
            contact_points=tuple(
                ContactPoint(name=cp.name.strip(), email=cp.email.lower()) for cp in draft.contact_points
            ),
            debtor_account=check_bank_account(account.get("holder"), account.get("iban"), account.get("bic")),
            finance_email=(draft.finance_email or "").lower(),
        ),
        [],
    )
