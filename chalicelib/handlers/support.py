"""Routes: the support office (questions from any signed-in user, support's answers, closing)."""

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from chalicelib.handlers.http import Api, ApiModel, Call, ListQuery, StrictModel, Versioned, text, whole
from chalicelib.lazy import lazy
from chalicelib.rules.support_query import SupportQueryStatus

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import support_queries as service
else:
    service = lazy("chalicelib.services.support_queries")

# `type: ignore[valid-type]` on fields: their constrained types are built by http.text()/whole(), a
# call the checker cannot read as a type; pydantic validates them, and the API tests check them.
api = Api(__name__, tag="support")

# rules.support_query.CATEGORIES, spelled out for the document.
Category = Literal["general", "registration", "matching", "exchange", "payment", "technical"]
REFERENCE_PATTERN = r"^CXC-\d{4}-\d{6}$"


class ScreenshotIn(StrictModel):
    """A screenshot to upload with the question: its type (PNG or JPEG; 422 UNSUPPORTED_FILE_TYPE
    otherwise) and size in bytes (at most 10 MB; 413 FILE_TOO_LARGE otherwise)."""

    content_type: text(100)  # type: ignore[valid-type]
    size: whole(ge=1) = Field(description="Bytes; at most 10 MB")  # type: ignore[valid-type]


class NewSupportQuery(StrictModel):
    category: Category
    reference: str | None = Field(
        None,
        pattern=REFERENCE_PATTERN,
        description="The reference of an exchange you take part in (422 UNKNOWN_REFERENCE otherwise)",
        examples=["CXC-2027-000123"],
    )
    message: text(4000)  # type: ignore[valid-type]
    screenshot: ScreenshotIn | None = Field(None, description="Announce one to get its upload form")


class ReplyIn(Versioned):
    message: text(4000)  # type: ignore[valid-type]


class CloseIn(Versioned):
    """Closing needs nothing but, optionally, the version read."""


class SupportQueryListQuery(ListQuery):
    status: SupportQueryStatus | None = None
    category: Category | None = None


class AskerOut(ApiModel):
    email: str | None = Field(None, description="The address the asker asked from: answers are mailed there")
    roles: list[str] = []


class ReplyOut(ApiModel):
    n: int = Field(description="1 for the first reply, and so on")
    author: Literal["support", "asker"] = Field(description="An answer of support, or the asker's follow-up")
    at: str
    message: str
    by: str | None = Field(None, description="The writer's user id (shown to support and admin)")


class ScreenshotOut(ApiModel):
    status: Literal["awaiting_upload", "accepted", "rejected"]
    content_type: str | None = None
    size: int | None = None
    sha256: str | None = None
    reason: str | None = Field(None, description="Why the file was rejected")
    requested_at: str | None = None
    checked_at: str | None = None
    download_url: str | None = Field(None, description="A short-lived link to the accepted file")
    expires_in: int | None = None


class SupportQueryOut(ApiModel):
    id: str
    category: Category
    status: SupportQueryStatus
    message: str
    reference: str | None = None
    exchange_id: str | None = Field(
        None, description="The exchange the reference names (read-only for support)"
    )
    asker: AskerOut
    replies: list[ReplyOut] = []
    screenshot: ScreenshotOut | None = None
    actions: list[str] = Field(
        [], description="What the caller may do now: answer, follow_up (a reply), close"
    )
    created_at: str
    updated_at: str
    version: int


class UploadForm(ApiModel):
    url: str
    fields: dict[str, str]


class SupportQueryCreated(SupportQueryOut):
    upload: UploadForm | None = Field(None, description="The screenshot's presigned upload form")
    expires_in: int | None = Field(None, description="Seconds the upload form is valid")


class SupportQueryList(ApiModel):
    items: list[SupportQueryOut]
    next_cursor: str | None = None


def _out(query: dict[str, Any]) -> SupportQueryOut:
    return SupportQueryOut.model_validate(query)


@api.route(
    "/v1/support-queries",
    "POST",
    summary="Ask the support office (any signed-in user), optionally about one of your exchanges and "
    "with a screenshot (PNG or JPEG: the answer carries its upload form)",
    status=201,
)
def ask_support(call: Call, body: NewSupportQuery) -> SupportQueryCreated:
    screenshot = body.screenshot.model_dump() if body.screenshot else None
    asked = service.ask(call.user, body.category, body.message, body.reference, screenshot)
    return SupportQueryCreated.model_validate(asked)


@api.route(
    "/v1/support-queries",
    summary="Your support queries, or every one (support, admin), newest first; by status and category",
)
def list_support_queries(call: Call, query: SupportQueryListQuery) -> SupportQueryList:
    items, next_cursor = service.list_for(call.user, query.status, query.category, query.limit, query.cursor)
    return SupportQueryList(items=[_out(i) for i in items], next_cursor=next_cursor)


@api.route("/v1/support-queries/{query_id}", summary="A support query (its asker, support, admin)")
def get_support_query(call: Call, query_id: str) -> SupportQueryOut:
    return _out(service.get(call.user, query_id))


@api.route(
    "/v1/support-queries/{query_id}/reply",
    "POST",
    summary="Support's answer (mailed to the asker: answered), or the asker's follow-up (open again)",
)
def reply_to_support_query(call: Call, query_id: str, body: ReplyIn) -> SupportQueryOut:
    return _out(service.reply(call.user, query_id, body.message, body.version))


@api.route(
    "/v1/support-queries/{query_id}/close",
    "POST",
    summary="Close a support query (its asker, or support)",
)
def close_support_query(call: Call, query_id: str, body: CloseIn) -> SupportQueryOut:
    return _out(service.close(call.user, query_id, body.version))
