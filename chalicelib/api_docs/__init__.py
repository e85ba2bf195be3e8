"""The interactive API documentation: Swagger UI over the served OpenAPI document. Owns the page, the
files it loads and the headers that let a browser run it under a strict Content-Security-Policy.

Swagger UI's files are the ones Powertools ships for its own offline Swagger page (aws-lambda-powertools
is pinned in requirements.txt and in every function's package already): byte for byte swagger-ui-dist's
release (tests/api/test_docs.py holds their digests, so a Powertools upgrade that brings another
release is seen). The page and its initialiser are ours, here. The page loads nothing but these files
and the document, all from this API and by relative URLs, so it works under API Gateway's stage prefix.

The files' URLs name their build (a digest of their contents), so a browser may keep them for good:
a new release changes the URL, never what an old URL answers. The page names the build and is
revalidated on every visit.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from chalicelib.errors import NotFound

# The release of Swagger UI that the pinned Powertools ships, and where: the files the page serves under
# each name. Read from the package's folder, without importing Powertools' event handler (which the app
# does not use): its own Swagger page has an inline script, which the policy below forbids.
SWAGGER_UI_VERSION = "5.31.0"
SWAGGER_UI_FOLDER = ("event_handler", "openapi", "swagger_ui")
SWAGGER_UI_FILES = {
    "swagger-ui.css": "swagger-ui.min.css",
    "swagger-ui-bundle.js": "swagger-ui-bundle.min.js",
}

# The page runs its own scripts and styles only (no inline ones, no eval), shows images of its own or
# data: URLs (Swagger UI's stylesheet draws its icons as data: SVGs), and talks to this API only (the
# document, and "Try it out"). No fonts, frames, plugins, workers, forms or <base>, and no other site
# may frame it.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)
_COMMON_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
PAGE_HEADERS = {
    **_COMMON_HEADERS,
    "Content-Type": "text/html; charset=utf-8",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    # frame-ancestors, for browsers that predate it
    "X-Frame-Options": "DENY",
    # Revalidated on every visit: it names the current build of its files.
    "Cache-Control": "no-cache",
}
# A file's URL names its build: what it answers never changes.
_FILE_CACHE = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class File:
    media_type: str
    text: str

    @property
    def headers(self) -> dict[str, str | list[str]]:
        return {
            **_COMMON_HEADERS,
            "Content-Type": f"{self.media_type}; charset=utf-8",
            "Cache-Control": _FILE_CACHE,
        }


def _swagger_ui(name: str) -> str:
    folder = resources.files("aws_lambda_powertools").joinpath(*SWAGGER_UI_FOLDER)
    return folder.joinpath(SWAGGER_UI_FILES[name]).read_text(encoding="utf-8")


def _ours(name: str) -> str:
    return (resources.files(__name__) / name).read_text(encoding="utf-8")


# What the page loads, by the name its URL ends with: Swagger UI's files and our initialiser.
MEDIA_TYPES = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "init.js": "text/javascript",
}


# Read on first use (1.7 MB): a cold start of a function that serves no page reads none of it.
@cache
def files() -> dict[str, File]:
    return {
        name: File(media_type, _swagger_ui(name) if name in SWAGGER_UI_FILES else _ours(name))
        for name, media_type in MEDIA_TYPES.items()
    }


@cache
def build() -> str:
    """The build of the page's files: a digest of their names and contents."""
    digest = hashlib.sha256()
    for name, file in sorted(files().items()):
        digest.update(f"{name}\0{len(file.text)}\0".encode())
        digest.update(file.text.encode("utf-8"))
    return digest.hexdigest()[:16]


@cache
def page() -> str:
    return _ours("page.html").replace("{build}", build())


def file(build_id: str, name: str) -> File:
    """One of the page's files, if `build_id` is the build this API serves. Another build's URL (a
    page kept from before a release) is not answered with this build's file under it."""
    if build_id != build():
        raise NotFound("No such build of the documentation page's files: load the page again.")
    return files()[name]
