"""The store imports no rules: the statuses it derives sparse-index keys and write conditions from are
declared next to the PynamoDB models. These tests keep those declarations the rules' own, so the two
can never drift apart (a status renamed in a lifecycle and not in the storage would leave a sparse
index stale or a condition never true)."""

from __future__ import annotations

import ast
from pathlib import Path

import chalicelib.store
from chalicelib.rules import contact_request, payment, registration, reminders
from chalicelib.store import models

STORE = Path(chalicelib.store.__file__).parent


def test_the_storage_statuses_are_the_rules_definitions():
    assert models.REGISTRATION_ACCEPTED == registration.ACCEPTED
    assert models.CONTACT_REQUEST_PENDING == contact_request.PENDING
    assert frozenset(payment.OPEN) == models.PAYMENT_OPEN
    assert models.REGISTRATION_PENDING == registration.PENDING
    assert frozenset(reminders.EXCHANGE_REMINDERS) == models.EXCHANGE_REMINDED


def _imported(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


# The typed records the store builds (a partnership, its bank account) are the domain's, defined in
# chalicelib.rules; the store may build them, never read a rule or a status from there.
RECORDS = {
    "chalicelib.rules.partnership.Partnership",
    "chalicelib.rules.partnership.ContactPoint",
    "chalicelib.rules.banking.BankAccount",
}


def test_the_store_imports_no_rules():
    def rules_of(path: Path) -> list[str]:
        names = {name for name in _imported(path) if name.startswith("chalicelib.rules")}
        modules_of_records = {name.rsplit(".", 1)[0] for name in names & RECORDS}
        return sorted(names - RECORDS - modules_of_records)

    importing = {path.name: rules_of(path) for path in sorted(STORE.glob("*.py"))}
    assert {name: rules for name, rules in importing.items() if rules} == {}
