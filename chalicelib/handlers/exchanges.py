"""Routes: exchanges from the draft to `ready` (create, read, list, edit, confirm, review, cancel,
history). Shapes only: the use cases are in services.exchanges."""

from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field

from chalicelib.handlers.http import (
    Api,
    ApiModel,
    Call,
    Day,
    ListQuery,
    StrictModel,
    Versioned,
    omittable,
    text,
    whole,
)
from chalicelib.lazy import lazy
from chalicelib.rules.exchange_flow import ExchangeStatus

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import agreements, closing, exchange_uploads
    from chalicelib.services import exchange_drafts as drafts
    from chalicelib.services import exchanges as service
else:
    agreements = lazy("chalicelib.services.agreements")
    closing = lazy("chalicelib.services.closing")
    drafts = lazy("chalicelib.services.exchange_drafts")
    exchange_uploads = lazy("chalicelib.services.exchange_uploads")
    service = lazy("chalicelib.services.exchanges")

# `type: ignore[valid-type]` on fields: their constrained types are built by http.text()/whole(), a
# call the checker cannot read as a type; pydantic validates them, and the API tests check them.
api = Api(__name__, tag="exchanges")

Code = text(64)
DocumentKind = Literal["commitment_to_quality", "financial_agreement"]  # the generated agreements
TravelDays = whole(ge=0, le=2)


class PlanItem(StrictModel):
    date: Day
    description: text(2000)  # type: ignore[valid-type]


class Responsibilities(StrictModel):
    visitor: text(5000)  # type: ignore[valid-type]
    host: text(5000)  # type: ignore[valid-type]


class BankAccountIn(StrictModel):
    holder: text(200)  # type: ignore[valid-type]
    iban: text(64)  # type: ignore[valid-type]
    bic: text(11, min_length=0) | None = None  # type: ignore[valid-type]


# The contract's own example (API.md): the served document shows it, the tests send it.
EXCHANGE_EXAMPLE: dict[str, Any] = {
    "contact_request_id": "cr_0123456789abcdef0123456789abcdef",
    "start_date": "2027-04-12",
    "end_date": "2027-04-16",
    "travel_days_before": 1,
    "travel_days_after": 1,
    "mode": "physical",
    "objectives": ["technology_uptake"],
    "activities": ["study_visit", "networking"],
    "activity_plan": [{"date": "2027-04-12", "description": "Lab tour and introductions"}],
    "expected_outcomes": "A pilot of smart-grid sensors in Padova.",
    "responsibilities": {"visitor": "Travel and a report", "host": "Lab access and a mentor"},
}


class ExchangeIn(StrictModel):
    """A draft: from an accepted contact request, or (the visitor's partnership) between two accepted
    participants who agreed outside the tool: `contact_request_id`, or both registration ids
    (422 EXCHANGE_SOURCE_REQUIRED otherwise)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXCHANGE_EXAMPLE]})

    contact_request_id: str | None = Field(None, pattern=r"^cr_[0-9a-f]{32}$")
    visitor_registration_id: str | None = Field(None, pattern=r"^reg_[0-9a-f]{32}$")
    host_registration_id: str | None = Field(None, pattern=r"^reg_[0-9a-f]{32}$")
    start_date: Day
    end_date: Day
    travel_days_before: TravelDays = 0  # type: ignore[valid-type]
    travel_days_after: TravelDays = 0  # type: ignore[valid-type]
    mode: Literal["physical", "virtual"] = "physical"
    objectives: list[Code] = Field(min_length=1, max_length=5)  # type: ignore[valid-type]
    activities: list[Code] = Field(default_factory=list, max_length=7)  # type: ignore[valid-type]
    activity_plan: list[PlanItem] = Field(default_factory=list, max_length=40)
    expected_outcomes: text(5000)  # type: ignore[valid-type]
    responsibilities: Responsibilities

    def source(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json", include={"contact_request_id", "visitor_registration_id", "host_registration_id"}
        )

    def agreement(self) -> dict[str, Any]:
        return self.model_dump(
            mode="json", exclude={"contact_request_id", "visitor_registration_id", "host_registration_id"}
        )


class ExchangePatch(Versioned):
    """Fields left out stay as they are; lists and the plan are replaced whole."""

    start_date: Day = omittable()
    end_date: Day = omittable()
    travel_days_before: TravelDays = omittable()  # type: ignore[valid-type]
    travel_days_after: TravelDays = omittable()  # type: ignore[valid-type]
    mode: Literal["physical", "virtual"] = omittable()
    objectives: list[Code] = omittable(min_length=1, max_length=5)  # type: ignore[valid-type]
    activities: list[Code] = omittable(max_length=7)  # type: ignore[valid-type]
    activity_plan: list[PlanItem] = omittable(max_length=40)
    expected_outcomes: text(5000) = omittable()  # type: ignore[valid-type]
    responsibilities: Responsibilities = omittable()
    bank_account: BankAccountIn | None = Field(None, description="The VO's account for the lump sum")

    def changes(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True, exclude={"version"})


class Confirm(Versioned):
    """A confirmation needs nothing but, optionally, the version read."""


class ReviewIn(Versioned):
    decision: Literal["approve", "request_changes"]
    comment: text(2000, min_length=0) | None = Field(  # type: ignore[valid-type]
        None, description="Required when requesting changes"
    )


class CancelIn(Versioned):
    reason: text(2000)  # type: ignore[valid-type]


class ExtensionIn(Versioned):
    end_date: Day = Field(description="The new last day at the host (after the agreed one)")
    reason: text(2000)  # type: ignore[valid-type]


class ExtensionDecisionIn(Versioned):
    decision: Literal["grant", "refuse"]
    comment: text(2000, min_length=0) | None = Field(  # type: ignore[valid-type]
        None, description="Required when refusing"
    )


class ExchangeQuery(ListQuery):
    status: ExchangeStatus | None = None


# --- responses --------------------------------------------------------------------------------------


class PartyOut(ApiModel):
    registration_id: str
    organisation_name: str | None = None
    country: str | None = None
    city: str | None = None
    representative_name: str | None = None


class PartnershipRef(ApiModel):
    """A party's partnership as an exchange names it (the full one is reference.PartnershipOut)."""

    id: str
    name: str


