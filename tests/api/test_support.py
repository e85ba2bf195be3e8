"""The support office through the API and the emulator: a question about one of the asker's exchanges
with a screenshot (posted to its presigned form, checked by the function the storage event triggers),
support's list, filters and answers, the answer mailed to the asker exactly once through the outbox
(replayed, delivered again, failing once), follow-ups and closing; and what nobody else may see or do."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import requests

import app as app_module
from chalicelib import clock
from chalicelib.services import effects
from chalicelib.services import support_queries as service
from chalicelib.store import outbox
from chalicelib.store.audit import entries_for
from chalicelib.store.models import OutboxModel
from tests import sample_files
from tests.api import test_exchanges
from tests.api.helpers import body
from tests.api.test_exchanges import draft, get, post
from tests.events import test_cv_check
from tests.events.helpers import run_effects, stream_event
from tests.events.test_cv_check import PNG, content, deliver, keys
from tests.fakes import RecordingMailer

# Fixtures: an accepted visitor (ada@acme.example, epix) and host (hans@bdc.example, ce4big) with an
# accepted contact request, and an S3 client.
pair = test_exchanges.pair
s3 = test_cv_check.s3

JPEG = sample_files.jpeg()


class FailingOnceMailer(RecordingMailer):
    """A mail channel that is down for the first answer of the support office, and records every message
    it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.refused = 0

    def send(self, to: str, subject: str, body: str, html: str | None = None) -> None:
        if not self.refused and "support office answered" in subject:
            self.refused += 1
            raise ConnectionError("mail channel unavailable")
        super().send(to, subject, body, html)


@pytest.fixture
def mailer(install_ports):
    recording = RecordingMailer()
    install_ports(mailer=recording)
    return recording


@pytest.fixture
def support(token):
    return token("desk@clusterxchange.example", "support")


@pytest.fixture
def exchange(client, pair):
    """A draft exchange of the pair: (its id, its reference)."""
    created = body(post(client, "/v1/exchanges", pair.visitor, draft(pair.request_id)))
    return created["id"], created["reference"]


def ask(client, tok, **fields):
    return post(client, "/v1/support-queries", tok, {"category": "general", "message": "Help?", **fields})


def asked(client, tok, **fields):
    response = ask(client, tok, **fields)
    assert response.status_code == 201, response.body
    return body(response)


def upload(form, data, content_type="image/png"):
    """What a browser does with the presigned form: a multipart POST of its fields and the file."""
    fields = form["upload"]["fields"]
    sent = requests.post(
        form["upload"]["url"], data=fields, files={"file": ("screen.png", data, content_type)}, timeout=10
    )
    assert sent.status_code in (200, 201, 204), sent.text
    return fields["key"]


def answer_mails(mailer, to="ada@acme.example"):
    """The support office's answers the mailer sent to `to` (the other mail of the scene left out)."""
    return [m for m in mailer.sent if m[0] == to and "support office answered" in m[1]]


def _later(**delta: float):
    return clock.now() + timedelta(**delta)


# --- the round trip -----------------------------------------------------------------------------------


