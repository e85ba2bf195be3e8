"""PynamoDB models: the tables' shapes. Only chalicelib.store touches them."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.settings import get_settings

_settings = get_settings()

# The catalogue index is a sparse GSI spread over a few partition keys so that no single key
# takes every accepted registration's writes.
CATALOGUE_SHARDS = 8


def short_name(model: type[Model]) -> str:
    """The table's short name (set by `_meta`; PynamoDB's Meta knows no such field), by which the
    template, the local stack and the settings name it."""
    return str(vars(model.Meta)["short_name"])


def _meta(short: str, **extra: Any) -> Any:  # a Meta class for PynamoDB, made from the settings
    attrs: dict[str, Any] = {
        "table_name": _settings.table_name(short),
        "short_name": short,
        "region": _settings.region,
        "billing_mode": "PAY_PER_REQUEST",
        "connect_timeout_seconds": 3,
        "read_timeout_seconds": 10,
        "max_retry_attempts": 3,
    }
    if _settings.aws_endpoint_url:
        attrs["host"] = _settings.aws_endpoint_url
    attrs.update(extra)
    return type("Meta", (), attrs)


class ByUserIndex(GlobalSecondaryIndex["RegistrationModel"]):
    Meta = _meta("registrations", index_name="by_user", projection=AllProjection())
    user_id = UnicodeAttribute(hash_key=True)


class ByPartnershipIndex(GlobalSecondaryIndex["RegistrationModel"]):
    Meta = _meta("registrations", index_name="by_partnership", projection=AllProjection())
    partnership_id = UnicodeAttribute(hash_key=True)
    queue_key = UnicodeAttribute(range_key=True)


class CatalogueIndex(GlobalSecondaryIndex["RegistrationModel"]):
    # Only what matching and the catalogue need: never the `personal` attribute.
    Meta = _meta(
        "registrations",
        index_name="catalogue",
        projection=IncludeProjection(
            ["user_id", "partnership_id", "status", "roles", "profile", "exchanges", "updated_at"]
        ),
    )
    catalogue_key = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)


class AlumniIndex(GlobalSecondaryIndex["RegistrationModel"]):
    """Sparse: only registrations listed in the alumni directory, by country, then organisation name.
    Projects what an entry shows is read from: never the `personal` attribute."""

    Meta = _meta(
        "registrations",
        index_name="alumni",
        projection=IncludeProjection(["status", "profile", "exchanges", "alumni"]),
    )
    alumni_key = UnicodeAttribute(hash_key=True)
    alumni_sort = UnicodeAttribute(range_key=True)


# The statuses the storage derives sparse-index keys and write conditions from, declared here, by the
# models whose keys they shape, so that the store imports no rules (which own the lifecycles);
# tests/unit/test_storage_statuses.py checks each is the rules' own. Stored keys hold these strings.
REGISTRATION_ACCEPTED = "accepted"  # catalogue_key is set only while a registration is accepted
# A partnership's queue keys start with it while a registration waits for its decision (its reminder).
REGISTRATION_PENDING = "pending"
# alumni_key: set only while a registration has an alumni entry and is accepted (a withdrawal ends both).
ALUMNI_LISTED = "listed"


class RegistrationModel(Model):
    Meta = _meta("registrations", stream_view_type="NEW_AND_OLD_IMAGES")

    id = UnicodeAttribute(hash_key=True)
    user_id = UnicodeAttribute()
    partnership_id = UnicodeAttribute()
    status = UnicodeAttribute()
    queue_key = UnicodeAttribute()  # "<status>#<created_at>": a partnership's queue, oldest first
    catalogue_key = UnicodeAttribute(null=True)  # set only while accepted (sparse index)
    roles = ListAttribute(of=UnicodeAttribute)
    # Public profile (organisation, representative's name and languages, motivation, preferences,
    # hosting) apart from personal data, so indexes can project one without the other.
    profile = JSONAttribute()
    personal = JSONAttribute(null=True)
    cv = JSONAttribute(null=True)
    decision = JSONAttribute(null=True)
    exchanges = JSONAttribute(null=True)
    erased_at = UnicodeAttribute(null=True)
    # The alumni directory entry while its owner opts in: {id, public_contact, created_at, updated_at,
    # version}; what it shows of the organisation is read from the profile, so an edit shows at once.
    alumni = JSONAttribute(null=True)
    alumni_key = UnicodeAttribute(null=True)  # ALUMNI_LISTED while listed (sparse index)
    alumni_sort = UnicodeAttribute(null=True)  # "<country>#<folded name>#<entry id>"
    reminded_at = UnicodeAttribute(null=True)  # the day its partnership was reminded of it (shown)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_user = ByUserIndex()
    by_partnership = ByPartnershipIndex()
    catalogue = CatalogueIndex()
    alumni_directory = AlumniIndex()


class AuditModel(Model):
    """Who did what to which entity, and when. Holds no personal data beyond the actor's user id."""

    Meta = _meta("audit")

    entity = UnicodeAttribute(hash_key=True)  # "<kind>#<id>"
    at_key = UnicodeAttribute(range_key=True)  # "<ISO time>#<random>" keeps entries ordered and unique
    at = UnicodeAttribute()
    actor = UnicodeAttribute()
    actor_role = UnicodeAttribute(null=True)
    action = UnicodeAttribute()
    from_status = UnicodeAttribute(null=True)
    to_status = UnicodeAttribute(null=True)
    fields = ListAttribute(of=UnicodeAttribute, null=True)


