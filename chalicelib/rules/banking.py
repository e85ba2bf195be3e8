"""The visiting organisation's bank account for the lump sum (API.md, `bank_account`; RULES.md, "Who
pays"): the holder's name, an IBAN and a BIC, checked with `schwifty` from its packaged data (no network).

- IBAN: the country's length and format and the ISO 13616 check digits. The national (BBAN) check digits
  are not checked: not every country's algorithm is known, and one a bank uses could be refused.
- BIC: 8 or 11 characters, a known country (Kosovo's XK included, although not in ISO 3166), and the
  same country as the IBAN's. Whether the BIC is in a bank directory is not checked (the directory is
  incomplete and the demo's banks are invented).

`schwifty` is imported inside the functions that need it: its import costs tens of milliseconds and
only the bank-account routes need it. An IBAN must never be logged or shown to the host side in full:
use `masked_iban`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.rules import RuleViolation

VISIBLE_TAIL = 4  # characters of the IBAN shown at its end by masked_iban
_COUNTRY_AND_CHECK = 4  # "DE89": the country and the check digits, shown by masked_iban


@dataclass(frozen=True, slots=True)
class BankAccount:
    """A checked account: the holder's name trimmed, the IBAN compact and upper-case, the BIC upper-case."""

    holder: str
    iban: str
    bic: str

    @property
    def masked_iban(self) -> str:
        return masked_iban(self.iban)

    def as_dict(self) -> dict[str, str]:
        return {"holder": self.holder, "iban": self.iban, "bic": self.bic}


def _compact(value: str) -> str:
    """Without any whitespace, upper-case: how clients type an IBAN or BIC ("de89 3704 …")."""
    return "".join(value.split()).upper()


# Countries whose banks' BICs carry a code that is not (yet) in ISO 3166, which schwifty's BIC check
# refuses: Kosovo's banks use XK (e.g. RBKOXKPR), and Kosovo takes part in the programme.
_BIC_COUNTRIES_OUTSIDE_ISO = frozenset({"XK"})


def _bic(value: str) -> Any:
    """schwifty's BIC of `value`, checked (length, structure, country); a ValueError when invalid."""
    from schwifty import BIC  # heavy import: only when an account is checked
    from schwifty.exceptions import InvalidCountryCode

    bic = BIC(value, allow_invalid=True)
    try:
        bic.validate()
    except InvalidCountryCode:
        # validate() checks the length and the structure first, so only the country is in question.
        if bic.country_code not in _BIC_COUNTRIES_OUTSIDE_ISO:
            raise
    return bic


def _check(holder: object, iban: object, bic: object) -> tuple[BankAccount | None, list[RuleViolation]]:
    from schwifty import IBAN  # heavy import: only when an account is checked

    violations: list[RuleViolation] = []
    name = holder.strip() if isinstance(holder, str) else ""
    if not name:
        violations.append(RuleViolation("HOLDER_REQUIRED", "name the account holder", "bank_account.holder"))

    checked_iban = None
    if not isinstance(iban, str) or not iban.strip():
        violations.append(RuleViolation("INVALID_IBAN", "an IBAN is required", "bank_account.iban"))
    else:
        try:
            checked_iban = IBAN(_compact(iban))
        except ValueError as error:  # schwifty's errors are ValueErrors
            violations.append(
                RuleViolation("INVALID_IBAN", f"not a valid IBAN: {error}", "bank_account.iban")
            )

    checked_bic = None
    if not isinstance(bic, str) or not bic.strip():
        violations.append(RuleViolation("INVALID_BIC", "a BIC is required", "bank_account.bic"))
    else:
        try:
            checked_bic = _bic(_compact(bic))
        except ValueError as error:
            violations.append(RuleViolation("INVALID_BIC", f"not a valid BIC: {error}", "bank_account.bic"))
        else:
            if checked_iban is not None and checked_bic.country_code != checked_iban.country_code:
                violations.append(
                    RuleViolation(
                        "INVALID_BIC",
                        f"the BIC is of a bank in {checked_bic.country_code}, "
                        f"the IBAN of an account in {checked_iban.country_code}",
                        "bank_account.bic",
                    )
                )

    if violations or checked_iban is None or checked_bic is None:
        return None, violations
    return BankAccount(holder=name, iban=checked_iban.compact, bic=checked_bic.compact), []


def bank_account_violations(holder: object, iban: object, bic: object) -> list[RuleViolation]:
    """Every rule the account breaks, in a stable order (holder, IBAN, BIC); empty when it is valid."""
    return _check(holder, iban, bic)[1]


def check_bank_account(holder: object, iban: object, bic: object) -> BankAccount:
    """The normalised account, or the first rule it breaks (`RuleViolation`). To report all of them at
    once, use `bank_account_violations` and `RuleBroken.from_violations`."""
    account, violations = _check(holder, iban, bic)
    if violations:
        raise violations[0]
    assert account is not None  # no violation means both parsed
    return account


def masked_iban(iban: object) -> str:
    """The IBAN as it may be logged or shown to the host side: the country, the check digits and the last
    4 characters, the rest as `*`, in groups of 4 ("DE89 **** **** **** **30 00"). Never raises: anything
    too short to keep a hidden middle is masked whole but for the country."""
    compact = _compact(iban) if isinstance(iban, str) else ""
    if len(compact) >= _COUNTRY_AND_CHECK + VISIBLE_TAIL + 4:
        hidden = len(compact) - _COUNTRY_AND_CHECK - VISIBLE_TAIL
        shown = compact[:_COUNTRY_AND_CHECK] + "*" * hidden + compact[-VISIBLE_TAIL:]
    else:
        shown = compact[:2] + "*" * max(len(compact) - 2, 0)
    return " ".join(shown[i : i + 4] for i in range(0, len(shown), 4))
