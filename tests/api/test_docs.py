"""The interactive documentation page (GET /v1/docs) and the files it loads: public, text only, a strict
Content-Security-Policy, nothing but relative URLs to this API, Swagger UI's files exactly as its
release publishes them, and every answer as the served document describes it.

The page needs no AWS: these tests run the app without the emulator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from chalice.test import Client

from app import app
from chalicelib import api_docs
from tests.api import contract_check
from tests.api.contract_check import _document, checked

# SHA-256 of the files of swagger-ui-dist 5.31.0 as published on npm, which the pinned Powertools ships
# (renamed .min.js and .min.css): the page serves Swagger UI's own files, unchanged. When a Powertools
# upgrade brings another release, check its files against that release of swagger-ui-dist, then move
# these and api_docs.SWAGGER_UI_VERSION together.
SWAGGER_UI_DIST_SHA256 = {
    "swagger-ui-bundle.js": "93b7b0862a80e2786f85b560be7693c2344354ffa7e7e224f850a54349724c31",
    "swagger-ui.css": "9e576f8322132c76949da47f9bb53c891373c303ea3a761ff548ffc9de50a98c",
}
MEDIA_TYPES = {".css": "text/css", ".js": "text/javascript"}
# Where API Gateway serves the page: under the stage's prefix.
STAGE_PAGE = "https://api.example/prod/v1/docs"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    # No .chalice/config.json in the project directory: the dev stage's environment stays out.
    with Client(app, project_dir=str(tmp_path_factory.mktemp("docs"))) as test_client:
        yield checked(test_client)


class _Page(HTMLParser):
    """What a page loads and runs: its elements' URLs, inline scripts and styles, event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (tag, URL)
        self.scripts: list[dict[str, str | None]] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        for attr in ("src", "href", "action", "formaction", "data", "poster"):
            if named.get(attr):
                self.urls.append((tag, str(named[attr])))
        if "style" in named:
            self.inline.append(f"style attribute on <{tag}>")
        self.inline.extend(f"{name} on <{tag}>" for name in named if name.startswith("on"))
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self.scripts.append(named)
            self._in_script = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("inline <script>")


def _header(response: Any, name: str) -> str:
    return {k.lower(): v for k, v in response.headers.items()}.get(name.lower(), "")


def _page(client: Client) -> tuple[Any, _Page]:
    response = client.http.get("/v1/docs")
    parsed = _Page()
    parsed.feed(response.body.decode("utf-8"))
    return response, parsed


def _directives(policy: str) -> dict[str, list[str]]:
    found = {}
    for directive in filter(None, (part.strip() for part in policy.split(";"))):
        name, *values = directive.split()
        found[name] = values
    return found


def test_the_page_is_public_html_under_a_strict_content_security_policy(client):
    # When anyone, without a token, opens the page
    response, _ = _page(client)
    # Then it is an HTML page, revalidated on every visit, under a policy that runs only the API's own
    # scripts and styles and talks to the API only
    assert response.status_code == 200
    assert _header(response, "Content-Type") == "text/html; charset=utf-8"
    assert _header(response, "Cache-Control") == "no-cache"
    assert _header(response, "X-Content-Type-Options") == "nosniff"
    assert _header(response, "X-Frame-Options") == "DENY"
    policy = _header(response, "Content-Security-Policy")
    assert "unsafe" not in policy  # no 'unsafe-inline', 'unsafe-eval' or 'unsafe-hashes'
    assert _directives(policy) == {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }


def test_the_page_loads_only_files_of_this_api_by_relative_urls_and_runs_no_inline_code(client):
    # When
    _, page = _page(client)
    # Then nothing is inline (the policy would block it), every script is a file of the page's build
    assert not page.inline
    assert page.scripts and all(script.get("src") for script in page.scripts)
    for tag, url in page.urls:
        parts = urlsplit(url)
        if parts.scheme == "data":
            continue  # the empty favicon: no request at all
        # relative to the page, so it stays under the stage's prefix: no scheme, host or leading slash
        assert not parts.scheme and not parts.netloc and not url.startswith("/"), (tag, url)
        assert urljoin(STAGE_PAGE, url).startswith("https://api.example/prod/v1/"), (tag, url)
    loaded = sorted(
        url for tag, url in page.urls if tag in ("script", "link") and not url.startswith("data:")
    )
    build = api_docs.build()
    assert loaded == [
        f"docs/{build}/{name}" for name in ("init.js", "swagger-ui-bundle.js", "swagger-ui.css")
    ]


