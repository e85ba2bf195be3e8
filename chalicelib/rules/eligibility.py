"""Who may register: organisation type, cluster membership, country, the representative, the partnership
and the reference codes a registration names. Pure: reference data comes in as `ReferenceData`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from chalicelib.reference import ReferenceData
from chalicelib.rules import RuleViolation

ADULT_AGE = 18
MIN_RESIDENCE_DAYS = 183

VISITOR = "visitor"
HOST = "host"


@dataclass(frozen=True, kw_only=True)
class RegistrationFacts:
    """The parts of a registration the eligibility rules look at, already parsed from the request."""

    roles: frozenset[str]
    partnership_id: str
    organisation_type: str
    organisation_country: str
    cluster_name: str | None = None
    ecosystems: tuple[str, ...] = ()
    date_of_birth: date
    nationality: str
    residence_country: str | None = None
    residence_permit: bool = False
    residence_since: date | None = None
    has_hosting_offer: bool = False
    preferred_countries: tuple[str, ...] = ()
    preferred_ecosystems: tuple[str, ...] = ()
    preferred_organisation_types: tuple[str, ...] = ()
    objectives: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    available_from: date | None = None
    available_to: date | None = None


def check_availability(available_from: date | None, available_to: date | None) -> None:
    """The window the organisation is available in must not end before it starts (either end may be
    open). Checked on the whole registration, so an edit of one end is checked against the other."""
    if available_from is not None and available_to is not None and available_to < available_from:
        raise RuleViolation(
            "AVAILABILITY_ENDS_BEFORE_IT_STARTS",
            f"available_to {available_to} is before available_from {available_from}",
            "preferences.available_to",
        )


def check_organisation_type(organisation_type: str, roles: Iterable[str], ref: ReferenceData) -> None:
    kind = ref.organisation_types.get(organisation_type)
    if kind is None:
        raise RuleViolation(
            "UNKNOWN_ORGANISATION_TYPE",
            f"unknown organisation type {organisation_type!r}",
            "organisation.type",
        )
    roles = frozenset(roles)
    if VISITOR in roles and not kind.may_visit:
        raise RuleViolation(
            "VISITOR_TYPE_NOT_ALLOWED",
            f"a {kind.name.lower()} may not take part as a visitor",
            "roles",
        )
    if HOST in roles and not kind.may_host:
        raise RuleViolation(
            "HOST_TYPE_NOT_ALLOWED",
            f"a {kind.name.lower()} may not take part as a host",
            "roles",
        )


def check_cluster_membership(organisation_type: str, cluster_name: str | None, ref: ReferenceData) -> None:
    kind = ref.organisation_types.get(organisation_type)
    # An unknown type is check_organisation_type's to report; saying "needs a cluster" too would be noise.
    if kind is None or not kind.requires_cluster_membership:
        return
    if cluster_name is None or not cluster_name.strip():
        raise RuleViolation(
            "CLUSTER_MEMBERSHIP_REQUIRED",
            f"a {kind.name.lower()} must be a member of a cluster: name the cluster",
            "organisation.cluster_name",
        )


def check_country(country: str, ref: ReferenceData) -> None:
    if country not in ref.eligible_countries:
        raise RuleViolation(
            "COUNTRY_NOT_ELIGIBLE",
            f"organisations registered in {country!r} cannot take part: the country is not in COSME",
            "organisation.country",
        )


def eighteenth_birthday(date_of_birth: date) -> date:
    """The day someone becomes an adult.

    Decision: someone born on 29 February turns 18 on 1 March when that year has no 29 February
    (the common-law reading: the day after 28 February, when the full 18 years have passed).
    """
    try:
        return date_of_birth.replace(year=date_of_birth.year + ADULT_AGE)
    except ValueError:
        return date(date_of_birth.year + ADULT_AGE, 3, 1)


def check_age(date_of_birth: date, today: date) -> None:
    if date_of_birth > today:
        raise RuleViolation("TOO_YOUNG", "the date of birth is in the future", "representative.date_of_birth")
    if today < eighteenth_birthday(date_of_birth):
        raise RuleViolation(
            "TOO_YOUNG",
            f"the representative must be at least {ADULT_AGE} years old on the day of registration",
            "representative.date_of_birth",
        )


def check_representative(
    nationality: str,
    residence_country: str | None,
    residence_permit: bool,
    residence_since: date | None,
    today: date,
    ref: ReferenceData,
) -> None:
    if nationality in ref.eligible_countries:
        return
    missing: list[str] = []
    if residence_country is None or residence_country not in ref.eligible_countries:
        missing.append("no residence in an eligible country")
    if not residence_permit:
        missing.append("no residence permit")
    if residence_since is None:
        missing.append("no residence start date")
    elif (today - residence_since).days < MIN_RESIDENCE_DAYS:
        missing.append(f"resident for {(today - residence_since).days} days, fewer than {MIN_RESIDENCE_DAYS}")
    if missing:
        raise RuleViolation(
            "REPRESENTATIVE_NOT_ELIGIBLE",
            f"nationality {nationality!r} is not eligible and there is no qualifying residence "
            f"({'; '.join(missing)})",
            "representative.nationality",
        )


def check_partnership(partnership_id: str, ref: ReferenceData) -> None:
    if partnership_id not in ref.partnership_ids:
        raise RuleViolation(
            "UNKNOWN_PARTNERSHIP", f"unknown partnership {partnership_id!r}", "partnership_id"
        )


def check_hosting_offer(roles: Iterable[str], has_hosting_offer: bool) -> None:
    if HOST in frozenset(roles) and not has_hosting_offer:
        raise RuleViolation("HOSTING_OFFER_REQUIRED", "a host must describe its hosting offer", "hosting")


def _unknown(codes: Iterable[str], known: frozenset[str]) -> list[str]:
    # dict.fromkeys keeps the client's order and drops repeats, so the message reads like the request.
    return [code for code in dict.fromkeys(codes) if code not in known]


def reference_code_violations(facts: RegistrationFacts, ref: ReferenceData) -> list[RuleViolation]:
    """Every field naming codes outside the reference lists, one violation per field."""
    known_types = frozenset(ref.organisation_types)
    fields: tuple[tuple[Iterable[str], frozenset[str], str, str, str], ...] = (
        (facts.ecosystems, ref.ecosystems, "UNKNOWN_ECOSYSTEM", "organisation.ecosystems", "ecosystem"),
        (
            facts.preferred_ecosystems,
            ref.ecosystems,
            "UNKNOWN_ECOSYSTEM",
            "preferences.ecosystems",
            "ecosystem",
        ),
        (facts.objectives, ref.objectives, "UNKNOWN_OBJECTIVE", "preferences.objectives", "objective"),
        # Preferences name where to visit, so a country that cannot host is as useless as an unknown one.
        (
            facts.preferred_countries,
            ref.eligible_countries,
            "UNKNOWN_COUNTRY",
            "preferences.countries",
            "eligible country",
        ),
        (
            facts.preferred_organisation_types,
            known_types,
            "UNKNOWN_ORGANISATION_TYPE",
            "preferences.organisation_types",
            "organisation type",
        ),
        (facts.languages, ref.languages, "UNKNOWN_LANGUAGE", "representative.languages", "language"),
    )
    violations: list[RuleViolation] = []
    for codes, known, code, field, noun in fields:
        unknown = _unknown(codes, known)
        if unknown:
            violations.append(RuleViolation(code, f"not a known {noun}: {', '.join(unknown)}", field))
    return violations


def check_reference_codes(facts: RegistrationFacts, ref: ReferenceData) -> None:
    """Raises the first unknown-code violation; check_registration reports all of them."""
    violations = reference_code_violations(facts, ref)
    if violations:
        raise violations[0]


def check_registration(facts: RegistrationFacts, ref: ReferenceData, today: date) -> list[RuleViolation]:
    """Every rule the registration breaks, in a stable order; an empty list means eligible."""
    checks: tuple[Callable[[], None], ...] = (
        lambda: check_partnership(facts.partnership_id, ref),
        lambda: check_organisation_type(facts.organisation_type, facts.roles, ref),
        lambda: check_cluster_membership(facts.organisation_type, facts.cluster_name, ref),
        lambda: check_country(facts.organisation_country, ref),
        lambda: check_age(facts.date_of_birth, today),
        lambda: check_representative(
            facts.nationality,
            facts.residence_country,
            facts.residence_permit,
            facts.residence_since,
            today,
            ref,
        ),
        lambda: check_hosting_offer(facts.roles, facts.has_hosting_offer),
        lambda: check_availability(facts.available_from, facts.available_to),
    )
    violations: list[RuleViolation] = []
    for check in checks:
        try:
            check()
        except RuleViolation as violation:
            violations.append(violation)
    violations.extend(reference_code_violations(facts, ref))
    return violations
