"""Registration routes: a participant's registration, its CV, export and withdrawal, and a partnership's
queue and decisions. Shapes only: the use cases are in services.registrations and services.cv."""

from datetime import date
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

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
from chalicelib.handlers.support import SupportQueryOut
from chalicelib.lazy import lazy
from chalicelib.rules.registration import RegistrationStatus

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import cv
    from chalicelib.services import registrations as service
else:
    cv = lazy("chalicelib.services.cv")
    service = lazy("chalicelib.services.registrations")

# `type: ignore[valid-type]` on fields: their constrained types are built by http.text()/whole(), a
# call the checker cannot read as a type; pydantic validates them, and the API tests check them.
api = Api(__name__, tag="registrations")

# Reference codes are plain strings here: whether one is known is a programme rule (a 422 naming the
# rule), while this layer only answers for shape and type (a 400).
if TYPE_CHECKING:  # what each validates to, for the checker (it reads no call as a type)
    Code = str
    Name = str
    LongText = str
else:
    Code = text(64)
    Name = text(200)
    LongText = text(5000, min_length=0)
Email = Annotated[
    str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", to_lower=True)
]
# Only web addresses a browser opens as a page: no javascript:, data: or file: links in a profile.
Website = Annotated[str, StringConstraints(max_length=300, pattern=r"^[Hh][Tt][Tt][Pp][Ss]?://[^\s/?#]+\S*$")]
Role = Literal["visitor", "host"]

# PATCH models: a field left out stays as it is. Fields a registration cannot be without are typed
# without null and default to None, so leaving them out is fine while sending null is a 400, and the
# served schema says exactly that (not nullable, not required).


# --- requests ---------------------------------------------------------------------------------------


class LocationIn(StrictModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class OrganisationIn(StrictModel):
    name: Name
    type: Code
    country: Code = Field(description="ISO 3166-1 alpha-2, XK for Kosovo")
    city: Name
    location: LocationIn | None = Field(None, description="Found from the city when left out")
    cluster_name: Name | None = None
    website: Website | None = None
    ecosystems: list[Code] = Field(default_factory=list, max_length=20)
    description: LongText = ""
    expertise: list[Name] = Field(default_factory=list, max_length=30)


class RepresentativeIn(StrictModel):
    first_name: Name
    last_name: Name
    email: Email
    date_of_birth: Day
    nationality: Code
    languages: list[Code] = Field(default_factory=list, max_length=20)
    residence_country: Code | None = None
    residence_permit: bool = False
    residence_since: Day | None = Field(None, description="Needed when the nationality is not eligible")


class PreferencesIn(StrictModel):
    countries: list[Code] = Field(default_factory=list, max_length=50)
    ecosystems: list[Code] = Field(default_factory=list, max_length=20)
    organisation_types: list[Code] = Field(default_factory=list, max_length=10)
    objectives: list[Code] = Field(default_factory=list, max_length=10)
    available_from: Day | None = None
    available_to: Day | None = None
    virtual_ok: bool = False


class HostingIn(StrictModel):
    capacity: whole(ge=1, le=100) = 1  # type: ignore[valid-type]
    offer: text(5000)  # type: ignore[valid-type]


# The contract's own example (API.md): the served document shows it, the tests send it.
REGISTRATION_EXAMPLE: dict[str, Any] = {
    "roles": ["visitor"],
    "partnership_id": "epix",
    "organisation": {
        "name": "Acme IoT",
        "type": "sme",
        "country": "IT",
        "city": "Padova",
        "location": {"lat": 45.41, "lon": 11.88},
        "cluster_name": "Veneto ICT Cluster",
        "website": "https://acme.example",
        "ecosystems": ["digital"],
        "description": "Sensors for smart buildings.",
        "expertise": ["iot", "smart grids"],
    },
    "representative": {
        "first_name": "Ada",
        "last_name": "Rossi",
        "email": "ada@acme.example",
        "date_of_birth": "1990-05-01",
        "nationality": "IT",
        "languages": ["it", "en"],
        "residence_country": "IT",
        "residence_permit": False,
    },
    "motivation": "We want to learn how Nordic clusters run living labs.",
    "preferences": {
        "countries": ["DE", "NL"],
        "ecosystems": ["digital", "energy_renewables"],
        "organisation_types": ["cluster_organisation"],
        "objectives": ["technology_uptake"],
        "available_from": "2027-03-01",
        "available_to": "2027-09-30",
        "virtual_ok": False,
    },
}


class RegistrationIn(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [REGISTRATION_EXAMPLE]})

    roles: list[Role] = Field(min_length=1, max_length=2)
    partnership_id: Code
    organisation: OrganisationIn
    representative: RepresentativeIn
    motivation: text(5000)  # type: ignore[valid-type]
    preferences: PreferencesIn = Field(default_factory=PreferencesIn)
    hosting: HostingIn | None = Field(None, description="Required when roles has host")