class MetaModel(Model):
    """Small bookkeeping items: uniqueness guards, counters, the catalogue index's version.

    No VersionAttribute: these items are written with conditions and atomic counters, never
    read-modify-written.
    """

    Meta = _meta("meta")

    pk = UnicodeAttribute(hash_key=True)
    ref = UnicodeAttribute(null=True)
    # Stored as `count`; named otherwise here, since a model's `count` is PynamoDB's item count.
    tally = NumberAttribute(null=True, attr_name="count")
    built = NumberAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    # The catalogue index's bookkeeping: registrations changed since the last build, the snapshot
    # format the last build wrote, and a full rebuild asked for (the change set outgrew its item).
    changed = UnicodeSetAttribute(null=True)
    built_format = NumberAttribute(null=True)
    rebuild_all = BooleanAttribute(null=True)


class PartnershipModel(Model):
    """The partnerships, created and edited by admins (the seed and the import go the same way); their
    officers are Cognito users whose token names the partnership."""

    Meta = _meta("partnerships")

    # One partition for all: the list is small and read whole, by Query rather than Scan.
    kind = UnicodeAttribute(hash_key=True, default="partnership")
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    ecosystems = ListAttribute(of=UnicodeAttribute)
    countries = ListAttribute(of=UnicodeAttribute)
    # Nullable: items written before partnerships were managed in the product carry none of these.
    contact_points = JSONAttribute(null=True)  # [{"name", "email"}], the first one mailed
    debtor_account = JSONAttribute(null=True)  # {"holder", "iban", "bic"}: what lump sums are paid from
    finance_email = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute(null=True)
    updated_at = UnicodeAttribute(null=True)
    version = VersionAttribute(null=True)


class BySenderIndex(GlobalSecondaryIndex["ContactRequestModel"]):
    Meta = _meta("contact-requests", index_name="by_sender", projection=AllProjection())
    from_registration = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


class ByRecipientIndex(GlobalSecondaryIndex["ContactRequestModel"]):
    Meta = _meta("contact-requests", index_name="by_recipient", projection=AllProjection())
    to_registration = UnicodeAttribute(hash_key=True)
    created_at = UnicodeAttribute(range_key=True)


CONTACT_REQUEST_PENDING = "pending"  # a request is open (its pair guard and sender's slot held) while so


class ContactRequestModel(Model):
    # No stream: what a request causes is written with it (the outbox), and nothing reads its images.
    Meta = _meta("contact-requests")

    id = UnicodeAttribute(hash_key=True)
    from_registration = UnicodeAttribute()
    to_registration = UnicodeAttribute()
    from_user = UnicodeAttribute()
    to_user = UnicodeAttribute()
    status = UnicodeAttribute()
    message = UnicodeAttribute()
    reason = UnicodeAttribute(null=True)
    # Public summaries of both sides (organisation name and country) so lists need no extra reads.
    from_summary = JSONAttribute(null=True)
    to_summary = JSONAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_sender = BySenderIndex()
    by_recipient = ByRecipientIndex()


class _ExchangeIndex(GlobalSecondaryIndex["ExchangeModel"]):
    """An exchange list of one party (or of everyone), newest first."""

    created_at = UnicodeAttribute(range_key=True)


def _exchange_index(name: str, hash_key: str) -> type[_ExchangeIndex]:
    attrs = {
        "Meta": _meta("exchanges", index_name=name, projection=AllProjection()),
        hash_key: UnicodeAttribute(hash_key=True),
    }
    return type(f"Exchanges{name.title().replace('_', '')}Index", (_ExchangeIndex,), attrs)