def test_a_question_with_a_screenshot_is_answered_and_the_asker_mailed_once(
    client, pair, exchange, aws, s3, support, mailer
):
    exchange_id, reference = exchange
    # Given the visitor asks about its exchange and announces a screenshot
    created = asked(
        client,
        pair.visitor,
        category="exchange",
        reference=reference,
        message="The Commitment to Quality shows the wrong dates.",
        screenshot={"content_type": "image/png", "size": len(PNG)},
    )
    assert created["status"] == "open" and created["exchange_id"] == exchange_id
    assert created["screenshot"]["status"] == "awaiting_upload"
    assert created["asker"] == {"email": "ada@acme.example", "roles": ["participant"]}
    assert created["actions"] == ["follow_up", "close"]
    # When it posts the file to the form, and the storage event's check runs
    key = upload(created, PNG)
    deliver(aws)
    # Then the query shows the accepted screenshot, kept as checked
    shown = body(get(client, f"/v1/support-queries/{created['id']}", pair.visitor))
    shot = shown["screenshot"]
    assert shot["status"] == "accepted" and shot["content_type"] == "image/png" and shot["size"] == len(PNG)
    assert keys(s3) == [f"stored/{key}"] and content(s3, f"stored/{key}") == PNG
    assert f"stored/{key}" in shot["download_url"] and shot["expires_in"] == 300

    # When support finds it among the open queries about exchanges
    listed = body(get(client, "/v1/support-queries?status=open&category=exchange", support))["items"]
    assert [q["id"] for q in listed] == [created["id"]]
    assert listed[0]["actions"] == ["answer", "close"]
    assert listed[0]["screenshot"]["status"] == "accepted" and listed[0]["screenshot"]["download_url"] is None
    # and opens the exchange it names: read-only (support signs, reviews and decides nothing)
    opened = get(client, f"/v1/exchanges/{listed[0]['exchange_id']}", support)
    assert opened.status_code == 200 and body(opened)["reference"] == reference
    assert set(body(opened)["actions"]) <= {"cancel"}
    assert get(client, f"/v1/exchanges/{exchange_id}/documents", support).status_code == 200
    edit = client.http.patch(
        f"/v1/exchanges/{exchange_id}",
        headers=test_exchanges.auth(support),
        body=json.dumps({"expected_outcomes": "Support's words"}),
    )
    assert edit.status_code == 403
    # and answers it
    answered = post(
        client,
        f"/v1/support-queries/{created['id']}/reply",
        support,
        {"message": "Fixed: the dates now read 12 to 16 April.", "version": listed[0]["version"]},
    )
    # Then it is answered, the answer kept with who and when
    assert answered.status_code == 200, answered.body
    reply = body(answered)["replies"]
    assert body(answered)["status"] == "answered"
    assert [(r["n"], r["author"], r["message"]) for r in reply] == [
        (1, "support", "Fixed: the dates now read 12 to 16 April.")
    ]
    assert reply[0]["by"] and reply[0]["at"]
    # And the asker gets exactly one mail with the answer, however often the outbox's stream is replayed
    run_effects(aws)
    run_effects(aws)
    [(_, subject, text)] = answer_mails(mailer)
    assert subject == f"ClusterXchange: the support office answered your question about {reference}"
    assert "Fixed: the dates now read 12 to 16 April." in text
    assert f"/support-queries/{created['id']}" in text
    # And the asker sees the answer, not which officer wrote it
    seen = body(get(client, f"/v1/support-queries/{created['id']}", pair.visitor))
    assert seen["status"] == "answered" and seen["replies"][0].get("by") is None
    assert seen["actions"] == ["follow_up", "close"]
    # And the trail records each step, by whom, without personal data
    trail = entries_for(f"support-query#{created['id']}")
    assert [e["action"] for e in trail] == [
        "support_query.asked",
        "screenshot.accepted",
        "support_query.answer",
    ]
    assert "ada@acme.example" not in json.dumps(trail)


def test_the_answer_is_mailed_once_when_delivered_again_and_when_the_send_fails_once(
    client, pair, aws, support, install_ports
):
    flaky = FailingOnceMailer()
    install_ports(mailer=flaky)
    query = asked(client, pair.visitor, message="Where is my lump sum?", category="payment")
    path = f"/v1/support-queries/{query['id']}"
    # Given support's answer, and the mail channel down when the stream delivers it
    assert post(client, f"{path}/reply", support, {"message": "It is on its way."}).status_code == 200
    stream = stream_event(aws.stream_arns["outbox"])
    assert app_module.deliver_effects(stream, None) == {"batchItemFailures": []}
    [item] = [m for m in OutboxModel.by_queue.query("pending") if m.effect == "tell_support_answered"]
    assert item.attempts == 1 and "mail channel unavailable" in item.last_error
    assert answer_mails(flaky) == []
    # When the schedule re-drives it after its backoff, and again later
    assert effects.redrive(_later(hours=2)) == 1
    assert effects.redrive(_later(hours=4)) == 0
    run_effects(aws)
    # Then the asker got it once
    assert [(to, "It is on its way." in text) for to, _, text in answer_mails(flaky)] == [
        ("ada@acme.example", True)
    ]
    # And a delivery that died after sending, before recording it, sends nothing when it is done again
    done = outbox.get(item.id)
    assert done is not None and done.queue is None
    service.deliver_answered(done)
    assert len(answer_mails(flaky)) == 1


