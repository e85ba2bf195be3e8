"""The interactive API documentation page and the files it loads (chalicelib.api_docs): public."""

from chalice import Response

from chalicelib import api_docs
from chalicelib.handlers.http import Api, Call

api = Api(__name__, tag="docs")


@api.route(
    "/v1/docs",
    summary="The interactive documentation of this API (Swagger UI over its OpenAPI document)",
    public=True,
    media_type="text/html",
)
def docs_page(call: Call) -> Response:
    return Response(body=api_docs.page(), status_code=200, headers=dict(api_docs.PAGE_HEADERS))


def _file(build: str, name: str) -> Response:
    file = api_docs.file(build, name)
    return Response(body=file.text, status_code=200, headers=file.headers)


@api.route(
    "/v1/docs/{build}/swagger-ui.css",
    summary="The documentation page's stylesheet (Swagger UI's), of the build the page names",
    public=True,
    media_type="text/css",
)
def docs_stylesheet(call: Call, build: str) -> Response:
    return _file(build, "swagger-ui.css")


@api.route(
    "/v1/docs/{build}/swagger-ui-bundle.js",
    summary="The documentation page's Swagger UI script, of the build the page names",
    public=True,
    media_type="text/javascript",
)
def docs_swagger_ui(call: Call, build: str) -> Response:
    return _file(build, "swagger-ui-bundle.js")


@api.route(
    "/v1/docs/{build}/init.js",
    summary="The documentation page's script that starts Swagger UI, of the build the page names",
    public=True,
    media_type="text/javascript",
)
def docs_initialiser(call: Call, build: str) -> Response:
    return _file(build, "init.js")
