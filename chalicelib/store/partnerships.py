"""Partnerships in DynamoDB: the typed record in and out, each write with its audit entry."""

from __future__ import annotations

from typing import Any

from chalicelib.rules.banking import BankAccount
from chalicelib.rules.partnership import ContactPoint, Partnership
from chalicelib.store import audit
from chalicelib.store.audit import AuditEntry
from chalicelib.store.models import PartnershipModel
from chalicelib.store.writes import transaction

AUDIT_KIND = "partnership"
_PARTITION = "partnership"


def _record(model: PartnershipModel) -> Partnership:
    account: dict[str, Any] | None = model.debtor_account
    return Partnership(
        id=model.id,
        name=model.name,
        # str(): PynamoDB types a list of strings as a list of attributes.
        ecosystems=tuple(str(e) for e in model.ecosystems or ()),
        countries=tuple(str(c) for c in model.countries or ()),
        contact_points=tuple(
            ContactPoint(name=cp["name"], email=cp["email"]) for cp in (model.contact_points or ())
        ),
        debtor_account=BankAccount(account["holder"], account["iban"], account["bic"]) if account else None,
        finance_email=model.finance_email,
        version=int(model.version or 0),
        created_at=model.created_at or "",
        updated_at=model.updated_at or "",
    )


def _model(partnership: Partnership, version: int | None) -> PartnershipModel:
    account = partnership.debtor_account
    model = PartnershipModel(
        kind=_PARTITION,
        id=partnership.id,
        name=partnership.name,
        ecosystems=list(partnership.ecosystems),
        countries=list(partnership.countries),
        contact_points=[{"name": cp.name, "email": cp.email} for cp in partnership.contact_points],
        debtor_account=account.as_dict() if account else None,
        finance_email=partnership.finance_email,
        created_at=partnership.created_at or None,
        updated_at=partnership.updated_at or None,
    )
    if version is not None:  # the VersionAttribute takes no None: unset means "not stored yet"
        model.version = version
    return model


def list_partnerships() -> list[Partnership]:
    """Every partnership, by id: one Query of the one partition, strongly consistent so that a read
    right after an admin's write sees it."""
    return [_record(m) for m in PartnershipModel.query(_PARTITION, consistent_read=True)]


def create(partnership: Partnership, entry: AuditEntry) -> Partnership:
    """Insert with its audit entry; StaleVersion when the id is taken."""
    model = _model(partnership, None)
    with transaction() as tx:
        tx.save(model, condition=PartnershipModel.id.does_not_exist())
        tx.save(audit.to_model(entry))
    return _record(model)


def replace(partnership: Partnership, entry: AuditEntry) -> Partnership:
    """Write the whole partnership if it is still at `partnership.version` (0: an item stored before
    versions), with its audit entry; StaleVersion when another write came first."""
    model = _model(partnership, partnership.version or None)
    with transaction() as tx:
        tx.save(model)  # the VersionAttribute adds "version = <read version>" and increments it
        tx.save(audit.to_model(entry))
    return _record(model)