def test_each_answer_is_mailed_once_and_a_follow_up_reopens_the_query(client, pair, aws, support, mailer):
    query = asked(client, pair.visitor, message="How do I find a host in Portugal?", category="matching")
    path = f"/v1/support-queries/{query['id']}"
    # Given an answer, the asker writing back, and a second answer
    post(client, f"{path}/reply", support, {"message": "Filter the catalogue by country."})
    followed = body(post(client, f"{path}/reply", pair.visitor, {"message": "Which filter?"}))
    assert followed["status"] == "open"
    assert [r["author"] for r in followed["replies"]] == ["support", "asker"]
    post(client, f"{path}/reply", support, {"message": "The country filter, PT."})
    # When the outbox is delivered (and replayed)
    run_effects(aws)
    run_effects(aws)
    # Then each answer reached the asker once, and only its own words: the follow-up mailed nobody
    texts = [text for _, _, text in answer_mails(mailer)]
    assert len(texts) == 2 and len([m for m in mailer.sent if "support" in m[1]]) == 2
    assert "Filter the catalogue by country." in texts[0] and "The country filter, PT." not in texts[0]
    assert "The country filter, PT." in texts[1]
    # And the asker closes it: closed is final
    closed = body(post(client, f"{path}/close", pair.visitor))
    assert closed["status"] == "closed" and closed["actions"] == []
    again = post(client, f"{path}/reply", support, {"message": "One more thing."})
    assert again.status_code == 409 and body(again)["error"]["code"] == "INVALID_STATUS"


# --- who sees and does what ---------------------------------------------------------------------------


def test_another_users_query_is_not_found_and_not_listed(client, pair, token, support):
    # Given the visitor's query
    query = asked(client, pair.visitor, message="My registration is stuck.", category="registration")
    path = f"/v1/support-queries/{query['id']}"
    # When the host (another participant) and a partnership officer look for it or act on it
    for tok in (pair.host, pair.vop):
        # Then it does not exist for them
        for response in (
            get(client, path, tok),
            post(client, f"{path}/reply", tok, {"message": "Me too."}),
            post(client, f"{path}/close", tok),
        ):
            assert response.status_code == 404 and body(response)["error"]["code"] == "NOT_FOUND"
        assert body(get(client, "/v1/support-queries", tok))["items"] == []
    # And an id never issued is no different
    assert get(client, "/v1/support-queries/sq_" + "0" * 32, support).status_code == 404
    assert get(client, "/v1/support-queries/nonsense", support).status_code == 404


def test_admin_reads_every_query_and_answers_none(client, pair, token):
    admin = token("root@clusterxchange.example", "admin")
    query = asked(client, pair.visitor)
    path = f"/v1/support-queries/{query['id']}"
    assert body(get(client, path, admin))["actions"] == []
    assert [q["id"] for q in body(get(client, "/v1/support-queries", admin))["items"]] == [query["id"]]
    refused = post(client, f"{path}/reply", admin, {"message": "Admin here."})
    assert refused.status_code == 403 and body(refused)["error"]["code"] == "FORBIDDEN"
    assert post(client, f"{path}/close", admin).status_code == 403


def test_a_support_officer_asking_gets_answered_by_another(client, token, support):
    # Given a support officer's own question
    asker = token("new-desk@clusterxchange.example", "support")
    query = asked(client, asker, category="technical", message="The queue page is slow.")
    path = f"/v1/support-queries/{query['id']}"
    assert query["actions"] == ["follow_up", "close"]
    # When they write to it, it is their follow-up, not an answer: nobody answers their own query
    own = body(post(client, f"{path}/reply", asker, {"message": "Only since Monday."}))
    assert own["status"] == "open" and own["replies"][0]["author"] == "asker"
    # Then another officer answers it
    other = body(post(client, f"{path}/reply", support, {"message": "Indexed now."}))
    assert other["status"] == "answered"


