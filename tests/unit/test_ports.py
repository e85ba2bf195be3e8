"""The ports: built once on first use (importing app.py builds none), a fake installed in a real
adapter's place and taken away again in any order, the clock functions asking the clock port."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from chalicelib import clock, ports
from chalicelib.payments.gateway import SepaFileGateway
from tests.fakes import FakeClock, FlakyGateway, RecordingMailer

ROOT = Path(__file__).resolve().parent.parent.parent


def test_importing_app_builds_no_port_and_loads_no_adapter():
    code = (
        "import sys, app\n"
        "from chalicelib import ports\n"
        "print(ports._built is None, sorted(m for m in ('chalicelib.store.ses', 'chalicelib.store.files',"
        " 'chalicelib.store.mail') if m in sys.modules))\n"
        "ports.current()\n"
        "print(ports._built is not None)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.split("\n")[:2] == ["True []", "True"]


def test_the_production_wiring_is_the_sepa_gateway_ses_and_the_system_clock():
    wired = ports.wiring()
    assert isinstance(wired.gateway, SepaFileGateway)
    assert type(wired.mailer).__name__ == "SesMailer"
    assert isinstance(wired.clock, clock.SystemClock)


def test_an_installed_fake_replaces_one_port_until_it_is_taken_away():
    # Given the ports as built
    real = ports.current()
    # When a test installs a fake gateway, then a fake mailer
    gateway, mailer = FlakyGateway(failures=1), RecordingMailer()
    take_gateway = ports.install(gateway=gateway)
    take_mailer = ports.install(mailer=mailer)
    # Then both are in place and the clock is the real one still
    assert (ports.current().gateway, ports.current().mailer, ports.current().clock) == (
        gateway,
        mailer,
        real.clock,
    )
    # And taking the first away first leaves the second in place (fixtures end in any order)
    take_gateway()
    assert ports.current().gateway is real.gateway and ports.current().mailer is mailer
    take_mailer()
    assert ports.current() == real


def test_installed_for_a_block():
    fake = FakeClock()
    with ports.installed(clock=fake) as inside:
        assert inside.clock is fake and ports.current().clock is fake
    assert ports.current().clock is not fake


def test_the_clock_functions_ask_the_clock_port():
    fake = FakeClock()
    with ports.installed(clock=fake):
        # Given a pinned business date
        fake.set_today(date(2027, 4, 21))
        # Then today and the timestamps are on it
        assert clock.today() == date(2027, 4, 21)
        assert clock.now().date() == date(2027, 4, 21) and clock.now_iso().startswith("2027-04-21T")
        # And a clock run ahead moves the wall-clock time on, not the pinned date
        fake.set_today(None)
        fake.run_ahead(timedelta(hours=2))
        assert clock.now() - datetime.now(UTC) > timedelta(hours=1, minutes=59)
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(minutes=1)


def test_the_system_clock_follows_the_local_stacks_clock_file(tmp_path, monkeypatch):
    from chalicelib.settings import get_settings

    # Given a clock file the local stack's `clock` command wrote
    pinned = tmp_path / "clock"
    pinned.write_text("2027-04-12\n", encoding="utf-8")
    monkeypatch.setenv("CXC_CLOCK_FILE", str(pinned))
    get_settings.cache_clear()
    try:
        system = clock.SystemClock()
        # Then its date is the business date, and timestamps are on it
        assert system.today() == date(2027, 4, 12) and system.now().date() == date(2027, 4, 12)
        # And `clock --reset` (an empty file) is the real date again
        pinned.write_text("", encoding="utf-8")
        os.utime(pinned, (1, 1))  # a changed file, however close in time the two writes were
        assert system.today() == datetime.now(UTC).date()
    finally:
        monkeypatch.delenv("CXC_CLOCK_FILE")
        get_settings.cache_clear()