# An exchange in one of these may have a reminder to come (its `remind_on`); in any other it has none.
EXCHANGE_REMINDED = frozenset({"validated", "signed", "ready", "completed"})


class ExchangesDueIndex(GlobalSecondaryIndex["ExchangeModel"]):
    """Sparse: only exchanges waiting for a date, by the first to come: a step (ready: the start; in
    progress: the day after the end) or a reminder (`remind_on`)."""

    Meta = _meta("exchanges", index_name="due", projection=IncludeProjection(["status"]))
    due = UnicodeAttribute(hash_key=True)
    due_on = UnicodeAttribute(range_key=True)


class ExchangesByReferenceIndex(GlobalSecondaryIndex["ExchangeModel"]):
    """An exchange found by its reference (CXC-2027-000123), as participants quote it (support queries)."""

    Meta = _meta("exchanges", index_name="by_reference", projection=KeysOnlyProjection())
    reference = UnicodeAttribute(hash_key=True)


class ExchangeModel(Model):
    """An exchange from its draft to its payment: the four parties, the Commitment to Quality's agreed
    fields, the VO's bank account, and who has acted on the current collective step."""

    Meta = _meta("exchanges", stream_view_type="NEW_AND_OLD_IMAGES")

    id = UnicodeAttribute(hash_key=True)
    reference = UnicodeAttribute()
    kind = UnicodeAttribute(default="exchange")  # one partition key for support's and admin's list
    status = UnicodeAttribute()
    visitor_user = UnicodeAttribute()
    host_user = UnicodeAttribute()
    vop = UnicodeAttribute()
    hop = UnicodeAttribute()
    contact_request_id = UnicodeAttribute(null=True)
    parties = JSONAttribute()  # summaries: visitor, host, visitor_partnership, host_partnership
    agreement = JSONAttribute()  # dates, travel days, mode, objectives, activities, plan, outcomes...
    schedule = JSONAttribute()  # working_days, skipped_holidays, warnings (worked out from agreement)
    bank_account = JSONAttribute(null=True)  # never in an index: only VO, VOP, finance and admin see it
    acted = JSONAttribute(null=True)  # {action: [parties]} on the current status's collective steps
    notes = JSONAttribute(null=True)  # the last review comment, cancellation reason...
    validated_at = UnicodeAttribute(null=True)
    # What the lump sum depends on, fixed at validation (rules.agreed): registrations edited later do
    # not reach it; an extension amends its dates.
    agreed = JSONAttribute(null=True)
    # {kind: [{version, sha256, size, key, generated_at}]}: every version ever generated, oldest first
    documents = JSONAttribute(null=True)
    # [{document, version, sha256, party, by, at}]: every signature ever given, never removed
    signatures = JSONAttribute(null=True)
    extension = JSONAttribute(null=True)  # the last extension asked for and its decision
    report = JSONAttribute(null=True)  # the VO's closing report
    host_feedback = JSONAttribute(null=True)  # the HO's feedback (optional)
    uploads = JSONAttribute(null=True)  # {upload id: signed scan or evidence grant and its verdict}
    due = UnicodeAttribute(null=True)  # "date" while a date-driven step or reminder is to come (sparse)
    due_on = UnicodeAttribute(null=True)
    remind_on = UnicodeAttribute(null=True)  # the day the current condition's reminder falls due
    reminded_at = UnicodeAttribute(null=True)  # the day the last reminder to act was sent (shown)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_visitor_user = _exchange_index("by_visitor_user", "visitor_user")()
    by_host_user = _exchange_index("by_host_user", "host_user")()
    by_vop = _exchange_index("by_vop", "vop")()
    by_hop = _exchange_index("by_hop", "hop")()
    every = _exchange_index("every", "kind")()
    by_due = ExchangesDueIndex()
    by_reference = ExchangesByReferenceIndex()


class _PaymentIndex(GlobalSecondaryIndex["PaymentModel"]):
    created_at = UnicodeAttribute(range_key=True)


class PaymentsByPartnershipIndex(_PaymentIndex):
    """A partnership's payments (the VOP pays), newest first."""

    Meta = _meta("payments", index_name="by_vop", projection=AllProjection())
    vop = UnicodeAttribute(hash_key=True)


class EveryPaymentIndex(_PaymentIndex):
    Meta = _meta("payments", index_name="every", projection=AllProjection())
    kind = UnicodeAttribute(hash_key=True)


