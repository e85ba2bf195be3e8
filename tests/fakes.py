"""Fakes the tests put in the ports' place (chalicelib.ports): a clock a test sets, a mailer that
records, a payment gateway whose bank channel fails."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from chalicelib import ports
from chalicelib.clock import on_date
from chalicelib.payments.gateway import SepaFileGateway


class FakeClock:
    """The real clock, but for a business date a test pins and a wall clock it runs ahead (a lease or
    a backoff running out)."""

    def __init__(self) -> None:
        self.pinned: date | None = None
        self.ahead = timedelta(0)

    def set_today(self, value: date | None) -> None:
        """Pin the business date; None returns to the real date."""
        self.pinned = value

    def run_ahead(self, by: timedelta) -> None:
        self.ahead += by

    def today(self) -> date:
        return self.pinned or datetime.now(UTC).date()

    def now(self) -> datetime:
        return on_date(datetime.now(UTC) + self.ahead, self.today())


def fake_clock() -> FakeClock:
    """The fake clock installed for the running test (tests.api.conftest's emulator installs one)."""
    installed = ports.current().clock
    assert isinstance(installed, FakeClock), f"no fake clock installed: {installed!r}"
    return installed


@dataclass
class RecordingMailer:
    """Sends nothing; keeps (to, subject, text) of every message the app sent, and its HTML apart."""

    sent: list[tuple[str, str, str]] = field(default_factory=list)
    html: list[str | None] = field(default_factory=list)

    def send(self, to: str, subject: str, body: str, html: str | None = None) -> None:
        self.sent.append((to, subject, body))
        self.html.append(html)


class FlakyGateway:
    """The real gateway behind a bank channel that fails the first `failures` times."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls = failures, 0

    def mend(self) -> None:
        """The channel works again from the next call."""
        self.failures = self.calls

    def send(self, payment: dict[str, Any], debtor: Any) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("bank channel unavailable")
        return SepaFileGateway().send(payment, debtor)
