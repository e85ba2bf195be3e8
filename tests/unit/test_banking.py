"""The bank account rules (chalicelib.rules.banking): IBAN, BIC, holder, and the masked IBAN."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from chalicelib.rules import RuleViolation
from chalicelib.rules.banking import BankAccount, bank_account_violations, check_bank_account, masked_iban

ROOT = Path(__file__).resolve().parents[2]

# The IBAN standard's German example, and a BIC of a German bank.
DE_IBAN = "DE89370400440532013000"
DE_BIC = "COBADEFFXXX"


def codes(holder="Acme GmbH", iban=DE_IBAN, bic=DE_BIC):
    return [(v.code, v.field) for v in bank_account_violations(holder, iban, bic)]


def refused(holder="Acme GmbH", iban=DE_IBAN, bic=DE_BIC):
    with pytest.raises(RuleViolation) as caught:
        check_bank_account(holder, iban, bic)
    return caught.value.code


def test_a_valid_german_account():
    account = check_bank_account("Acme GmbH", DE_IBAN, DE_BIC)
    assert account == BankAccount(holder="Acme GmbH", iban=DE_IBAN, bic=DE_BIC)
    assert account.as_dict() == {"holder": "Acme GmbH", "iban": DE_IBAN, "bic": DE_BIC}
    assert codes() == []


def test_lower_case_and_spaced_input_is_normalised():
    account = check_bank_account("  Acme GmbH ", " de89 3704 0044 0532 0130 00 ", " cobadeff xxx")
    assert account == BankAccount(holder="Acme GmbH", iban=DE_IBAN, bic=DE_BIC)


def test_an_eight_character_bic_is_kept_as_given():
    assert check_bank_account("Acme", DE_IBAN, "cobadeff").bic == "COBADEFF"


def test_a_bad_checksum_is_an_invalid_iban():
    assert codes(iban="DE89370400440532013001") == [("INVALID_IBAN", "bank_account.iban")]
    assert refused(iban="DE88370400440532013000") == "INVALID_IBAN"


def test_a_wrong_length_is_an_invalid_iban():
    assert codes(iban="DE8937040044053201300") == [("INVALID_IBAN", "bank_account.iban")]
    assert codes(iban=DE_IBAN + "0") == [("INVALID_IBAN", "bank_account.iban")]


@pytest.mark.parametrize("iban", ["", "   ", None, 42, "XX89370400440532013000", "DE89-3704-0044", "IBAN"])
def test_other_invalid_ibans(iban):
    assert refused(iban=iban) == "INVALID_IBAN"


def test_accounts_of_other_countries():
    assert check_bank_account("Acme", "NL91ABNA0417164300", "ABNANL2A").iban == "NL91ABNA0417164300"
    assert check_bank_account("Acme", "FR1420041010050500013M02606", "BNPAFRPP").bic == "BNPAFRPP"


def test_kosovo_accounts_are_accepted_although_xk_is_not_in_iso_3166():
    account = check_bank_account("Acme Sh.p.k.", "XK051212012345678906", "rbkoxkpr")
    assert account.bic == "RBKOXKPR"
    assert refused(iban="XK051212012345678906", bic="RBKOXXPR") == "INVALID_BIC"  # XX: no country


def test_a_bic_of_another_country_than_the_ibans_is_invalid():
    result = bank_account_violations("Acme", DE_IBAN, "BNPAFRPP")
    assert [(v.code, v.field) for v in result] == [("INVALID_BIC", "bank_account.bic")]
    assert "FR" in result[0].message
    assert "DE" in result[0].message


@pytest.mark.parametrize("bic", ["", None, "COBADEF", "COBADEFF1", "12345678", "COBA DEFF XX"])
def test_malformed_bics(bic):
    assert refused(bic=bic) == "INVALID_BIC"


@pytest.mark.parametrize("holder", ["", "   ", None, 7])
def test_the_holder_is_required(holder):
    assert refused(holder=holder) == "HOLDER_REQUIRED"


def test_every_broken_rule_is_reported_in_a_stable_order():
    assert codes(holder="", iban="DE00", bic="nope") == [
        ("HOLDER_REQUIRED", "bank_account.holder"),
        ("INVALID_IBAN", "bank_account.iban"),
        ("INVALID_BIC", "bank_account.bic"),
    ]


def test_no_input_crashes_the_check():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcxyz0123456789 -/\u00a0\u0663\u00df\u0130\x00\n"
    rng = random.Random(7)
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 36)))
        for iban in (text, "DE89" + text):
            assert all(
                v.code in {"INVALID_IBAN", "INVALID_BIC"} for v in bank_account_violations("A", iban, text)
            )
            masked_iban(iban)


# The masked IBAN: what may be logged or shown to the host side


def test_masked_german_iban():
    assert masked_iban(DE_IBAN) == "DE89 **** **** **** **30 00"
    assert masked_iban("de89 3704 0044 0532 0130 00") == "DE89 **** **** **** **30 00"
    assert check_bank_account("Acme", DE_IBAN, DE_BIC).masked_iban == "DE89 **** **** **** **30 00"


def test_masked_iban_shows_only_country_check_digits_and_last_four():
    masked = masked_iban("FR1420041010050500013M02606")
    assert masked == "FR14 **** **** **** **** ***2 606"
    assert masked.replace(" ", "").strip("*")[:4] == "FR14"
    visible = [c for c in masked.replace(" ", "") if c != "*"]
    assert "".join(visible) == "FR142606"


@pytest.mark.parametrize(("value", "masked"), [("DE12345", "DE** ***"), ("", ""), (None, ""), (42, "")])
def test_masked_iban_of_something_too_short_or_not_an_iban_hides_it(value, masked):
    assert masked_iban(value) == masked


def test_schwifty_is_not_imported_with_the_module():
    code = "import sys, chalicelib.rules.banking; print('schwifty' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "False"