class OrganisationPatch(StrictModel):
    name: Name = omittable()
    type: Code = omittable()
    country: Code = omittable()
    city: Name = omittable()
    location: LocationIn | None = Field(None, description="null finds it again from the city")
    cluster_name: Name | None = None
    website: Website | None = None
    ecosystems: list[Code] = omittable(max_length=20)
    description: LongText = omittable()
    expertise: list[Name] = omittable(max_length=30)


class RepresentativePatch(StrictModel):
    first_name: Name = omittable()
    last_name: Name = omittable()
    email: Email = omittable()
    date_of_birth: Day = omittable()
    nationality: Code = omittable()
    languages: list[Code] = omittable(max_length=20)
    residence_country: Code | None = None
    residence_permit: bool = omittable()
    residence_since: Day | None = None


class PreferencesPatch(StrictModel):
    countries: list[Code] = omittable(max_length=50)
    ecosystems: list[Code] = omittable(max_length=20)
    organisation_types: list[Code] = omittable(max_length=10)
    objectives: list[Code] = omittable(max_length=10)
    available_from: Day | None = None
    available_to: Day | None = None
    virtual_ok: bool = omittable()


class RegistrationPatch(Versioned):
    """Sections left out stay as they are; organisation, representative and preferences are merged key
    by key, motivation and hosting replaced whole (hosting: null removes the offer)."""

    organisation: OrganisationPatch = omittable()
    representative: RepresentativePatch = omittable()
    motivation: text(5000) = omittable()  # type: ignore[valid-type]
    preferences: PreferencesPatch = omittable()
    hosting: HostingIn | None = None

    def changes(self) -> dict[str, Any]:
        """What to change, in JSON form: only the sections sent; a replaced section (hosting) whole,
        its defaults included, since it replaces what is stored."""
        changes = self.model_dump(mode="json", exclude_unset=True, exclude={"version", "hosting"})
        if "hosting" in self.model_fields_set:
            changes["hosting"] = self.hosting.model_dump(mode="json") if self.hosting else None
        return changes


class DecisionIn(Versioned):
    decision: Literal["accept", "reject"]
    reason: text(2000, min_length=0) | None = Field(  # type: ignore[valid-type]
        None, description="Required when rejecting"
    )


class CvUploadIn(StrictModel):
    filename: text(255)  # type: ignore[valid-type]
    content_type: text(100)  # type: ignore[valid-type]
    size: whole(ge=1) = Field(description="Bytes; at most 5 MB")  # type: ignore[valid-type]


class QueueQuery(ListQuery):
    status: RegistrationStatus | None = None


# --- responses --------------------------------------------------------------------------------------


class LocationOut(ApiModel):
    lat: float
    lon: float


class OrganisationOut(ApiModel):
    name: str | None
    type: str | None
    country: str | None
    city: str | None
    location: LocationOut | None
    cluster_name: str | None = None
    website: str | None = None
    ecosystems: list[str] = []
    description: str | None = None
    expertise: list[str] = []


class RepresentativeOut(ApiModel):
    first_name: str
    last_name: str
    languages: list[str] = []
    # Personal data: present for the owner, its partnership, support and admin; gone after erasure.
    email: str | None = None
    date_of_birth: date | None = None
    nationality: str | None = None
    residence_country: str | None = None
    residence_permit: bool | None = None
    residence_since: date | None = None


class PreferencesOut(ApiModel):
    countries: list[str] = []
    ecosystems: list[str] = []
    organisation_types: list[str] = []
    objectives: list[str] = []
    available_from: date | None = None
    available_to: date | None = None
    virtual_ok: bool = False


class HostingOut(ApiModel):
    capacity: int
    offer: str


