"""The notifications module: every notice in the table has its templates (and no template is left
without a notice), each renders with a link into the web app, HTML escapes what a participant wrote
while the text shows it as written, and the subject is one line."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import notifications
from chalicelib.notifications import NOTICES, TEMPLATES

# Everything any template shows: each notice's own handler passes its part (the delivery tests check
# those against the real objects); a template naming anything else fails to render (StrictUndefined).
EVIL = '<script>alert("x")</script> & Co'
CONTEXT: dict[str, Any] = {
    "exchange": {
        "id": "exc_1",
        "reference": "CXC-2027-000001",
        "visitor": EVIL,
        "visitor_country": "DE",
        "host": "Host Org",
        "host_country": "FR",
        "start_date": "2027-04-12",
        "end_date": "2027-04-16",
        "status": "validated",
        "status_text": "validated",
    },
    "registration": {
        "id": "reg_1",
        "organisation": EVIL,
        "country": "DE",
        "roles": ["visitor"],
        "partnership": "EPIX",
        "accepted": False,
        "reason": "Incomplete",
        "submitted_on": "2027-01-01",
        "days_waiting": 15,
    },
    "request": {
        "sender": EVIL,
        "sender_country": "DE",
        "recipient": "Host Org",
        "message": EVIL,
        "outcome": "declined",
        "reason": EVIL,
    },
    "payment": {
        "id": "pay_1",
        "reference": "CXC-2027-000001",
        "amount_eur": 1234,
        "transfer_reference": "T1",
        "due_by": "2027-05-01",
        "status": "instructed",
    },
    "upload": {"filename": "scan.pdf", "what": "signed scan", "reason": EVIL},
    "query": {
        "id": "sq_1",
        "category": "exchange",
        "reference": "CXC-2027-000001",
        "question": EVIL,
        "answer": EVIL,
        "asked_on": "2027-03-01",
    },
    "document": "Commitment to Quality",
    "comment": EVIL,
    "reason": EVIL,
    "approved": False,
    "since": "2027-03-01",
    "end_date": "2027-04-20",
    "confirmed_by": "the visitor",
    "roles": ["VOP", "HOP"],
    "partnership": "EPIX",
    "day": "2027-03-02",
    "waiting": [
        {"what": "Registration to decide", "about": EVIL, "link": "https://app.example/registrations/reg_1"}
    ],
}


def test_every_notice_has_its_templates_and_every_template_a_notice():
    names = {p.name.split(".")[0] for p in (TEMPLATES / "en").iterdir() if not p.name.startswith("_")}
    assert names == set(NOTICES)
    for name in NOTICES:
        for suffix in ("subject.txt", "txt", "html"):
            assert (TEMPLATES / "en" / f"{name}.{suffix}").is_file(), (name, suffix)


@pytest.mark.parametrize("name", sorted(NOTICES))
def test_each_notice_renders_with_its_link_escaped_html_and_a_one_line_subject(name: str):
    message = notifications.render(name, CONTEXT, "/exchanges/exc_1")
    assert message.subject.startswith("ClusterXchange: ") and "\n" not in message.subject
    assert "http://localhost:3000/exchanges/exc_1" in message.text
    assert 'href="http://localhost:3000/exchanges/exc_1"' in message.html
    assert "<script>" not in message.html  # a participant's words are never markup
    if EVIL in message.text:
        assert "&lt;script&gt;" in message.html
    assert "&lt;" not in message.text and "&amp;" not in message.text  # the text shows words as written
    # Only messages one may turn off say how
    assert ("notification settings" in message.text) == (not NOTICES[name].essential)


def test_essential_means_it_asks_to_act_or_concerns_money():
    # The rule the preferences rely on, for the notices where it is easy to get wrong.
    asks_or_money = {
        "registration_received",
        "contact_request_received",
        "review_needed",
        "signature_needed",
        "upload_rejected",
        "report_due",
        "payment_instructed",
        "payment_paid",
        "payment_overdue",
    }
    assert all(NOTICES[n].essential for n in asks_or_money)
    assert not any(NOTICES[n].essential for n in ("exchange_starts_tomorrow", "contact_request_answered"))
    # Only what a partnership acts on may wait for its digest
    assert all(set(n.to) & notifications.PARTNERSHIP_PARTIES for n in NOTICES.values() if n.digest)
