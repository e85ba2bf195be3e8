"""The SEPA credit transfer that pays an exchange's lump sum (RULES.md "Lump sum", "Who pays"): one
transaction in euros from the visitor's partnership's account (debtor) to the visiting organisation's
account (creditor), as a customer credit transfer initiation, ISO 20022 pain.001.001.03, built and checked
against its XSD by `sepaxml`.

The file is a function of the `Transfer` alone: the message id, the payment-information id and the
creation time, which `sepaxml` would take from the clock and a random generator, come from the input, so
a replayed payment produces the same bytes as the first try.

`sepaxml` (and `xmlschema`, which its validation uses) is imported inside `credit_transfer_xml`: every
function of the app imports `app.py`, and only the finance function writes transfer files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

SCHEMA = "pain.001.001.03"
CURRENCY = "EUR"
# The EPC rulebook's ceiling for one SEPA credit transfer is EUR 999,999,999.99.
MAX_AMOUNT_EUR = 999_999_999
# pain.001.001.03 types MsgId, PmtInfId and EndToEndId as Max35Text and the remittance line as Max140Text.
MAX_ID_LENGTH = 35
MAX_REMITTANCE_LENGTH = 140
# The EPC's SEPA character set; identifiers are not transliterated by sepaxml (names and the remittance
# text are), so one outside it would reach the bank as typed.
_SEPA_ID = re.compile(r"[A-Za-z0-9/\-?:().,'+ ]+")


@dataclass(frozen=True)
class Account:
    """A bank account as the transfer names it; `bic` None for an IBAN-only payment."""

    name: str
    iban: str
    bic: str | None


@dataclass(frozen=True)
class Transfer:
    """One lump-sum payment: `end_to_end_id` is the exchange's reference (e.g. CXC-2027-000123), which
    travels to the creditor's statement; `message_id` names the file for the debtor's bank."""

    message_id: str
    end_to_end_id: str
    amount_eur: int
    debtor: Account
    creditor: Account
    remittance: str
    execution_date: date


def credit_transfer_xml(transfer: Transfer) -> bytes:
    """The pain.001.001.03 document (UTF-8) for `transfer`, validated against the schema `sepaxml` ships.

    Raises ValueError when the transfer is invalid (its fields, or a document the schema refuses)."""
    message_id = _identifier(transfer.message_id, "message_id")
    end_to_end_id = _identifier(transfer.end_to_end_id, "end_to_end_id")
    amount = _amount(transfer.amount_eur)
    execution_date = _execution_date(transfer.execution_date)
    remittance = _remittance(transfer.remittance)
    debtor_name, debtor_iban, debtor_bic = _account(transfer.debtor, "debtor")
    creditor_name, creditor_iban, creditor_bic = _account(transfer.creditor, "creditor")
    if debtor_iban == creditor_iban:
        raise ValueError("the debtor and the creditor are the same account")

    from sepaxml import SepaTransfer  # heavy: only the finance function writes transfer files
    from sepaxml.validation import ValidationError
    from text_unidecode import unidecode  # what sepaxml transliterates with (clean=True below)

    # A name of emoji or zero-width spaces passes the checks above but reaches the bank blank.
    for what, value in (
        ("the debtor's account holder name", debtor_name),
        ("the creditor's account holder name", creditor_name),
        ("remittance", remittance),
    ):
        if not unidecode(value).strip():
            raise ValueError(f"{what} has no character the SEPA character set can carry")

    config: dict[str, Any] = {
        "name": debtor_name,
        "IBAN": debtor_iban,
        "currency": CURRENCY,
        # One PmtInf per payment, built by add_payment, so its id can be set before export (a batch's
        # PmtInf is only built inside export, with a random id).
        "batch": False,
    }
    # sepaxml's IBAN-only mode is a missing key: without it the agent's BIC element is left out.
    if debtor_bic is not None:
        config["BIC"] = debtor_bic
    payment: dict[str, Any] = {
        "name": creditor_name,
        "IBAN": creditor_iban,
        "amount": amount * 100,  # sepaxml takes integer cents
        "execution_date": execution_date,
        "description": remittance,
        "endtoend_id": end_to_end_id,
    }
    if creditor_bic is not None:
        payment["BIC"] = creditor_bic

    # clean=True transliterates names and the remittance to ASCII (the SEPA character set is Latin
    # without accents) and cuts names at the schema's 70 characters, as banks do with longer names.
    sepa = SepaTransfer(config, schema=SCHEMA, clean=True)
    sepa.add_payment(payment)
    _pin_generated_fields(sepa, message_id, execution_date)
    try:
        return sepa.export(validate=True, pretty_print=False)
    except ValidationError as error:
        # xmlschema's error names the element and the broken facet; its full text would quote the
        # document, IBANs included, which must not reach a log.
        cause = error.__cause__
        where = getattr(cause, "path", None) or "the document"
        reason = getattr(cause, "reason", None) or "invalid"
        raise ValueError(
            f"the transfer file does not validate against {SCHEMA}: {where}: {reason}"
        ) from error


def _pin_generated_fields(sepa: Any, message_id: str, execution_date: date) -> None:
    """Replace what sepaxml generates (a message id and a payment-information id from the clock and a
    random generator, the creation time from the clock) with values from the transfer.

    sepaxml has no parameter for them, so this edits its element tree before export (which then sums,
    serialises and validates it); a sepaxml whose tree is laid out otherwise fails here, not at the bank.
    """
    # Midnight of the execution date: a fixed point the same transfer always gives (the file is written
    # on or before that day; when it was really written is on the payment's record).
    created = datetime.combine(execution_date, datetime.min.time()).strftime("%Y-%m-%dT%H:%M:%S")
    root = sepa._xml.find("CstmrCdtTrfInitn")
    # One file per payment: its PmtInf block can carry the message id too.
    for path, text in (
        ("GrpHdr/MsgId", message_id),
        ("GrpHdr/CreDtTm", created),
        ("PmtInf/PmtInfId", message_id),
    ):
        node = None if root is None else root.find(path)
        if node is None:
            raise RuntimeError(f"sepaxml's document has no {path}: check the sepaxml version")
        node.text = text


def _identifier(value: object, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{field} is required")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{field} has more than {MAX_ID_LENGTH} characters")
    if not _SEPA_ID.fullmatch(value):
        raise ValueError(f"{field} has characters outside the SEPA character set")
    # EPC rule for references: a bank may treat "/" as a field separator.
    if value.startswith("/") or value.endswith("/") or "//" in value:
        raise ValueError(f"{field} may not start or end with '/' nor contain '//'")
    return value


def _amount(value: object) -> int:
    # bool is an int subclass: True would otherwise pay one euro.
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError("amount_eur must be a whole number of euros")
    if value <= 0:
        raise ValueError("amount_eur must be more than 0")
    if value > MAX_AMOUNT_EUR:
        raise ValueError(f"amount_eur exceeds the SEPA maximum of {MAX_AMOUNT_EUR}")
    return value


def _execution_date(value: object) -> date:
    # A datetime is a date too, but its isoformat() is not the xs:date the schema wants.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise ValueError("execution_date must be a date")
    return value


def _remittance(value: object) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if not text:
        raise ValueError("remittance is required")
    # Refused rather than cut: the end of the line may be what the creditor reconciles on.
    if len(text) > MAX_REMITTANCE_LENGTH:
        raise ValueError(f"remittance has more than {MAX_REMITTANCE_LENGTH} characters")
    return text


def _compact(value: str) -> str:
    """Without whitespace, upper-case: IBANs and BICs are often typed in groups ("fi38 1572 …")."""
    return "".join(value.split()).upper()


def _account(account: object, role: str) -> tuple[str, str, str | None]:
    """The holder's name, the compact IBAN and BIC (or None) of `account`, checked with schwifty."""
    if not isinstance(account, Account):
        raise ValueError(f"the {role} must be an Account")
    name = account.name.strip() if isinstance(account.name, str) else ""
    if not name:
        raise ValueError(f"the {role}'s account holder name is required")
    if not isinstance(account.iban, str) or not account.iban.strip():
        raise ValueError(f"the {role}'s IBAN is required")
    if account.bic is not None and (not isinstance(account.bic, str) or not account.bic.strip()):
        raise ValueError(f"the {role}'s BIC must be None or a BIC")

    # Imported here for the same reason as sepaxml; its exceptions are ValueErrors already, re-raised
    # with the role so a clerk knows which account is wrong.
    from schwifty import BIC, IBAN
    from schwifty.exceptions import SchwiftyException

    iban = _compact(account.iban)
    try:
        IBAN(iban)  # length and format of the country, ISO 7064 check digits
    except SchwiftyException as error:
        raise ValueError(f"the {role}'s IBAN is invalid: {error}") from error
    bic = None if account.bic is None else _compact(account.bic)
    if bic is not None:
        try:
            BIC(bic)  # 8 or 11 characters, structure, country
        except SchwiftyException as error:
            raise ValueError(f"the {role}'s BIC is invalid: {error}") from error
    return name, iban, bic
