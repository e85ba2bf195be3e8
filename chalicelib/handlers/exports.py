"""Routes: exports of the programme's data as CSV (admins; partnerships their own)."""

from typing import TYPE_CHECKING

from chalice import Response
from pydantic import Field, field_validator

from chalicelib.handlers.http import CSV, JSON, Api, ApiModel, Call, StrictModel, download
from chalicelib.lazy import lazy
from chalicelib.rules import export as rules

# The services, typed for the checker; at run time each is imported on first use, so building the
# route table (every function imports app.py) loads none of them.
if TYPE_CHECKING:
    from chalicelib.services import exports as service
else:
    service = lazy("chalicelib.services.exports")

api = Api(__name__, tag="exports")


class ExportQuery(StrictModel):
    # The pattern is the document's; the validator names the unknown columns (a pattern could not).
    columns: str | None = Field(
        None,
        max_length=2000,
        description="Comma-separated columns, in the order wanted (default: all): " + ", ".join(rules.NAMES),
        json_schema_extra={"pattern": rules.COLUMNS_PATTERN},
    )

    @field_validator("columns")
    @classmethod
    def _known(cls, value: str | None) -> str | None:
        rules.chosen(value)  # UnknownColumns is a ValueError: a 400 whose detail names them
        return value


class ExportLink(ApiModel):
    """A large export, written for the caller: a short-lived link to the CSV file."""

    url: str = Field(description="A presigned GET of the CSV file")
    expires_at: str = Field(description="When the link stops working (ISO 8601 UTC)")
    rows: int = Field(description="Exchanges in the file")


@api.route(
    "/v1/exports/exchanges.csv",
    summary="Exchanges as CSV, one row per exchange (admin: all; a partnership: those it is VOP or HOP "
    "of): inline as text/csv (UTF-8 with a byte-order mark) when small, else a link to the file",
    roles=("admin", "partnership"),
    media=(CSV, JSON),
    headers={"Content-Disposition": 'The CSV\'s file name: attachment; filename="exchanges-….csv"'},
)
def export_exchanges(call: Call, query: ExportQuery) -> ExportLink | Response:
    export = service.exchanges_csv(call.user, rules.chosen(query.columns))
    if isinstance(export, service.Inline):
        return download(export.content, CSV, export.filename)
    return ExportLink(url=export.url, expires_at=export.expires_at, rows=export.rows)