class CvOut(ApiModel):
    status: Literal["awaiting_upload", "accepted", "rejected"]
    filename: str | None = None
    size: int | None = None
    sha256: str | None = None
    reason: str | None = None
    requested_at: str | None = None
    checked_at: str | None = None


class DecisionOut(ApiModel):
    decision: Literal["accept", "reject"]
    reason: str | None
    by: str
    at: str


class RegistrationOut(ApiModel):
    id: str
    status: RegistrationStatus
    roles: list[Role]
    partnership_id: str
    organisation: OrganisationOut
    representative: RepresentativeOut
    motivation: str
    preferences: PreferencesOut | None
    hosting: HostingOut | None
    cv: CvOut | None
    decision: DecisionOut | None
    erased_at: str | None = None
    reminded_at: str | None = Field(
        None, description="The day its partnership was reminded that it waits for a decision (14 days on)"
    )
    created_at: str
    updated_at: str
    version: int


class RegistrationList(ApiModel):
    items: list[RegistrationOut]
    next_cursor: str | None = None


class UploadForm(ApiModel):
    url: str
    fields: dict[str, str]


class CvUploadOut(ApiModel):
    upload: UploadForm
    expires_in: int


class Withdrawn(ApiModel):
    status: Literal[RegistrationStatus.WITHDRAWN]


class AuditEntryOut(ApiModel):
    at: str
    actor: str
    actor_role: str | None
    action: str
    from_status: str | None
    to_status: str | None
    fields: list[str]


class CvExportOut(CvOut):
    download_url: str | None = None
    expires_in: int | None = None


class RegistrationHeld(RegistrationOut):
    """The registration as stored, internal fields included (the owner's export)."""

    user_id: str
    exchanges: dict[str, Any] | None = None
    alumni: dict[str, Any] | None = Field(None, description="The caller's alumni directory entry, if listed")


class PartyHeld(ApiModel):
    """One side of a contact request or an exchange, as the other parties are shown it."""

    registration_id: str | None = None
    organisation_name: str | None = None
    country: str | None = None
    city: str | None = None
    representative_name: str | None = None
    roles: list[str] = []


class ContactRequestHeld(ApiModel):
    id: str
    direction: Literal["sent", "received"]
    status: str
    message: str
    reason: str | None = None
    sender: PartyHeld
    recipient: PartyHeld
    created_at: str
    updated_at: str
    audit: list[AuditEntryOut]


class PartnershipHeld(ApiModel):
    id: str
    name: str


class BankAccountHeld(ApiModel):
    holder: str
    iban: str
    bic: str | None = None


class SignatureHeld(ApiModel):
    document: str
    version: int
    sha256: str
    party: str
    at: str
    by: str | None = Field(None, description="Your user id when you gave it; another party's is theirs")
    scan: str | None = Field(None, description="The upload id when given as a signed scan")


class DocumentHeld(ApiModel):
    """A generated agreement's version (its file is the exchange's, under its documents)."""

    kind: str
    version: int
    sha256: str
    size: int | None = None
    generated_at: str | None = None


class UploadHeld(ApiModel):
    """A file you uploaded to the exchange: its metadata (the file is under its documents)."""

    id: str
    kind: str
    status: str
    filename: str | None = None
    document: str | None = None
    version: int | None = None
    requested_at: str
    checked_at: str | None = None
    size: int | None = None
    sha256: str | None = None
    reason: str | None = None


class ExchangeHeld(ApiModel):
    id: str
    reference: str
    status: str
    role: Literal["visitor", "host"]
    visitor: PartyHeld
    host: PartyHeld
    visitor_partnership: PartnershipHeld
    host_partnership: PartnershipHeld
    agreement: dict[str, Any] = Field(description="The agreed fields and the working days they give")
    bank_account: BankAccountHeld | None = Field(None, description="The account you gave, as visitor")
    signatures: list[SignatureHeld]
    documents: list[DocumentHeld]
    uploads: list[UploadHeld]
    report: dict[str, Any] | None = None
    host_feedback: dict[str, Any] | None = None
    extension: dict[str, Any] | None = None
    notes: dict[str, Any] = {}
    created_at: str
    updated_at: str
    audit: list[AuditEntryOut]


class LedgerHeld(ApiModel):
    transfer_reference: str
    exchange_reference: str
    amount_eur: int
    debtor_iban: str
    creditor_iban: str
    booked_at: str