def test_a_stale_version_is_a_conflict_with_the_query_as_it_is(client, pair, support):
    query = asked(client, pair.visitor)
    path = f"/v1/support-queries/{query['id']}"
    post(client, f"{path}/reply", pair.visitor, {"message": "Any news?"})
    stale = post(client, f"{path}/reply", support, {"message": "Yes.", "version": query["version"]})
    assert stale.status_code == 409 and body(stale)["error"]["code"] == "VERSION_CONFLICT"
    assert body(stale)["error"]["details"][0]["replies"][0]["message"] == "Any news?"


# --- the reference ------------------------------------------------------------------------------------


def test_a_reference_must_be_of_an_exchange_the_asker_is_party_to(client, pair, exchange, token):
    exchange_id, reference = exchange
    # The VO and HO, and the officers of the VOP and HOP, may quote it
    for tok in (pair.visitor, pair.host, pair.vop, pair.hop):
        assert asked(client, tok, reference=reference)["exchange_id"] == exchange_id
    # Anyone else is refused alike, whether the exchange exists or not
    outsiders = (
        token("someone@example.org"),
        token("officer@clamtex.example", "partnership", "clamtex"),
        token("desk@clusterxchange.example", "support"),
    )
    for tok in outsiders:
        for quoted in (reference, "CXC-2026-999999"):
            refused = ask(client, tok, reference=quoted)
            assert refused.status_code == 422, refused.body
            assert body(refused)["error"]["code"] == "UNKNOWN_REFERENCE"
            assert exchange_id not in refused.body.decode()
    # And what is not a reference at all is bad input
    malformed = ask(client, pair.visitor, reference="CXC-26-1")
    assert malformed.status_code == 400 and body(malformed)["error"]["code"] == "VALIDATION_ERROR"


# --- the screenshot -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("screenshot", "status", "code"),
    [
        ({"content_type": "application/pdf", "size": 1000}, 422, "UNSUPPORTED_FILE_TYPE"),
        ({"content_type": "image/gif", "size": 1000}, 422, "UNSUPPORTED_FILE_TYPE"),
        ({"content_type": "image/png", "size": 10 * 1024 * 1024 + 1}, 413, "FILE_TOO_LARGE"),
        ({"content_type": "image/png", "size": 0}, 400, "VALIDATION_ERROR"),
        ({"content_type": "image/png"}, 400, "VALIDATION_ERROR"),
    ],
)
def test_only_a_png_or_jpeg_screenshot_of_at_most_10_mb_gets_a_form(client, pair, screenshot, status, code):
    refused = ask(client, pair.visitor, screenshot=screenshot)
    assert refused.status_code == status, refused.body
    assert body(refused)["error"]["code"] == code
    # And nothing was asked
    assert body(get(client, "/v1/support-queries", pair.visitor))["items"] == []


def test_a_jpeg_is_accepted_and_a_file_that_is_not_the_image_it_claims_is_rejected(client, pair, aws, s3):
    # Given two questions, one with a real JPEG, one with bytes that only start like a PNG
    good = asked(client, pair.visitor, screenshot={"content_type": "image/jpeg", "size": len(JPEG)})
    bad = asked(client, pair.visitor, screenshot={"content_type": "image/png", "size": 2000})
    upload(good, JPEG, "image/jpeg")
    upload(bad, sample_files.PNG_THEN_GARBAGE)
    # When the checks run
    deliver(aws)
    # Then
    kept = body(get(client, f"/v1/support-queries/{good['id']}", pair.visitor))["screenshot"]
    assert kept["status"] == "accepted" and kept["content_type"] == "image/jpeg"
    refused = body(get(client, f"/v1/support-queries/{bad['id']}", pair.visitor))["screenshot"]
    assert refused["status"] == "rejected" and refused["reason"].startswith("not a readable PNG")
    assert "download_url" not in refused or refused["download_url"] is None
    assert keys(s3) == [f"stored/{good['upload']['fields']['key']}"]


