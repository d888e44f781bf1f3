"""The app's handle on the index: one :class:`search.engine.Engine` per app.

A request sees one generation from start to end, even when ``reindex`` swaps in
another meanwhile, and its response names it in the ``X-Index-Generation`` header.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, current_app, g, jsonify, render_template, request

from search.engine import Engine, Snapshot
from search.store import IndexMissing

_KEY = "search_engine"
#: The response header naming the generation a response was made from.
GENERATION_HEADER = "X-Index-Generation"


def init_app(app: Flask) -> None:
    """Attach an engine over ``app.config["INDEX_DIR"]``; it opens the index lazily."""
    app.extensions[_KEY] = Engine(Path(app.config["INDEX_DIR"]))
    app.register_error_handler(IndexMissing, _unavailable)
    app.after_request(_name_generation)


def snapshot() -> Snapshot:
    """The live index for this request (reopened only after a ``reindex`` swap).

    :raises search.store.IndexMissing: when there is no readable index.
    """
    if "snapshot" not in g:
        engine: Engine = current_app.extensions[_KEY]
        g.snapshot = engine.snapshot()
    return g.snapshot


def _name_generation(response: Response) -> Response:
    if "snapshot" in g:
        response.headers[GENERATION_HEADER] = g.snapshot.generation.name
    return response


def _unavailable(error: IndexMissing) -> tuple[Response | str, int]:
    """No index yet: a 503 that says how to build one, as JSON or as a page."""
    if request.path.startswith("/api/") or request.path == "/healthz":
        return jsonify(error=str(error)), 503
    return render_template("error.html", status=503, message=str(error)), 503
