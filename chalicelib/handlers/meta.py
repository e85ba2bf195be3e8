"""Routes about the API itself and the caller: the OpenAPI document and who-am-I."""

from typing import Any

from chalice import Response

from chalicelib.handlers.http import JSON_HEADERS, Api, ApiModel, Call

api = Api(__name__, tag="meta")

_document: dict[str, Any] | None = None


class Me(ApiModel):
    user_id: str
    email: str
    roles: list[str]
    partnership_id: str | None


@api.route("/v1/openapi.json", summary="This API's OpenAPI 3 document", public=True)
def openapi_document(call: Call) -> Response:
    # The blueprint's app is known once it is registered, so only here, not at import.
    return Response(
        body=served_document(api.blueprint.current_app.routes), status_code=200, headers=dict(JSON_HEADERS)
    )


def served_document(routes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The document of the app's routes (Chalice's app.routes), built on first use (when served, or by
    `make openapi`) and kept: building it reads every model and the code behind every route, which no
    cold start should pay."""
    global _document
    if _document is None:
        from chalicelib.openapi import build_document

        _document = build_document(routes)
    return _document


@api.route("/v1/me", summary="The signed-in caller as the API sees them")
def whoami(call: Call) -> Me:
    user = call.user
    return Me(
        user_id=user.user_id, email=user.email, roles=sorted(user.roles), partnership_id=user.partnership_id
    )