class PaymentHeld(ApiModel):
    id: str
    exchange_id: str
    reference: str
    status: str
    amount_eur: int
    breakdown: dict[str, Any]
    creditor: BankAccountHeld | None = None
    due_by: str
    overdue: str | None = None
    paid_at: str | None = None
    transfer_reference: str | None = None
    bank_reference: str | None = None
    failure_reason: str | None = None
    created_at: str
    updated_at: str
    ledger: LedgerHeld | None = Field(None, description="The transfer as booked, once it is")
    audit: list[AuditEntryOut]


class ExportOut(ApiModel):
    registration: RegistrationHeld | None
    audit: list[AuditEntryOut]
    cv: CvExportOut | None
    contact_requests: list[ContactRequestHeld] = []
    exchanges: list[ExchangeHeld] = []
    payments: list[PaymentHeld] = Field([], description="The lump sums paid, or to be paid, to you")
    support_queries: list[SupportQueryOut] = Field([], description="Your questions to the support office")
    exported_at: str


# --- routes -----------------------------------------------------------------------------------------


@api.route(
    "/v1/registrations",
    "POST",
    summary="Register an organisation (one registration per user)",
    roles=("participant",),
    status=201,
)
def create_registration(call: Call, body: RegistrationIn) -> RegistrationOut:
    return RegistrationOut.model_validate(service.register(call.user, body.model_dump(mode="json")))


@api.route("/v1/registrations/me", summary="The caller's registration", roles=("participant",))
def get_my_registration(call: Call) -> RegistrationOut:
    return RegistrationOut.model_validate(service.my_registration(call.user))


@api.route(
    "/v1/registrations/me",
    "PATCH",
    summary="Edit the caller's registration (profile, preferences, hosting)",
    roles=("participant",),
)
def update_my_registration(call: Call, body: RegistrationPatch) -> RegistrationOut:
    return RegistrationOut.model_validate(service.update_mine(call.user, body.changes(), body.version))


@api.route(
    "/v1/registrations/me",
    "DELETE",
    summary="Withdraw the caller's registration and erase its personal data",
    roles=("participant",),
    status=202,
)
def withdraw_my_registration(call: Call) -> Withdrawn:
    service.withdraw_mine(call.user)
    return Withdrawn(status=RegistrationStatus.WITHDRAWN)


@api.route(
    "/v1/registrations/me/cv",
    "POST",
    summary="A presigned upload form for the caller's CV (PDF, at most 5 MB)",
    roles=("participant",),
)
def request_cv_upload(call: Call, body: CvUploadIn) -> CvUploadOut:
    upload = cv.request_cv_upload(call.user, body.filename, body.content_type, body.size)
    return CvUploadOut.model_validate(upload)


@api.route(
    "/v1/registrations/me/export",
    summary="Everything held about the caller: its registration, contact requests, exchanges and "
    "payments, with their audit trails (GDPR access)",
    roles=("participant",),
)
def export_my_registration(call: Call) -> ExportOut:
    return ExportOut.model_validate(service.export_mine(call.user))


@api.route(
    "/v1/registrations/{registration_id}",
    summary="A registration (its owner, its partnership, support, admin)",
)
def get_registration(call: Call, registration_id: str) -> RegistrationOut:
    return RegistrationOut.model_validate(service.get_for(call.user, registration_id))


@api.route(
    "/v1/registrations/{registration_id}/decision",
    "POST",
    summary="Accept or reject a pending registration (its partnership; never one's own)",
    roles=("partnership",),
)
def decide_registration(call: Call, registration_id: str, body: DecisionIn) -> RegistrationOut:
    doc = service.decide(call.user, registration_id, body.decision, body.reason, body.version)
    return RegistrationOut.model_validate(doc)


@api.route(
    "/v1/partnerships/{partnership_id}/registrations",
    summary="A partnership's registrations, oldest first (that partnership, support, admin)",
    roles=("partnership", "support", "admin"),
)
def list_partnership_registrations(call: Call, partnership_id: str, query: QueueQuery) -> RegistrationList:
    items, next_cursor = service.list_for_partnership(
        call.user, partnership_id, query.status, query.limit, query.cursor
    )
    return RegistrationList(
        items=[RegistrationOut.model_validate(doc) for doc in items], next_cursor=next_cursor
    )
