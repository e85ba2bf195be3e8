"""The SEPA credit-transfer file (chalicelib.payments.sepa): pain.001.001.03 as the schema sepaxml ships
checks it, what it says, the same bytes for the same transfer, refused inputs, the partnerships' accounts,
and sepaxml left out of the module's import."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from schwifty import BIC, IBAN
from sepaxml.validation import ValidationError, try_valid_xml

from chalicelib.payments.sepa import SCHEMA, Account, Transfer, credit_transfer_xml
from infra.seed import example_partnerships

ROOT = Path(__file__).resolve().parents[2]
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}

# CLAMTEX's account (reference data) pays a German visiting organisation (the IBAN standard's example).
DEBTOR = Account(name="CLAMTEX Partnership", iban="PT50003506970001234567841", bic="CGDIPTPL")
CREDITOR = Account(name="Acme Textiles GmbH", iban="DE89370400440532013000", bic="COBADEFFXXX")
TRANSFER = Transfer(
    message_id="CXC-PAY-2027-000123-1",
    end_to_end_id="CXC-2027-000123",
    amount_eur=780,
    debtor=DEBTOR,
    creditor=CREDITOR,
    remittance="ClusterXchange lump sum CXC-2027-000123",
    execution_date=date(2027, 6, 14),
)


def parse(xml: bytes) -> ET.Element:
    return ET.fromstring(xml)


def text(root: ET.Element, path: str) -> str | None:
    node = root.find(path, NS)
    assert node is not None, f"no {path}"
    return node.text


def test_the_file_is_valid_pain_001_001_03():
    xml = credit_transfer_xml(TRANSFER)
    assert SCHEMA == "pain.001.001.03"
    assert xml.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    try_valid_xml(xml, SCHEMA)  # raises ValidationError when the document breaks the XSD


def test_the_schema_check_used_refuses_a_broken_file():
    # The control for the test above: the same validator refuses the file once an IBAN breaks the pattern.
    xml = credit_transfer_xml(TRANSFER).replace(b"<IBAN>DE89", b"<IBAN>de89")
    with pytest.raises(ValidationError):
        try_valid_xml(xml, SCHEMA)


def test_the_file_says_who_pays_whom_how_much_and_why():
    root = parse(credit_transfer_xml(TRANSFER))
    assert root.tag == "{urn:iso:std:iso:20022:tech:xsd:pain.001.001.03}Document"
    header = "p:CstmrCdtTrfInitn/p:GrpHdr"
    info = "p:CstmrCdtTrfInitn/p:PmtInf"
    tx = f"{info}/p:CdtTrfTxInf"

    assert text(root, f"{header}/p:MsgId") == "CXC-PAY-2027-000123-1"
    assert text(root, f"{header}/p:NbOfTxs") == "1"
    assert text(root, f"{header}/p:CtrlSum") == "780.00"
    assert text(root, f"{header}/p:InitgPty/p:Nm") == "CLAMTEX Partnership"

    assert len(root.findall(info, NS)) == 1
    assert text(root, f"{info}/p:PmtMtd") == "TRF"
    assert text(root, f"{info}/p:NbOfTxs") == "1"
    assert text(root, f"{info}/p:CtrlSum") == "780.00"
    assert text(root, f"{info}/p:PmtTpInf/p:SvcLvl/p:Cd") == "SEPA"
    assert text(root, f"{info}/p:ReqdExctnDt") == "2027-06-14"
    assert text(root, f"{info}/p:ChrgBr") == "SLEV"
    assert text(root, f"{info}/p:Dbtr/p:Nm") == "CLAMTEX Partnership"
    assert text(root, f"{info}/p:DbtrAcct/p:Id/p:IBAN") == "PT50003506970001234567841"
    assert text(root, f"{info}/p:DbtrAgt/p:FinInstnId/p:BIC") == "CGDIPTPL"

    assert len(root.findall(tx, NS)) == 1
    assert text(root, f"{tx}/p:PmtId/p:EndToEndId") == "CXC-2027-000123"
    amount = root.find(f"{tx}/p:Amt/p:InstdAmt", NS)
    assert amount is not None
    assert (amount.text, amount.get("Ccy")) == ("780.00", "EUR")
    assert text(root, f"{tx}/p:Cdtr/p:Nm") == "Acme Textiles GmbH"
    assert text(root, f"{tx}/p:CdtrAcct/p:Id/p:IBAN") == "DE89370400440532013000"
    assert text(root, f"{tx}/p:CdtrAgt/p:FinInstnId/p:BIC") == "COBADEFFXXX"
    assert text(root, f"{tx}/p:RmtInf/p:Ustrd") == "ClusterXchange lump sum CXC-2027-000123"


def test_the_fields_sepaxml_would_generate_come_from_the_transfer():
    root = parse(credit_transfer_xml(TRANSFER))
    # Left to sepaxml, these would be the clock's time and ids with a random part.
    assert text(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:CreDtTm") == "2027-06-14T00:00:00"
    assert text(root, "p:CstmrCdtTrfInitn/p:PmtInf/p:PmtInfId") == "CXC-PAY-2027-000123-1"


def test_amounts_are_whole_euros_with_cents():
    for eur, shown in [(1, "1.00"), (390, "390.00"), (1100, "1100.00")]:
        root = parse(credit_transfer_xml(replace(TRANSFER, amount_eur=eur)))
        assert text(root, "p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum") == shown
        assert text(root, "p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf/p:Amt/p:InstdAmt") == shown


def test_ibans_and_bics_are_compacted_and_upper_cased():
    typed = replace(
        TRANSFER,
        debtor=Account(DEBTOR.name, "pt50 0035 0697 0001 2345 6784 1", " cgdi ptpl "),
        creditor=Account(CREDITOR.name, "de89 3704 0044 0532 0130 00", "cobadeffxxx"),
    )
    assert credit_transfer_xml(typed) == credit_transfer_xml(TRANSFER)


def test_names_and_remittance_are_transliterated_and_long_names_cut_to_70():
    long_name = "Associação das Indústrias Têxteis e do Vestuário do Norte de Portugal, Lda"
    assert len(long_name) > 70
    transfer = replace(
        TRANSFER,
        creditor=replace(CREDITOR, name=long_name),
        remittance="Lump sum \u2013 CXC-2027-000123 (Guimarães)",  # an en dash
    )
    root = parse(credit_transfer_xml(transfer))
    tx = "p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf"
    cut = "Associacao das Industrias Texteis e do Vestuario do Norte de Portugal, Lda"[:70]
    assert text(root, f"{tx}/p:Cdtr/p:Nm") == cut
    assert text(root, f"{tx}/p:RmtInf/p:Ustrd") == "Lump sum - CXC-2027-000123 (Guimaraes)"


def test_the_same_transfer_gives_the_same_bytes():
    first = credit_transfer_xml(TRANSFER)
    assert credit_transfer_xml(TRANSFER) == first
    # The control: the bytes do depend on the transfer.
    assert credit_transfer_xml(replace(TRANSFER, message_id="CXC-PAY-2027-000123-2")) != first


_PRINT_FILE = """
from datetime import date
from chalicelib.payments.sepa import Account, Transfer, credit_transfer_xml
transfer = Transfer(
    message_id="CXC-PAY-2027-000123-1",
    end_to_end_id="CXC-2027-000123",
    amount_eur=780,
    debtor=Account(name="CLAMTEX Partnership", iban="PT50003506970001234567841", bic="CGDIPTPL"),
    creditor=Account(name="Acme Textiles GmbH", iban="DE89370400440532013000", bic="COBADEFFXXX"),
    remittance="ClusterXchange lump sum CXC-2027-000123",
    execution_date=date(2027, 6, 14),
)
print(credit_transfer_xml(transfer).hex())
"""


@pytest.mark.parametrize("hash_seed", ["1", "4242"])
def test_a_fresh_interpreter_gives_the_same_bytes(hash_seed):
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run(
        [sys.executable, "-c", _PRINT_FILE], capture_output=True, text=True, check=True, cwd=ROOT, env=env
    )
    assert bytes.fromhex(out.stdout.strip()) == credit_transfer_xml(TRANSFER)


def test_without_a_creditor_bic_the_creditor_agent_is_left_out():
    root = parse(credit_transfer_xml(replace(TRANSFER, creditor=replace(CREDITOR, bic=None))))
    tx = root.find("p:CstmrCdtTrfInitn/p:PmtInf/p:CdtTrfTxInf", NS)
    assert tx is not None
    assert tx.find("p:CdtrAgt", NS) is None
    assert text(tx, "p:CdtrAcct/p:Id/p:IBAN") == "DE89370400440532013000"


def test_without_a_debtor_bic_the_debtor_agent_names_no_bank():
    xml = credit_transfer_xml(replace(TRANSFER, debtor=replace(DEBTOR, bic=None)))
    # sepaxml's IBAN-only debtor: an empty FinInstnId, which the schema allows (the bank knows itself).
    agent = parse(xml).find("p:CstmrCdtTrfInitn/p:PmtInf/p:DbtrAgt/p:FinInstnId", NS)
    assert agent is not None
    assert list(agent) == []
    try_valid_xml(xml, SCHEMA)


def _account(role: str, **changes: object) -> dict[str, Account]:
    return {role: replace(DEBTOR if role == "debtor" else CREDITOR, **changes)}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"amount_eur": 0}, "more than 0"),
        ({"amount_eur": -780}, "more than 0"),
        ({"amount_eur": 780.0}, "whole number"),
        ({"amount_eur": True}, "whole number"),
        ({"amount_eur": 1_000_000_000}, "SEPA maximum"),
        ({"message_id": ""}, "message_id is required"),
        ({"message_id": "M" * 36}, "more than 35"),
        ({"message_id": "CXC_PAY_1"}, "SEPA character set"),
        ({"end_to_end_id": "CXC-2027-000123é"}, "SEPA character set"),
        ({"end_to_end_id": "/CXC-2027-000123"}, "'/'"),
        ({"end_to_end_id": "CXC//2027"}, "'//'"),
        ({"remittance": "  "}, "remittance is required"),
        ({"remittance": "x" * 141}, "more than 140"),
        ({"execution_date": "2027-06-14"}, "must be a date"),
        ({"execution_date": datetime(2027, 6, 14, 9, 30)}, "must be a date"),
        (_account("debtor", name=" "), "debtor's account holder name"),
        (_account("creditor", name=""), "creditor's account holder name"),
        (_account("creditor", iban=""), "creditor's IBAN is required"),
        (_account("creditor", iban="DE88370400440532013000"), "creditor's IBAN is invalid"),
        (_account("debtor", iban="PT5000350697000123456784"), "debtor's IBAN is invalid"),
        (_account("creditor", bic="COBADEF"), "creditor's BIC is invalid"),
        (_account("debtor", bic="CGDIXXPL"), "debtor's BIC is invalid"),
        (_account("debtor", bic=""), "debtor's BIC must be None or a BIC"),
        ({"creditor": DEBTOR}, "same account"),
        ({"creditor": ("Acme", CREDITOR.iban, CREDITOR.bic)}, "must be an Account"),
    ],
)
def test_invalid_transfers_are_refused(changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        credit_transfer_xml(replace(TRANSFER, **changes))


@pytest.mark.parametrize("blank", ["\u200b", "\U0001f9f5", "\u00ad\u200d"])
def test_names_and_remittances_that_transliterate_to_nothing_are_refused(blank):
    with pytest.raises(ValueError, match="creditor's account holder name has no character"):
        credit_transfer_xml(replace(TRANSFER, creditor=replace(CREDITOR, name=blank)))
    with pytest.raises(ValueError, match="debtor's account holder name has no character"):
        credit_transfer_xml(replace(TRANSFER, debtor=replace(DEBTOR, name=blank)))
    with pytest.raises(ValueError, match="remittance has no character"):
        credit_transfer_xml(replace(TRANSFER, remittance=blank))


def test_the_library_validates_the_very_bytes_returned(monkeypatch):
    import sepaxml.shared

    seen: list[tuple[bytes, str]] = []
    real = sepaxml.shared.try_valid_xml

    def spy(out: bytes, schema: str) -> None:
        seen.append((out, schema))
        real(out, schema)

    monkeypatch.setattr(sepaxml.shared, "try_valid_xml", spy)
    xml = credit_transfer_xml(TRANSFER)
    assert seen == [(xml, SCHEMA)]


def test_a_file_the_schema_refuses_is_a_value_error_that_quotes_no_iban(monkeypatch):
    import sepaxml.shared

    real = sepaxml.shared.try_valid_xml

    # Nothing that passes the input checks is known to break the schema, so the file is broken on its
    # way to the library's validator (a lower-case IBAN breaks the IBAN pattern).
    def broken(out: bytes, schema: str) -> None:
        real(out.replace(b"<IBAN>DE89", b"<IBAN>de89"), schema)

    monkeypatch.setattr(sepaxml.shared, "try_valid_xml", broken)
    with pytest.raises(ValueError, match=re.escape("does not validate against pain.001.001.03")) as caught:
        credit_transfer_xml(TRANSFER)
    assert "/CdtTrfTxInf/CdtrAcct/Id/IBAN" in str(caught.value)
    assert isinstance(caught.value.__cause__, ValidationError)
    assert CREDITOR.iban.lower() not in str(caught.value).lower()
    assert DEBTOR.iban not in str(caught.value)


def _accounts():
    return {p.id: SimpleNamespace(**p.debtor_account) for p in example_partnerships()}


@pytest.mark.parametrize("partnership_id", sorted(p.id for p in example_partnerships()))
def test_every_example_partnership_has_a_valid_sepa_account(partnership_id):
    account = _accounts()[partnership_id]
    assert account.holder.strip() == account.holder != ""
    iban = IBAN(account.iban, validate_bban=True)  # raises on a bad check digit, national ones too
    bic = BIC(account.bic)
    assert account.iban == iban.compact
    assert account.bic == bic.compact
    assert bic.country_code == iban.country_code
    assert iban.in_sepa_zone
    # Where schwifty's bank registry knows the bank code, it names the same bank as the BIC.
    if iban.bic is not None:
        assert iban.bic.compact[:8] == bic.compact[:8]


def test_the_example_partnerships_accounts_are_distinct():
    ibans = [a.iban for a in _accounts().values()]
    assert len(set(ibans)) == len(ibans) == 6


def test_each_example_partnership_can_pay_a_lump_sum():
    for held in _accounts().values():
        transfer = replace(TRANSFER, debtor=Account(name=held.holder, iban=held.iban, bic=held.bic))
        root = parse(credit_transfer_xml(transfer))
        assert text(root, "p:CstmrCdtTrfInitn/p:PmtInf/p:DbtrAcct/p:Id/p:IBAN") == held.iban


def test_importing_the_module_leaves_sepaxml_out():
    code = (
        "import sys\n"
        "from datetime import date\n"
        "import chalicelib.payments.sepa as sepa\n"
        "print(sorted(m for m in ('sepaxml', 'xmlschema', 'schwifty') if m in sys.modules))\n"
        # The control: the same check sees sepaxml once a file has been written.
        "a = sepa.Account('A', 'PT50003506970001234567841', None)\n"
        "b = sepa.Account('B', 'DE89370400440532013000', None)\n"
        "sepa.credit_transfer_xml(sepa.Transfer('M', 'E', 1, a, b, 'r', date(2027, 6, 14)))\n"
        "print('sepaxml' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split("\n")[:2] == ["[]", "True"]
