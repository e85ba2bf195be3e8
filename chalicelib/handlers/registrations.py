"""Registration routes: a participant's registration, its CV, export and withdrawal, and a partnership's
queue and decisions. Shapes only: the use cases are in services.registrations and services.documents."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

from chalicelib.handlers.http import Api, Call, ListQuery, StrictModel, decode_cursor, encode_cursor
from chalicelib.services import documents
from chalicelib.services import registrations as service

api = Api(__name__, tag="registrations")

# Reference codes are plain strings here: whether one is known is a programme rule (a 422 naming the
# rule), while this layer only answers for shape and type (a 400).
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=5000)]
Email = Annotated[
    str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", to_lower=True)
]
Role = Literal["visitor", "host"]
Status = Literal["pending", "accepted", "rejected", "withdrawn"]


def _refuse_null(cls: type, value: Any) -> Any:
    # PATCH may leave a field out, but not blank one that a registration cannot be without.
    if value is None:
        raise ValueError("may not be null")
    return value


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
    website: Annotated[str, StringConstraints(max_length=300)] | None = None
    ecosystems: list[Code] = Field(default_factory=list, max_length=20)
    description: LongText = ""
    expertise: list[Name] = Field(default_factory=list, max_length=30)


class RepresentativeIn(StrictModel):
    first_name: Name
    last_name: Name
    email: Email
    date_of_birth: date
    nationality: Code
    languages: list[Code] = Field(default_factory=list, max_length=20)
    residence_country: Code | None = None
    residence_permit: bool = False
    residence_since: date | None = Field(None, description="Needed when the nationality is not eligible")


class PreferencesIn(StrictModel):
    countries: list[Code] = Field(default_factory=list, max_length=50)
    ecosystems: list[Code] = Field(default_factory=list, max_length=20)
    organisation_types: list[Code] = Field(default_factory=list, max_length=10)
    objectives: list[Code] = Field(default_factory=list, max_length=10)
    available_from: date | None = None
    available_to: date | None = None
    virtual_ok: bool = False


class HostingIn(StrictModel):
    capacity: int = Field(1, ge=1, le=100)
    offer: Annotated[str, StringConstraints(min_length=1, max_length=5000)]


class RegistrationIn(StrictModel):
    roles: list[Role] = Field(min_length=1, max_length=2)
    partnership_id: Code
    organisation: OrganisationIn
    representative: RepresentativeIn
    motivation: Annotated[str, StringConstraints(min_length=1, max_length=5000)]
    preferences: PreferencesIn = Field(default_factory=PreferencesIn)
    hosting: HostingIn | None = Field(None, description="Required when roles has host")


class OrganisationPatch(StrictModel):
    name: Name | None = None
    type: Code | None = None
    country: Code | None = None
    city: Name | None = None
    location: LocationIn | None = Field(None, description="null finds it again from the city")
    cluster_name: Name | None = None
    website: Annotated[str, StringConstraints(max_length=300)] | None = None
    ecosystems: list[Code] | None = Field(None, max_length=20)
    description: LongText | None = None
    expertise: list[Name] | None = Field(None, max_length=30)

    _required = field_validator(
        "name", "type", "country", "city", "ecosystems", "description", "expertise", mode="before"
    )(_refuse_null)


class RepresentativePatch(StrictModel):
    first_name: Name | None = None
    last_name: Name | None = None
    email: Email | None = None
    date_of_birth: date | None = None
    nationality: Code | None = None
    languages: list[Code] | None = Field(None, max_length=20)
    residence_country: Code | None = None
    residence_permit: bool | None = None
    residence_since: date | None = None

    _required = field_validator(
        "first_name",
        "last_name",
        "email",
        "date_of_birth",
        "nationality",
        "languages",
        "residence_permit",
        mode="before",
    )(_refuse_null)


class PreferencesPatch(StrictModel):
    countries: list[Code] | None = Field(None, max_length=50)
    ecosystems: list[Code] | None = Field(None, max_length=20)
    organisation_types: list[Code] | None = Field(None, max_length=10)
    objectives: list[Code] | None = Field(None, max_length=10)
    available_from: date | None = None
    available_to: date | None = None
    virtual_ok: bool | None = None

    _required = field_validator(
        "countries", "ecosystems", "organisation_types", "objectives", "virtual_ok", mode="before"
    )(_refuse_null)


class RegistrationPatch(StrictModel):
    """Sections left out stay as they are; organisation, representative and preferences are merged key
    by key, motivation and hosting replaced whole (hosting: null removes the offer)."""

    organisation: OrganisationPatch | None = None
    representative: RepresentativePatch | None = None
    motivation: Annotated[str, StringConstraints(min_length=1, max_length=5000)] | None = None
    preferences: PreferencesPatch | None = None
    hosting: HostingIn | None = None
    version: int | None = Field(None, ge=1, description="The version read; a stale one gets 409")

    _required = field_validator("organisation", "representative", "motivation", "preferences", mode="before")(
        _refuse_null
    )


class DecisionIn(StrictModel):
    decision: Literal["accept", "reject"]
    reason: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="Required when rejecting"
    )
    version: int | None = Field(None, ge=1)


class CvUploadIn(StrictModel):
    filename: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=100)]
    size: int = Field(ge=1, description="Bytes; at most 5 MB")


class QueueQuery(ListQuery):
    status: Status | None = None


# --- responses --------------------------------------------------------------------------------------


class LocationOut(BaseModel):
    lat: float
    lon: float


class OrganisationOut(BaseModel):
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


class RepresentativeOut(BaseModel):
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


class PreferencesOut(BaseModel):
    countries: list[str] = []
    ecosystems: list[str] = []
    organisation_types: list[str] = []
    objectives: list[str] = []
    available_from: date | None = None
    available_to: date | None = None
    virtual_ok: bool = False


class HostingOut(BaseModel):
    capacity: int
    offer: str


class CvOut(BaseModel):
    status: Literal["awaiting_upload", "accepted", "rejected"]
    filename: str | None = None
    size: int | None = None
    sha256: str | None = None
    reason: str | None = None
    requested_at: str | None = None
    checked_at: str | None = None


class DecisionOut(BaseModel):
    decision: Literal["accept", "reject"]
    reason: str | None
    by: str
    at: str


class RegistrationOut(BaseModel):
    id: str
    status: Status
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
    created_at: str
    updated_at: str
    version: int


class RegistrationList(BaseModel):
    items: list[RegistrationOut]
    next_cursor: str | None = None


class UploadForm(BaseModel):
    url: str
    fields: dict[str, str]


class CvUploadOut(BaseModel):
    upload: UploadForm
    expires_in: int


class Withdrawn(BaseModel):
    status: Literal["withdrawn"]


class AuditEntryOut(BaseModel):
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


class ExportOut(BaseModel):
    registration: RegistrationHeld | None
    audit: list[AuditEntryOut]
    cv: CvExportOut | None
    exported_at: str


# --- routes -----------------------------------------------------------------------------------------


@api.route(
    "/v1/registrations",
    "POST",
    summary="Register an organisation (one registration per user)",
    roles=("participant",),
    body=RegistrationIn,
    response=RegistrationOut,
    status=201,
    errors=(409, 413, 422),
)
def create_registration(call: Call) -> RegistrationOut:
    doc = service.register(call.user, call.body.model_dump(mode="json"))
    return RegistrationOut.model_validate(doc)


@api.route(
    "/v1/registrations/me",
    summary="The caller's registration",
    roles=("participant",),
    response=RegistrationOut,
    errors=(404,),
)
def get_my_registration(call: Call) -> RegistrationOut:
    return RegistrationOut.model_validate(service.my_registration(call.user))


@api.route(
    "/v1/registrations/me",
    "PATCH",
    summary="Edit the caller's registration (profile, preferences, hosting)",
    roles=("participant",),
    body=RegistrationPatch,
    response=RegistrationOut,
    errors=(404, 409, 413, 422),
)
def update_my_registration(call: Call) -> RegistrationOut:
    changes = call.body.model_dump(mode="json", exclude_unset=True)
    version = changes.pop("version", None)
    return RegistrationOut.model_validate(service.update_mine(call.user, changes, version))


@api.route(
    "/v1/registrations/me",
    "DELETE",
    summary="Withdraw the caller's registration and erase its personal data",
    roles=("participant",),
    response=Withdrawn,
    status=202,
    errors=(404, 409),
)
def withdraw_my_registration(call: Call) -> Withdrawn:
    service.withdraw_mine(call.user)
    return Withdrawn(status="withdrawn")


@api.route(
    "/v1/registrations/me/cv",
    "POST",
    summary="A presigned upload form for the caller's CV (PDF, at most 5 MB)",
    roles=("participant",),
    body=CvUploadIn,
    response=CvUploadOut,
    errors=(404, 409, 413, 422),
)
def request_cv_upload(call: Call) -> CvUploadOut:
    body: CvUploadIn = call.body
    upload = documents.request_cv_upload(call.user, body.filename, body.content_type, body.size)
    return CvUploadOut.model_validate(upload)


@api.route(
    "/v1/registrations/me/export",
    summary="Everything held about the caller's registration (GDPR access)",
    roles=("participant",),
    response=ExportOut,
)
def export_my_registration(call: Call) -> ExportOut:
    return ExportOut.model_validate(service.export_mine(call.user))


@api.route(
    "/v1/registrations/{registration_id}",
    summary="A registration (its owner, its partnership, support, admin)",
    response=RegistrationOut,
    errors=(404,),
)
def get_registration(call: Call, registration_id: str) -> RegistrationOut:
    return RegistrationOut.model_validate(service.get_for(call.user, registration_id))


@api.route(
    "/v1/registrations/{registration_id}/decision",
    "POST",
    summary="Accept or reject a pending registration (its partnership)",
    roles=("partnership",),
    body=DecisionIn,
    response=RegistrationOut,
    errors=(404, 409, 422),
)
def decide_registration(call: Call, registration_id: str) -> RegistrationOut:
    body: DecisionIn = call.body
    doc = service.decide(call.user, registration_id, body.decision, body.reason, body.version)
    return RegistrationOut.model_validate(doc)


@api.route(
    "/v1/partnerships/{partnership_id}/registrations",
    summary="A partnership's registrations, oldest first (that partnership, support, admin)",
    roles=("partnership", "support", "admin"),
    query=QueueQuery,
    response=RegistrationList,
    errors=(404,),
)
def list_partnership_registrations(call: Call, partnership_id: str) -> RegistrationList:
    query: QueueQuery = call.query
    items, after = service.list_for_partnership(
        call.user, partnership_id, query.status, query.limit, decode_cursor(query.cursor)
    )
    return RegistrationList(
        items=[RegistrationOut.model_validate(doc) for doc in items],
        next_cursor=encode_cursor(after) if after else None,
    )