class HolidayOut(ApiModel):
    date: str
    name: str


class WarningOut(ApiModel):
    code: str
    message: str


class PlanItemOut(ApiModel):
    date: str
    description: str


class ResponsibilitiesOut(ApiModel):
    visitor: str
    host: str


class BankAccountOut(ApiModel):
    holder: str
    iban: str
    bic: str | None = None


class ExtensionOut(ApiModel):
    status: Literal["requested", "granted", "refused"]
    end_date: str
    from_end_date: str
    reason: str
    requested_by: list[str]
    requested_at: str
    decided_at: str | None = None
    comment: str | None = None


class ReportOut(ApiModel):
    activities_done: str
    outcomes: str
    follow_up: str
    rating: int
    submitted_at: str
    decision: Literal["approve", "reject"] | None = None
    comment: str | None = None
    decided_at: str | None = None


class HostFeedbackOut(ApiModel):
    comment: str
    rating: int | None = None
    given_at: str


class ExchangeOut(ApiModel):
    id: str
    reference: str
    status: ExchangeStatus
    contact_request_id: str | None = None
    visitor: PartyOut
    host: PartyOut
    visitor_partnership: PartnershipRef
    host_partnership: PartnershipRef
    start_date: str
    end_date: str
    travel_days_before: int
    travel_days_after: int
    mode: Literal["physical", "virtual"]
    objectives: list[str]
    activities: list[str]
    activity_plan: list[PlanItemOut]
    expected_outcomes: str
    responsibilities: ResponsibilitiesOut
    working_days: int
    skipped_holidays: list[HolidayOut]
    warnings: list[WarningOut]
    bank_account: BankAccountOut | None = Field(
        None, description="Shown to the VO, the VOP, finance and admin"
    )
    confirmations: dict[str, list[str]] = Field(description="Who has taken each collective step so far")
    notes: dict[str, str] = {}
    extension: ExtensionOut | None = Field(None, description="The last extension asked for, and its decision")
    report: ReportOut | None = Field(None, description="The VO's closing report and the VOP's decision")
    host_feedback: HostFeedbackOut | None = None
    reminded_at: str | None = Field(
        None,
        description="The day of the last reminder to act: signatures outstanding 7 days, or the closing "
        "report not filed 14 days after the end date",
    )
    actions: list[str] = Field(description="What the caller may do now (the flow table's answer)")
    created_at: str
    updated_at: str
    version: int


class ExchangeList(ApiModel):
    items: list[ExchangeOut]
    next_cursor: str | None = None


class HistoryEntry(ApiModel):
    at: str
    actor: str
    actor_role: str | None
    action: str
    from_status: str | None
    to_status: str | None
    fields: list[str]


class History(ApiModel):
    items: list[HistoryEntry]
    next_cursor: str | None = None


def _out(doc: dict[str, Any]) -> ExchangeOut:
    return ExchangeOut.model_validate(doc)


# --- routes -----------------------------------------------------------------------------------------


