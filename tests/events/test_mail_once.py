"""A notice goes to the mailer port once, however often it is asked for: the sent-mark is the store's,
not the mailer's, so a recording fake sees exactly what the app sent."""

from __future__ import annotations

from chalicelib.store import mail
from tests.events.helpers import sent_emails
from tests.fakes import RecordingMailer


def test_a_notice_asked_for_twice_is_sent_once(aws, install_ports):
    # Given a mailer that records what it is given
    mailer = RecordingMailer()
    install_ports(mailer=mailer)
    # When the same notice is asked for twice (a redelivered event), and another once
    first = mail.send_once("notice#1", "ada@acme.example", "Hello", "Once.")
    again = mail.send_once("notice#1", "ada@acme.example", "Hello", "Once.")
    other = mail.send_once("notice#2", "ada@acme.example", "Hello", "Another.")
    # Then the mailer sent each notice once, and SES was not asked
    assert (first, again, other) == (True, False, True)
    assert mailer.sent == [("ada@acme.example", "Hello", "Once."), ("ada@acme.example", "Hello", "Another.")]
    assert sent_emails() == []


def test_the_real_mailer_sends_through_ses(aws):
    assert mail.send_once("notice#3", "ada@acme.example", "Hello", "Via SES.")
    assert [(m.destinations["ToAddresses"], m.subject, m.body) for m in sent_emails()] == [
        (["ada@acme.example"], "Hello", "Via SES.")
    ]