# Not paid yet: a payment in one of these is in the `open` index (the overdue check's).
PAYMENT_OPEN = frozenset({"calculated", "instructed", "failed"})


class OpenPaymentsIndex(GlobalSecondaryIndex["PaymentModel"]):
    """Sparse: only payments not yet paid, by the day they are due (the overdue check reads it)."""

    Meta = _meta("payments", index_name="open", projection=IncludeProjection(["status", "overdue_since"]))
    open = UnicodeAttribute(hash_key=True)
    due_by = UnicodeAttribute(range_key=True)


class PaymentModel(Model):
    """One exchange's lump sum, from its computation to the bank's execution. Its id is derived from the
    exchange's, so a conditional put makes one payment per exchange, ever."""

    # Old and new images: the statistics count each change of a payment (paid, overdue) from its stream.
    Meta = _meta("payments", stream_view_type="NEW_AND_OLD_IMAGES")

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="payment")
    exchange_id = UnicodeAttribute()
    reference = UnicodeAttribute()  # the exchange's, e.g. CXC-2027-000123
    vop = UnicodeAttribute()
    visitor_user = UnicodeAttribute(null=True)  # the VO's user: who may read it, without the exchange
    status = UnicodeAttribute()
    amount_eur = NumberAttribute()
    breakdown = JSONAttribute()
    creditor = JSONAttribute(null=True)  # the VO's account from the financial agreement
    due_by = UnicodeAttribute()
    open = UnicodeAttribute(null=True)  # "open" until paid (sparse index)
    # The day the scheduled check found it unpaid past its due date; kept once paid. Whether it is
    # overdue now is not stored: it follows from its status and due date.
    overdue_since = UnicodeAttribute(null=True)
    reminded_at = UnicodeAttribute(null=True)  # the day finance was told it is overdue (shown)
    transfer_reference = UnicodeAttribute(null=True)
    transfer_key = UnicodeAttribute(null=True)
    bank_reference = UnicodeAttribute(null=True)
    paid_at = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    # The instruction's round: 1, and one more each time finance puts a failed payment back. Messages and
    # their idempotency records are keyed by it, so a retry is a new attempt, never an old cached answer.
    round = NumberAttribute(default=1)
    failure_reason = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_vop = PaymentsByPartnershipIndex()
    every = EveryPaymentIndex()
    open_by_due = OpenPaymentsIndex()


class LedgerModel(Model):
    """Transfers booked, one per payment (a conditional put on the payment id): what left which account."""

    Meta = _meta("ledger")

    payment_id = UnicodeAttribute(hash_key=True)
    transfer_reference = UnicodeAttribute()
    exchange_reference = UnicodeAttribute()
    amount_eur = NumberAttribute()
    debtor_iban = UnicodeAttribute()
    creditor_iban = UnicodeAttribute()
    transfer_key = UnicodeAttribute()
    booked_at = UnicodeAttribute()


class IdempotencyModel(Model):
    """Powertools idempotency's records (the finance function's): declared here so the table is made
    with the others; only Powertools reads and writes it."""

    Meta = _meta("idempotency")

    id = UnicodeAttribute(hash_key=True)
    # Powertools writes the record's expiry here; as the table's TTL, DynamoDB deletes expired records.
    expiration = TTLAttribute(null=True)


class OutboxDueIndex(GlobalSecondaryIndex["OutboxModel"]):
    """Sparse: only effects not yet delivered (`pending`) or given up on (`stuck`), by when they are next
    due: the schedule re-drives the pending ones that are due, support lists the stuck ones."""

    Meta = _meta("outbox", index_name="by_queue", projection=AllProjection())
    queue = UnicodeAttribute(hash_key=True)
    next_at = UnicodeAttribute(range_key=True)


class OutboxModel(Model):
    """What committed changes cause (a mail, a queue message, rendering, a payment), written in the same
    transaction as the change and delivered from here by one dispatcher. Its id names the object, the
    version the change wrote and the effect, so the same change can never stage an effect twice."""

    Meta = _meta("outbox", stream_view_type="NEW_IMAGE")

    id = UnicodeAttribute(hash_key=True)  # "<subject>:<version>:<effect>"
    effect = UnicodeAttribute()
    subject = UnicodeAttribute()  # "<kind>:<object id>"
    subject_version = NumberAttribute()
    args = JSONAttribute(null=True)
    queue = UnicodeAttribute(null=True)  # "pending" | "stuck"; absent once delivered (sparse index)
    next_at = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    lease = UnicodeAttribute(null=True)  # the delivery holding it now, until `lease_until`
    lease_until = UnicodeAttribute(null=True)
    last_error = UnicodeAttribute(null=True)
    done_at = UnicodeAttribute(null=True)
    # The table's TTL: a delivered item is kept DONE_KEPT_FOR (chalicelib.store.outbox) for support to
    # read, then DynamoDB deletes it. Never set on a pending or stuck item.
    expires_at = TTLAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()

    by_queue = OutboxDueIndex()


