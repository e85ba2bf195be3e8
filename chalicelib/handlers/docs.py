"""The interactive API documentation page and the files it loads (chalicelib.api_docs): public."""

from collections.abc import Callable

from chalice import Response

from chalicelib import api_docs
from chalicelib.handlers.http import Api, Call

api = Api(__name__, tag="docs")


@api.route(
    "/v1/docs",
    summary="The interactive documentation of this API (Swagger UI over its OpenAPI document)",
    public=True,
    media=("text/html",),
)
def docs_page(call: Call) -> Response:
    return Response(body=api_docs.page(), status_code=200, headers=dict(api_docs.PAGE_HEADERS))


def _serving(name: str, handler_name: str) -> Callable[..., Response]:
    def handler(call: Call, build: str) -> Response:
        file = api_docs.file(build, name)
        return Response(body=file.text, status_code=200, headers=file.headers)

    handler.__name__ = handler.__qualname__ = handler_name
    return handler


# Each file of the page: the name its URL ends with, its handler (the operation's id), what it is.
for _name, _handler, _what in (
    ("swagger-ui.css", "docs_stylesheet", "stylesheet (Swagger UI's)"),
    ("swagger-ui-bundle.js", "docs_swagger_ui", "Swagger UI script"),
    ("init.js", "docs_initialiser", "script that starts Swagger UI"),
):
    api.route(
        f"/v1/docs/{{build}}/{_name}",
        summary=f"The documentation page's {_what}, of the build the page names",
        public=True,
        media=(api_docs.MEDIA_TYPES[_name],),
    )(_serving(_name, _handler))
