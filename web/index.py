"""The app's handle on the index: one :class:`search.engine.Engine` per app."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, current_app, jsonify, render_template, request

from search.engine import Engine, Snapshot
from search.store import IndexMissing

_KEY = "search_engine"


def init_app(app: Flask) -> None:
    """Attach an engine over ``app.config["INDEX_DIR"]``; it opens the index lazily."""
    app.extensions[_KEY] = Engine(Path(app.config["INDEX_DIR"]))
    app.register_error_handler(IndexMissing, _unavailable)


def snapshot() -> Snapshot:
    """The live index for this request (reopened only after a ``reindex`` swap).

    :raises search.store.IndexMissing: when there is no readable index.
    """
    engine: Engine = current_app.extensions[_KEY]
    return engine.snapshot()


def _unavailable(error: IndexMissing) -> tuple[Response | str, int]:
    """No index yet: a 503 that says how to build one, as JSON or as a page."""
    if request.path.startswith("/api/"):
        return jsonify(error=str(error)), 503
    return render_template("error.html", status=503, message=str(error)), 503