class DigestIndex(GlobalSecondaryIndex["PreferenceModel"]):
    """Sparse: only the addresses that chose the daily digest, by the partnership it lists."""

    Meta = _meta("preferences", index_name="digest", projection=AllProjection())
    digest_partnership = UnicodeAttribute(hash_key=True)


class PreferenceModel(Model):
    """What an address chooses to receive (GET/PATCH /v1/me/notifications): keyed by the address, since
    that is what a message goes to. No item: everything, one mail per event."""

    Meta = _meta("preferences")

    address = UnicodeAttribute(hash_key=True)  # lower-cased
    user_id = UnicodeAttribute()  # who chose (the address's signed-in owner)
    optional = BooleanAttribute(default=True)  # the non-essential messages
    digest = UnicodeAttribute(default="none")  # "none" | "daily"
    # The partnership whose digest the address gets, only while it chose it (the sparse index).
    digest_partnership = UnicodeAttribute(null=True)
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_digest = DigestIndex()


class SupportQueryIndex(GlobalSecondaryIndex["SupportQueryModel"]):
    """A list of support queries, newest first."""

    created_at = UnicodeAttribute(range_key=True)


class SupportQueriesByAskerIndex(SupportQueryIndex):
    Meta = _meta("support-queries", index_name="by_asker", projection=AllProjection())
    asker_user = UnicodeAttribute(hash_key=True)


class SupportQueriesByStatusIndex(SupportQueryIndex):
    """Support's queue: one partition per status, so the open queries are read without the closed ones."""

    Meta = _meta("support-queries", index_name="by_status", projection=AllProjection())
    status = UnicodeAttribute(hash_key=True)


class EverySupportQueryIndex(SupportQueryIndex):
    Meta = _meta("support-queries", index_name="every", projection=AllProjection())
    kind = UnicodeAttribute(hash_key=True)


class SupportQueryModel(Model):
    """A question to the support office, its answers and the asker's follow-ups, and its screenshot. The
    asker's address is the one their token named when they asked: the answers are mailed there."""

    # No stream: what an answer causes is written with it (the outbox).
    Meta = _meta("support-queries")

    id = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute(default="support-query")  # one partition key for support's list of all
    asker_user = UnicodeAttribute()
    asker_email = UnicodeAttribute(null=True)
    asker_roles = ListAttribute(of=UnicodeAttribute, null=True)
    category = UnicodeAttribute()
    status = UnicodeAttribute()
    message = UnicodeAttribute()
    reference = UnicodeAttribute(null=True)  # the exchange's, as the asker quoted it
    exchange_id = UnicodeAttribute(null=True)
    screenshot = JSONAttribute(null=True)  # the upload's grant and verdict (services.support_queries)
    replies = JSONAttribute(null=True)  # [{n, author, by, at, message}], oldest first, never removed
    created_at = UnicodeAttribute()
    updated_at = UnicodeAttribute()
    version = VersionAttribute()

    by_asker = SupportQueriesByAskerIndex()
    by_status = SupportQueriesByStatusIndex()
    every = EverySupportQueryIndex()


class StatisticsModel(Model):
    """The statistics' counter items (one per scope: the programme, each partnership), each counter a
    number attribute of its own moved with ADD by the counting function (its names are the rules', so
    they are not declared here); and the markers of the stream records counted, which expire.
    chalicelib.store.statistics reads and writes them."""

    Meta = _meta("statistics")

    pk = UnicodeAttribute(hash_key=True)  # "stats#all", "stats#partnership#<id>", "counted#..."
    updated_at = UnicodeAttribute(null=True)
    # The table's TTL: set on markers only (a few days, longer than a stream keeps a record).
    expires_at = TTLAttribute(null=True)


ALL_MODELS: tuple[type[Model], ...] = (
    RegistrationModel,
    AuditModel,
    MetaModel,
    PartnershipModel,
    ContactRequestModel,
    ExchangeModel,
    PaymentModel,
    LedgerModel,
    IdempotencyModel,
    OutboxModel,
    PreferenceModel,
    SupportQueryModel,
    StatisticsModel,
)