def test_every_file_the_page_names_is_served_as_text_of_its_type_and_kept_for_good(client):
    # Given the files the page names, resolved as a browser does from the page's own path
    _, page = _page(client)
    for _, url in page.urls:
        if urlsplit(url).scheme == "data" or not url.startswith("docs/"):
            continue
        # When
        response = client.http.get(urlsplit(urljoin("http://localhost/v1/docs", url)).path)
        # Then
        assert response.status_code == 200, url
        media_type = MEDIA_TYPES[Path(url).suffix]
        assert _header(response, "Content-Type") == f"{media_type}; charset=utf-8", url
        assert _header(response, "Cache-Control") == "public, max-age=31536000, immutable", url
        assert _header(response, "X-Content-Type-Options") == "nosniff", url
        assert len(response.body) > 100, url


def test_swagger_uis_files_are_its_releases_own(client):
    assert api_docs.SWAGGER_UI_VERSION == "5.31.0"
    build = api_docs.build()
    for name, digest in SWAGGER_UI_DIST_SHA256.items():
        # When
        response = client.http.get(f"/v1/docs/{build}/{name}")
        # Then byte for byte what swagger-ui-dist published (served as UTF-8 text, unchanged)
        assert hashlib.sha256(response.body).hexdigest() == digest, name


def test_the_initialiser_starts_swagger_ui_over_the_document_beside_the_page(client):
    # When
    script = client.http.get(f"/v1/docs/{api_docs.build()}/init.js").body.decode("utf-8")
    # Then it reads the document by a relative URL, which is this API's document from the page's path,
    # and uses none of the standalone layout (whose logo is an inline style) nor the public validator
    assert 'new URL("openapi.json", document.baseURI)' in script
    assert urljoin(STAGE_PAGE, "openapi.json") == "https://api.example/prod/v1/openapi.json"
    document = client.http.get("/v1/openapi.json")
    assert document.status_code == 200 and json.loads(document.body)["paths"]
    assert "SwaggerUIStandalonePreset" not in script and "StandaloneLayout" not in script
    assert "validatorUrl: null" in script
    assert "eval(" not in script and "innerHTML" not in script


def test_the_build_names_the_files_contents(monkeypatch):
    # Given the build the page names
    before = api_docs.build()
    assert before == api_docs.build() and len(before) == 16
    # When one file's contents differ
    files = api_docs.files()
    changed = {**files, "init.js": api_docs.File("text/javascript", files["init.js"].text + "\n")}
    monkeypatch.setattr(api_docs, "files", lambda: changed)
    api_docs.build.cache_clear()
    try:
        # Then so does the build, and so the files' URLs
        assert api_docs.build() != before
    finally:
        api_docs.build.cache_clear()
        monkeypatch.undo()
    assert api_docs.build() == before


@pytest.mark.parametrize("name", ["swagger-ui.css", "swagger-ui-bundle.js", "init.js"])
def test_a_file_of_another_build_is_not_found(client, name):
    # When a page kept from before a release asks for its build's file
    response = client.http.get(f"/v1/docs/0000000000000000/{name}")
    # Then it is no such file (a JSON error, documented), never this build's under the old URL
    assert response.status_code == 404
    assert _header(response, "Content-Type") == "application/json"
    assert json.loads(response.body)["error"]["code"] == "NOT_FOUND"


def test_the_document_describes_the_page_and_its_files_by_media_type():
    paths = _document()["paths"]
    expected = {
        "/v1/docs": "text/html",
        "/v1/docs/{build}/swagger-ui.css": "text/css",
        "/v1/docs/{build}/swagger-ui-bundle.js": "text/javascript",
        "/v1/docs/{build}/init.js": "text/javascript",
    }
    for path, media_type in expected.items():
        operation = paths[path]["get"]
        assert operation["security"] == [] and operation["tags"] == ["docs"], path
        assert operation["responses"]["200"]["content"] == {media_type: {"schema": {"type": "string"}}}
    assert "NOT_FOUND" in paths["/v1/docs/{build}/init.js"]["get"]["responses"]["404"]["x-error-codes"]


def test_the_contract_check_holds_a_body_to_its_documented_media_type():
    # A page answered as the document says passes; the same status as JSON, or JSON as a page, fails
    contract_check.check("GET", "/v1/docs", 200, "text/html; charset=utf-8", b"<!DOCTYPE html>")
    with pytest.raises(AssertionError, match="does not list"):
        contract_check.check("GET", "/v1/docs", 200, "application/json", b"{}")
    with pytest.raises(AssertionError, match="does not list"):
        contract_check.check("GET", "/v1/health", 200, "text/html", b"<p>ok</p>")
