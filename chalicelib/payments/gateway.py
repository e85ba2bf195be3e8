"""The payment gateway: where a lump sum's transfer is sent. The port (`PaymentGateway`) and its one
adapter, the SEPA credit-transfer file (`SepaFileGateway`), beside the writer that makes the file."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from chalicelib.rules.banking import BankAccount


class PaymentGateway(Protocol):
    """Where a transfer is sent. Returns the key of the instruction it keeps (the SEPA file)."""

    def send(self, payment: dict[str, Any], debtor: BankAccount) -> str: ...


def transfer_reference(payment: dict[str, Any]) -> str:
    """The transfer's message id: one per payment, within SEPA's 35 characters."""
    return f"CXC-{payment['id'].removeprefix('pay_')[:24]}"


class SepaFileGateway:
    """A SEPA credit transfer (pain.001.001.03) written to the artifacts bucket under the partnership
    and the payment's date, for the partnership's bank channel to pick up."""

    def send(self, payment: dict[str, Any], debtor: BankAccount) -> str:
        # Imported here: every function builds the ports, only the finance function sends a transfer.
        from chalicelib.observability import logger
        from chalicelib.payments.sepa import Account, Transfer, credit_transfer_xml
        from chalicelib.store import files

        creditor = payment["creditor"] or {}
        day = date.fromisoformat(payment["created_at"][:10])
        transfer = Transfer(
            message_id=transfer_reference(payment),
            end_to_end_id=payment["reference"],
            amount_eur=int(payment["amount_eur"]),
            debtor=Account(name=debtor.holder, iban=debtor.iban, bic=debtor.bic),
            creditor=Account(name=creditor["holder"], iban=creditor["iban"], bic=creditor.get("bic")),
            remittance=f"ClusterXchange lump sum {payment['reference']}",
            execution_date=day,
        )
        content = credit_transfer_xml(transfer)
        key = f"transfers/{payment['vop']}/{day.isoformat()}/{payment['id']}.xml"
        if not files.put_new(files.artifacts_bucket(), key, content, "application/xml"):
            # Written by an earlier attempt: the same payment gives the same bytes, so it is this file.
            logger.info("transfer file already written", extra={"payment_id": payment["id"]})
        return key