@api.route(
    "/v1/exchanges",
    "POST",
    summary="Start an exchange's draft (a participant of an accepted contact request, or the VOP)",
    roles=("participant", "partnership"),
    status=201,
)
def create_exchange(call: Call, body: ExchangeIn) -> ExchangeOut:
    return _out(drafts.create(call.user, body.agreement(), body.source(), call.idempotency_key))


@api.route("/v1/exchanges", summary="The caller's exchanges, newest first")
def list_exchanges(call: Call, query: ExchangeQuery) -> ExchangeList:
    status = str(query.status) if query.status else None
    items, next_cursor = service.list_for(call.user, status, query.limit, query.cursor)
    return ExchangeList(items=[_out(doc) for doc in items], next_cursor=next_cursor)


@api.route("/v1/exchanges/{exchange_id}", summary="An exchange, with the caller's allowed actions")
def get_exchange(call: Call, exchange_id: str) -> ExchangeOut:
    return _out(service.get(call.user, exchange_id))


@api.route(
    "/v1/exchanges/{exchange_id}",
    "PATCH",
    summary="Edit a draft (either participant; the bank account: the VO)",
)
def update_exchange(call: Call, exchange_id: str, body: ExchangePatch) -> ExchangeOut:
    return _out(service.edit(call.user, exchange_id, body.changes(), body.version))


@api.route(
    "/v1/exchanges/{exchange_id}/submit",
    "POST",
    summary="Confirm the draft (each participant; the second confirmation submits it)",
)
def submit_exchange(call: Call, exchange_id: str, body: Confirm) -> ExchangeOut:
    return _out(service.submit(call.user, exchange_id, body.version))


@api.route(
    "/v1/exchanges/{exchange_id}/review",
    "POST",
    summary="Approve or request changes (VOP and HOP; both approvals validate it)",
)
def review_exchange(call: Call, exchange_id: str, body: ReviewIn) -> ExchangeOut:
    return _out(service.review(call.user, exchange_id, body.decision, body.comment, body.version))


@api.route("/v1/exchanges/{exchange_id}/cancel", "POST", summary="Cancel before the stay starts")
def cancel_exchange(call: Call, exchange_id: str, body: CancelIn) -> ExchangeOut:
    return _out(service.cancel(call.user, exchange_id, body.reason, body.version))


@api.route(
    "/v1/exchanges/{exchange_id}/extension",
    "POST",
    summary="Ask for a later end date (VO or HO, validated to ready; the VOP decides)",
)
def request_extension(call: Call, exchange_id: str, body: ExtensionIn) -> ExchangeOut:
    return _out(
        service.request_extension(
            call.user, exchange_id, body.end_date.isoformat(), body.reason, body.version
        )
    )


@api.route(
    "/v1/exchanges/{exchange_id}/extension/decision",
    "POST",
    summary="Grant or refuse the extension asked for (VOP); granted, the documents are signed again",
)
def decide_extension(call: Call, exchange_id: str, body: ExtensionDecisionIn) -> ExchangeOut:
    return _out(service.decide_extension(call.user, exchange_id, body.decision, body.comment, body.version))


@api.route("/v1/exchanges/{exchange_id}/history", summary="The exchange's audit trail, oldest first")
def exchange_history(call: Call, exchange_id: str) -> History:
    return History(items=[HistoryEntry.model_validate(e) for e in service.history(call.user, exchange_id)])


class SignatureIn(StrictModel):
    document: DocumentKind
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="The SHA-256 of the exact version signed")


class SignatureOut(ApiModel):
    party: str
    at: str
    sha256: str
    scan: str | None = Field(None, description="The upload id when given as a signed scan")


class DocumentOut(ApiModel):
    """A version of a generated agreement, or an uploaded file (`id`, `status`; a signed scan names the
    `document` and `version` it signs and whether it `counted` as its parties' signature)."""

    kind: Literal["commitment_to_quality", "financial_agreement", "signed_scan", "evidence"]
    version: int | None = None
    sha256: str | None = None
    size: int | None = None
    uploaded_at: str
    signatures: list[SignatureOut] = []
    current: bool | None = Field(None, description="The version to sign now (generated agreements)")
    changed_fields: list[str] = Field([], description="The fields this version changed from the one before")
    id: str | None = None
    status: Literal["awaiting_upload", "accepted", "rejected"] | None = None
    filename: str | None = None
    document: DocumentKind | None = None
    reason: str | None = None
    counted: bool | None = None


class DocumentList(ApiModel):
    items: list[DocumentOut]
    next_cursor: str | None = None


class DocumentLink(ApiModel):
    url: str
    expires_in: int
    sha256: str


