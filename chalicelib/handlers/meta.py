"""Routes about the API itself and the caller: the OpenAPI document and who-am-I."""

from typing import Any

from chalice import Response

from chalicelib.handlers.http import JSON_HEADERS, Api, ApiModel, Call

api = Api(__name__, tag="meta")

API_VERSION = "1.0.0"
_document: dict[str, Any] | None = None


class Me(ApiModel):
    user_id: str
    email: str
    roles: list[str]
    partnership_id: str | None


@api.route("/v1/openapi.json", summary="This API's OpenAPI 3 document", public=True)
def openapi_document(call: Call) -> Response:
    global _document
    if _document is None:
        # Built on first use: it needs every blueprint registered on the app.
        from chalicelib.openapi import build_document

        _document = build_document(api.blueprint.current_app.routes, "ClusterXchange API", API_VERSION)
    return Response(body=_document, status_code=200, headers=dict(JSON_HEADERS))


@api.route("/v1/me", summary="The signed-in caller as the API sees them")
def whoami(call: Call) -> Me:
    user = call.user
    return Me(
        user_id=user.user_id, email=user.email, roles=sorted(user.roles), partnership_id=user.partnership_id
    )
