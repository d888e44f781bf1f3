"""What every response carries against the attacks a public site meets, and the
site's answer to an error it did not expect.

The pages use only the site's own stylesheet and script files (one small script
narrows a facet list as you type; everything works without it), so the
Content-Security-Policy allows nothing else, no inline script nor handler: text
that slipped through the escaping still could not run.  Links to an article's page or PDF come from the
exports, so only ``http`` and ``https`` addresses become links (a
``javascript:`` one would run in the site's origin when clicked).
"""

from __future__ import annotations

import re

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import InternalServerError

from web import index

#: No inline script, no plugin, no frame; scripts, styles, images and form targets from this site only.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # For browsers without frame-ancestors.
    "X-Frame-Options": "DENY",
    # A search URL says what a reader looks for (an illness, say); other sites learn only our origin.
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
#: Read-only answers any site's script may read (CORS): the JSON API and the Atom feeds.
#: They carry nothing a visitor's cookies would unlock, as the site sets none; the HTML
#: pages are left same-origin.
OPEN_PREFIXES = ("/api/",)
OPEN_SUFFIXES = (".atom",)
#: What a browser ignores before a URL's scheme: leading spaces and control characters,
#: and tabs and newlines anywhere (so "java\tscript:" is still javascript:).
_IGNORED_BY_BROWSERS = re.compile(r"^[\x00-\x20]+|[\t\n\r]")
_WEB_URL = re.compile(r"^https?://", re.IGNORECASE)


def init_app(app: Flask) -> None:
    """Add the headers to every response and answer unexpected errors without a traceback."""
    app.after_request(_add_headers)
    app.register_error_handler(InternalServerError, _internal_error)
    app.add_template_filter(web_url, "web_url")


def web_url(value: str | None) -> str:
    """``value`` when it is an ``http(s)`` address a link may point to, else ``""``."""
    if not value:
        return ""
    return value if _WEB_URL.match(_IGNORED_BY_BROWSERS.sub("", value)) else ""


def _add_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if request.path.startswith(OPEN_PREFIXES) or request.path.endswith(OPEN_SUFFIXES):
        response.headers.setdefault("Access-Control-Allow-Origin", "*")
    return response


def _internal_error(error: InternalServerError) -> tuple[Response | str, int]:
    """A bug or a fault met while answering: Flask has logged it with its traceback; the
    visitor gets a plain 500 without it (it would show code and paths), or a 503 when
    the index's files turned out damaged (:func:`web.index.damage`)."""
    damaged = index.damage(error.original_exception)
    if damaged is not None:
        return index.unavailable(damaged)
    message = "Something went wrong while answering this request; it has been logged."
    if request.path.startswith("/api/") or request.path == "/healthz":
        return jsonify(error=message), 500
    return render_template("error.html", status=500, message=message), 500