@api.route("/v1/exchanges/{exchange_id}/documents", summary="Every version of the exchange's documents")
def list_exchange_documents(call: Call, exchange_id: str) -> DocumentList:
    return DocumentList(
        items=[DocumentOut.model_validate(d) for d in agreements.listing(call.user, exchange_id)]
    )


class DocumentQuery(StrictModel):
    id: str | None = Field(None, pattern=r"^upl_[0-9a-f]{32}$", description="An upload (default: the latest)")


@api.route(
    "/v1/exchanges/{exchange_id}/documents/{kind}",
    summary="A short-lived link to the current version of a document or an accepted upload (parties; "
    "the financial agreement and its scans: not the host side)",
)
def get_exchange_document(call: Call, exchange_id: str, kind: str, query: DocumentQuery) -> DocumentLink:
    return DocumentLink.model_validate(agreements.download(call.user, exchange_id, kind, query.id))


class UploadIn(StrictModel):
    kind: Literal["signed_scan", "evidence"]
    document: DocumentKind | None = Field(None, description="The document a signed scan signs")
    filename: text(255)  # type: ignore[valid-type]
    content_type: text(100)  # type: ignore[valid-type]
    size: whole(ge=1) = Field(description="Bytes; at most 10 MB")  # type: ignore[valid-type]


class UploadForm(ApiModel):
    url: str
    fields: dict[str, str]


class UploadOut(ApiModel):
    id: str
    upload: UploadForm
    expires_in: int


@api.route(
    "/v1/exchanges/{exchange_id}/uploads",
    "POST",
    summary="A presigned upload form for a signed scan (a signer) or evidence (the VO): PDF, PNG or JPEG",
)
def request_exchange_upload(call: Call, exchange_id: str, body: UploadIn) -> UploadOut:
    form = exchange_uploads.request_upload(
        call.user, exchange_id, body.kind, body.filename, body.content_type, body.size, body.document
    )
    return UploadOut.model_validate(form)


@api.route(
    "/v1/exchanges/{exchange_id}/signatures",
    "POST",
    summary="Sign the current version of a document for the caller's party (VO, HO, VOP or HOP)",
)
def sign_exchange_document(call: Call, exchange_id: str, body: SignatureIn) -> ExchangeOut:
    return _out(agreements.sign(call.user, exchange_id, body.document, body.sha256))


class DeclineIn(StrictModel):
    document: DocumentKind
    reason: text(2000)  # type: ignore[valid-type]


@api.route(
    "/v1/exchanges/{exchange_id}/signatures/decline",
    "POST",
    summary="Decline to sign, with a reason the other parties see (back to the participants)",
)
def decline_to_sign(call: Call, exchange_id: str, body: DeclineIn) -> ExchangeOut:
    return _out(agreements.decline(call.user, exchange_id, body.document, body.reason))


# --- after the stay -----------------------------------------------------------------------------------

Rating = whole(ge=1, le=5)


class ClosingReportIn(Versioned):
    activities_done: text(10000)  # type: ignore[valid-type]
    outcomes: text(10000)  # type: ignore[valid-type]
    follow_up: text(10000)  # type: ignore[valid-type]
    rating: Rating  # type: ignore[valid-type]

    def report(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"version"})


class HostFeedbackIn(Versioned):
    comment: text(10000)  # type: ignore[valid-type]
    rating: Rating | None = None  # type: ignore[valid-type]

    def feedback(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"version"})


class ReportDecisionIn(Versioned):
    decision: Literal["approve", "reject"]
    comment: text(2000, min_length=0) | None = Field(  # type: ignore[valid-type]
        None, description="Required when rejecting"
    )


@api.route(
    "/v1/exchanges/{exchange_id}/closing-report",
    "POST",
    summary="The visitor's closing report after the stay (VO; again after a rejection)",
)
def submit_closing_report(call: Call, exchange_id: str, body: ClosingReportIn) -> ExchangeOut:
    return _out(closing.submit_report(call.user, exchange_id, body.report(), body.version))


@api.route(
    "/v1/exchanges/{exchange_id}/host-feedback",
    "POST",
    summary="The host's feedback after the stay (HO; optional)",
)
def give_host_feedback(call: Call, exchange_id: str, body: HostFeedbackIn) -> ExchangeOut:
    return _out(closing.give_host_feedback(call.user, exchange_id, body.feedback(), body.version))


@api.route(
    "/v1/exchanges/{exchange_id}/closing-report/decision",
    "POST",
    summary="Approve the report (VOP; needs an accepted evidence file: the lump sum follows) or reject it",
)
def decide_closing_report(call: Call, exchange_id: str, body: ReportDecisionIn) -> ExchangeOut:
    return _out(closing.decide_report(call.user, exchange_id, body.decision, body.comment, body.version))