def test_a_screenshot_arriving_after_the_query_was_closed_is_removed(client, pair, aws, s3):
    query = asked(client, pair.visitor, screenshot={"content_type": "image/png", "size": len(PNG)})
    assert post(client, f"/v1/support-queries/{query['id']}/close", pair.visitor).status_code == 200
    upload(query, PNG)
    deliver(aws)
    assert keys(s3) == []
    shown = body(get(client, f"/v1/support-queries/{query['id']}", pair.visitor))["screenshot"]
    assert shown["status"] == "awaiting_upload"
    assert "screenshot.discarded.not_granted" in [
        e["action"] for e in entries_for(f"support-query#{query['id']}")
    ]


# --- lists --------------------------------------------------------------------------------------------


def test_support_lists_every_query_newest_first_by_status_and_category_page_by_page(
    client, pair, support, token
):
    # Given queries of two askers, one answered
    made = [
        asked(client, tok, category=category, message=f"Question {n}")
        for n, (tok, category) in enumerate(
            [
                (pair.visitor, "general"),
                (pair.host, "technical"),
                (pair.visitor, "technical"),
                (pair.host, "general"),
                (pair.visitor, "technical"),
            ]
        )
    ]
    post(client, f"/v1/support-queries/{made[2]['id']}/reply", support, {"message": "Done."})
    ids = [q["id"] for q in made]

    def listed(tok, query=""):
        found, cursor = [], None
        while True:
            more = f"&cursor={cursor}" if cursor else ""
            page = body(get(client, f"/v1/support-queries?limit=2{query}{more}", tok))
            found += [q["id"] for q in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                return found

    # Then support sees all, newest first, page by page, and by status and category
    assert listed(support) == ids[::-1]
    assert listed(support, "&status=open") == [ids[4], ids[3], ids[1], ids[0]]
    assert listed(support, "&status=answered") == [ids[2]]
    assert listed(support, "&category=technical") == [ids[4], ids[2], ids[1]]
    assert listed(support, "&status=open&category=technical") == [ids[4], ids[1]]
    # And each asker only its own, with the same filters
    assert listed(pair.visitor) == [ids[4], ids[2], ids[0]]
    assert listed(pair.host, "&category=general") == [ids[3]]
    assert listed(pair.visitor, "&status=answered") == [ids[2]]
    # And a cursor is bound to its list
    first = body(get(client, "/v1/support-queries?limit=2", support))
    wrong = get(client, f"/v1/support-queries?limit=2&status=open&cursor={first['next_cursor']}", support)
    assert wrong.status_code == 400 and body(wrong)["error"]["code"] == "INVALID_CURSOR"
    unknown = get(client, "/v1/support-queries?status=waiting", support)
    assert unknown.status_code == 400


def test_no_personal_data_in_the_logs(client, pair, aws, support, mailer, caplog):
    caplog.set_level(logging.INFO)
    query = asked(client, pair.visitor, message="My e-mail is ada@acme.example, call me.")
    post(client, f"/v1/support-queries/{query['id']}/reply", support, {"message": "Will do."})
    run_effects(aws)
    logged = json.dumps([r.__dict__ for r in caplog.records], default=str)
    assert "ada@acme.example" not in logged and "call me" not in logged


def test_the_askers_export_holds_its_questions_and_nobody_elses(client, pair, token):
    # Given a question of the visitor, and one of a signed-in user without a registration
    query = asked(client, pair.visitor, message="What do you keep about me?")
    newcomer = token("newcomer@example.org")
    theirs = asked(client, newcomer, message="Can I register twice?")
    # Then each one's export (GDPR access) holds its own question, as its asker sees it
    export = body(get(client, "/v1/registrations/me/export", pair.visitor))
    assert [(q["id"], q["message"]) for q in export["support_queries"]] == [
        (query["id"], "What do you keep about me?")
    ]
    assert [
        q["id"] for q in body(get(client, "/v1/registrations/me/export", newcomer))["support_queries"]
    ] == [theirs["id"]]
    assert body(get(client, "/v1/registrations/me/export", pair.host))["support_queries"] == []
