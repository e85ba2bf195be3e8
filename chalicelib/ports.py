"""The adapters the services talk to the outside through: the payment gateway, the mailer and the clock.

app.py wires them (`wire(wiring)`); they are built once, on first use, so importing app.py (every
Lambda function does) builds nothing. A test installs a fake in a real adapter's place (`install`),
the same way for every port, instead of patching the module that uses it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    # Only named here: the adapters' modules are loaded by `wiring`, on first use.
    from chalicelib.payments.gateway import PaymentGateway


class Mailer(Protocol):
    """Sends one message: its plain text, and its HTML alternative when given. Sends it every time it is
    asked: sending a notice once is the store's (`store.mail.send_once`), so a fake mailer records
    exactly what the app sent."""

    def send(self, to: str, subject: str, body: str, html: str | None = None) -> None: ...


class Clock(Protocol):
    """What day and time it is for rules, services and the scheduled function."""

    def today(self) -> date: ...

    def now(self) -> datetime: ...


@dataclasses.dataclass(frozen=True)
class Ports:
    gateway: PaymentGateway
    mailer: Mailer
    clock: Clock


def wiring() -> Ports:
    """The production adapters. They read the settings when used, not here: a test that starts a new
    emulator (new settings) keeps the same ports."""
    from chalicelib.clock import SystemClock
    from chalicelib.payments.gateway import SepaFileGateway
    from chalicelib.store.ses import SesMailer

    return Ports(gateway=SepaFileGateway(), mailer=SesMailer(), clock=SystemClock())


# Code that runs without app.py (the seed, the local stack's tools) gets the production adapters too.
_factory: Callable[[], Ports] = wiring
_built: Ports | None = None
# Fakes tests installed, each install one layer over the built ports. Kept apart from them, so a test
# that installs fakes before it first imports app.py (which wires) keeps them; one layer each, so
# fixtures may put theirs back in any order.
_layers: list[dict[str, Any]] = []
_current: Ports | None = None


def wire(factory: Callable[[], Ports]) -> None:
    """Name how this process's ports are built; they are built on first use."""
    global _factory, _built, _current
    _factory, _built, _current = factory, None, None


def current() -> Ports:
    global _built, _current
    if _current is None:
        if _built is None:
            _built = _factory()
        merged: dict[str, Any] = {}
        for layer in _layers:
            merged.update(layer)
        _current = dataclasses.replace(_built, **merged)
    return _current


def install(
    *, gateway: PaymentGateway | None = None, mailer: Mailer | None = None, clock: Clock | None = None
) -> Callable[[], None]:
    """Put the given adapters in place of the current ones (tests: a fake); the others stay. Returns
    what takes them away again (whatever was installed since stays)."""
    global _current
    given = {"gateway": gateway, "mailer": mailer, "clock": clock}
    layer: dict[str, Any] = {name: port for name, port in given.items() if port is not None}
    _layers.append(layer)
    _current = None

    def restore() -> None:
        global _current
        _layers[:] = [other for other in _layers if other is not layer]
        _current = None

    return restore


@contextmanager
def installed(
    *, gateway: PaymentGateway | None = None, mailer: Mailer | None = None, clock: Clock | None = None
) -> Iterator[Ports]:
    """`install` for the length of a `with` block."""
    restore = install(gateway=gateway, mailer=mailer, clock=clock)
    try:
        yield current()
    finally:
        restore()
